package app_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
)

// manualClock is a clock tests move by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

// newManualClock is a manual clock at a fixed start time.
func newManualClock() *manualClock { return &manualClock{now: time.Unix(1_700_000_000, 0)} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestConfiguredBackupConcludeDelay: a wallet's BackupConcludeDelay decides
// when a participant that is not the final state's mover concludes the
// channel itself (the mover never received the countersignature here).
func TestConfiguredBackupConcludeDelay(t *testing.T) {
	clk := newManualClock()
	e, id := openRunningWith(t, func(name string, c *app.Config) {
		c.Clock = clk
		c.BackupConcludeDelay = 5 * time.Second
	})
	A, B := e.parties[0], e.parties[1]
	r, err := A.w.CloseChannel(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r = e.push(r.Outbox[0]) // B countersigns; its answer is lost
	wantStatus(t, "B on isFinalA", one(t, r, id), core.StatusClosed, 4)
	holds := func() int64 { return e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id).Int64() }

	B.w.Tick(e.ctx) // B learns when the channel closed
	clk.advance(4 * time.Second)
	B.w.Tick(e.ctx)
	if h := holds(); h != 8 {
		t.Fatalf("holdings %d before the delay, want 8", h)
	}
	clk.advance(time.Second)
	B.w.Tick(e.ctx)
	if h := holds(); h != 0 {
		t.Fatalf("holdings %d after B's delay of 5 s, want 0 (B concludes)", h)
	}
	if got := e.chain.Balance(A.dest).Int64() + e.chain.Balance(B.dest).Int64(); got != 8 {
		t.Fatalf("destinations got %d in all, want 8", got)
	}
}

// TestNegativeDelaysRefused: New refuses negative delays.
func TestNegativeDelaysRefused(t *testing.T) {
	for _, with := range []func(c *app.Config){
		func(c *app.Config) { c.TxRetryDelay = -time.Second },
		func(c *app.Config) { c.BackupConcludeDelay = -time.Second },
	} {
		e := newEnv(t, 1)
		p := e.parties[0]
		cfg := app.Config{Signer: p.signer, Store: p.store, Chain: e.chain.Account(p.signer.Address()), TickInterval: -1}
		with(&cfg)
		if _, err := app.New(e.ctx, cfg); !errors.Is(err, app.ErrInvalidParams) {
			t.Fatalf("New with %+v: %v, want ErrInvalidParams", cfg, err)
		}
	}
}
