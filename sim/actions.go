package sim

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
)

// The world's actions. Each is total: an action that does not apply (no
// message in flight, nobody whose turn it is, ...) does nothing, so any
// subsequence of a valid sequence is valid, which keeps shrinking simple.
// Indices are taken modulo what they index. After each action the world
// restarts the wallets whose store died (CrashDuring).

func (w *World) enqueueLocked(from, to string, data []byte, forged bool) {
	if w.byName[to] == nil { // the stranger, who reads nothing
		w.toStranger(from, to, data)
		return
	}
	w.nextID++
	w.net = append(w.net, &Envelope{ID: w.nextID, From: from, To: to, Data: data, Forged: forged})
	w.stats.Sent++
}

func (w *World) enqueue(msgs []app.Message) {
	w.netMu.Lock()
	defer w.netMu.Unlock()
	for _, m := range msgs {
		w.enqueueLocked(m.Sender, m.Recipient, m.Data, false)
	}
}

// call runs an API call of wal. If the wallet's store died during it, the
// process is taken as dead: the result is lost and the wallet restarts.
//
// The inputs the call gives the core (ins, per channel) are stepped first on
// a copy of the wallet's channels: the call must then commit exactly those
// results, or, if a Step fails, fail and commit nothing. Step is so checked
// to be pure and deterministic, and the app to pass inputs on faithfully.
func (w *World) call(wal *Wallet, what string, id nitro.Bytes32, expectOK bool, ins func() []job, f func(*app.Wallet) (app.Result, error)) (app.Result, error) {
	if wal.offline {
		return app.Result{}, errOffline
	}
	w.stats.Calls++
	w.line("%s->>Wallet%s: %s", wal.Name, wal.Name, what)
	check := ins != nil && w.sampleStep()
	var pred prediction
	if check {
		pred = w.predict(wal, ins())
	}
	w.mu.Lock()
	wal.store.record, wal.store.first, wal.store.inCall = check, nil, true
	w.mu.Unlock()
	res, err := f(wal.app)
	w.mu.Lock()
	wal.store.record, wal.store.inCall = false, false
	first := wal.store.first
	w.mu.Unlock()
	if w.died(wal) {
		w.reap()
		return app.Result{}, errCrashed
	}
	if check {
		w.verify(wal, what, pred, first, err)
	}
	if err != nil {
		w.stats.CallErrors++
		w.line("Wallet%s-->>%s: error %d", wal.Name, wal.Name, app.Code(err))
		if expectOK {
			w.violate("%s by %s failed: %v", what, wal.Name, err)
		}
	} else {
		for _, c := range res.ChannelResults {
			if id == (nitro.Bytes32{}) || c.ChannelID == id {
				w.line("Wallet%s-->>%s: %s %s (turn %d)", wal.Name, wal.Name, w.label(c.ChannelID), c.Status, c.TurnNum)
			}
		}
	}
	for _, m := range res.Outbox {
		w.traceMessage("outbox", m.Sender, m.Recipient, m.Data)
	}
	w.enqueue(res.Outbox)
	return res, err
}

func (w *World) died(wal *Wallet) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return wal.store.dead
}

// participants of slot as wallets.
func (w *World) members(slot int) []*Wallet {
	spec := w.cfg.Channels[slot]
	out := make([]*Wallet, len(spec.Participants))
	for i, p := range spec.Participants {
		out[i] = w.Wallets[p]
	}
	return out
}

func (w *World) params(slot int) app.CreateChannelParams {
	spec := w.cfg.Channels[slot]
	var ps []app.Participant
	for _, wal := range w.members(slot) {
		ps = append(ps, app.Participant{ParticipantID: wal.Name, SigningAddress: wal.Address(), Destination: nitro.AddressToDestination(wal.dest)})
	}
	al := []app.Allocation{w.allocation(w.ETH, ps, spec.ETH)}
	if spec.Token != nil {
		al = append(al, w.allocation(w.Token, ps, spec.Token))
	}
	p := app.CreateChannelParams{Participants: ps, Allocations: al, ChallengeDuration: 100}
	if spec.App {
		p.AppDefinition = AppAddress
	}
	return p
}

