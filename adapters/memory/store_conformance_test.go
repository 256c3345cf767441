package memory_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/ports/storetest"
)

// TestStoreConformance runs the shared store suite on the memory store.
func TestStoreConformance(t *testing.T) {
	storetest.Run(t, storetest.Factory{
		New: func(*testing.T) ports.Store { return memory.NewStore() },
	})
}
