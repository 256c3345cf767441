package sim

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Byzantine actors. The stranger is a key that is no wallet of the world
// (participant id StrangerName): it proposes channels on another chain or
// with an asset holder the chain does not know, and floods wallets with
// GetChannel requests. A hostile peer is a world wallet whose key the world
// uses to sign what its wallet never would: two different states for one
// turn it moves. The world also misaddresses honest messages and calls
// wallets after Close. What they send goes straight to an honest wallet,
// checked against these properties:
//
//   - a rejected input changes nothing durable (the wallet's store is
//     snapshot before and after every Byzantine input);
//   - no honest wallet deposits into a channel that can never pay out (a
//     chain id other than the world's, an asset holder the chain does not
//     know);
//   - an honest wallet sends a channel's states only to its participants;
//   - a message whose recipient is not the wallet is refused;
//   - a state for a turn the wallet already holds a different state of,
//     signed by the same mover, is refused with ErrConflictingState (or
//     ErrChannelClosed once the channel closed);
//   - after Close every call returns app.ErrClosed.
//
// A channel a hostile peer equivocated in is poisoned: its honest wallets
// cannot be expected to agree with the hostile peer's own wallet, so
// agreement, honest-rejection and liveness checks skip it (safety checks
// and the conservation of funds still hold).

// StrangerName is the stranger's participant id.
const StrangerName = "Z"

// ForeignChainID is the chain id of the stranger's foreign-chain proposals.
const ForeignChainID = 999

// unknownAssetHolder is an asset holder the world's chain does not know.
var unknownAssetHolder = nitro.Address{0xde, 0xad, 0xa5, 0x5e, 0x7}

// byzantine is the Byzantine actors' state.
type byzantine struct {
	key   *ecdsa.PrivateKey
	addr  nitro.Address
	dest  nitro.Bytes32
	nonce uint64
	// channels are the stranger's proposals (whether accepted or not).
	channels []nitro.Bytes32
	// poisoned are the channels a hostile peer equivocated in.
	poisoned map[nitro.Bytes32]bool
	// conflicts are the envelopes carrying a hostile peer's second state
	// for a turn, by envelope id.
	conflicts map[int]conflict
}

// conflict is one equivocation: first and second are the hashes of two
// states signed by the mover of turn in channel id.
type conflict struct {
	id            nitro.Bytes32
	turn          uint64
	first, second nitro.Bytes32
}

func (w *World) initByzantine() {
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte("nitrowallet-sim-stranger")))
	if err != nil {
		panic(err)
	}
	b := &w.byz
	b.key, b.poisoned, b.conflicts = key, map[nitro.Bytes32]bool{}, map[int]conflict{}
	b.addr = crypto.PubkeyToAddress(key.PublicKey)
	b.dest = nitro.AddressToDestination(nitro.Address(crypto.Keccak256Hash([]byte("nitrowallet-sim-destination-Z")).Bytes()[12:]))
	w.signed[b.addr] = map[nitro.Bytes32]bool{}
}

// sign signs a state with key, recording the signature as made (a
// Byzantine signature is genuine: only honest wallets' keys are checked for
// what they sign).
func (w *World) sign(key *ecdsa.PrivateKey, st nitro.State) (nitro.Bytes32, nitro.Signature, bool) {
	h, err := st.Hash()
	if err != nil {
		return h, nitro.Signature{}, false
	}
	raw, err := crypto.Sign(nitro.SignatureDigest(h), key)
	if err != nil {
		return h, nitro.Signature{}, false
	}
	raw[64] += 27
	sig, err := nitro.SignatureFromBytes(raw)
	if err != nil {
		return h, nitro.Signature{}, false
	}
	w.mu.Lock()
	w.signed[crypto.PubkeyToAddress(key.PublicKey)][h] = true
	w.mu.Unlock()
	return h, sig, true
}

