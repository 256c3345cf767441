//go:build unix

package postgres_test

// The crash test's child (see crash_test.go): wallet A with its store,
// signer and chain wrapped in decorators that count crash points, kill the
// process at the chosen one and journal every signature.

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest/loopback"
	"github.com/nitrowallet/nitrowallet/ports"
)

// TestCrashChild is the child process's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envChild) != "1" {
		return
	}
	if err := runCrashChild(); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// crasher counts crash points and kills the process at the chosen one.
// Every point is appended to the trace ("n label phase"), so the parent
// learns where the kill fell and how many points a whole run has.
type crasher struct {
	mu    sync.Mutex
	n, at int
	// atPhase: at counts only the points of this phase or with this label
	// (inPhase of them).
	atPhase string
	inPhase int
	trace   *os.File
	phases  map[nitro.Bytes32]string
	hashes  map[nitro.Bytes32]nitro.Bytes32 // state hash -> channel
}

// phase is the phase of the channel a point concerns, or of the least
// advanced channel when the point concerns none in particular.
func (c *crasher) phase(ch nitro.Bytes32) string {
	if p, ok := c.phases[ch]; ok {
		return p
	}
	if len(c.phases) < 2 {
		return "open"
	}
	least := crashPhases[len(crashPhases)-1]
	for _, p := range c.phases {
		if phaseRank[p] < phaseRank[least] {
			least = p
		}
	}
	return least
}

func (c *crasher) point(label string, ch nitro.Bytes32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	p := c.phase(ch)
	fmt.Fprintf(c.trace, "%d %s %s\n", c.n, label, p)
	if c.atPhase != "" && (p == c.atPhase || label == c.atPhase) {
		c.inPhase++
	}
	if c.atPhase == "" && c.n == c.at || c.atPhase != "" && c.inPhase == c.at {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}

func (c *crasher) setPhase(ch core.Channel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.phases[ch.ID] = phaseOf(ch)
}

func (c *crasher) channelOf(h nitro.Bytes32) nitro.Bytes32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hashes[h]
}

// journal appends lines to the signature journal, one write each.
type journal struct {
	mu sync.Mutex
	f  *os.File
}

func (j *journal) log(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, _ = j.f.WriteString(fmt.Sprintf(format, args...) + "\n")
}

type crashStore struct {
	ports.Store
	c *crasher
	j *journal
}

func (s *crashStore) Commit(ctx context.Context, changes []ports.Change) ([]ports.OutboxEntry, error) {
	var first nitro.Bytes32
	if len(changes) > 0 {
		first = changes[0].Channel.ID
	}
	s.c.point("store.Commit.before", first)
	entries, err := s.Store.Commit(ctx, changes)
	if err == nil {
		// Only a committed intent to sign may be signed.
		for _, e := range entries {
			s.c.intent(s.j, e.Effect)
		}
		for _, ch := range changes {
			s.c.setPhase(ch.Channel)
			s.c.committed(s.j, &ch.Channel)
		}
		s.c.point("store.Commit.after", first)
	}
	return entries, err
}

// intent journals a committed SignState or SubmitChallenge effect.
func (c *crasher) intent(j *journal, e core.Effect) {
	if sc, ok := e.(core.SubmitChallenge); ok {
		c.challengeIntent(j, sc)
	}
	if ss, ok := e.(core.SignState); ok {
		j.log("intent %s %d %s", ss.ChannelID.Hex(), ss.State.TurnNum, ss.Hash.Hex())
		c.mu.Lock()
		c.hashes[ss.Hash] = ss.ChannelID
		c.mu.Unlock()
	}
}

// committed journals the states of c that carry the wallet's own
// signature, now durable: the wallet signs before it commits (app's
// signnow.go), and only a committed signature may leave the process.
func (c *crasher) committed(j *journal, ch *core.Channel) {
	for _, st := range ch.States {
		if int(ch.MyIndex) < len(st.Sigs) && st.Sigs[ch.MyIndex].V != 0 {
			j.log("commit %s %d %s", ch.ID.Hex(), st.State.TurnNum, st.Hash.Hex())
		}
	}
}

func (s *crashStore) Done(ctx context.Context, ids []uint64) error {
	s.c.point("store.Done.before", nitro.Bytes32{})
	err := s.Store.Done(ctx, ids)
	s.c.point("store.Done.after", nitro.Bytes32{})
	return err
}

func (s *crashStore) NextNonce(ctx context.Context, ps []nitro.Address) (uint64, error) {
	s.c.point("store.NextNonce.before", nitro.Bytes32{})
	n, err := s.Store.NextNonce(ctx, ps)
	s.c.point("store.NextNonce.after", nitro.Bytes32{})
	return n, err
}

func (s *crashStore) SetChainCursor(ctx context.Context, cur ports.Cursor) error {
	s.c.point("store.SetChainCursor.before", nitro.Bytes32{})
	err := s.Store.SetChainCursor(ctx, cur)
	s.c.point("store.SetChainCursor.after", nitro.Bytes32{})
	return err
}

type crashSignerDecorator struct {
	ports.Signer
	c *crasher
	j *journal
}

func (s *crashSignerDecorator) SignState(ctx context.Context, h nitro.Bytes32) (nitro.Signature, error) {
	ch := s.c.channelOf(h)
	s.c.point("signer.before", ch)
	sig, err := s.Signer.SignState(ctx, h)
	if err == nil {
		s.j.log("signed %s %x", h.Hex(), sig.Bytes())
	}
	s.c.point("signer.after", ch)
	return sig, err
}

type crashChain struct {
	ports.Chain
	c *crasher
}

func (ch *crashChain) Deposit(ctx context.Context, req ports.DepositRequest) (ports.TxHash, error) {
	ch.c.point("chain.Deposit.before", req.ChannelID)
	tx, err := ch.Chain.Deposit(ctx, req)
	ch.c.point("chain.Deposit.after", req.ChannelID)
	return tx, err
}

func (ch *crashChain) ConcludeAndTransferAll(ctx context.Context, req ports.ConcludeRequest) (ports.TxHash, error) {
	id, _ := req.State.ChannelID()
	ch.c.point("chain.Conclude.before", id)
	tx, err := ch.Chain.ConcludeAndTransferAll(ctx, req)
	ch.c.point("chain.Conclude.after", id)
	return tx, err
}

func (ch *crashChain) Holdings(ctx context.Context, asset nitro.Address, id nitro.Bytes32) (*big.Int, error) {
	ch.c.point("chain.Holdings.before", id)
	h, err := ch.Chain.Holdings(ctx, asset, id)
	ch.c.point("chain.Holdings.after", id)
	return h, err
}

// runCrashChild is wallet A: open or resume both channels and drive them
// to the payout, then exit.
func runCrashChild() error {
	ctx := context.Background()
	killAt, _ := strconv.Atoi(os.Getenv(envKillAt))
	trace, err := os.OpenFile(os.Getenv(envTrace), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	jf, err := os.OpenFile(os.Getenv(envJournal), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	c := &crasher{at: killAt, atPhase: os.Getenv(envKillPhase), trace: trace, phases: map[nitro.Bytes32]string{}, hashes: map[nitro.Bytes32]nitro.Bytes32{}}
	j := &journal{f: jf}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := postgres.Open(ctx, os.Getenv(envURL), postgres.Options{
		Schema: os.Getenv(envSchema), LockWait: 10 * time.Second, MaxConns: 3, Logger: log,
		FaultHook: func(p string) { c.point("store."+p, nitro.Bytes32{}) },
	})
	if err != nil {
		return err
	}
	// Phases of the channels already stored, and intents committed by a
	// run killed before it could journal them.
	if cs, err := st.List(ctx); err == nil {
		for _, ch := range cs {
			c.setPhase(ch)
		}
	}
	pending, err := st.Pending(ctx)
	if err != nil {
		return err
	}
	for _, e := range pending {
		c.intent(j, e.Effect)
	}
	// Signed states committed by a run killed before it could journal them.
	sigs, err := st.Signatures(ctx)
	if err != nil {
		return err
	}
	for _, r := range sigs {
		if r.Signer == crashSigner("A").Address() {
			j.log("commit %s %d %s", r.ChannelID.Hex(), r.TurnNum, r.StateHash.Hex())
		}
	}
	signer := &crashSignerDecorator{Signer: crashSigner("A"), c: c, j: j}
	lc, err := loopback.DialChain(ctx, os.Getenv(envServer), signer.Address())
	if err != nil {
		return err
	}
	mail := loopback.NewMail(os.Getenv(envServer))
	w, err := app.New(ctx, app.Config{
		Signer: signer, Store: &crashStore{Store: st, c: c, j: j}, Chain: &crashChain{Chain: lc, c: c},
		TickInterval: crashTick, Logger: log,
	})
	if err != nil {
		return err
	}
	send := func(m app.Message) {
		c.point("send.before", nitro.Bytes32{})
		if err := mail.Send(ctx, m.Recipient, m.Data); err != nil {
			log.Warn("send failed", "err", err)
		}
		c.point("send.after", nitro.Bytes32{})
	}
	sendAll := func(r app.Result, err error) {
		if err != nil {
			log.Warn("call failed", "err", err)
			return
		}
		for _, m := range r.Outbox {
			send(m)
		}
	}
	notes, stop := w.Subscribe()
	defer stop()
	go func() {
		for n := range notes {
			if n.Type == app.MessageQueued {
				send(n.Message)
			}
		}
	}()
	seed := int64(os.Getpid() % 3)
	asset := lc.ETHAssetHolder()
	ps := crashParticipants()
	syncAll := func() {
		cs, err := w.GetChannels(ctx)
		if err != nil {
			return
		}
		for _, ch := range cs {
			if ch.Status != core.StatusClosed {
				sendAll(w.SyncChannel(ctx, ch.ChannelID))
			}
		}
	}
	// Messages handed out before a crash may never have left: resend.
	syncAll()
	idle := time.Now()
	for {
		data, ok, err := mail.Recv(ctx, "A", 50*time.Millisecond)
		if err != nil {
			return err
		}
		if ok {
			c.point("recv.after", nitro.Bytes32{})
			sendAll(w.PushMessage(ctx, data))
			idle = time.Now()
		}
		cs, err := w.GetChannels(ctx)
		if err != nil {
			return err
		}
		have := map[int64]bool{}
		done := 0
		for _, ch := range cs {
			tot := total(ch)
			have[tot] = true
			alloc, known := crashAllocs[tot]
			switch {
			case !known:
			case ch.FundingStatus == core.FundingDefunded && ch.Status == core.StatusClosed:
				done++
			case ch.Status == core.StatusRunning && ch.TurnNum%2 == 1 && ch.TurnNum < crashLastTurn:
				sendAll(w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: ch.ChannelID, Allocations: crashAllocation(asset, alloc[0]-1-seed, alloc[1]+1+seed)}))
			case ch.Status == core.StatusRunning && ch.TurnNum == crashLastTurn && tot == crashDisputed:
				sendAll(w.ChallengeChannel(ctx, ch.ChannelID))
			case ch.Status == core.StatusRunning && ch.TurnNum == crashLastTurn:
				sendAll(w.CloseChannel(ctx, ch.ChannelID))
			}
		}
		for _, tot := range []int64{8, 9} {
			if !have[tot] {
				a := crashAllocs[tot]
				sendAll(w.CreateChannel(ctx, app.CreateChannelParams{Participants: ps, Allocations: crashAllocation(asset, a[0], a[1])}))
			}
		}
		if done == 2 && settled(ctx, w, st) {
			_ = w.Close()
			_ = st.Close()
			return nil
		}
		if time.Since(idle) > crashIdleResync {
			syncAll()
			idle = time.Now()
		}
	}
}

// settled reports whether the wallet has nothing left to carry out: its
// done marks written and no outbox entry pending (a transaction resumed
// after a restart may still be under way when both channels already show
// paid out; the child then goes on until it is done).
func settled(ctx context.Context, w *app.Wallet, st ports.Store) bool {
	if w.Flush(ctx) != nil {
		return false
	}
	p, err := st.Pending(ctx)
	return err == nil && len(p) == 0
}
