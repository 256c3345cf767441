package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/ports/storetest"
)

// open opens a store on a fresh schema that is dropped when t ends.
func open(t testing.TB, opt postgres.Options) *postgres.Store {
	t.Helper()
	url, schema := pgtest.Schema(t, "nwstore")
	opt.Schema = schema
	s, err := postgres.Open(context.Background(), url, opt)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestStoreConformance runs the shared store suite on PostgreSQL; Reopen
// closes the store and opens the same schema again, as a restart would.
func TestStoreConformance(t *testing.T) {
	storetest.Run(t, storetest.Factory{
		New: func(t *testing.T) ports.Store { return open(t, postgres.Options{}) },
		Reopen: func(t *testing.T, s ports.Store) ports.Store {
			old := s.(*postgres.Store)
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
			re, err := postgres.Open(context.Background(), pgtest.URL(), postgres.Options{Schema: old.Schema(), LockWait: 5 * time.Second})
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			t.Cleanup(func() { _ = re.Close() })
			return re
		},
	})
}