// durable renders everything wal's store keeps.
func (w *World) durable(wal *Wallet) string {
	cs, err1 := wal.store.mem.List(w.ctx)
	pend, err2 := wal.store.mem.Pending(w.ctx)
	cur, err3 := wal.store.mem.ChainCursor(w.ctx)
	return Canonical(struct {
		Channels []core.Channel
		Pending  []ports.OutboxEntry
		Cursor   uint64
		Errs     []error
	}{cs, pend, cur.Block, []error{err1, err2, err3}})
}

// rejected records a rejected Byzantine input and checks that it changed
// nothing durable.
func (w *World) rejected(wal *Wallet, what string, before string, err error) {
	w.stats.Rejected++
	w.stats.Rejections[rejection(err)]++
	if w.durable(wal) != before {
		w.violate("wallet %s rejected %s (%v) but its store changed", wal.Name, what, err)
	}
}

// push gives wal a Byzantine message, checking that a rejection changes
// nothing durable; its outbox goes out as any call's.
func (w *World) push(wal *Wallet, what string, data []byte) (app.Result, error) {
	if wal.offline {
		return app.Result{}, errOffline
	}
	w.stats.Calls++
	w.stats.Forged++
	w.line("Note over Wallet%s: %s", wal.Name, what)
	before := w.durable(wal)
	res, err := wal.app.PushMessage(w.ctx, data)
	if w.died(wal) {
		w.reap()
		return app.Result{}, errCrashed
	}
	if err != nil {
		w.rejected(wal, what, before, err)
	}
	w.enqueue(res.Outbox)
	return res, err
}

// StrangerPropose has the stranger propose a channel to wallet victim in
// which the victim deposits 1+amount wei: kind 0 on chain ForeignChainID,
// kind 1 at an asset holder the chain does not know, kind 2 a proposal
// that could pay out (which the stranger never funds or moves in).
func (w *World) StrangerPropose(kind, victim, amount int) {
	wal := w.Wallets[mod(victim, len(w.Wallets))]
	b := &w.byz
	chainID, asset, what := big.NewInt(ChainID), w.ETH, "a proposal"
	switch mod(kind, 3) {
	case 0:
		chainID, what = big.NewInt(ForeignChainID), fmt.Sprintf("a proposal on chain %d", ForeignChainID)
	case 1:
		asset, what = unknownAssetHolder, "a proposal at an unknown asset holder"
	}
	b.nonce++
	ps := []core.Participant{
		{ParticipantID: StrangerName, SigningAddress: b.addr, Destination: b.dest},
		{ParticipantID: wal.Name, SigningAddress: wal.Address(), Destination: nitro.AddressToDestination(wal.dest)},
	}
	st := nitro.State{
		ChainID: chainID, Participants: []nitro.Address{b.addr, wal.Address()}, ChannelNonce: 1_000_000 + b.nonce,
		ChallengeDuration: 100,
		Outcome: nitro.Outcome{{AssetHolder: asset, Allocation: []nitro.AllocationItem{
			{Destination: b.dest, Amount: new(big.Int)},
			{Destination: ps[1].Destination, Amount: big.NewInt(int64(1 + mod(amount, 5)))},
		}}},
	}
	id, err := st.ChannelID()
	if err != nil {
		return
	}
	_, sig, ok := w.sign(b.key, st)
	if !ok {
		return
	}
	data, err := wire.EncodeMessage(core.Message{Recipient: wal.Name, Sender: StrangerName, Payload: core.Payload{
		WalletVersion: wire.WalletVersion,
		SignedStates:  []core.SignedState{{State: st, Participants: ps, Signatures: []nitro.Signature{sig}}},
		Objectives: []core.Objective{{Type: core.ObjectiveOpenChannel, Participants: ps, TargetChannelID: id,
			FundingStrategy: core.FundingDirect}},
	}})
	if err != nil {
		return
	}
	if !slices.Contains(b.channels, id) {
		b.channels = append(b.channels, id)
	}
	w.push(wal, "stranger sends "+what, data)
}

// JoinProposals has wallet i join every stranger proposal it holds and has
// not joined (a user who accepts whatever is proposed).
func (w *World) JoinProposals(i int) {
	wal := w.Wallets[mod(i, len(w.Wallets))]
	for _, id := range w.byz.channels {
		c, ok := w.View(wal.Index, id)
		if !ok || c.Joined {
			continue
		}
		before := w.durable(wal)
		_, err := w.call(wal, fmt.Sprintf("joinChannel(%s)", w.label(id)), id, false, jobsOf(job{id, core.Join{Deployment: wal.deployment()}}), func(a *app.Wallet) (app.Result, error) {
			return a.JoinChannel(w.ctx, id)
		})
		if err != nil && !errors.Is(err, errCrashed) {
			w.rejected(wal, "joinChannel of a stranger's proposal", before, err)
		}
	}
}

// checkDeposit: no honest wallet deposits into a channel that can never
// pay out. Called by the wallet's chain port before every deposit.
func (w *World) checkDeposit(wal *Wallet, req ports.DepositRequest) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := wal.view[req.ChannelID]
	var why string
	switch {
	case !ok:
		why = "a channel it never stored"
	case c.Setup.ChainID == nil || c.Setup.ChainID.Cmp(big.NewInt(ChainID)) != 0:
		why = fmt.Sprintf("its states name chain %v, the chain is %d", c.Setup.ChainID, ChainID)
	case req.Asset != w.ETH && req.Asset != w.Token:
		why = fmt.Sprintf("asset holder %s is unknown to the chain", req.Asset)
	default:
		for _, a := range c.Setup.Outcome {
			if a.AssetHolder != w.ETH && a.AssetHolder != w.Token {
				why = fmt.Sprintf("its outcome names asset holder %s, unknown to the chain", a.AssetHolder)
			}
		}
	}
	if why != "" {
		w.violateLocked("wallet %s deposits %v into %s, which can never pay out: %s", wal.Name, req.Amount, w.label(req.ChannelID), why)
	}
}

// GetChannelFlood has the stranger send a participant of the slot's channel
// a message of 16 GetChannel requests for it.
func (w *World) GetChannelFlood(slot, pick int) {
	id, ws := w.candidates(slot, func(core.Channel) bool { return true })
	if len(ws) == 0 {
		return
	}
	wal := ws[mod(pick, len(ws))]
	p := core.Payload{WalletVersion: wire.WalletVersion}
	for range 16 {
		p.Requests = append(p.Requests, core.Request{Type: core.RequestGetChannel, ChannelID: id})
	}
	data, err := wire.EncodeMessage(core.Message{Recipient: wal.Name, Sender: StrangerName, Payload: p})
	if err != nil {
		return
	}
	w.push(wal, fmt.Sprintf("stranger asks for %s 16 times", w.label(id)), data)
}

// toStranger checks a message an honest wallet addressed to someone who is
// no wallet of the world (the stranger): it may carry only states of the
// stranger's own channels. Called with netMu held.
func (w *World) toStranger(from, to string, data []byte) {
	m, err := wire.DecodeMessage(data, wire.DefaultLimits())
	if err != nil {
		w.violate("wallet %s sent %s a message it cannot decode: %v", from, to, err)
		return
	}
	for _, ss := range m.Payload.SignedStates {
		id, err := ss.State.ChannelID()
		if err != nil || !slices.Contains(w.byz.channels, id) {
			w.violate("wallet %s sent %s, who is not a participant, turn %d of %s (%d bytes)", from, to, ss.State.TurnNum, w.label(id), len(data))
			return
		}
	}
}

// Misdeliver gives a copy of message i in flight to another wallet than
// its recipient (pick chooses which): the wallet must refuse it.
func (w *World) Misdeliver(i, pick int) {
	w.netMu.Lock()
	if len(w.net) == 0 {
		w.netMu.Unlock()
		return
	}
	env := *w.net[mod(i, len(w.net))]
	w.netMu.Unlock()
	var others []*Wallet
	for _, wal := range w.Wallets {
		if wal.Name != env.To {
			others = append(others, wal)
		}
	}
	wal := others[mod(pick, len(others))]
	if _, err := w.push(wal, fmt.Sprintf("a message from %s to %s", env.From, env.To), env.Data); err == nil {
		w.violate("wallet %s accepted a message from %s addressed to %s", wal.Name, env.From, env.To)
	}
}

// Equivocate has a hostile participant of the slot's channel (pick) sign
// two different states for a turn it moves: the first after the latest it
// holds, or (ahead odd) one round later, a future turn. The first goes at
// once to every other participant; the second is queued to each.
func (w *World) Equivocate(slot, pick, ahead int) {
	id, ws := w.candidates(slot, func(c core.Channel) bool {
		l, ok := c.Latest()
		return ok && c.Status() == core.StatusRunning && !l.State.IsFinal
	})
	if len(ws) == 0 {
		return
	}
	by := ws[mod(pick, len(ws))]
	c, _ := w.View(by.Index, id)
	l, _ := c.Latest()
	n := uint64(c.N())
	t := l.State.TurnNum + 1
	for t%n != uint64(c.MyIndex) || t < 2*n {
		t++
	}
	t += n * uint64(mod(ahead, 2))
	var hs [2]nitro.Bytes32
	var sss [2]core.SignedState
	for k := range hs {
		st := l.State.Clone()
		st.TurnNum, st.AppData = t, []byte{0xe0 + byte(k), byte(t)}
		h, sig, ok := w.sign(by.key, st)
		if !ok {
			return
		}
		hs[k], sss[k] = h, core.SignedState{State: st, Participants: c.Participants, Signatures: []nitro.Signature{sig}}
	}
	w.byz.poisoned[id] = true
	for i, p := range c.Participants {
		if i == c.MyIndex {
			continue
		}
		victim := w.byName[p.ParticipantID]
		var data [2][]byte
		for k := range data {
			var err error
			data[k], err = wire.EncodeMessage(core.Message{Recipient: p.ParticipantID, Sender: by.Name, Payload: core.Payload{
				WalletVersion: wire.WalletVersion, SignedStates: []core.SignedState{sss[k]}}})
			if err != nil {
				return
			}
		}
		w.push(victim, fmt.Sprintf("%s signs two states for %s turn %d", by.Name, w.label(id), t), data[0])
		w.netMu.Lock()
		w.enqueueLocked(by.Name, p.ParticipantID, data[1], true)
		w.byz.conflicts[w.nextID] = conflict{id: id, turn: t, first: hs[0], second: hs[1]}
		w.netMu.Unlock()
	}
}

// holdsConflict reports whether wal holds the first state of the
// equivocation env carries (if it carries one).
func (w *World) holdsConflict(wal *Wallet, env *Envelope) (conflict, bool) {
	cf, ok := w.byz.conflicts[env.ID]
	if !ok {
		return cf, false
	}
	c, ok := w.View(wal.Index, cf.id)
	if !ok {
		return cf, false
	}
	for _, s := range c.States {
		if s.State.TurnNum == cf.turn {
			return cf, s.Hash == cf.first
		}
	}
	for _, s := range c.Held {
		if s.State.TurnNum == cf.turn {
			h, err := s.State.Hash()
			return cf, err == nil && h == cf.first
		}
	}
	return cf, false
}

// beforeForged prepares the checks of a forged envelope's delivery.
func (w *World) beforeForged(wal *Wallet, env *Envelope) func(err error) {
	before := w.durable(wal)
	cf, held := w.holdsConflict(wal, env)
	return func(err error) {
		if errors.Is(err, errCrashed) {
			return
		}
		if err != nil && w.durable(wal) != before {
			w.violate("wallet %s rejected a forged message from %s (%v) but its store changed", wal.Name, env.From, err)
		}
		// A channel closed meanwhile may refuse it as closed.
		if held && !errors.Is(err, core.ErrConflictingState) && !errors.Is(err, core.ErrChannelClosed) {
			w.violate("wallet %s holds a state of %s turn %d signed by its mover and took a different one for that turn without ErrConflictingState (err %v)",
				wal.Name, w.label(cf.id), cf.turn, err)
		}
	}
}

