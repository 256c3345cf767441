package core

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Step applies one input to a channel and returns the channel's next state
// and the effects to carry out, in order. On error it returns the channel
// unchanged and no effects. A zero Channel stands for a channel not yet
// known; only Create and Receive can start one.
func Step(c Channel, in Input) (Channel, []Effect, error) {
	s := stepper{c: c.shallow()}
	var err error
	switch in := in.(type) {
	case Create:
		err = s.create(in)
	case Receive:
		err = s.receive(in)
	default:
		if c.ID == (nitro.Bytes32{}) {
			return c, nil, ErrChannelNotFound
		}
		switch in := in.(type) {
		case Join:
			err = s.join(in)
		case Update:
			err = s.update(in)
		case Close:
			err = s.close()
		case Signed:
			err = s.signed(in)
		case ChainEvent:
			s.chainEvent(in)
		case Rewound:
			err = s.rewound(in)
		case TxFailed:
			s.txFailed(in)
		case Tick:
			s.tick(in)
		case Sync:
			s.sync()
		default:
			err = fmt.Errorf("core: unknown input %T", in)
		}
	}
	if err != nil {
		return c, nil, err
	}
	s.crank()
	return s.c, s.out, nil
}

// shallow returns a copy of c that Step may change: the slices Step edits
// in place (Held, Funding) are copied, while states, signature lists,
// deposit maps, the setup and the participants are shared with c, and so is
// the States slice until Step first changes it (see ownStates). Step never
// modifies what it shares in place: it replaces it (see setDeposit and
// insert), so c is left as it was.
func (c Channel) shallow() Channel {
	out := c
	out.Held = slices.Clone(c.Held)
	out.Funding = slices.Clone(c.Funding)
	return out
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

// stepper accumulates the effects of one Step.
type stepper struct {
	c   Channel
	out []Effect
	// ownStates is set once c.States is a copy Step may change in place.
	ownStates bool
	// backupDue is set by a tick once the backup conclude is due.
	backupDue bool
}

// own makes c.States a copy Step may change, with room for extra more.
func (s *stepper) own(extra int) {
	if !s.ownStates {
		s.c.States = append(make([]StoredState, 0, len(s.c.States)+extra), s.c.States...)
		s.ownStates = true
	}
}

func (s *stepper) emit(e Effect) { s.out = append(s.out, e) }

func (s *stepper) create(in Create) error {
	if s.c.ID != (nitro.Bytes32{}) {
		return ErrChannelExists
	}
	if in.FundingStrategy != FundingDirect {
		return fmt.Errorf("%w: %q", ErrUnsupportedFunding, in.FundingStrategy)
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
	if err := s.initChannel(st, in.Participants, in.Me, in.FundingStrategy); err != nil {
		return err
	}
	s.c.Joined, s.c.Creator = true, true
	return nil
}

// initChannel fills a new channel from its setup state.
func (s *stepper) initChannel(setup nitro.State, ps []Participant, me nitro.Address, strategy string) error {
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
	if err := checkFundingOutcome(setup.Outcome); err != nil {
		return err
	}
	setup.TurnNum, setup.IsFinal = 0, false
	id, err := setup.ChannelID()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	if _, err := setup.HashWithChannelID(id); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	s.c = Channel{
		ID: id, Participants: slices.Clone(ps), MyIndex: my, FundingStrategy: strategy,
		Setup: setup.Clone(), MyLastTurn: -1,
	}
	assets := make([]nitro.Address, len(setup.Outcome))
	for i, a := range setup.Outcome {
		s.c.Funding = append(s.c.Funding, AssetFunding{Asset: a.AssetHolder, Holdings: new(big.Int)})
		assets[i] = a.AssetHolder
	}
	s.emit(Watch{ChannelID: id, Assets: assets})
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
	if s.c.FundingStrategy != FundingDirect {
		return fmt.Errorf("%w: %q", ErrUnsupportedFunding, s.c.FundingStrategy)
	}
	// Checked again on join: the proposal may predate the deployment's
	// current bounds.
	if err := in.Deployment.Fits(s.c.Setup); err != nil {
		return err
	}
	s.c.Joined = true
	return nil
}

// nextTurnCheck returns the latest state if this wallet may move next.
func (s *stepper) nextTurnCheck() (StoredState, error) {
	c := &s.c
	if c.Status() == StatusClosing || c.Status() == StatusClosed {
		return StoredState{}, ErrChannelClosed
	}
	if c.Status() != StatusRunning {
		return StoredState{}, ErrNotRunning
	}
	if c.Pending != nil {
		return StoredState{}, ErrSigningInProgress
	}
	l, _ := c.Latest()
	if !c.MyTurn() {
		return StoredState{}, ErrNotYourTurn
	}
	return l, nil
}

func (s *stepper) update(in Update) error {
	l, err := s.nextTurnCheck()
	if err != nil {
		return err
	}
	next := l.State // the fixed part is shared; the variable part is new
	next.TurnNum++
	next.Outcome = in.Outcome.Clone()
	next.AppData = slices.Clone(in.AppData)
	if err := checkTransition(l.State, next); err != nil {
		return err
	}
	return s.requestSign(next)
}

func (s *stepper) close() error {
	l, err := s.nextTurnCheck()
	if err != nil {
		return err
	}
	next := l.State // shared: states are never modified in place
	next.TurnNum++
	next.IsFinal = true
	s.c.CloseInitiator = true
	return s.requestSign(next)
}

// checkTransition checks a running or final transition from a to b.
func checkTransition(a, b nitro.State) error {
	if a.IsFinal {
		return ErrChannelClosed
	}
	if len(a.Outcome) != len(b.Outcome) {
		return fmt.Errorf("%w: asset count changed", ErrTotalsChanged)
	}
	if err := checkFundingOutcome(b.Outcome); err != nil {
		return err
	}
	for i := range a.Outcome {
		if a.Outcome[i].AssetHolder != b.Outcome[i].AssetHolder {
			return fmt.Errorf("%w: asset holder changed", ErrTotalsChanged)
		}
		if !sameTotal(a.Outcome[i].Allocation, b.Outcome[i].Allocation) {
			return ErrTotalsChanged
		}
	}
	if b.IsFinal && !a.Outcome.Equal(b.Outcome) {
		return ErrFinalOutcome
	}
	return nil
}

// requestSign records the intent to sign st and asks the signer for it.
func (s *stepper) requestSign(st nitro.State) error {
	if int64(st.TurnNum) <= s.c.MyLastTurn || s.c.Pending != nil {
		return fmt.Errorf("%w: turn %d", ErrStaleState, st.TurnNum)
	}
	// Every state this wallet signs has the channel's fixed part.
	h, err := st.HashWithChannelID(s.c.ID)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	s.c.Pending = &Pending{State: st, Hash: h}
	s.c.MyLastTurn = int64(st.TurnNum)
	s.emit(SignState{ChannelID: s.c.ID, State: st, Hash: h})
	return nil
}

func (s *stepper) signed(in Signed) error {
	p := s.c.Pending
	if p == nil || p.Hash != in.Hash {
		return ErrUnexpectedSignature
	}
	// The signer port is trusted to sign with this wallet's key (its
	// adapters are tested against the npm vectors); recovering our own
	// signature here would double the hot path's cost.
	if in.Signature.V != 27 && in.Signature.V != 28 {
		return fmt.Errorf("%w: v = %d", ErrUnexpectedSignature, in.Signature.V)
	}
	s.c.Pending = nil
	sigs := make([]nitro.Signature, s.c.N())
	sigs[s.c.MyIndex] = in.Signature
	st := p.State
	s.insert(StoredState{State: st, Hash: p.Hash, Sigs: sigs})
	k, _ := s.c.stateAt(st.TurnNum)
	msg := Payload{SignedStates: []SignedState{s.signedState(s.c.States[k])}}
	if st.TurnNum == uint64(s.c.MyIndex) && s.c.Creator {
		msg.Objectives = append(msg.Objectives, s.objective(ObjectiveOpenChannel))
	}
	if st.IsFinal && s.c.CloseInitiator {
		msg.Objectives = append(msg.Objectives, s.objective(ObjectiveCloseChannel))
	}
	s.broadcast(msg)
	// A state held for the turn after mine may apply now.
	s.applyHeld()
	return nil
}

func (s *stepper) objective(typ string) Objective {
	o := Objective{Type: typ, Participants: slices.Clone(s.c.Participants), TargetChannelID: s.c.ID, FundingStrategy: s.c.FundingStrategy}
	if typ == ObjectiveOpenChannel {
		o.Role = "app"
	}
	return o
}

// signedState returns a held state as sent to peers; it shares the state
// and the participants with the channel.
func (s *stepper) signedState(st StoredState) SignedState {
	out := SignedState{State: st.State, Participants: s.c.Participants}
	n := 0
	for _, sig := range st.Sigs {
		if sig.V != 0 {
			n++
		}
	}
	if n > 0 {
		out.Signatures = make([]nitro.Signature, 0, n)
	}
	for _, sig := range st.Sigs {
		if sig.V != 0 {
			out.Signatures = append(out.Signatures, sig)
		}
	}
	return out
}

// broadcast sends the payload to every other participant.
func (s *stepper) broadcast(p Payload) {
	for i, to := range s.c.Participants {
		if i != s.c.MyIndex {
			s.sendTo(to.ParticipantID, p)
		}
	}
}

func (s *stepper) sendTo(to string, p Payload) {
	s.emit(Send{ChannelID: s.c.ID, Message: Message{Recipient: to, Sender: s.c.Me().ParticipantID, Payload: p}})
}

// insert adds a state in turn order, merging signatures into an equal state.
func (s *stepper) insert(st StoredState) {
	k, ok := s.c.stateAt(st.State.TurnNum)
	if ok {
		// The signature list may be shared with Step's argument: copy it
		// before the first change.
		var sigs []nitro.Signature
		for i, sig := range st.Sigs {
			if sig.V != 0 && s.c.States[k].Sigs[i] != sig {
				if sigs == nil {
					sigs = slices.Clone(s.c.States[k].Sigs)
				}
				sigs[i] = sig
			}
		}
		if sigs != nil {
			s.own(0)
			s.c.States[k].Sigs = sigs
		}
		return
	}
	s.own(1)
	s.c.States = slices.Insert(s.c.States, k, st)
	s.prune()
}

// prune keeps the setup states and the last 2n turns.
func (s *stepper) prune() {
	l, _ := s.c.Latest()
	n := uint64(2 * s.c.N())
	if l.State.TurnNum < 2*n {
		return
	}
	floor := l.State.TurnNum - n
	i := 0
	for i < len(s.c.States) && s.c.States[i].State.TurnNum < floor {
		i++
	}
	if i > 0 {
		s.own(0)
		s.c.States = slices.Delete(s.c.States, 0, i)
	}
}

func (s *stepper) sync() {
	states := s.recentStates()
	for i, to := range s.c.Participants {
		if i == s.c.MyIndex {
			continue
		}
		s.sendTo(to.ParticipantID, Payload{
			SignedStates: states,
			Requests:     []Request{{Type: RequestGetChannel, ChannelID: s.c.ID}},
		})
	}
}

// recentStates returns the states a peer needs to catch up: every setup
// state during setup, and afterwards the last n turns. A peer is never more
// than n-1 turns from us, so none of these is below what it keeps (the last
// 2n turns) and a resend is never rejected as stale.
func (s *stepper) recentStates() []SignedState {
	out := make([]SignedState, 0, len(s.c.States))
	l, _ := s.c.Latest()
	n := uint64(s.c.N())
	for _, st := range s.c.States {
		if l.State.TurnNum >= 2*n && st.State.TurnNum+n <= l.State.TurnNum {
			continue
		}
		out = append(out, s.signedState(st))
	}
	return out
}

// crank takes every protocol action the channel's state now calls for, in
// protocol order; each guard either waits or emits effects.
func (s *stepper) crank() {
	c := &s.c
	if !c.Joined || c.Pending != nil {
		return
	}
	n := uint64(c.N())
	me := uint64(c.MyIndex)
	// Open: my prefund state.
	if !c.signedAt(me, c.MyIndex) && c.MyLastTurn < int64(me) {
		st := c.Setup.Clone()
		st.TurnNum = me
		_ = s.requestSign(st)
		return
	}
	if !c.PrefundComplete() {
		return
	}
	// Fund: deposit my items whose turn has come.
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
	// Postfund: once funded, in turn order.
	if c.Funded() && !c.signedAt(n+me, c.MyIndex) && c.MyLastTurn < int64(n+me) {
		for t := n; t < n+me; t++ {
			if !c.signedAt(t, int(t%n)) {
				return
			}
		}
		st := c.Setup.Clone()
		st.TurnNum = n + me
		_ = s.requestSign(st)
		return
	}
	final, ok := c.Final()
	if !ok {
		return
	}
	// Close: countersign a final state.
	if !final.SignedBy(c.MyIndex) {
		if c.MyLastTurn < int64(final.State.TurnNum) {
			_ = s.requestSign(final.State.Clone())
		}
		return
	}
	// Conclude: the final state's mover at once, the others as a backup.
	if final.SignedByAll() && !c.Concluded && c.Conclude == TxNone && !c.depositUnseen() {
		mover := c.mover(final.State.TurnNum) == c.MyIndex
		if mover || s.backupDue {
			c.Conclude = TxRequested
			s.emit(Conclude{ChannelID: c.ID, State: final.State.Clone(), Signatures: slices.Clone(final.Sigs)})
		}
	}
}
