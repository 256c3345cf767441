package sim

import (
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Disputes on the world's chain (issue 13 item 7). A wallet may challenge a
// running channel through its API (Challenge); a Byzantine participant may
// register, through its chain account and behind its wallet's back, a
// challenge with any support proof its wallet ever held (StaleChallenge);
// and the chain's clock may jump by a channel's challenge duration
// (AdvanceChainTime), after every wallet has had its chance to answer: the
// pending transactions are mined and buried, every wallet gets its events
// and a tick, twice, before the jump.
//
// Properties:
//
//   - a challenge that finalizes registered a state at least as new as
//     every online participant's supported state when time moved past it
//     (each had its chance to answer, so a stale challenge must have been
//     cleared by a checkpoint), unless that participant got its newer
//     support, or came back online, less than answerLead seconds before
//     finalizesAt, when no answer could be mined in time; checked each
//     time the chain's time jumps;
//   - a channel closed by a finalized challenge pays exactly the
//     challenged state's outcome and holds nothing (Stabilize's liveness,
//     which also moves the chain's time past every running challenge once
//     the world is otherwise settled, so that no channel's funds stay
//     locked).

// heldProof is a support proof a wallet held for a channel.
type heldProof struct {
	wallet int
	turn   uint64
	proof  core.SupportProof
}

// proofKey dedupes held proofs.
type proofKey struct {
	wallet int
	id     nitro.Bytes32
	turn   uint64
}

// disputes is the world's record of what the wallets could challenge with
// and of the disputes it ran.
type disputes struct {
	proofs map[nitro.Bytes32][]heldProof
	seen   map[proofKey]bool
	// challenges are the challenge hashes each wallet committed to sign
	// (a SubmitChallenge effect), by wallet index.
	challenges map[int]map[nitro.Bytes32]bool
	// since is the chain head's time when a wallet first committed
	// support of a channel's turn (whatever the channel's status): a
	// challenge can only be answered with a support held a block before it
	// finalizes.
	since map[proofKey]uint64
	stats DisputeStats
}

// DisputeStats counts the disputes of a run.
type DisputeStats struct {
	// Challenges counts the API challenges, StaleChallenges the challenges
	// registered behind a wallet's back with a proof older than its
	// supported state, Reverted those of them the chain refused.
	Challenges, StaleChallenges, Reverted int
	// Cleared counts the challenges AdvanceChainTime found cleared after
	// the response window; TimeJumps counts the chain clock's jumps,
	// Finalized the challenges seen finalized after one.
	Cleared, TimeJumps, Finalized int
	// LostOffline counts the finalized challenges older than the support
	// of a participant that was offline (GoOffline) when they finalized.
	LostOffline int
	// LostLate counts the finalized challenges older than the support of
	// an online participant that got it, or came back online (ComeBack),
	// too late to answer: less than answerLead seconds before finalizesAt.
	LostLate int
}

// DisputeStats returns the dispute counters so far.
func (w *World) DisputeStats() DisputeStats { return w.disp.stats }

func (d *disputes) init() {
	if d.proofs == nil {
		d.proofs = map[nitro.Bytes32][]heldProof{}
		d.seen = map[proofKey]bool{}
		d.challenges = map[int]map[nitro.Bytes32]bool{}
		d.since = map[proofKey]uint64{}
	}
}

// answerLead is how long before a challenge's finalizesAt a wallet must
// hold a newer support for its checkpoint to make it: the answer is mined
// in the next block, one of the world's 1 s blocks later, and the
// adjudicator refuses it in a block at or past finalizesAt.
const answerLead = 2

// noteSupportLocked records when wal first committed support of c's
// supported turn (see disputes.since).
func (w *World) noteSupportLocked(wal *Wallet, c core.Channel) {
	w.disp.init()
	sup, ok := c.Supported()
	if !ok {
		return
	}
	k := proofKey{wallet: wal.Index, id: c.ID, turn: sup.State.TurnNum}
	if _, ok := w.disp.since[k]; !ok {
		w.disp.since[k] = w.Chain.Now()
	}
}

// supportedInTime reports whether wal, online, held support of a turn
// newer than rec's (up to its current supported turn) at least answerLead
// seconds before rec finalizes.
func (w *World) supportedInTime(wal *Wallet, id nitro.Bytes32, rec ports.ChannelRecord, supported uint64) bool {
	for t := rec.TurnNumRecord + 1; t <= supported; t++ {
		if at, ok := w.disp.since[proofKey{wallet: wal.Index, id: id, turn: t}]; ok && max(at, wal.backAt)+answerLead <= rec.FinalizesAt {
			return true
		}
	}
	return false
}

// keepProofLocked remembers the support proof of a running channel's
// supported state as committed by wal, once per supported turn.
func (w *World) keepProofLocked(wal *Wallet, c core.Channel) {
	w.disp.init()
	if c.Dispute != nil || c.Status() != core.StatusRunning {
		return
	}
	sup, ok := c.Supported()
	if !ok {
		return
	}
	k := proofKey{wallet: wal.Index, id: c.ID, turn: sup.State.TurnNum}
	if w.disp.seen[k] {
		return
	}
	p, err := c.SupportProof()
	if err != nil {
		return
	}
	w.disp.seen[k] = true
	w.disp.proofs[c.ID] = append(w.disp.proofs[c.ID], heldProof{wallet: wal.Index, turn: k.turn, proof: p})
}

// allowChallengeLocked records the challenge hash a SubmitChallenge effect
// commits wal to sign.
func (w *World) allowChallengeLocked(wal *Wallet, e core.SubmitChallenge) {
	w.disp.init()
	if len(e.Proof.States) == 0 {
		return
	}
	h, err := e.Proof.States[len(e.Proof.States)-1].Hash()
	if err != nil {
		return
	}
	if w.disp.challenges[wal.Index] == nil {
		w.disp.challenges[wal.Index] = map[nitro.Bytes32]bool{}
	}
	w.disp.challenges[wal.Index][nitro.ChallengeHash(h)] = true
}

// challengeSignLocked reports whether h is a challenge hash wal committed
// to sign.
func (w *World) challengeSignLocked(wal *Wallet, h nitro.Bytes32) bool {
	return w.disp.challenges[wal.Index][h]
}

// Challenge has a participant of the slot's running channel (pick among
// them) challenge it through its API with its supported state.
func (w *World) Challenge(slot, pick int) {
	id, ws := w.candidates(slot, func(c core.Channel) bool {
		return c.Status() == core.StatusRunning && c.Dispute == nil && c.Challenge == core.TxNone
	})
	if len(ws) == 0 || w.byz.poisoned[id] {
		return
	}
	wal := ws[mod(pick, len(ws))]
	w.disp.stats.Challenges++
	w.call(wal, fmt.Sprintf("challengeChannel(%s)", w.label(id)), id, false, jobsOf(job{id, core.Challenge{}}), func(a *app.Wallet) (app.Result, error) {
		return a.ChallengeChannel(w.ctx, id)
	})
}

// StaleChallenge has a participant of the slot's running channel (pick
// among those that held a proof of it) register, through its own chain
// account and without its wallet, a challenge with a support proof its
// wallet held before (age picks which, counted back from the newest older
// than its current supported state). It does nothing when the participant
// held no older proof.
func (w *World) StaleChallenge(slot, pick, age int) {
	id, ws := w.candidatesOf(slot, true, func(c core.Channel) bool { return c.Status() == core.StatusRunning })
	if len(ws) == 0 || w.byz.poisoned[id] {
		return
	}
	by := ws[mod(pick, len(ws))]
	c, _ := w.View(by.Index, id)
	sup, ok := c.Supported()
	if !ok {
		return
	}
	var older []heldProof
	for _, p := range w.disp.proofs[id] {
		if p.wallet == by.Index && p.turn < sup.State.TurnNum {
			older = append(older, p)
		}
	}
	if len(older) == 0 {
		return
	}
	hp := older[len(older)-1-mod(age, len(older))]
	last := hp.proof.States[len(hp.proof.States)-1]
	h, err := last.Hash()
	if err != nil {
		w.violate("stale challenge: %v", err)
		return
	}
	raw, err := crypto.Sign(nitro.SignatureDigest(nitro.ChallengeHash(h)), by.key)
	if err != nil {
		w.violate("stale challenge: %v", err)
		return
	}
	raw[64] += 27
	sig, err := nitro.SignatureFromBytes(raw)
	if err != nil {
		w.violate("stale challenge: %v", err)
		return
	}
	w.disp.stats.StaleChallenges++
	w.line("Note over Wallet%s: %s challenges %s with turn %d (supports %d)", by.Name, by.Name, w.label(id), hp.turn, sup.State.TurnNum)
	if _, err := by.port.acct.Challenge(w.ctx, ports.ChallengeRequest{Proof: hp.proof, ChallengerSignature: sig}); err != nil {
		w.disp.stats.Reverted++
	}
}

// AdvanceChainTime lets every wallet answer the slot's challenge, if one
// runs on chain, then moves the chain's clock by the channel's challenge
// duration and ticks every wallet; see respondWindow and jump.
func (w *World) AdvanceChainTime(slot int) {
	if len(w.ids) == 0 {
		return
	}
	id := w.ids[mod(slot, len(w.ids))]
	if id == (nitro.Bytes32{}) {
		return
	}
	rec, now := w.record(id)
	if rec.FinalizesAt == 0 || rec.FinalizesAt <= now {
		return
	}
	w.respondWindow()
	rec, now = w.record(id)
	if rec.FinalizesAt == 0 || rec.FinalizesAt <= now {
		w.disp.stats.Cleared++
		return // cleared (or a record past its time): nothing to wait for
	}
	w.jump(rec.FinalizesAt - now)
}

// record reads the adjudicator's record of id and the head's time.
func (w *World) record(id nitro.Bytes32) (ports.ChannelRecord, uint64) {
	acct := w.Chain.Account(w.Wallets[0].Address())
	rec, err := acct.Record(w.ctx, id)
	if err != nil {
		return ports.ChannelRecord{}, 0
	}
	now, err := acct.BlockTime(w.ctx)
	if err != nil {
		return ports.ChannelRecord{}, 0
	}
	return rec, now
}

// respondWindow gives every wallet its chance to answer a challenge: mine
// and bury the pending transactions, give every wallet its events and tick
// it; twice, and up to respondRounds times while an online wallet still
// holds a newer supported state than a running challenge's (a checkpoint a
// reorg dropped is submitted again one TxRetryDelay of ticks after it was
// last seen waiting, and a failed submission on the tick after that).
func (w *World) respondWindow() {
	for round := 0; round < respondRounds && (round < 2 || w.answersDue()); round++ {
		w.bury()
		for _, wal := range w.Wallets {
			w.Events(wal.Index, 0)
		}
		for _, wal := range w.Wallets {
			w.clock.advance(waitStep)
			w.tick(wal)
		}
	}
	w.bury()
	for _, wal := range w.Wallets {
		w.Events(wal.Index, 0)
	}
}

// respondRounds bounds respondWindow's rounds: two for a checkpoint
// unseen (the tick that notes it waiting, the tick that submits it again),
// one for a failed submission, one to spare.
const respondRounds = 4

// answersDue reports whether an online wallet supports a newer turn than
// a challenge still running on chain for one of its channels.
func (w *World) answersDue() bool {
	for _, id := range w.ids {
		if id == (nitro.Bytes32{}) {
			continue
		}
		rec, now := w.record(id)
		if rec.FinalizesAt <= now {
			continue
		}
		for _, wal := range w.Wallets {
			if wal.offline {
				continue
			}
			if c, ok := w.View(wal.Index, id); ok {
				if sup, ok := c.Supported(); ok && sup.State.TurnNum > rec.TurnNumRecord {
					return true
				}
			}
		}
	}
	return false
}

// bury mines until the pending transactions are mined and every event is
// confirmed.
func (w *World) bury() {
	for k := 0; k < 64 && (w.Chain.Pending() > 0 || w.Chain.ConfirmedBlock() < w.lastEventBlock()); k++ {
		w.Mine()
	}
}

// jump moves the chain's clock by seconds in one block, buried under
// ReorgDepth more so that no reorg takes the time back, checks that no
// challenge finalized against a participant's newer supported state, and
// ticks every wallet.
func (w *World) jump(seconds uint64) {
	running := map[nitro.Bytes32]ports.ChannelRecord{}
	for _, id := range w.ids {
		if rec, now := w.record(id); id != (nitro.Bytes32{}) && rec.FinalizesAt > now {
			running[id] = rec
		}
	}
	w.Chain.AdjustTime(seconds)
	w.chainVersion++
	w.stats.Blocks++
	w.disp.stats.TimeJumps++
	w.line("Note over Chain: time +%d s", seconds)
	for i := 0; i < w.cfg.ReorgDepth; i++ {
		w.Mine()
	}
	w.checkFinalized(running)
	for _, wal := range w.Wallets {
		w.tick(wal)
	}
}

// checkFinalized checks every channel whose challenge, running before the
// jump (running), the jump finalized: the registered turn is at least
// every online participant's supported turn (an offline wallet could not
// answer, no watcher is modelled; nor could one whose newer support or
// return came too late, see supportedInTime).
func (w *World) checkFinalized(running map[nitro.Bytes32]ports.ChannelRecord) {
	for slot, id := range w.ids {
		was, ok := running[id]
		if !ok || !w.Chain.Finalized(id) {
			continue
		}
		if rec, _ := w.record(id); rec != was {
			continue // concluded with a final state, or challenged anew
		}
		rec := was
		w.disp.stats.Finalized++
		lost, late := false, false
		for _, wal := range w.members(slot) {
			c, ok := w.View(wal.Index, id)
			if !ok {
				continue
			}
			sup, ok := c.Supported()
			if !ok || sup.State.TurnNum <= rec.TurnNumRecord {
				continue
			}
			if wal.offline {
				lost = true // an offline wallet may lose a stale challenge
				continue
			}
			if !w.supportedInTime(wal, id, rec, sup.State.TurnNum) {
				late = true // its newer support came when no answer could make it
				continue
			}
			w.violate("%s: a challenge on turn %d finalized while %s, online, supports turn %d", w.label(id), rec.TurnNumRecord, wal.Name, sup.State.TurnNum)
		}
		if lost {
			w.disp.stats.LostOffline++
		}
		if late {
			w.disp.stats.LostLate++
		}
	}
}

// advanceDisputes moves the chain's clock past the challenges still
// running on the world's channels (Stabilize calls it once the world is
// otherwise settled), or, when a finalized challenge's channel still holds
// funds, past the backup delay. Before a running challenge may time out,
// respondWindow gives every wallet its answer: a settled world can still
// hold a checkpoint a reorg dropped, which the wallet submits again only
// after TxRetryDelay of ticks. It reports whether it changed anything.
func (w *World) advanceDisputes() bool {
	if w.disputeNeed() == 0 {
		return false
	}
	w.respondWindow()
	need := w.disputeNeed()
	if need == 0 {
		return true // the answers cleared every challenge
	}
	w.jump(need)
	return true
}

// disputeNeed is how far the chain's clock must move for every running
// challenge to time out and every finalized one's backup delay to pass (0:
// nothing to wait for).
func (w *World) disputeNeed() uint64 {
	var need uint64
	for _, id := range w.ids {
		if id == (nitro.Bytes32{}) {
			continue
		}
		rec, now := w.record(id)
		switch {
		case rec.FinalizesAt > now:
			need = max(need, rec.FinalizesAt-now)
		case rec.FinalizesAt != 0 && rec.TurnNumRecord != 0 && w.holds(id):
			need = max(need, uint64(core.BackupConcludeDelay+1))
		}
	}
	return need
}

// holds reports whether the chain holds funds for id in any asset.
func (w *World) holds(id nitro.Bytes32) bool {
	for _, a := range w.assets() {
		if w.Chain.ChannelHoldings(a, id).Sign() != 0 {
			return true
		}
	}
	return false
}

// paidOutcome is the outcome a closed channel's payouts follow: the final
// state's, or, for a channel closed by a finalized challenge (rec is the
// adjudicator's record: a conclude leaves turn 0), the challenged state's.
// A wallet may hold a final state signed by all and still be paid the
// challenged outcome: one that was offline while the challenge finalized
// countersigns a final state before its next tick tells it the chain's
// time.
func paidOutcome(c core.Channel, rec ports.ChannelRecord) nitro.Outcome {
	if d := c.Dispute; d != nil && d.Challenged.Outcome != nil && rec.TurnNumRecord != 0 && d.Challenged.TurnNum == rec.TurnNumRecord {
		return d.Challenged.Outcome
	}
	if _, ok := c.Final(); !ok && c.Dispute != nil && c.Dispute.Challenged.Outcome != nil {
		return c.Dispute.Challenged.Outcome
	}
	l, _ := c.Latest()
	return l.State.Outcome
}