// poisonedMessage reports whether data is about a channel a hostile peer
// equivocated in.
func (w *World) poisonedMessage(data []byte) bool {
	if len(w.byz.poisoned) == 0 {
		return false
	}
	for _, j := range receiveJobs(core.Receive{}, data) {
		if w.byz.poisoned[j.id] {
			return true
		}
	}
	return false
}

// CallAfterClose closes wallet i's app, makes a call (kind: create,
// update, push a message, sync) that must fail with app.ErrClosed and
// change nothing, then starts the wallet again from its store.
func (w *World) CallAfterClose(i, kind int) {
	wal := w.Wallets[mod(i, len(w.Wallets))]
	if wal.offline {
		return
	}
	_ = wal.app.Close()
	before := w.durable(wal)
	a := wal.app
	var err error
	what := ""
	w.mu.Lock()
	var known []nitro.Bytes32
	for id := range wal.view {
		known = append(known, id)
	}
	w.mu.Unlock()
	slices.SortFunc(known, func(x, y nitro.Bytes32) int { return compareIDs(x, y) })
	switch k := mod(kind, 4); {
	case k == 0:
		// Not a slot's channel: one no slot is confused with, should the
		// call succeed.
		other := w.Wallets[(wal.Index+1)%len(w.Wallets)]
		ps := []app.Participant{
			{ParticipantID: wal.Name, SigningAddress: wal.Address(), Destination: nitro.AddressToDestination(wal.dest)},
			{ParticipantID: other.Name, SigningAddress: other.Address(), Destination: nitro.AddressToDestination(other.dest)},
		}
		what = "createChannel"
		_, err = a.CreateChannel(w.ctx, app.CreateChannelParams{Participants: ps, ChallengeDuration: 101,
			Allocations: []app.Allocation{w.allocation(w.ETH, ps, []int64{0, 0})}})
	case k == 1 && len(known) > 0:
		c, _ := w.View(wal.Index, known[0])
		what = "updateChannel"
		_, err = a.UpdateChannel(w.ctx, app.UpdateChannelParams{ChannelID: c.ID, Allocations: allocationsOf(c)})
	case k == 2:
		what = "pushMessage"
		_, err = a.PushMessage(w.ctx, []byte(`{"recipient":"`+wal.Name+`","data":{"walletVersion":""}}`))
	case len(known) > 0:
		what = "syncChannel"
		_, err = a.SyncChannel(w.ctx, known[0])
	}
	if what != "" {
		w.stats.Calls++
		w.line("Note over Wallet%s: %s after Close", wal.Name, what)
		if !errors.Is(err, app.ErrClosed) {
			w.violate("%s by %s after Close: err %v, want app.ErrClosed", what, wal.Name, err)
		}
		if w.durable(wal) != before {
			w.violate("%s by %s after Close changed its store", what, wal.Name)
		}
	}
	if w.died(wal) { // the call wrote, and a CrashDuring was armed
		w.reap()
		return
	}
	w.note(wal.Name, "start again after Close")
	if err := w.start(wal); err != nil {
		w.violate("%v", err)
	}
}

func allocationsOf(c core.Channel) []app.Allocation {
	l, _ := c.Latest()
	var out []app.Allocation
	for _, a := range l.State.Outcome {
		al := app.Allocation{AssetHolderAddress: a.AssetHolder}
		for _, it := range a.Allocation {
			al.AllocationItems = append(al.AllocationItems, app.AllocationItem{Destination: it.Destination, Amount: it.Amount})
		}
		out = append(out, al)
	}
	return out
}

func compareIDs(a, b nitro.Bytes32) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}
