package wire_test

import (
	"testing"

	"github.com/cloister-rt/cloister/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }
