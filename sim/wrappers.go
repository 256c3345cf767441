package sim

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
	"github.com/nitrowallet/nitrowallet/ports"
)

// store wraps a wallet's memory store: it checks every commit, keeps the
// wallet's view, captures the messages the wallet sends on its own, and
// dies on request to simulate a crash in the middle of a call.
type store struct {
	w   *World
	wal *Wallet
	mem *memory.Store
	// Guarded by World.mu.
	dead      bool
	countdown int // writes left before dying; 0 = never
	capture   bool
	entries   map[uint64]core.Effect // committed, not yet done
	// record keeps the first commit of a call, canonically, in first.
	record bool
	first  []string
	// inCall: a call runs; the Sends it commits are in its result (its
	// outbox), so marking them done later (the wallet writes a call's done
	// marks late, with its next commit or on a tick) is not a message the
	// wallet sends on its own.
	inCall bool
	handed map[uint64]bool
}

var _ ports.Store = (*store)(nil)

func (s *store) setCapture(on bool) {
	s.w.mu.Lock()
	s.capture = on
	s.w.mu.Unlock()
}

// gate fails every call of a dead store; a write may be the one that kills it.
func (s *store) gate(write bool) error {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return s.gateLocked(write)
}

func (s *store) gateLocked(write bool) error {
	if s.dead {
		return errCrashed
	}
	if write && s.countdown > 0 {
		s.countdown--
		if s.countdown == 0 {
			s.dead = true
			return errCrashed
		}
	}
	return nil
}

func (s *store) Get(ctx context.Context, id nitro.Bytes32) (core.Channel, error) {
	if err := s.gate(false); err != nil {
		return core.Channel{}, err
	}
	return s.mem.Get(ctx, id)
}

func (s *store) List(ctx context.Context) ([]core.Channel, error) {
	if err := s.gate(false); err != nil {
		return nil, err
	}
	return s.mem.List(ctx)
}

func (s *store) Commit(ctx context.Context, changes []ports.Change) ([]ports.OutboxEntry, error) {
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := s.gateLocked(true); err != nil {
		return nil, err
	}
	entries, err := s.mem.Commit(ctx, changes)
	if err != nil {
		return nil, err
	}
	w.stats.Commits++
	if s.record && s.first == nil {
		s.first = []string{}
		for _, ch := range changes {
			ch.Done = nil // the done marks the wallet hands over are not Step's
			s.first = append(s.first, Canonical(ch))
		}
	}
	for _, ch := range changes {
		next := ch.Channel
		prev, had := s.wal.view[next.ID]
		w.checkCommitLocked(s.wal, prev, had, next)
		w.checkOwnSignaturesLocked(s.wal, &next)
		s.wal.view[next.ID] = next.Clone()
		w.keepProofLocked(s.wal, next)
		w.noteSupportLocked(s.wal, next)
		for _, e := range ch.Effects {
			switch e := e.(type) {
			case core.SignState:
				s.wal.intents[e.Hash] = intent{id: e.ChannelID, state: e.State.Clone()}
			case core.SubmitChallenge:
				w.allowChallengeLocked(s.wal, e)
			}
		}
	}
	for _, e := range entries {
		s.entries[e.ID] = e.Effect
		if s.inCall {
			if s.handed == nil {
				s.handed = map[uint64]bool{}
			}
			s.handed[e.ID] = true
		}
	}
	for _, ch := range changes {
		for _, id := range ch.Done {
			delete(s.entries, id)
			delete(s.handed, id)
		}
	}
	return entries, nil
}

func (s *store) Pending(ctx context.Context) ([]ports.OutboxEntry, error) {
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := s.gateLocked(false); err != nil {
		return nil, err
	}
	entries, err := s.mem.Pending(ctx)
	for _, e := range entries {
		s.entries[e.ID] = e.Effect
	}
	return entries, err
}

