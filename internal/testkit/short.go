package testkit

import (
	"os"
	"testing"
)

// SkipIfShort skips t under `go test -short`, saying why, so that a quick
// local run can leave out a long measurement. It never skips when CI=true:
// CI runs every test.
func SkipIfShort(t testing.TB, why string) {
	t.Helper()
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skipf("skipped under -short: %s (CI=true runs it)", why)
	}
}