func (w *World) allocation(asset nitro.Address, ps []app.Participant, amounts []int64) app.Allocation {
	a := app.Allocation{AssetHolderAddress: asset}
	for i, x := range amounts {
		a.AllocationItems = append(a.AllocationItems, app.AllocationItem{Destination: ps[i].Destination, Amount: big.NewInt(x)})
	}
	return a
}

// CreateChannel has the slot's first participant create its channel, once.
func (w *World) CreateChannel(slot int) {
	slot = mod(slot, len(w.ids))
	if len(w.ids) == 0 || w.ids[slot] != (nitro.Bytes32{}) {
		return
	}
	creator := w.members(slot)[0]
	p := w.params(slot)
	what := fmt.Sprintf("createChannel(ch%d)", slot+1)
	if p.AppDefinition != (nitro.Address{}) {
		what = fmt.Sprintf("createChannel(ch%d, %s)", slot+1, AppName)
	}
	res, err := w.call(creator, what, nitro.Bytes32{}, true, nil, func(a *app.Wallet) (app.Result, error) {
		return a.CreateChannel(w.ctx, p)
	})
	if err == nil && len(res.ChannelResults) == 1 {
		w.ids[slot] = res.ChannelResults[0].ChannelID
		return
	}
	// A crash may have lost the result after the channel was stored.
	w.adopt(slot, creator)
}

// adopt finds a channel the creator stored for slot without reporting it.
func (w *World) adopt(slot int, creator *Wallet) {
	p := w.params(slot)
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := make([]nitro.Bytes32, 0, len(creator.view))
	for id := range creator.view {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b nitro.Bytes32) int { return strings.Compare(a.Hex(), b.Hex()) })
	for _, id := range ids {
		c := creator.view[id]
		if slices.Contains(w.ids, id) || !c.Creator || len(c.Participants) != len(p.Participants) || c.Setup.AppDefinition != p.AppDefinition {
			continue
		}
		same := true
		for i, pp := range p.Participants {
			same = same && c.Participants[i].SigningAddress == pp.SigningAddress
		}
		for i, a := range p.Allocations {
			same = same && i < len(c.Setup.Outcome) && c.Setup.Outcome[i].AssetHolder == a.AssetHolderAddress
			for k, it := range a.AllocationItems {
				same = same && k < len(c.Setup.Outcome[i].Allocation) && c.Setup.Outcome[i].Allocation[k].Amount.Cmp(it.Amount) == 0
			}
		}
		if same && len(c.Setup.Outcome) == len(p.Allocations) {
			w.ids[slot] = id
			return
		}
	}
}

func canMove(c core.Channel) bool {
	return c.Status() == core.StatusRunning && c.MyTurn() && c.Pending == nil
}

// JoinChannel has a participant that has not joined the slot's channel join it.
func (w *World) JoinChannel(slot, pick int) {
	id, ws := w.candidates(slot, func(c core.Channel) bool { return !c.Joined })
	if len(ws) == 0 {
		return
	}
	wal := ws[mod(pick, len(ws))]
	w.call(wal, fmt.Sprintf("joinChannel(%s)", w.label(id)), id, true, jobsOf(job{id, core.Join{Deployment: wal.deployment()}}), func(a *app.Wallet) (app.Result, error) {
		return a.JoinChannel(w.ctx, id)
	})
}