// Done marks entries done; a Send marked done is a message the wallet has
// handed out, captured here when the wallet sends on its own.
func (s *store) Done(ctx context.Context, ids []uint64) error {
	w := s.w
	w.mu.Lock()
	if err := s.gateLocked(true); err != nil {
		w.mu.Unlock()
		return err
	}
	if err := s.mem.Done(ctx, ids); err != nil {
		w.mu.Unlock()
		return err
	}
	var sends []core.Message
	for _, id := range ids {
		if e, ok := s.entries[id]; ok {
			if snd, ok := e.(core.Send); ok && s.capture && !s.handed[id] {
				sends = append(sends, snd.Message)
			}
			delete(s.entries, id)
			delete(s.handed, id)
		}
	}
	w.mu.Unlock()
	for _, m := range sends {
		w.captured(m)
	}
	return nil
}

func (s *store) RecordEquivocation(ctx context.Context, ev core.EquivocationError) error {
	if err := s.gate(true); err != nil {
		return err
	}
	return s.mem.RecordEquivocation(ctx, ev)
}

func (s *store) Equivocations(ctx context.Context) ([]core.EquivocationError, error) {
	if err := s.gate(false); err != nil {
		return nil, err
	}
	return s.mem.Equivocations(ctx)
}

func (s *store) RegisterApp(ctx context.Context, addr nitro.Address, code []byte) error {
	if err := s.gate(true); err != nil {
		return err
	}
	return s.mem.RegisterApp(ctx, addr, code)
}

func (s *store) Apps(ctx context.Context) ([]ports.App, error) {
	if err := s.gate(false); err != nil {
		return nil, err
	}
	return s.mem.Apps(ctx)
}

func (s *store) NextNonce(ctx context.Context, ps []nitro.Address) (uint64, error) {
	if err := s.gate(false); err != nil {
		return 0, err
	}
	return s.mem.NextNonce(ctx, ps)
}

func (s *store) ChainCursor(ctx context.Context) (ports.Cursor, error) {
	if err := s.gate(false); err != nil {
		return ports.Cursor{}, err
	}
	return s.mem.ChainCursor(ctx)
}

func (s *store) SetChainCursor(ctx context.Context, cur ports.Cursor) error {
	if err := s.gate(false); err != nil {
		return err
	}
	return s.mem.SetChainCursor(ctx, cur)
}

// DeleteProposal deletes a proposal the wallet never joined and forgets it
// from the wallet's view.
func (s *store) DeleteProposal(ctx context.Context, id nitro.Bytes32) error {
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := s.gateLocked(true); err != nil {
		return err
	}
	if err := s.mem.DeleteProposal(ctx, id); err != nil {
		return err
	}
	delete(s.wal.view, id)
	return nil
}

// captured queues a message a wallet sent on its own (from its follower's
// goroutine when a chain event made it).
func (w *World) captured(m core.Message) {
	m.Payload.WalletVersion = wire.WalletVersion
	data, err := wire.EncodeMessage(m)
	if err != nil {
		w.violate("wallet %s sent a message it cannot encode: %v", m.Sender, err)
		return
	}
	w.netMu.Lock()
	w.enqueueLocked(m.Sender, m.Recipient, data, false)
	w.netMu.Unlock()
}

// signer wraps a wallet's signer and checks each signature it makes.
type signer struct {
	w     *World
	wal   *Wallet
	inner *memory.Signer
}

var _ ports.Signer = (*signer)(nil)

func (s *signer) Address() nitro.Address { return s.inner.Address() }

func (s *signer) SignState(ctx context.Context, h nitro.Bytes32) (nitro.Signature, error) {
	w := s.w
	w.mu.Lock()
	addr := s.inner.Address()
	if w.challengeSignLocked(s.wal, h) { // a challenger's signature (dispute.go)
		w.mu.Unlock()
		return s.inner.SignState(ctx, h)
	}
	// A state signed before its commit (app's signnow.go) is checked when
	// the commit carries it (checkOwnSignaturesLocked); one whose intent was
	// committed first (the path after a signer failure) is checked here.
	if in, ok := s.wal.intents[h]; ok {
		k := sigKey{signer: addr, id: in.id, turn: in.state.TurnNum}
		if prev, ok := w.signedTurn[k]; ok && prev != h {
			w.violateLocked("wallet %s signed two different states for %s turn %d", s.wal.Name, w.label(in.id), in.state.TurnNum)
		}
		w.signedTurn[k] = h
		n := uint64(len(in.state.Participants))
		if t := in.state.TurnNum; t >= n && t < 2*n {
			w.checkFundingFinalLocked(s.wal, in)
		}
	}
	w.signed[addr][h] = true
	w.stats.Signatures++
	w.mu.Unlock()
	return s.inner.SignState(ctx, h)
}

