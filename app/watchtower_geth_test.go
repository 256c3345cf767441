package app_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/watchtower"
)

// TestWatchtowerClearsWhileWalletStoppedGeth is issue 13's watchtower test
// once on go-ethereum's simulated chain with the real 0.17.0 contracts:
// each wallet and the watcher send from their own funded accounts.
func TestWatchtowerClearsWhileWalletStoppedGeth(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dev, err := ethereum.NewDevChain(ctx, ethereum.DevOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	account := func(name string) ports.Chain {
		key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("watchtower-geth-" + name)))
		if err := dev.Fund(ctx, crypto.PubkeyToAddress(key.PublicKey), big.NewInt(1e18)); err != nil {
			t.Fatal(err)
		}
		c, err := dev.NewChain(ctx, key, ethereum.Config{PollInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	slot := &towerSlot{}
	e := &env{t: t, ctx: ctx}
	chains := map[string]ports.Chain{}
	newWallet := func(p *party, chain ports.Chain) *app.Wallet {
		cfg := app.Config{Signer: p.signer, Store: p.store, Chain: chain, TickInterval: -1}
		if p.name == "A" {
			cfg.Watchtower = slot
		}
		w, err := app.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Close() })
		return w
	}
	for _, name := range []string{"A", "B"} {
		s := memory.SignerFromSeed("watchtower-geth-signer-" + name)
		p := &party{name: name, store: memory.NewStore(), signer: s,
			dest: nitro.Address(crypto.Keccak256Hash([]byte("watchtower-geth-dest-" + name)).Bytes()[12:])}
		chains[name] = account(name)
		p.w = newWallet(p, chains[name])
		e.parties = append(e.parties, p)
	}
	store := watchtower.NewMemoryStore()
	w := startWatcher(t, account("watcher"), store)
	slot.Set(w)

	alloc := func(a, b int64) []app.Allocation {
		return []app.Allocation{{AssetHolderAddress: dev.Deployment.ETHAssetHolder, AllocationItems: []app.AllocationItem{
			{Destination: nitro.AddressToDestination(e.parties[0].dest), Amount: big.NewInt(a)},
			{Destination: nitro.AddressToDestination(e.parties[1].dest), Amount: big.NewInt(b)},
		}}}
	}
	A, B := e.parties[0], e.parties[1]
	bus := e.connect()
	r, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: alloc(5, 3)})
	if err != nil {
		t.Fatal(err)
	}
	id := r.ChannelResults[0].ChannelID
	bus.Send(envelopes(r)...)
	if _, err := bus.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err = B.w.JoinChannel(ctx, id); err != nil {
		t.Fatal(err)
	}
	bus.Send(envelopes(r)...)
	e.settle(bus, id, "running", func(c app.ChannelResult) bool { return c.Status == core.StatusRunning && c.TurnNum == 3 })

	towerCase{
		e: e, id: id, watcher: w, store: store, bChain: chains["B"],
		pay: func() {
			for _, u := range []struct {
				p    *party
				a, b int64
			}{{A, 4, 4}, {B, 5, 3}} {
				r, err := u.p.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: alloc(u.a, u.b)})
				if err != nil {
					t.Fatal(err)
				}
				e.push(r.Outbox[0])
			}
		},
		restartA: func() *party {
			re := *A
			re.w = newWallet(&re, chains["A"])
			e.parties[0] = &re
			return &re
		},
	}.run(t)
}