// UpdateChannel has the participant whose turn it is pay up to 1 + shift
// mod 3 units of every asset to another participant (as far as it has):
// the mover pays, as a channel without an app requires.
func (w *World) UpdateChannel(slot, pick, shift int) {
	id, ws := w.candidates(slot, canMove)
	if len(ws) == 0 {
		return
	}
	wal := ws[mod(pick, len(ws))]
	c, _ := w.View(wal.Index, id)
	l, _ := c.Latest()
	out := l.State.Outcome.Clone()
	n := len(c.Participants)
	from := c.MyIndex
	to := mod(from+1+mod(shift, n-1), n)
	for _, a := range out {
		amt := big.NewInt(int64(1 + mod(shift, 3)))
		if a.Allocation[from].Amount.Cmp(amt) < 0 {
			amt = new(big.Int).Set(a.Allocation[from].Amount)
		}
		a.Allocation[from].Amount = new(big.Int).Sub(a.Allocation[from].Amount, amt)
		a.Allocation[to].Amount = new(big.Int).Add(a.Allocation[to].Amount, amt)
	}
	appData := []byte{byte(l.State.TurnNum + 1)}
	p := app.UpdateChannelParams{ChannelID: id, AppData: appData}
	for _, a := range out {
		al := app.Allocation{AssetHolderAddress: a.AssetHolder}
		for _, it := range a.Allocation {
			al.AllocationItems = append(al.AllocationItems, app.AllocationItem{Destination: it.Destination, Amount: it.Amount})
		}
		p.Allocations = append(p.Allocations, al)
	}
	w.call(wal, fmt.Sprintf("updateChannel(%s)", w.label(id)), id, true, jobsOf(job{id, core.Update{Outcome: out, AppData: appData}}), func(a *app.Wallet) (app.Result, error) {
		return a.UpdateChannel(w.ctx, p)
	})
}

// CloseChannel has the participant whose turn it is close the slot's channel.
func (w *World) CloseChannel(slot, pick int) {
	id, ws := w.candidates(slot, canMove)
	if len(ws) == 0 {
		return
	}
	wal := ws[mod(pick, len(ws))]
	w.call(wal, fmt.Sprintf("closeChannel(%s)", w.label(id)), id, true, jobsOf(job{id, core.Close{}}), func(a *app.Wallet) (app.Result, error) {
		return a.CloseChannel(w.ctx, id)
	})
}

// SyncChannel has a participant that knows the slot's channel sync it.
func (w *World) SyncChannel(slot, pick int) {
	id, ws := w.candidates(slot, func(core.Channel) bool { return true })
	if len(ws) == 0 {
		return
	}
	w.syncBy(ws[mod(pick, len(ws))], id)
}

func (w *World) syncBy(wal *Wallet, id nitro.Bytes32) {
	w.stats.Syncs++
	w.call(wal, fmt.Sprintf("syncChannel(%s)", w.label(id)), id, true, jobsOf(job{id, core.Sync{}}), func(a *app.Wallet) (app.Result, error) {
		return a.SyncChannel(w.ctx, id)
	})
}

// Forge has a Byzantine participant send the next turn of the slot's
// channel signed by someone who is not its mover. Honest wallets must
// reject it.
func (w *World) Forge(slot, pick int) {
	id, ws := w.candidates(slot, func(c core.Channel) bool { return len(c.States) > 0 })
	if len(ws) == 0 {
		return
	}
	by := ws[mod(pick, len(ws))]
	c, _ := w.View(by.Index, id)
	l, _ := c.Latest()
	if l.State.IsFinal {
		return
	}
	st := l.State.Clone()
	st.TurnNum++
	// A state no wallet signs (its app data gains a byte): a countersignature
	// of a state the mover really signed is no forgery (a wallet completes
	// one sent alone with the mover's signature it holds), and a signature
	// made with another participant's key is key theft, which no check
	// can tell from that participant's own.
	st.AppData = append(append([]byte(nil), st.AppData...), 0xf0)
	n := uint64(c.N())
	signer := c.MyIndex
	if uint64(signer) == st.TurnNum%n {
		signer = (signer + 1) % int(n)
	}
	key := w.byAddr[c.Participants[signer].SigningAddress].key
	h, err := st.Hash()
	if err != nil {
		return
	}
	raw, err := crypto.Sign(nitro.SignatureDigest(h), key)
	if err != nil {
		return
	}
	raw[64] += 27
	sig, err := nitro.SignatureFromBytes(raw)
	if err != nil {
		return
	}
	w.netMu.Lock()
	defer w.netMu.Unlock()
	for i, p := range c.Participants {
		if i == c.MyIndex {
			continue
		}
		m := core.Message{Recipient: p.ParticipantID, Sender: by.Name, Payload: core.Payload{
			SignedStates: []core.SignedState{{State: st, Participants: c.Participants, Signatures: []nitro.Signature{sig}}},
		}}
		data, err := wire.EncodeMessage(m)
		if err != nil {
			return
		}
		w.stats.Forged++
		w.enqueueLocked(by.Name, p.ParticipantID, data, true)
	}
}

