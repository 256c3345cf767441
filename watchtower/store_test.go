package watchtower_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/watchtower"
	"github.com/nitrowallet/nitrowallet/watchtower/watchtest"
)

// TestWatchMemoryStore runs the store conformance suite on MemoryStore.
func TestWatchMemoryStore(t *testing.T) {
	watchtest.Run(t, func(*testing.T) watchtower.Store { return watchtower.NewMemoryStore() })
}
