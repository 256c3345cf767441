//go:build unix

package postgres_test

// The crash test: wallet A runs in a child process (this test binary run
// again) on PostgreSQL and kills itself with SIGKILL at the N-th crash
// point; crash points are counted by decorators around its store (before
// and after every Commit, Done, NextNonce and SetChainCursor, and inside the
// commit transaction before COMMIT), its signer, its chain calls and its
// message sends and receives. The parent holds wallet B (also on
// PostgreSQL), the in-memory chain and the mailboxes, served to the child
// over loopback HTTP. After a kill the child is restarted on the same
// database until it finishes. Every run must end with both channels closed
// and paid out exactly, nothing pending, and no key having signed two
// different states for one channel and turn — checked from both stores and
// from a journal of every signature the child's key ever made. Channel 2
// ends by A's challenge (crash_dispute_test.go), so crash points fall in
// every dispute phase too.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/internal/pgtest/loopback"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Environment of the child process.
const (
	envChild  = "NITROWALLET_CRASH_CHILD"
	envURL    = "NITROWALLET_CRASH_URL"
	envSchema = "NITROWALLET_CRASH_SCHEMA"
	envServer = "NITROWALLET_CRASH_SERVER"
	envKillAt = "NITROWALLET_CRASH_KILL_AT"
	// envKillPhase, when set, makes KILL_AT count only the points of that
	// phase, or with that label (crashTarget).
	envKillPhase = "NITROWALLET_CRASH_KILL_PHASE"
	envTrace     = "NITROWALLET_CRASH_TRACE"
	envJournal   = "NITROWALLET_CRASH_JOURNAL"
	// envRuns overrides how many kill points TestCrashRecovery tries.
	envRuns = "NITROWALLET_CRASH_RUNS"
)

// The scenario: A opens two channels with B (5/3 and 7/2 wei), both fund
// them, A and B each update once (A's amounts differ on every restart, so a
// state signed before a crash and re-signed differently after it would
// show), A closes and concludes channel 1 and challenges on channel 2,
// whose challenge finalizes and is pushed (crash_dispute_test.go).
const (
	crashUpdates  = 1
	crashLastTurn = 3 + 2*crashUpdates // B's last update; A closes after it
	crashFunds    = 1_000_000
)

var crashAllocs = map[int64][2]int64{8: {5, 3}, 9: {7, 2}}

// Time-driven work (ticks, resending after a quiet spell) adds crash points
// in proportion to how slow the machine is; keep it rare so runs have about
// the same number of points. The child resends at once when it starts.
const (
	crashTick       = 500 * time.Millisecond
	crashIdleResync = time.Second
)

func crashSigner(name string) *memory.Signer {
	return memory.SignerFromSeed("nitrowallet-crash-" + name)
}

func crashDest(name string) nitro.Address {
	return nitro.Address(crypto.Keccak256Hash([]byte("nitrowallet-crash-dest-" + name)).Bytes()[12:])
}

func crashParticipants() []app.Participant {
	var ps []app.Participant
	for _, n := range []string{"A", "B"} {
		ps = append(ps, app.Participant{ParticipantID: n, SigningAddress: crashSigner(n).Address(), Destination: nitro.AddressToDestination(crashDest(n))})
	}
	return ps
}

func crashAllocation(asset nitro.Address, a, b int64) []app.Allocation {
	ps := crashParticipants()
	return []app.Allocation{{AssetHolderAddress: asset, AllocationItems: []app.AllocationItem{
		{Destination: ps[0].Destination, Amount: big.NewInt(a)},
		{Destination: ps[1].Destination, Amount: big.NewInt(b)},
	}}}
}

func total(c app.ChannelResult) int64 {
	var t int64
	for _, a := range c.Allocations {
		for _, it := range a.AllocationItems {
			t += it.Amount.Int64()
		}
	}
	return t
}

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

// kill is one crash point a child killed itself at.
type kill struct {
	point int
	label string
	phase string
}

type runResult struct {
	kills    []kill
	points   []kill // every point of the last, uncrashed child run
	restarts int
	dur      time.Duration
}