// checkOwnSignaturesLocked: every state of c the wallet's own signature is
// on was signed by its signer, and per channel and turn the wallet commits
// one state; a postfund state's first commit needs its funding final
// (checkFundingFinalLocked). A signature the signer made that no commit
// carries never left the wallet (messages go out only after the commit).
func (w *World) checkOwnSignaturesLocked(wal *Wallet, c *core.Channel) {
	addr := wal.signer.Address()
	n := uint64(len(c.Participants))
	for _, st := range c.States {
		if int(c.MyIndex) >= len(st.Sigs) || st.Sigs[c.MyIndex].V == 0 {
			continue
		}
		if !w.signed[addr][st.Hash] {
			w.violateLocked("wallet %s committed its signature on %s that its signer never made", wal.Name, st.Hash.Hex()[:10])
		}
		k := sigKey{signer: addr, id: c.ID, turn: st.State.TurnNum}
		prev, ok := w.signedTurn[k]
		if ok && prev != st.Hash {
			w.violateLocked("wallet %s signed two different states for %s turn %d", wal.Name, w.label(c.ID), st.State.TurnNum)
		}
		if !ok {
			w.signedTurn[k] = st.Hash
			if t := st.State.TurnNum; t >= n && t < 2*n {
				w.checkFundingFinalLocked(wal, intent{id: c.ID, state: st.State})
			}
		}
	}
}

// checkFundingFinalLocked: a postfund state may only be signed once every
// asset's funding is in blocks no reorg of ReorgDepth can remove.
func (w *World) checkFundingFinalLocked(wal *Wallet, in intent) {
	head := w.Chain.BlockNumber()
	final := uint64(0) // the genesis block is final
	if head > uint64(w.cfg.ReorgDepth) {
		final = head - uint64(w.cfg.ReorgDepth)
	}
	for _, a := range in.state.Outcome {
		got := depositedUpTo(w.Chain.Logs(0, final), a.AssetHolder, in.id)
		if got.Cmp(a.Total()) < 0 {
			w.violateLocked("wallet %s signed postfund turn %d of %s with %v of %v final at block %d (head %d)",
				wal.Name, in.state.TurnNum, w.label(in.id), got, a.Total(), final, head)
		}
	}
}

func (w *World) txSubmitted(wal *Wallet, what string, id nitro.Bytes32, err error) {
	if strings.HasPrefix(what, "deposit") {
		w.stats.Deposits++
	} else {
		w.stats.Concludes++
	}
	if err != nil {
		w.stats.TxErrors++
		w.line("Wallet%s-xChain: %s %s failed", wal.Name, what, w.label(id))
		return
	}
	w.line("Wallet%s->>Chain: %s %s", wal.Name, what, w.label(id))
}

func (w *World) assetName(a nitro.Address) string {
	if a == w.Token {
		return "token"
	}
	return "wei"
}

// depositedUpTo sums what Deposited events credited a channel at an asset.
func depositedUpTo(logs []core.ChainEvent, asset nitro.Address, id nitro.Bytes32) *big.Int {
	sum := new(big.Int)
	for _, ev := range logs {
		if ev.Kind == core.EventDeposited && ev.Asset == asset && ev.ChannelID == id && ev.AmountDeposited != nil {
			sum.Add(sum, ev.AmountDeposited)
		}
	}
	return sum
}

// port is a wallet's ports.Chain: transactions and reads go to the memory
// chain; events come through a stream the world feeds.
type port struct {
	w    *World
	wal  *Wallet
	acct ports.Chain

	mu     sync.Mutex
	stream *stream
	ready  chan struct{}
}

var _ ports.Chain = (*port)(nil)

// reset forgets the stream of the previous incarnation.
func (p *port) reset() {
	p.mu.Lock()
	p.stream = nil
	p.ready = make(chan struct{})
	p.mu.Unlock()
}

func (p *port) ChainID() *big.Int { return p.acct.ChainID() }

func (p *port) AssetHolders() []nitro.Address { return p.acct.AssetHolders() }

