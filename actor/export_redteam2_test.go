package actor

// The console budget, for the red-team tests.
const (
	ConsoleBurst    = consoleBurst
	ConsoleRate     = consoleRate
	ConsoleLineCost = consoleLineCost
	ConsoleResume   = consoleResume
)

// MaxMonitorsPerWatcher is a watcher's share of one process's monitors.
const MaxMonitorsPerWatcher = maxMonitorsPerWatcher

// The budget of reported refusals.
const (
	RefusalBurst = refusalBurst
	RefusalRate  = refusalRate
)
