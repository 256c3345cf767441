// Package propertytests checks the wallet's safety and liveness properties
// with random command sequences (gopter's commands package) over worlds of
// several real wallets (package sim), with an exhaustive explorer of every
// delivery order for two wallets and one channel, and replays every shrunk
// failure saved under testdata/regressions.
package propertytests

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestMain(m *testing.M) {
	// The runs allocate a lot of short-lived values; a larger heap saves
	// about a third of the time spent collecting them.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(m.Run())
}
