package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

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

// durable returns everything s holds durably, as text: for PostgreSQL
// every row of every table of its schema (pgtest.Dump), for the memory
// store its channels, outbox, evidence and apps. Two equal dumps mean nothing
// stored changed.
func durable(t testing.TB, s ports.Store) string {
	t.Helper()
	if pg, ok := s.(*postgres.Store); ok {
		return pgtest.Dump(t, pg.DB().DB, pg.Schema())
	}
	ctx := context.Background()
	cs, err1 := s.List(ctx)
	pend, err2 := s.Pending(ctx)
	evs, err3 := s.Equivocations(ctx)
	apps, err4 := s.Apps(ctx)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatalf("dump store: %v", err)
	}
	return fmt.Sprintf("%+v\n%+v\n%+v\n%x", cs, pend, evs, apps)
}

// durable is what p's store holds durably (durable), once p's wallet has
// written the done marks waiting for its next commit (Wallet.Flush).
func (p *party) durable(t testing.TB) string {
	t.Helper()
	if err := p.w.Flush(context.Background()); err != nil {
		t.Fatalf("flush %s: %v", p.name, err)
	}
	return durable(t, p.store)
}

// settledDurable is durable once the wallet's background work (effects
// of earlier calls still being carried out and marked done) has stopped
// changing the store: two reads 50 ms apart agree (at most 5 s).
func settledDurable(t testing.TB, s ports.Store) string {
	t.Helper()
	prev := durable(t, s)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		cur := durable(t, s)
		if cur == prev {
			return cur
		}
		prev = cur
	}
	t.Fatal("the store kept changing for 5 s")
	return ""
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