func TestCrashRecovery(t *testing.T) {
	pgtest.Open(t) // fail now, with instructions, if there is no database
	runs := 60
	if v, err := strconv.Atoi(os.Getenv(envRuns)); err == nil && v > 0 {
		runs = v
	}
	start := time.Now()
	dry := crashScenario(t, crashTarget{}, 0)
	total := len(dry.points)
	t.Logf("dry run: %d crash points in %v; by phase: %s", total, dry.dur.Round(time.Millisecond), countPhases(dry.points))
	if total < 50 {
		t.Fatalf("only %d crash points in a run: the decorators miss something", total)
	}
	points := crashPoints(dry.points, runs)
	var mu sync.Mutex
	results := map[crashTarget]runResult{}
	sem := make(chan struct{}, 4)
	t.Run("kills", func(t *testing.T) {
		for i, at := range points {
			// Every fifth run is also killed again while recovering.
			second := 0
			if i%5 == 4 {
				second = 2 + (i*7)%30
			}
			t.Run(at.String(), func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				r := crashScenario(t, at, second)
				if len(r.kills) == 0 && len(r.points) > 0 && at.phase == "" {
					// This run was shorter than the dry run and ended
					// before the point: kill at the same place relative
					// to its length instead.
					r = crashScenario(t, crashTarget{at: 1 + (at.at-1)*len(r.points)/total}, second)
				} else if len(r.kills) == 0 && at.at > 1 {
					// This run's phase had fewer points: its first.
					r = crashScenario(t, crashTarget{phase: at.phase, at: 1}, second)
				}
				mu.Lock()
				results[at] = r
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	// The closing note: which points were tried, where they fell, results.
	var all []kill
	labels := map[string]int{}
	distinct := map[int]bool{}
	var lines []string
	for _, at := range points {
		r := results[at]
		var ks []string
		for i, k := range r.kills {
			all = append(all, k)
			labels[k.label+"/"+k.phase]++
			if i == 0 {
				distinct[k.point] = true
			}
			ks = append(ks, fmt.Sprintf("#%d %s (%s)", k.point, k.label, k.phase))
		}
		if len(ks) == 0 {
			ks = []string{"run finished before this point"}
		}
		lines = append(lines, fmt.Sprintf("%-26s killed at %s; %d restart(s), %v: ok", at.String()+":", strings.Join(ks, ", then "), r.restarts, r.dur.Round(time.Millisecond)))
	}
	var ls []string
	for l, n := range labels {
		ls = append(ls, fmt.Sprintf("%s×%d", l, n))
	}
	sort.Strings(ls)
	t.Logf("crash runs:\n%s", strings.Join(lines, "\n"))
	t.Logf("%d runs, %d kills at %d distinct points, by phase: %s; %v in all", len(points), len(all), len(distinct), countPhases(all), time.Since(start).Round(time.Millisecond))
	t.Logf("kill sites: %s", strings.Join(ls, ", "))
	if len(distinct) < 50 {
		t.Errorf("only %d distinct points killed, want 50 or more", len(distinct))
	}
	phases := map[string]int{}
	for _, k := range all {
		phases[k.phase]++
	}
	for _, p := range append([]string{"open", "funding", "running", "closing"}, crashDisputePhases...) {
		if phases[p] == 0 {
			t.Errorf("no kill during %s", p)
		}
	}
}

func countPhases(ks []kill) string {
	n := map[string]int{}
	for _, k := range ks {
		n[k.phase]++
	}
	var out []string
	for _, p := range crashPhases {
		out = append(out, fmt.Sprintf("%s %d", p, n[p]))
	}
	return strings.Join(out, ", ")
}

// crashScenario runs the whole scenario once, the child killed at target
// (at 0: never) and, after its first restart, at point second.
func crashScenario(t *testing.T, target crashTarget, second int) runResult {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	chain := memory.NewChain(big.NewInt(1337))
	srv := loopback.NewServer(chain)
	defer srv.Close()
	sa, sb := crashSigner("A"), crashSigner("B")
	chain.Fund(sa.Address(), big.NewInt(crashFunds))
	chain.Fund(sb.Address(), big.NewInt(crashFunds))
	ref, err := startReferee(ctx, chain, sa.Address())
	if err != nil {
		t.Fatal(err)
	}
	url, schemaA := pgtest.Schema(t, "nwcrash_a")
	_, schemaB := pgtest.Schema(t, "nwcrash_b")
	dir := t.TempDir()
	trace, journal := filepath.Join(dir, "trace"), filepath.Join(dir, "journal")

	storeB, err := postgres.Open(ctx, url, postgres.Options{Schema: schemaB, MaxConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer storeB.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	stale := &staleB{chain: chain.Account(sb.Address()), signer: sb, ref: ref}
	wB, err := app.New(ctx, app.Config{Signer: sb, Store: &staleStore{Store: storeB, s: stale}, Chain: silentChain{stale.chain}, TickInterval: crashTick, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	bctx, stopB := context.WithCancel(ctx)
	bDone := make(chan struct{})
	go func() {
		defer close(bDone)
		driveB(bctx, wB, srv.Mailbox(), stale.hold)
	}()
	defer func() {
		stopB()
		<-bDone
		_ = wB.Close()
	}()

	var res runResult
	at := target
	for attempt := 0; ; attempt++ {
		if attempt > 3 {
			t.Fatalf("child still not done after %d restarts", attempt-1)
		}
		_ = os.Remove(trace)
		out, err := runChild(ctx, url, schemaA, srv.URL(), at, trace, journal)
		points := readTrace(t, trace)
		if err == nil {
			res.points = points
			break
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL || len(points) == 0 {
			t.Fatalf("child (kill at %s) failed: %v\n%s", at, err, tail(out))
		}
		k := points[len(points)-1]
		if at.phase == "" && k.point != at.at || at.phase != "" && k.phase != at.phase && k.label != at.phase {
			t.Fatalf("child killed at point %d (%s), asked for %s", k.point, k.phase, at)
		}
		res.kills = append(res.kills, k)
		res.restarts++
		at = crashTarget{}
		if attempt == 0 {
			at = crashTarget{at: second}
		}
	}

	// B sees both payouts on chain.
	deadline := time.Now().Add(30 * time.Second)
	for {
		cs, err := wB.GetChannels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done := len(cs) == 2
		for _, c := range cs {
			done = done && c.Status == core.StatusClosed && c.FundingStatus == core.FundingDefunded
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B never saw both channels closed and defunded: %+v", cs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopB()
	<-bDone

	storeA, err := postgres.Open(ctx, url, postgres.Options{Schema: schemaA, LockWait: 10 * time.Second, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer storeA.Close()
	checkOutcome(t, ctx, chain, ref, storeA, storeB)
	if issued, cleared := stale.staleDone(); !issued || cleared == 0 {
		t.Errorf("B's stale challenge made %v, challenges cleared %d: want it made and cleared", issued, cleared)
	}
	checkJournal(t, journal)
	res.dur = time.Since(start)
	return res
}

// checkOutcome: both channels closed and paid out exactly (channel 2 the
// finalized challenge's state), nothing pending on either side, every
// account moved exactly once, and no key signed two different states (or
// one state two ways) for a channel and turn.
func checkOutcome(t *testing.T, ctx context.Context, chain *memory.Chain, ref *referee, stores ...*postgres.Store) {
	t.Helper()
	var ids []nitro.Bytes32
	var chansA []core.Channel
	for i, s := range stores {
		cs, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 2 {
			t.Fatalf("store %d holds %d channels, want 2", i, len(cs))
		}
		for _, c := range cs {
			if c.Status() != core.StatusClosed || c.FundingStatus() != core.FundingDefunded {
				t.Fatalf("store %d: channel %s is %s/%s", i, c.ID, c.Status(), c.FundingStatus())
			}
			if i == 0 {
				ids = append(ids, c.ID)
				chansA = append(chansA, c)
			}
		}
		if p, err := s.Pending(ctx); err != nil || len(p) != 0 {
			t.Fatalf("store %d: %d outbox entries still pending (%v)", i, len(p), err)
		}
	}
	wantA, wantB, wantSigs := expectedPayouts(t, ref, chansA)
	eth := chain.ETHAssetHolder()
	checks := []struct {
		what      string
		got, want *big.Int
	}{
		{"A's destination", chain.Balance(crashDest("A")), big.NewInt(wantA)},
		{"B's destination", chain.Balance(crashDest("B")), big.NewInt(wantB)},
		{"A's account (deposited once per channel)", chain.Balance(crashSigner("A").Address()), big.NewInt(crashFunds - wantA)},
		{"B's account (deposited once per channel)", chain.Balance(crashSigner("B").Address()), big.NewInt(crashFunds - wantB)},
		{"channel 1 holdings", chain.ChannelHoldings(eth, ids[0]), new(big.Int)},
		{"channel 2 holdings", chain.ChannelHoldings(eth, ids[1]), new(big.Int)},
	}
	for _, c := range checks {
		if c.got.Cmp(c.want) != 0 {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	type key struct {
		ch     nitro.Bytes32
		turn   uint64
		signer nitro.Address
	}
	hashes := map[key]map[nitro.Bytes32]bool{}
	sigs := map[key]map[nitro.Signature]bool{}
	for _, s := range stores {
		rs, err := s.Signatures(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			k := key{r.ChannelID, r.TurnNum, r.Signer}
			if hashes[k] == nil {
				hashes[k], sigs[k] = map[nitro.Bytes32]bool{}, map[nitro.Signature]bool{}
			}
			hashes[k][r.StateHash] = true
			sigs[k][r.Signature] = true
		}
	}
	for k := range hashes {
		if len(hashes[k]) != 1 || len(sigs[k]) != 1 {
			t.Errorf("%s signed %d states (%d signatures) for channel %s turn %d", k.signer, len(hashes[k]), len(sigs[k]), k.ch, k.turn)
		}
	}
	// Per channel: turns 0..crashLastTurn by their movers, the running
	// turns 4..crashLastTurn countersigned too (no app), the final turn by
	// both on the closed channel (expectedPayouts).
	if want := wantSigs; len(hashes) != want {
		t.Errorf("stores recorded signatures for %d (channel, turn, signer), want %d", len(hashes), want)
	}
}

func runChild(ctx context.Context, url, schema, server string, kill crashTarget, trace, journal string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		envChild+"=1", envURL+"="+url, envSchema+"="+schema, envServer+"="+server,
		envKillAt+"="+strconv.Itoa(kill.at), envKillPhase+"="+kill.phase, envTrace+"="+trace, envJournal+"="+journal)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func readTrace(t *testing.T, path string) []kill {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []kill
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		w := strings.Fields(line)
		if len(w) != 3 {
			continue
		}
		n, _ := strconv.Atoi(w[0])
		out = append(out, kill{point: n, label: w[1], phase: w[2]})
	}
	return out
}

func tail(b []byte) string {
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// driveB plays B: join what A proposes, answer every message, make B's
// update (back to the channel's initial split) on B's turn, and resend
// states when nothing happened for a while (A may have died holding them).
// B leaves a channel alone in a round when hold says so (staleB).
func driveB(ctx context.Context, w *app.Wallet, mbox *loopback.Mailbox, hold func(context.Context, app.ChannelResult) bool) {
	notes, stop := w.Subscribe()
	defer stop()
	go func() {
		for n := range notes {
			if n.Type == app.MessageQueued {
				mbox.Send(n.Message.Recipient, n.Message.Data)
			}
		}
	}()
	send := func(r app.Result, err error) {
		if err != nil {
			return
		}
		for _, m := range r.Outbox {
			mbox.Send(m.Recipient, m.Data)
		}
	}
	idle := time.Now()
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		data, ok := mbox.Recv(rctx, "B")
		cancel()
		if ok {
			send(w.PushMessage(ctx, data))
			idle = time.Now()
		}
		cs, err := w.GetChannels(ctx)
		if err != nil {
			continue
		}
		for _, c := range cs {
			alloc, known := crashAllocs[total(c)]
			switch {
			case !known || hold(ctx, c):
			case c.Status == core.StatusProposed:
				send(w.JoinChannel(ctx, c.ChannelID))
			case c.Status == core.StatusRunning && c.TurnNum%2 == 0 && c.TurnNum >= 4 && c.TurnNum < crashLastTurn:
				send(w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: c.ChannelID, Allocations: crashAllocation(c.Allocations[0].AssetHolderAddress, alloc[0], alloc[1])}))
			}
		}
		if time.Since(idle) > crashIdleResync {
			for _, c := range cs {
				if c.Status != core.StatusClosed {
					send(w.SyncChannel(ctx, c.ChannelID))
				}
			}
			idle = time.Now()
		}
	}
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
		if done == 2 {
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