// Deliver delivers message i in flight, counted among the messages whose
// recipient is online.
func (w *World) Deliver(i int) {
	env := w.takeDeliverable(i)
	if env == nil {
		return
	}
	w.deliver(env)
}

func (w *World) deliver(env *Envelope) {
	wal := w.byName[env.To]
	w.stats.Delivered++
	w.traceMessage("deliver", env.From, env.To, env.Data)
	jobs := func() []job {
		return receiveJobs(core.Receive{Me: wal.Address(), Deployment: wal.deployment()}, env.Data)
	}
	after := func(error) {}
	if env.Forged {
		after = w.beforeForged(wal, env)
	}
	_, err := w.call(wal, "pushMessage", nitro.Bytes32{}, false, jobs, func(a *app.Wallet) (app.Result, error) {
		return a.PushMessage(w.ctx, env.Data)
	})
	after(err)
	if err != nil && !errors.Is(err, errCrashed) {
		w.stats.Rejected++
		reason := rejection(err)
		w.stats.Rejections[reason]++
		if !env.Forged && !benign(err) && !w.poisonedMessage(env.Data) {
			w.violate("%s rejected an honest message from %s: %v", wal.Name, env.From, err)
		}
	}
}

func benign(err error) bool {
	for _, e := range []error{core.ErrStaleState, core.ErrFutureState, core.ErrChannelNotFound} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func rejection(err error) string {
	for _, e := range []error{core.ErrStaleState, core.ErrFutureState, core.ErrChannelNotFound, core.ErrWrongSigner,
		core.ErrConflictingState, core.ErrInvalidTransition, app.ErrInvalidMessage} {
		if errors.Is(err, e) {
			return strings.TrimPrefix(e.Error(), "core: ")
		}
	}
	return "other"
}

func (w *World) take(i int) *Envelope {
	w.netMu.Lock()
	defer w.netMu.Unlock()
	if len(w.net) == 0 {
		return nil
	}
	i = mod(i, len(w.net))
	env := w.net[i]
	w.net = slices.Delete(w.net, i, i+1)
	return env
}

// Drop loses message i in flight.
func (w *World) Drop(i int) {
	if env := w.take(i); env != nil {
		w.stats.Dropped++
		w.traceMessage("drop", env.From, env.To, env.Data)
	}
}

// Duplicate queues a copy of message i at the back.
func (w *World) Duplicate(i int) {
	w.netMu.Lock()
	defer w.netMu.Unlock()
	if len(w.net) == 0 {
		return
	}
	env := *w.net[mod(i, len(w.net))]
	w.nextID++
	env.ID = w.nextID
	w.net = append(w.net, &env)
	w.stats.Duplicated++
}

// Reorder moves message i to the back.
func (w *World) Reorder(i int) {
	w.netMu.Lock()
	defer w.netMu.Unlock()
	if len(w.net) < 2 {
		return
	}
	i = mod(i, len(w.net))
	env := w.net[i]
	w.net = append(slices.Delete(w.net, i, i+1), env)
	w.stats.Reordered++
}

// Mine mines a block with the pending transactions and gives the newly
// confirmed events to every wallet that is not lagging.
func (w *World) Mine() {
	pending := w.Chain.Pending()
	b := w.Chain.Mine()
	w.chainVersion++
	w.stats.Blocks++
	if pending > 0 {
		w.line("Note over Chain: block %d (%d txs)", b, pending)
	}
	for _, wal := range w.Wallets {
		if !wal.lagging {
			w.Events(wal.Index, 0)
		}
	}
}

// Delay makes wallet i lag: it gets chain events only through Events.
func (w *World) Delay(i int) {
	w.Wallets[mod(i, len(w.Wallets))].lagging = true
}

// Events gives wallet i its next n confirmed chain events (all if n <= 0);
// once it has all, it no longer lags.
func (w *World) Events(i, n int) {
	wal := w.Wallets[mod(i, len(w.Wallets))]
	if wal.offline {
		return
	}
	s, err := wal.port.current()
	if err != nil {
		w.violate("%v", err)
		return
	}
	evs := w.eventsFor(s)
	if n <= 0 || n >= len(evs) {
		n = len(evs)
		wal.lagging = false
	}
	if n == 0 {
		return
	}
	wal.store.setCapture(true)
	for _, ev := range evs[:n] {
		if w.died(wal) {
			break
		}
		w.traceEvent(wal, ev)
		// The follower takes the event, then the barrier once it has fully
		// processed the event: only then does the world go on, so nothing
		// of the world runs while the wallet does. The barrier names no
		// channel and block 0: the follower only reads the store for it.
		if !s.send(ev) || !s.send(barrier) {
			break
		}
		s.block, s.index = ev.Block, ev.LogIndex+1
		w.stats.ChainEvents++
	}
	wal.store.setCapture(false)
	w.reap()
}

var barrier = core.ChainEvent{Kind: core.EventDeposited, ChannelID: barrierChannel}

// barrierChannel is a channel id no wallet knows.
var barrierChannel = nitro.Bytes32{0xba, 0x55, 0x1e, 0x2}

// eventsFor returns the confirmed events a stream has not been given.
func (w *World) eventsFor(s *stream) []core.ChainEvent {
	conf := w.Chain.ConfirmedBlock()
	var out []core.ChainEvent
	for _, ev := range w.canonical() {
		if ev.Block <= conf && s.after(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// canonical returns the events of the chain up to its head (cached).
func (w *World) canonical() []core.ChainEvent {
	if w.logsVersion != w.chainVersion {
		w.logs = w.Chain.Logs(0, w.Chain.BlockNumber())
		w.logsVersion = w.chainVersion
	}
	return w.logs
}

// Reorg replaces the last depth blocks (1..ReorgDepth) with a competing
// branch of as many blocks, mined at once; requeued transactions go into
// its first block. The head's height never goes down, so a block that had
// ReorgDepth+1 confirmations is never removed.
func (w *World) Reorg(depth int) {
	depth = 1 + mod(depth-1, w.cfg.ReorgDepth)
	mode := memory.ReorgRequeue
	if w.cfg.DropReorged {
		mode = memory.ReorgDrop
	}
	txs := w.Chain.Reorg(depth, mode)
	w.chainVersion++
	w.stats.Reorgs++
	w.line("Note over Chain: reorg of %d blocks (%d txs %s)", depth, len(txs), map[bool]string{true: "dropped", false: "requeued"}[w.cfg.DropReorged])
	for i := 0; i < depth; i++ {
		w.Mine()
	}
}

// FailNext makes the next transaction submission fail (chain unavailable).
func (w *World) FailNext() {
	w.Chain.FailNext(1, nil)
	w.stats.InjectedTxFailures++
}

// Tick moves time on by seconds and ticks wallet i.
func (w *World) Tick(i int, seconds int64) {
	wal := w.Wallets[mod(i, len(w.Wallets))]
	w.clock.advance(seconds)
	w.tick(wal)
}

func (w *World) tick(wal *Wallet) {
	if wal.offline {
		return
	}
	w.stats.Ticks++
	wal.store.setCapture(true)
	wal.app.Tick(w.ctx)
	wal.store.setCapture(false)
	w.reap()
}

// Crash crashes wallet i between calls and restarts it from its store.
func (w *World) Crash(i int) {
	if wal := w.Wallets[mod(i, len(w.Wallets))]; !wal.offline {
		w.restart(wal)
	}
}

// CrashDuring arms wallet i's store to die at its k-th next write (commit
// or done), in whatever the wallet is doing then; the world restarts it
// after that action.
func (w *World) CrashDuring(i, k int) {
	wal := w.Wallets[mod(i, len(w.Wallets))]
	w.mu.Lock()
	wal.store.countdown = 1 + mod(k-1, 8)
	w.mu.Unlock()
}

// deployment is what the wallet's app passes the core: its chain's id and
// asset holders, and the world's challenge-duration floor (see start).
func (wal *Wallet) deployment() core.Deployment {
	return core.Deployment{ChainID: wal.port.ChainID(), AssetHolders: wal.port.AssetHolders(), MinChallengeDuration: 1}
}
