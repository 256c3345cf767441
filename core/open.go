// Open: create or join a channel, sign the prefund states, deposit the
// allocation in order, sign the postfund states.
//
// Inputs: Create (create, initChannel, checkFundingOutcome), Join (join); a
// Receive that starts a channel goes through initChannel too. Each refuses
// a funding strategy other than Direct and Fake (checkFunding, funding.go);
// a Fake channel counts as funded at once (Channel.Funded), so it skips
// guard 3.
// Guards, in protocol order (the crank, crank.go, runs them):
//  1. signPrefund: once joined, sign my prefund state, turn i;
//  2. wait until every prefund state 0..n-1 is signed;
//  3. deposit: each item of mine whose turn has come in its asset's queue
//     (holdings reach the sum of the items before it), once (setDeposit);
//  4. signPostfund: once every asset is funded, sign my postfund state,
//     turn n+i, after those of the participants before me.

package core

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

func (s *stepper) create(in Create) error {
	if s.c.ID != (nitro.Bytes32{}) {
		return ErrChannelExists
	}
	// The strategy, and on-chain funding only under the chain's protocol.
	if err := in.Deployment.CheckFunding(in.FundingStrategy, in.Deployment.Protocol); err != nil {
		return err
	}
	st := nitro.State{
		ChainID: in.ChainID, ChannelNonce: in.ChannelNonce, AppDefinition: in.AppDefinition,
		ChallengeDuration: in.ChallengeDuration, AppData: in.AppData, Outcome: in.Outcome,
	}
	for _, p := range in.Participants {
		st.Participants = append(st.Participants, p.SigningAddress)
	}
	if err := in.Deployment.Fits(st); err != nil {
		return err
	}
	if err := s.initChannel(st, in.Participants, in.Me, in.FundingStrategy, in.Deployment.Protocol); err != nil {
		return err
	}
	s.c.Joined, s.c.Creator = true, true
	return nil
}

// initChannel fills a new channel from its setup state.
func (s *stepper) initChannel(setup nitro.State, ps []Participant, me nitro.Address, strategy string, p nitro.Protocol) error {
	n := len(ps)
	if n < 2 {
		return fmt.Errorf("%w: %d participants", ErrInvalidParams, n)
	}
	if n > nitro.MaxParticipants {
		return fmt.Errorf("%w: %d participants", ErrInvalidParams, n)
	}
	if len(setup.Participants) != n {
		return fmt.Errorf("%w: participant lists differ", ErrInvalidParams)
	}
	seen := make(map[nitro.Address]bool, n)
	my := -1
	for i, p := range ps {
		if p.SigningAddress != setup.Participants[i] {
			return fmt.Errorf("%w: participant %d signing address differs", ErrInvalidParams, i)
		}
		if seen[p.SigningAddress] {
			return fmt.Errorf("%w: duplicate participant %s", ErrInvalidParams, p.SigningAddress)
		}
		seen[p.SigningAddress] = true
		if p.SigningAddress == me {
			my = i
		}
	}
	if my < 0 {
		return ErrNotParticipant
	}
	if err := checkFunding(strategy); err != nil { // a proposal's strategy too
		return err
	}
	if err := checkFundingOutcome(setup.Outcome); err != nil {
		return err
	}
	setup.TurnNum, setup.IsFinal = 0, false
	id, err := setup.ChannelID()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	if _, err := setup.HashWithChannelIDFor(id, p); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	s.c = Channel{
		ID: id, Participants: slices.Clone(ps), MyIndex: my, FundingStrategy: strategy, Protocol: p,
		Setup: setup.Clone(), MyLastTurn: -1,
	}
	assets := make([]nitro.Address, len(setup.Outcome))
	for i, a := range setup.Outcome {
		s.c.Funding = append(s.c.Funding, AssetFunding{Asset: a.AssetHolder, Holdings: new(big.Int)})
		assets[i] = a.AssetHolder
	}
	if !s.c.fake() { // Fake: nothing to watch on chain (funding.go)
		s.emit(Watch{ChannelID: id, Assets: assets})
	}
	return nil
}

