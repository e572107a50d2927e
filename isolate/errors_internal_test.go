package isolate

import (
	"os"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/capability"
)

// Every error name the host throws into scripts is one that
// cloister.d.ts declares, so TypeScript users can match on it.
func TestErrorNames_DeclaredInTheTypes(t *testing.T) {
	b, err := os.ReadFile("../templates/scaffold/cloister.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	dts := string(b)
	for _, e := range []error{
		ErrCallTimeout, ErrCalleeCrashed, ErrNoConnection, ErrNoProc, ErrTooManyTimers, ErrClusterLimit,
		ErrMailboxFull, &capability.DeniedError{Op: "send", Need: capability.Send}, &CloneError{Path: "msg"},
	} {
		name := callErrorName(e)
		if !strings.Contains(dts, `| "`+name+`"`) {
			t.Errorf("%v is thrown as %s, which cloister.d.ts does not list in CloisterErrorName", e, name)
		}
	}
}
