package actor

// The console budget, for the red-team tests.
const (
	ConsoleBurst    = consoleBurst
	ConsoleRate     = consoleRate
	ConsoleLineCost = consoleLineCost
	ConsoleResume   = consoleResume
)
