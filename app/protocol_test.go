package app_test

import (
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// withProtocol is a config hook (see newEnvWith) that gives wallet name
// the profile of profiles[name] on a store of kind k.
func withProtocol(t *testing.T, k storeKind, profiles map[string]nitro.Protocol) func(string, *app.Config) {
	return withStore(t, k, func(name string, c *app.Config) { c.Protocol = profiles[name] })
}

// TestSeedPathProtocol0101 runs the seed's sequence between two wallets
// on the 0.10.1 profile, on a memory chain whose adjudicator checks 0.10.1
// state hashes (so the conclude proves both wallets signed them), on each
// store; the channel keeps its profile across a store reopen.
func TestSeedPathProtocol0101(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		chain := memory.NewChain(big.NewInt(1337), memory.WithProtocol(nitro.Protocol0101))
		e := newEnvOn(t, 2, chain, withProtocol(t, k, map[string]nitro.Protocol{"A": nitro.Protocol0101, "B": nitro.Protocol0101}))
		id := seedPathIn(t, e, 1)
		for _, p := range e.parties {
			c, err := reopenStore(t, p.store).Get(e.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.Protocol != nitro.Protocol0101 {
				t.Fatalf("%s: stored channel has profile %s, want 0.10.1", p.name, c.Protocol)
			}
			for _, st := range c.States {
				h10, err1 := st.State.HashFor(nitro.Protocol0101)
				h17, err2 := st.State.HashFor(nitro.Protocol0170)
				if err := errors.Join(err1, err2); err != nil {
					t.Fatal(err)
				}
				if st.Hash != h10 || h10 == h17 {
					t.Fatalf("%s: turn %d stored with hash %s; 0.10.1's is %s, 0.17.0's %s", p.name, st.State.TurnNum, st.Hash, h10, h17)
				}
			}
		}
	})
}

// TestProtocolMismatchRefused: a wallet on one profile refuses a peer's
// states signed under the other, both ways, on each store: the proposal
// and a running channel's update fail with core.ErrWrongProtocol (an
// ErrWrongSigner) and nothing stored changes. The channels are Fake
// funded: a 0.10.1 wallet funds no channel on the 0.17.0 chain
// (TestDirectFundingNeedsTheChainsProtocol).
func TestProtocolMismatchRefused(t *testing.T) {
	for _, pair := range [][2]nitro.Protocol{{nitro.Protocol0170, nitro.Protocol0101}, {nitro.Protocol0101, nitro.Protocol0170}} {
		t.Run(fmt.Sprintf("%s to %s", pair[0], pair[1]), func(t *testing.T) {
			eachStore(t, func(t *testing.T, k storeKind) {
				e := newEnvWith(t, 2, withProtocol(t, k, map[string]nitro.Protocol{"A": pair[0], "B": pair[1]}))
				A, B := e.parties[0], e.parties[1]
				r, err := A.w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3), FundingStrategy: core.FundingFake})
				if err != nil {
					t.Fatal(err)
				}
				id := r.ChannelResults[0].ChannelID
				before := B.durable(t)
				_, err = B.w.PushMessage(e.ctx, r.Outbox[0].Data)
				wantAppError(t, "B pushed A's proposal", err, app.ErrWrongProtocol, app.CodeWalletError)
				if !errors.Is(err, app.ErrWrongSigner) {
					t.Fatalf("B pushed A's proposal: err %v, want an ErrWrongSigner", err)
				}
				if after := B.durable(t); after != before {
					t.Fatalf("the refused proposal changed B's store:\nbefore %s\nafter  %s", before, after)
				}
				if _, err := B.w.GetState(e.ctx, id); err == nil {
					t.Fatal("B holds the refused channel")
				}
			})
		})
	}
}

// TestJoinUnderOtherProtocolRefused: a proposal B stored on the 0.10.1
// profile cannot be joined once B restarts on 0.17.0 (ErrProtocolChanged,
// code 1101), and nothing stored changes; back on 0.10.1 it joins. The
// chain checks 0.10.1 states, so the channel can be funded on it.
func TestJoinUnderOtherProtocolRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, chain, id := proposedUnder0101(t, k)
		B := e.parties[1]
		if err := B.w.Close(); err != nil {
			t.Fatal(err)
		}
		w := restartB(t, e, chain.Account(B.signer.Address()), nitro.Protocol0170)
		before := B.durable(t)
		_, err := w.JoinChannel(e.ctx, id)
		wantAppError(t, "join under 0.17.0", err, app.ErrProtocolChanged, app.CodeInvalidTransitionJoin)
		if after := B.durable(t); after != before {
			t.Fatalf("the refused join changed B's store:\nbefore %s\nafter  %s", before, after)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := restartB(t, e, chain.Account(B.signer.Address()), nitro.Protocol0101).JoinChannel(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "B after join on 0.10.1", one(t, r, id), "opening", 1)
	})
}

// proposedUnder0101 starts A and B on the 0.10.1 profile, on a store of
// kind k and a memory chain that checks 0.10.1 states, and has A propose
// a Direct channel to B, which B holds; it returns the channel's id.
func proposedUnder0101(t *testing.T, k storeKind) (*env, *memory.Chain, nitro.Bytes32) {
	t.Helper()
	chain := memory.NewChain(big.NewInt(1337), memory.WithProtocol(nitro.Protocol0101))
	e := newEnvOn(t, 2, chain, withProtocol(t, k, map[string]nitro.Protocol{"A": nitro.Protocol0101, "B": nitro.Protocol0101}))
	r, err := e.parties[0].w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)})
	if err != nil {
		t.Fatal(err)
	}
	e.push(r.Outbox[0])
	return e, chain, r.ChannelResults[0].ChannelID
}

