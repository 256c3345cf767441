package testkit

import (
	"os"

	"github.com/ethereum/go-ethereum/log"
)

// ShowGethCritical makes go-ethereum print its critical messages on
// standard error. go-ethereum's default logger discards everything, and
// log.Crit exits the process with status 1: a test binary would die with
// no word of why. Test packages that run a simulated chain call it from
// init.
func ShowGethCritical() {
	log.SetDefault(log.NewLogger(log.NewTerminalHandlerWithLevel(os.Stderr, log.LevelCrit, false)))
}
