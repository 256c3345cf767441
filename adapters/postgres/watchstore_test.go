package postgres_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/watchtower"
	"github.com/nitrowallet/nitrowallet/watchtower/watchtest"
)

// TestWatchStoreConformance runs the watchtower store suite on
// PostgreSQL.
func TestWatchStoreConformance(t *testing.T) {
	watchtest.Run(t, func(t *testing.T) watchtower.Store { return postgres.NewWatchStore(open(t, postgres.Options{})) })
}

// TestWatchStoreDurable: a proof, an alarm and the cursor survive closing
// the store and opening its schema again.
func TestWatchStoreDurable(t *testing.T) {
	ctx := context.Background()
	s := open(t, postgres.Options{})
	ws := postgres.NewWatchStore(s)
	p := watchtest.Proof(t, big.NewInt(1337), [20]byte{0xee}, 1, 5)
	if ok, err := ws.Put(ctx, p); !ok || err != nil {
		t.Fatalf("put: %v, %v", ok, err)
	}
	a := watchtower.Alarm{ChannelID: p.ChannelID, TurnNumRecord: 3, FinalizesAt: 99}
	if err := ws.SetAlarm(ctx, a); err != nil {
		t.Fatal(err)
	}
	cur, _ := ws.Cursor(ctx)
	cur = cur.Advance(7, [32]byte{7})
	if err := ws.SetCursor(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	re, err := postgres.Open(ctx, pgtest.URL(), postgres.Options{Schema: s.Schema(), LockWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = re.Close() })
	ws = postgres.NewWatchStore(re)
	got, err := ws.Get(ctx, p.ChannelID)
	if err != nil || got.Turn() != 5 || watchtower.Check(got) != nil {
		t.Fatalf("proof after reopen: turn %d, %v", got.Turn(), err)
	}
	alarms, err := ws.Alarms(ctx)
	if err != nil || len(alarms) != 1 || alarms[0] != a {
		t.Fatalf("alarms after reopen: %+v, %v", alarms, err)
	}
	if c, err := ws.Cursor(ctx); err != nil || c.Block != 7 || c.Hash != cur.Hash {
		t.Fatalf("cursor after reopen: %+v, %v", c, err)
	}
}