// restartB starts B's wallet again (its old one closed) on its store,
// reopened, with the chain c and the profile p; B.w is the new wallet.
func restartB(t *testing.T, e *env, c ports.Chain, p nitro.Protocol) *app.Wallet {
	t.Helper()
	B := e.parties[1]
	B.store = reopenStore(t, B.store)
	w, err := app.New(e.ctx, app.Config{Signer: B.signer, Store: B.store, Chain: c, TickInterval: -1, Protocol: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	B.w = w
	return w
}

// TestDirectFundingNeedsTheChainsProtocol: a wallet on the 0.10.1 profile
// whose chain checks 0.17.0 states (the Ethereum adapter's contracts)
// refuses to create a Direct-funded channel, whose deposits could never be
// concluded nor disputed there (ErrUnsupportedFunding), and stores
// nothing; it runs Fake-funded channels, and Direct ones on a chain that
// checks 0.10.1 states (TestSeedPathProtocol0101).
func TestDirectFundingNeedsTheChainsProtocol(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 2, withProtocol(t, k, map[string]nitro.Protocol{"A": nitro.Protocol0101, "B": nitro.Protocol0101}))
		A := e.parties[0]
		before := A.durable(t)
		_, err := A.w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3), FundingStrategy: core.FundingDirect})
		if !errors.Is(err, app.ErrUnsupportedFunding) {
			t.Fatalf("Direct channel under 0.10.1 on a 0.17.0 chain: %v, want ErrUnsupportedFunding", err)
		}
		if after := A.durable(t); after != before {
			t.Fatalf("the refused create changed A's store:\nbefore %s\nafter  %s", before, after)
		}
		r, err := A.w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3), FundingStrategy: core.FundingFake})
		if err != nil {
			t.Fatal(err)
		}
		e.push(r.Outbox[0])
		if _, err := e.parties[1].w.JoinChannel(e.ctx, r.ChannelResults[0].ChannelID); err != nil {
			t.Fatalf("B joins the Fake channel: %v", err)
		}
	})
}

// chainReporting is a chain account that reports another protocol
// generation than its chain's (ports.ChainProtocol): the wallet's view of
// a chain whose adjudicator checks those states.
type chainReporting struct {
	ports.Chain
	p nitro.Protocol
}

func (c chainReporting) Protocol() nitro.Protocol { return c.p }

// TestDepositRefusedUnderAnotherChainProtocol: a Direct channel signed
// under 0.10.1 and joined on a chain that checks 0.10.1 states, whose
// wallet B then restarts on a chain reporting 0.17.0 (a channel stored
// before create and join refused that, or kept across a change of chain):
// when its turn to deposit comes, B refuses (the deposit could never be
// paid out there), so the chain holds A's deposit alone and B's balance is
// untouched; back on a chain that checks 0.10.1, B deposits and the
// channel is funded.
func TestDepositRefusedUnderAnotherChainProtocol(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, chain, id := proposedUnder0101(t, k)
		B := e.parties[1]
		joined, err := B.w.JoinChannel(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := B.w.Close(); err != nil {
			t.Fatal(err)
		}
		restartB(t, e, chainReporting{Chain: chain.Account(B.signer.Address()), p: nitro.Protocol0170}, nitro.Protocol0101)
		balance := chain.Balance(B.signer.Address())
		for _, m := range joined.Outbox {
			e.push(m) // A has both prefunds: it deposits its 5
		}
		asset := chain.ETHAssetHolder()
		if h := chain.ChannelHoldings(asset, id); h.Cmp(big.NewInt(5)) != 0 {
			t.Fatalf("holdings %s after A's turn, want 5", h)
		}
		// B sees A's deposit, and its turn comes: it refuses (its deposit
		// of item 1 is left to retry), tick after tick.
		e.waitChannel(B, id, "B's deposit refused", func(app.ChannelResult) bool {
			return e.stored(B, id).Funding[0].Deposits[1] == core.TxRetry
		})
		for range 3 {
			if err := B.w.Tick(e.ctx); err != nil {
				t.Fatal(err)
			}
		}
		if h := chain.ChannelHoldings(asset, id); h.Cmp(big.NewInt(5)) != 0 {
			t.Fatalf("holdings %s after B's turn on a chain of another generation, want A's 5 alone", h)
		}
		if got := chain.Balance(B.signer.Address()); got.Cmp(balance) != 0 {
			t.Fatalf("B's balance %s, was %s", got, balance)
		}
		st, err := B.w.GetState(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "B, its deposit refused", st, "funding", 1)
		if err := B.w.Close(); err != nil {
			t.Fatal(err)
		}
		restartB(t, e, chain.Account(B.signer.Address()), nitro.Protocol0101)
		e.waitChannel(B, id, "B's deposit on a chain of its generation", func(c app.ChannelResult) bool {
			return chain.ChannelHoldings(asset, id).Cmp(big.NewInt(8)) == 0
		})
	})
}
