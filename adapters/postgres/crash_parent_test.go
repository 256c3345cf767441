//go:build unix

package postgres_test

// The crash test's parent side (see crash_test.go): one run of the
// scenario, starting the child and reading its trace, wallet B's driver, and
// the checks on the outcome.

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
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/internal/pgtest/loopback"
)

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
			kinds := make([]string, len(p))
			for k, e := range p {
				kinds[k] = fmt.Sprintf("%T", e.Effect)
			}
			t.Fatalf("store %d: %d outbox entries still pending %v (%v)", i, len(p), kinds, err)
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
