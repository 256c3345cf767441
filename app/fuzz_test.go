package app_test

import (
	"context"
	"io"
	"log/slog"
	"math/big"
	"reflect"
	"sync"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// fzFixture is B's store in the middle of a real run (a running channel
// after three updates) and every message of that run, through its close.
type fzFixture struct {
	signer   *memory.Signer
	channels []core.Channel
	messages [][]byte
}

func newFzFixture(f *testing.F) *fzFixture {
	e := newEnv(f, 2)
	bus := e.connect()
	fx := &fzFixture{signer: e.parties[1].signer}
	var mu sync.Mutex
	bus.Filter = func(env memory.Envelope) bool {
		mu.Lock()
		fx.messages = append(fx.messages, append([]byte(nil), env.Data...))
		mu.Unlock()
		return true
	}
	A, B := e.parties[0], e.parties[1]
	id := propose(f, e, bus)
	e.settle(bus, id, "running", func(c app.ChannelResult) bool { return c.Status == core.StatusRunning })
	for u := 0; u < 3; u++ {
		mover := []*party{A, B}[u%2]
		r, err := mover.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(int64(4+u%2), int64(4-u%2)) /* the mover pays */})
		if err != nil {
			f.Fatal(err)
		}
		bus.Send(envelopes(r)...)
		turn := uint64(4 + u)
		e.settle(bus, id, "update", func(c app.ChannelResult) bool { return c.TurnNum == turn })
	}
	cs, err := B.store.List(e.ctx)
	if err != nil {
		f.Fatal(err)
	}
	fx.channels = cs
	r, err := B.w.CloseChannel(e.ctx, id)
	if err != nil {
		f.Fatal(err)
	}
	bus.Send(envelopes(r)...)
	e.settle(bus, id, "closed", func(c app.ChannelResult) bool { return c.Status == core.StatusClosed })
	return fx
}

// wallet starts B's wallet afresh on a copy of the fixture's store.
func (fx *fzFixture) wallet(t *testing.T) (*app.Wallet, *memory.Store) {
	ctx := context.Background()
	st := memory.NewStore()
	var changes []ports.Change
	for _, c := range fx.channels {
		changes = append(changes, ports.Change{Channel: c})
	}
	if _, err := st.Commit(ctx, changes); err != nil {
		t.Fatal(err)
	}
	chain := memory.NewChain(big.NewInt(1337))
	chain.Fund(fx.signer.Address(), big.NewInt(1_000_000))
	w, err := app.New(ctx, app.Config{Signer: fx.signer, Store: st, Chain: chain.Account(fx.signer.Address()), TickInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return w, st
}

var statusRanks = map[core.Status]int{core.StatusProposed: 0, core.StatusOpening: 1, core.StatusFunding: 2, core.StatusRunning: 3, core.StatusClosing: 4, core.StatusClosed: 5}

// FuzzPushMessage pushes arbitrary bytes into a live wallet holding a
// running channel. A message is applied whole or not at all: on error the
// store is unchanged and nothing is sent; on success every channel stored
// is well formed and none went back.
func FuzzPushMessage(f *testing.F) {
	fx := newFzFixture(f)
	for _, m := range fx.messages {
		if len(m) <= 4<<10 {
			f.Add(m)
		}
	}
	f.Add([]byte(`{"recipient":"B","sender":"A","data":{"walletVersion":"x"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, st := fx.wallet(t)
		defer w.Close()
		ctx := context.Background()
		before, _ := st.List(ctx)
		res, err := w.PushMessage(ctx, data)
		after, _ := st.List(ctx)
		pending, _ := st.Pending(ctx)
		if err != nil {
			if app.Code(err) == 0 {
				t.Fatalf("error without a client API code: %v", err)
			}
			if len(res.Outbox) != 0 || len(pending) != 0 || !reflect.DeepEqual(before, after) {
				t.Fatalf("rejected (%v) but changed the store or sent something", err)
			}
			return
		}
		old := map[nitro.Bytes32]core.Channel{}
		for _, c := range before {
			old[c.ID] = c
		}
		for _, c := range after {
			n := uint64(c.N())
			for i, s := range c.States {
				if i > 0 && c.States[i-1].State.TurnNum >= s.State.TurnNum {
					t.Fatal("states out of order")
				}
				if !s.SignedBy(int(s.State.TurnNum % n)) {
					t.Fatalf("turn %d stored without its mover's signature", s.State.TurnNum)
				}
				for j, sig := range s.Sigs {
					if sig.V == 0 {
						continue
					}
					if who, err := nitro.RecoverSigner(s.Hash, sig); err != nil || who != c.Participants[j].SigningAddress {
						t.Fatalf("turn %d holds a signature that is not participant %d's", s.State.TurnNum, j)
					}
				}
			}
			if o, ok := old[c.ID]; ok {
				if c.TurnNum() < o.TurnNum() || statusRanks[c.Status()] < statusRanks[o.Status()] {
					t.Fatalf("channel went back: %s turn %d -> %s turn %d", o.Status(), o.TurnNum(), c.Status(), c.TurnNum())
				}
			}
		}
	})
}
