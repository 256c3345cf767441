package sim

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// statusRank orders statuses along the protocol; a wallet's status never
// goes back.
var statusRank = map[core.Status]int{
	core.StatusProposed: 0, core.StatusOpening: 1, core.StatusFunding: 2, core.StatusRunning: 3,
	// A dispute runs on a running channel and may be cleared (dispute.go).
	core.StatusChallenging: 3, core.StatusResponding: 3,
	core.StatusClosing: 4, core.StatusClosed: 5,
}

// checkCommitLocked checks one committed channel against what the wallet
// had before and against every other wallet.
func (w *World) checkCommitLocked(wal *Wallet, prev core.Channel, had bool, next core.Channel) {
	label := w.label(next.ID)
	bad := func(format string, args ...any) {
		w.violateLocked("wallet %s, %s: %s", wal.Name, label, fmt.Sprintf(format, args...))
	}
	n := uint64(next.N())
	for i, st := range next.States {
		if i > 0 && next.States[i-1].State.TurnNum >= st.State.TurnNum {
			bad("states out of order at turn %d", st.State.TurnNum)
		}
		t := st.State.TurnNum
		if !st.SignedBy(int(t % n)) {
			bad("stores turn %d without its mover's signature", t)
		}
		k := turnKey{id: next.ID, turn: t}
		if h, ok := w.agreed[k]; !ok || h != st.Hash {
			real, err := st.State.Hash()
			if err != nil || real != st.Hash {
				bad("stores turn %d under a wrong hash", t)
			}
			if ok && !w.byz.poisoned[next.ID] {
				bad("holds a different state for turn %d than another wallet", t)
			} else {
				w.agreed[k] = st.Hash
			}
		}
		for j, sig := range st.Sigs {
			if sig.V == 0 {
				continue
			}
			if !w.signed[next.Participants[j].SigningAddress][st.Hash] {
				bad("stores a signature of %s on turn %d that its wallet never made", next.Participants[j].ParticipantID, t)
			}
		}
	}
	if !had {
		return
	}
	if prev.ID != next.ID || prev.MyIndex != next.MyIndex || len(prev.Participants) != len(next.Participants) {
		bad("identity changed")
		return
	}
	if statusRank[next.Status()] < statusRank[prev.Status()] {
		bad("status went back from %s to %s", prev.Status(), next.Status())
	}
	if next.TurnNum() < prev.TurnNum() {
		bad("turn went back from %d to %d", prev.TurnNum(), next.TurnNum())
	}
	if next.MyLastTurn < prev.MyLastTurn {
		bad("MyLastTurn went back from %d to %d", prev.MyLastTurn, next.MyLastTurn)
	}
	for _, f := range []struct {
		name    string
		was, is bool
	}{{"Joined", prev.Joined, next.Joined}, {"Creator", prev.Creator, next.Creator}, {"Concluded", prev.Concluded, next.Concluded}, {"CloseInitiator", prev.CloseInitiator, next.CloseInitiator}, {"CloseRequested", prev.CloseRequested, next.CloseRequested}} {
		if f.was && !f.is {
			bad("%s was unset", f.name)
		}
	}
	for i := range prev.Funding {
		p, q := prev.Funding[i], next.Funding[i]
		if p.PaidOut && !q.PaidOut {
			bad("PaidOut was unset")
		}
		if !q.PaidOut && q.Holdings.Cmp(p.Holdings) < 0 {
			bad("holdings went down from %v to %v before the payout", p.Holdings, q.Holdings)
		}
	}
	for _, ps := range prev.States {
		for _, ns := range next.States {
			if ns.State.TurnNum != ps.State.TurnNum {
				continue
			}
			if ns.Hash != ps.Hash {
				bad("replaced its state of turn %d", ns.State.TurnNum)
			}
			for j := range ps.Sigs {
				if ps.SignedBy(j) && !ns.SignedBy(j) {
					bad("lost a signature on turn %d", ns.State.TurnNum)
				}
			}
		}
	}
}

// Check returns the violations found so far, after checking what holds
// between actions: funds are conserved per asset, and no wallet believes in
// more holdings than the chain received in confirmed blocks.
func (w *World) Check() error {
	w.checkFunds()
	if v := w.Violations(); len(v) > 0 {
		return errors.New(strings.Join(v, "\n"))
	}
	return nil
}

func (w *World) assets() []nitro.Address { return []nitro.Address{w.ETH, w.Token} }

func (w *World) balance(asset, addr nitro.Address) *big.Int {
	if asset == w.Token {
		return w.Chain.TokenBalance(w.Token, addr)
	}
	return w.Chain.Balance(addr)
}

func (w *World) checkFunds() {
	logs := w.canonical()
	conf := w.Chain.ConfirmedBlock()
	var confirmed []core.ChainEvent
	for _, ev := range logs {
		if ev.Block <= conf {
			confirmed = append(confirmed, ev)
		}
	}
	for _, asset := range w.assets() {
		deposited, held, paid, spent := new(big.Int), new(big.Int), new(big.Int), new(big.Int)
		for _, ev := range logs {
			if ev.Kind == core.EventDeposited && ev.Asset == asset {
				deposited.Add(deposited, ev.AmountDeposited)
			}
		}
		for _, id := range append(slices.Clone(w.ids), w.byz.channels...) {
			if id != (nitro.Bytes32{}) {
				held.Add(held, w.Chain.ChannelHoldings(asset, id))
			}
		}
		for _, wal := range w.Wallets {
			paid.Add(paid, w.balance(asset, wal.dest))
			spent.Add(spent, new(big.Int).Sub(big.NewInt(InitialFunds), w.balance(asset, wal.Address())))
		}
		name := w.assetName(asset)
		if deposited.Cmp(new(big.Int).Add(held, paid)) != 0 {
			w.violate("%s: deposits %v != holdings %v + payouts %v", name, deposited, held, paid)
		}
		if spent.Cmp(deposited) != 0 {
			w.violate("%s: accounts spent %v but deposits are %v", name, spent, deposited)
		}
		if escrow := w.balance(asset, asset); escrow.Cmp(held) != 0 {
			w.violate("%s: escrow %v != holdings %v", name, escrow, held)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, wal := range w.Wallets {
		for id, c := range wal.view {
			for _, f := range c.Funding {
				if f.PaidOut {
					continue
				}
				if got := depositedUpTo(confirmed, f.Asset, id); f.Holdings.Cmp(got) > 0 {
					w.violateLocked("wallet %s, %s: believes %s holdings %v but confirmed deposits are %v",
						wal.Name, w.label(id), w.assetName(f.Asset), f.Holdings, got)
				}
			}
		}
	}
}
