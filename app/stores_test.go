package app_test

import (
	"context"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
)

// storeKind is a store the wallet tests that must hold on every store run on.
type storeKind struct {
	name string
	open func(t testing.TB) ports.Store
}

// storeKinds are the memory store and PostgreSQL (a fresh schema per
// wallet; a database that does not answer fails the test, never skips).
var storeKinds = []storeKind{
	{"memory", func(testing.TB) ports.Store { return memory.NewStore() }},
	{"postgres", openPostgres},
}

func openPostgres(t testing.TB) ports.Store {
	t.Helper()
	url, schema := pgtest.Schema(t, "nwapp")
	s, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatalf("open PostgreSQL store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// eachStore runs f once per store kind, as a subtest named after it.
func eachStore(t *testing.T, f func(t *testing.T, k storeKind)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

// withStore returns a config hook (see newEnvWith) that gives every wallet
// a store of kind k, then applies more (if not nil).
func withStore(t testing.TB, k storeKind, more func(name string, c *app.Config)) func(name string, c *app.Config) {
	return func(name string, c *app.Config) {
		c.Store = k.open(t)
		if more != nil {
			more(name, c)
		}
	}
}