// Protocol implements ports.ChainProtocol as the wrapped chain does.
func (p *port) Protocol() nitro.Protocol { return ports.ProtocolOf(p.acct) }

func (p *port) Deposit(ctx context.Context, req ports.DepositRequest) (ports.TxHash, error) {
	p.w.checkDeposit(p.wal, req)
	h, err := p.acct.Deposit(ctx, req)
	p.w.txSubmitted(p.wal, fmt.Sprintf("deposit %s %v", p.w.assetName(req.Asset), req.Amount), req.ChannelID, err)
	return h, err
}

func (p *port) ConcludeAndTransferAll(ctx context.Context, req ports.ConcludeRequest) (ports.TxHash, error) {
	h, err := p.acct.ConcludeAndTransferAll(ctx, req)
	id, _ := req.State.ChannelID()
	p.w.txSubmitted(p.wal, fmt.Sprintf("conclude turn %d", req.State.TurnNum), id, err)
	return h, err
}

// The dispute calls go straight to the memory chain (the wallet does not
// dispute yet, so the world neither logs nor counts them).

func (p *port) Challenge(ctx context.Context, req ports.ChallengeRequest) (ports.TxHash, error) {
	return p.acct.Challenge(ctx, req)
}

func (p *port) Respond(ctx context.Context, req ports.RespondRequest) (ports.TxHash, error) {
	return p.acct.Respond(ctx, req)
}

func (p *port) Checkpoint(ctx context.Context, req ports.CheckpointRequest) (ports.TxHash, error) {
	return p.acct.Checkpoint(ctx, req)
}

func (p *port) PushOutcomeAndTransferAll(ctx context.Context, req ports.PushOutcomeRequest) (ports.TxHash, error) {
	return p.acct.PushOutcomeAndTransferAll(ctx, req)
}

func (p *port) Record(ctx context.Context, id nitro.Bytes32) (ports.ChannelRecord, error) {
	return p.acct.Record(ctx, id)
}

func (p *port) BlockTime(ctx context.Context) (uint64, error) { return p.acct.BlockTime(ctx) }

func (p *port) Code(ctx context.Context, addr nitro.Address) ([]byte, error) {
	return p.acct.Code(ctx, addr)
}

func (p *port) Holdings(ctx context.Context, asset nitro.Address, id nitro.Bytes32) (*big.Int, error) {
	return p.acct.Holdings(ctx, asset, id)
}

// Events starts the wallet's stream from the cursor's block (the world's
// reorgs stay within the confirmation depth: no rewind to check).
func (p *port) Events(ctx context.Context, from ports.Cursor) (<-chan core.ChainEvent, error) {
	s := &stream{ch: make(chan core.ChainEvent), ctx: ctx, block: from.Block, dead: func() bool { return p.w.died(p.wal) }}
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		s.closed = true
		close(s.ch)
		s.mu.Unlock()
	}()
	p.mu.Lock()
	p.stream = s
	close(p.ready)
	p.mu.Unlock()
	return s.ch, nil
}

// current waits for the wallet's follower to subscribe and returns its stream.
func (p *port) current() (*stream, error) {
	p.mu.Lock()
	ready := p.ready
	p.mu.Unlock()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("sim: wallet %s never subscribed to chain events", p.wal.Name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stream, nil
}

// stream is one subscription: the world sends on an unbuffered channel, so
// a send returns only once the follower has taken the event, that is once
// it has finished with the one before.
type stream struct {
	mu     sync.Mutex
	ch     chan core.ChainEvent
	ctx    context.Context
	closed bool
	// dead reports whether the wallet's store died (CrashDuring): its
	// follower, retrying a store error, would never take another event.
	dead func() bool
	// next position to deliver: block, log index.
	block, index uint64
}

// send hands the follower ev, giving up once the wallet's store is dead: a
// crashed process takes nothing more (its wallet restarts after the action).
func (s *stream) send(ev core.ChainEvent) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	poll := time.NewTicker(2 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case s.ch <- ev:
			return true
		case <-s.ctx.Done():
			return false
		case <-timeout.C:
			return false
		case <-poll.C:
			if s.dead() {
				return false
			}
		}
	}
}

func (s *stream) after(ev core.ChainEvent) bool {
	return ev.Block > s.block || (ev.Block == s.block && ev.LogIndex >= s.index)
}