// checkFundingOutcome accepts allocations with valid amounts, one per asset holder.
func checkFundingOutcome(o nitro.Outcome) error {
	for k, a := range o {
		if a.Guarantee != nil {
			return fmt.Errorf("%w: guarantee", ErrInvalidOutcome)
		}
		for _, b := range o[:k] {
			if b.AssetHolder == a.AssetHolder {
				return fmt.Errorf("%w: asset holder %s twice", ErrInvalidOutcome, a.AssetHolder)
			}
		}
		for _, it := range a.Allocation {
			if err := nitro.CheckAmount(it.Amount); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidOutcome, err)
			}
		}
		if _, small := sum64(a.Allocation); small {
			continue // the total fits in 64 bits, far below 2^256
		}
		if err := nitro.CheckAmount(a.Total()); err != nil {
			return fmt.Errorf("%w: total: %w", ErrInvalidOutcome, err)
		}
	}
	return nil
}

func (s *stepper) join(in Join) error {
	if s.c.Joined {
		return ErrAlreadyJoined
	}
	if err := checkFunding(s.c.FundingStrategy); err != nil {
		return err
	}
	// Checked again on join: the proposal may predate the deployment's
	// current bounds.
	if err := in.Deployment.Fits(s.c.Setup); err != nil {
		return err
	}
	if in.Deployment.Protocol != s.c.Protocol {
		return fmt.Errorf("%w: %s, this wallet's is %s", ErrProtocolChanged, s.c.Protocol, in.Deployment.Protocol)
	}
	if err := in.Deployment.CheckFunding(s.c.FundingStrategy, s.c.Protocol); err != nil {
		return err
	}
	s.c.Joined = true
	return nil
}

// signPrefund signs my prefund state, turn i, unless it is signed or
// requested. It reports whether it did, which ends the crank.
func (s *stepper) signPrefund() bool {
	c := &s.c
	me := uint64(c.MyIndex)
	if !c.signedAt(me, c.MyIndex) && c.MyLastTurn < int64(me) {
		st := c.Setup.Clone()
		st.TurnNum = me
		_ = s.requestSign(st)
		return true
	}
	return false
}

// deposit deposits, once each, my items whose turn has come.
func (s *stepper) deposit() {
	c := &s.c
	if c.depositsOpen() {
		c.dueDeposits(func(asset, item int, expectedHeld, amount *big.Int) {
			f := &c.Funding[asset]
			if f.Deposits[item] != TxNone {
				return
			}
			setDeposit(f, item, TxRequested)
			s.emit(Deposit{ChannelID: c.ID, Asset: f.Asset, Item: item, ExpectedHeld: expectedHeld, Amount: new(big.Int).Set(amount)})
		})
	}
}

// signPostfund signs my postfund state, turn n+i, once funded and once the
// participants before me have signed theirs, unless it is signed or
// requested. It reports whether it signed or waits for an earlier
// postfund, either of which ends the crank.
func (s *stepper) signPostfund() bool {
	c := &s.c
	n := uint64(c.N())
	me := uint64(c.MyIndex)
	if c.Funded() && !c.signedAt(n+me, c.MyIndex) && c.MyLastTurn < int64(n+me) {
		for t := n; t < n+me; t++ {
			if !c.signedAt(t, int(t%n)) {
				return true
			}
		}
		st := c.Setup.Clone()
		st.TurnNum = n + me
		_ = s.requestSign(st)
		return true
	}
	return false
}

// setDeposit records the status of my deposit of an allocation item,
// copying the map first since Step shares it with its argument.
func setDeposit(f *AssetFunding, item int, st TxStatus) {
	m := make(map[int]TxStatus, len(f.Deposits)+1)
	for k, v := range f.Deposits {
		m[k] = v
	}
	m[item] = st
	f.Deposits = m
}
