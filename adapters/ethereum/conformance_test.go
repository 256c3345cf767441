package ethereum_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/ports/chaintest"
)

// TestChainConformance runs the shared chain suite on the real contracts in
// go-ethereum's simulated chain; adapters/memory runs the same suite.
func TestChainConformance(t *testing.T) {
	chaintest.Run(t, func(t *testing.T) chaintest.Env {
		return &devEnv{d: newDevChain(t, ethereum.DevOptions{}), t: t}
	})
}
