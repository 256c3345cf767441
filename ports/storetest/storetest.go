// Package storetest is the conformance suite every ports.Store must pass
// (after go-perun's persistence test suite): run it from each adapter's
// tests with storetest.Run(t, factory).
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/testkit"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Factory opens the stores the suite runs against.
type Factory struct {
	// New returns a new, empty store; register its cleanup with t.
	New func(t *testing.T) ports.Store
	// Reopen closes s and returns a store over the same data, as a
	// restarted process would open it. Nil means the store lives only in
	// its value: the suite then goes on with s itself.
	Reopen func(t *testing.T, s ports.Store) ports.Store
}

func (f Factory) reopen(t *testing.T, s ports.Store) ports.Store {
	t.Helper()
	if f.Reopen == nil {
		return s
	}
	return f.Reopen(t, s)
}

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"Empty", testEmpty},
		{"CorpusRoundTrip", testCorpusRoundTrip},
		{"PendingAndDone", testPendingAndDone},
		{"DoneInCommit", testDoneInCommit},
		{"ManyChangesInOneCommit", testManyChangesInOneCommit},
		{"EmptyCommits", testEmptyCommits},
		{"Isolation", testIsolation},
		{"CanceledContext", testCanceledContext},
		{"Nonces", testNonces},
		{"NonceRanges", testNonceRanges},
		{"ChannelFinder", testChannelFinder},
		{"ChainCursor", testChainCursor},
		{"ConcurrentCommits", testConcurrentCommits},
		{"Equivocations", testEquivocations},
		{"DeleteProposal", testDeleteProposal},
		{"Apps", testApps},
		{"ConcurrentAppRegistrations", testConcurrentRegistrations},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, f) })
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// runningChannel is a realistic running two-party channel from the corpus.
var runningChannel = sync.OnceValue(func() core.Channel {
	for _, s := range Corpus() {
		if s.Channel.Status() == core.StatusRunning && len(s.Channel.Participants) == 2 {
			return s.Channel
		}
	}
	panic("storetest: corpus has no running channel")
})

// channel returns a copy of the running channel with its own id.
func channel(id byte) core.Channel {
	c := runningChannel().Clone()
	c.ID = nitro.Bytes32{0x5e, id}
	return c
}

func mustCommit(t *testing.T, s ports.Store, changes ...ports.Change) []ports.OutboxEntry {
	t.Helper()
	entries, err := s.Commit(ctxFor(t), changes)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return entries
}

func wantChannel(t *testing.T, s ports.Store, want core.Channel) {
	t.Helper()
	got, err := s.Get(ctxFor(t), want.ID)
	if err != nil {
		t.Fatalf("Get %s: %v", want.ID, err)
	}
	if d := Diff(want, got); d != "" {
		t.Fatalf("Get %s differs from what was committed: %s", want.ID, d)
	}
}

func wantPending(t *testing.T, s ports.Store, want []ports.OutboxEntry) {
	t.Helper()
	got, err := s.Pending(ctxFor(t))
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Pending has %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].ChannelID != want[i].ChannelID {
			t.Fatalf("Pending[%d] is entry %d of %s, want %d of %s", i, got[i].ID, got[i].ChannelID, want[i].ID, want[i].ChannelID)
		}
		if reflect.TypeOf(got[i].Effect) != reflect.TypeOf(want[i].Effect) {
			t.Fatalf("Pending[%d] effect is %T, want %T", i, got[i].Effect, want[i].Effect)
		}
		if d := Diff(want[i].Effect, got[i].Effect); d != "" {
			t.Fatalf("Pending[%d] (%T) differs: %s", i, want[i].Effect, d)
		}
	}
}

func testEmpty(t *testing.T, f Factory) {
	s := f.New(t)
	ctx := ctxFor(t)
	if _, err := s.Get(ctx, nitro.Bytes32{1}); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("Get unknown: %v, want ports.ErrNotFound", err)
	}
	if cs, err := s.List(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("List: %d channels, %v", len(cs), err)
	}
	if es, err := s.Pending(ctx); err != nil || len(es) != 0 {
		t.Fatalf("Pending: %d entries, %v", len(es), err)
	}
	if c, err := s.ChainCursor(ctx); err != nil || c.Block != 0 || c.Hash != (nitro.Bytes32{}) || c.Rewinds != 0 {
		t.Fatalf("ChainCursor: %+v, %v", c, err)
	}
}

// testCorpusRoundTrip commits real channels at every stage and checks that
// Get, List and Pending return exactly what was committed, before and
// after a reopen.
func testCorpusRoundTrip(t *testing.T, f Factory) {
	corpus := Corpus()
	checkCorpus(t, corpus)
	s := f.New(t)
	latest := map[nitro.Bytes32]core.Channel{}
	var all []ports.OutboxEntry
	var lastID uint64
	for _, snap := range corpus {
		entries := mustCommit(t, s, ports.Change{Channel: snap.Channel, Effects: snap.Effects})
		if len(entries) != len(snap.Effects) {
			t.Fatalf("%s: %d entries for %d effects", snap.Stage, len(entries), len(snap.Effects))
		}
		for i, e := range entries {
			if e.ID <= lastID {
				t.Fatalf("%s: entry id %d after %d", snap.Stage, e.ID, lastID)
			}
			lastID = e.ID
			if e.ChannelID != snap.Channel.ID || reflect.TypeOf(e.Effect) != reflect.TypeOf(snap.Effects[i]) || Diff(snap.Effects[i], e.Effect) != "" {
				t.Fatalf("%s: entry %d is not the committed effect", snap.Stage, i)
			}
		}
		all = append(all, entries...)
		latest[snap.Channel.ID] = snap.Channel
		got, err := s.Get(ctxFor(t), snap.Channel.ID)
		if err != nil {
			t.Fatalf("%s: Get: %v", snap.Stage, err)
		}
		if d := Diff(snap.Channel, got); d != "" {
			t.Fatalf("%s: Get differs from what was committed: %s", snap.Stage, d)
		}
	}
	check := func(s ports.Store) {
		t.Helper()
		list, err := s.List(ctxFor(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != len(latest) {
			t.Fatalf("List: %d channels, want %d", len(list), len(latest))
		}
		for i, c := range list {
			if i > 0 && bytes.Compare(list[i-1].ID[:], c.ID[:]) >= 0 {
				t.Fatalf("List not ordered by id at %d", i)
			}
			if d := Diff(latest[c.ID], c); d != "" {
				t.Fatalf("List: channel %s differs: %s", c.ID, d)
			}
		}
		wantPending(t, s, all)
	}
	check(s)
	s = f.reopen(t, s)
	check(s)
	for _, c := range latest {
		wantChannel(t, s, c)
	}
}

// checkCorpus makes sure the corpus covers every stage the suite promises.
func checkCorpus(t *testing.T, corpus []Snapshot) {
	t.Helper()
	statuses := map[core.Status]bool{}
	kinds := map[string]bool{}
	var pending, held, defunded, retry bool
	for _, s := range corpus {
		c := s.Channel
		statuses[c.Status()] = true
		pending = pending || c.Pending != nil
		held = held || len(c.Held) > 0
		defunded = defunded || c.FundingStatus() == core.FundingDefunded
		for _, f := range c.Funding {
			for _, st := range f.Deposits {
				retry = retry || st == core.TxRetry
			}
		}
		for _, e := range s.Effects {
			kinds[fmt.Sprintf("%T", e)] = true
		}
	}
	for _, st := range []core.Status{core.StatusProposed, core.StatusOpening, core.StatusFunding, core.StatusRunning, core.StatusClosing, core.StatusClosed} {
		if !statuses[st] {
			t.Errorf("corpus has no %s channel", st)
		}
	}
	for _, k := range []string{"core.SignState", "core.Send", "core.Deposit", "core.Conclude", "core.Watch"} {
		if !kinds[k] {
			t.Errorf("corpus has no %s effect", k)
		}
	}
	if !pending || !held || !defunded || !retry {
		t.Errorf("corpus lacks a stage: pending %v, held %v, defunded %v, deposit retry %v", pending, held, defunded, retry)
	}
}

func deposit(id nitro.Bytes32, item int) core.Effect {
	return core.Deposit{ChannelID: id, Asset: nitro.Address{1}, Item: item, ExpectedHeld: big.NewInt(int64(item)), Amount: big.NewInt(7)}
}

func testPendingAndDone(t *testing.T, f Factory) {
	s := f.New(t)
	ctx := ctxFor(t)
	c1, c2 := channel(1), channel(2)
	var all []ports.OutboxEntry
	all = append(all, mustCommit(t, s, ports.Change{Channel: c1, Effects: []core.Effect{deposit(c1.ID, 0), deposit(c1.ID, 1), deposit(c1.ID, 2)}})...)
	all = append(all, mustCommit(t, s, ports.Change{Channel: c2, Effects: []core.Effect{deposit(c2.ID, 3), core.Watch{ChannelID: c2.ID}}})...)
	c1.Now = 77
	all = append(all, mustCommit(t, s, ports.Change{Channel: c1, Effects: []core.Effect{deposit(c1.ID, 4)}})...)
	wantPending(t, s, all)
	wantChannel(t, s, c1)

	if err := s.Done(ctx, []uint64{all[1].ID, all[3].ID}); err != nil {
		t.Fatalf("Done: %v", err)
	}
	rest := []ports.OutboxEntry{all[0], all[2], all[4], all[5]}
	wantPending(t, s, rest)
	// Unknown, repeated and empty id lists are no-ops.
	if err := s.Done(ctx, []uint64{all[5].ID + 1000, all[1].ID, all[1].ID}); err != nil {
		t.Fatalf("Done with unknown or done ids: %v", err)
	}
	if err := s.Done(ctx, nil); err != nil {
		t.Fatalf("Done(nil): %v", err)
	}
	wantPending(t, s, rest)

	s = f.reopen(t, s)
	wantPending(t, s, rest)
	if err := s.Done(ctxFor(t), []uint64{rest[3].ID, rest[0].ID, rest[1].ID, rest[2].ID}); err != nil {
		t.Fatal(err)
	}
	wantPending(t, s, nil)
	// Ids are never reused.
	more := mustCommit(t, s, ports.Change{Channel: c2, Effects: []core.Effect{deposit(c2.ID, 9)}})
	if more[0].ID <= all[5].ID {
		t.Fatalf("new entry id %d reuses an id at or below %d", more[0].ID, all[5].ID)
	}
	wantPending(t, s, more)
}

// testDoneInCommit: a commit marks the entries its changes list in Done
// (of any channel, unknown or already done ones ignored) in the same
// commit; a commit that fails marks nothing.
func testDoneInCommit(t *testing.T, f Factory) {
	s := f.New(t)
	c1, c2 := channel(1), channel(2)
	all := mustCommit(t, s,
		ports.Change{Channel: c1, Effects: []core.Effect{deposit(c1.ID, 0), deposit(c1.ID, 1)}},
		ports.Change{Channel: c2, Effects: []core.Effect{deposit(c2.ID, 2)}})
	c1.Now = 5
	more := mustCommit(t, s, ports.Change{Channel: c1, Effects: []core.Effect{deposit(c1.ID, 3)}, Done: []uint64{all[0].ID, all[2].ID, all[2].ID + 1000}})
	wantChannel(t, s, c1)
	wantPending(t, s, []ports.OutboxEntry{all[1], more[0]})
	// A commit that fails (here: its context has ended) marks nothing.
	ctx, cancel := context.WithCancel(ctxFor(t))
	cancel()
	if _, err := s.Commit(ctx, []ports.Change{{Channel: c2, Done: []uint64{all[1].ID}}}); err == nil {
		t.Fatal("Commit with an ended context succeeded")
	}
	wantPending(t, s, []ports.OutboxEntry{all[1], more[0]})
	s = f.reopen(t, s)
	wantPending(t, s, []ports.OutboxEntry{all[1], more[0]})
	mustCommit(t, s, ports.Change{Channel: c2, Done: []uint64{all[1].ID, more[0].ID, all[0].ID}})
	wantPending(t, s, nil)
}

func testManyChangesInOneCommit(t *testing.T, f Factory) {
	s := f.New(t)
	c1, c2 := channel(1), channel(2)
	c1b := c1.Clone()
	c1b.Now = 99
	entries := mustCommit(t, s,
		ports.Change{Channel: c1, Effects: []core.Effect{deposit(c1.ID, 0)}},
		ports.Change{Channel: c2, Effects: []core.Effect{deposit(c2.ID, 1)}},
		ports.Change{Channel: c1b, Effects: []core.Effect{deposit(c1.ID, 2), deposit(c1.ID, 3)}},
	)
	if len(entries) != 4 {
		t.Fatalf("%d entries, want 4", len(entries))
	}
	for i, want := range []nitro.Bytes32{c1.ID, c2.ID, c1.ID, c1.ID} {
		if entries[i].ChannelID != want || entries[i].Effect.(core.Deposit).Item != i {
			t.Fatalf("entry %d is item %d of %s", i, entries[i].Effect.(core.Deposit).Item, entries[i].ChannelID)
		}
		if i > 0 && entries[i].ID <= entries[i-1].ID {
			t.Fatalf("entry ids not increasing: %d then %d", entries[i-1].ID, entries[i].ID)
		}
	}
	wantChannel(t, s, c1b)
	wantChannel(t, s, c2)
	wantPending(t, s, entries)
}

func testEmptyCommits(t *testing.T, f Factory) {
	s := f.New(t)
	ctx := ctxFor(t)
	for _, changes := range [][]ports.Change{nil, {}} {
		entries, err := s.Commit(ctx, changes)
		if err != nil || len(entries) != 0 {
			t.Fatalf("empty Commit: %d entries, %v", len(entries), err)
		}
	}
	c := channel(3)
	if entries := mustCommit(t, s, ports.Change{Channel: c}); len(entries) != 0 {
		t.Fatalf("Commit without effects returned %d entries", len(entries))
	}
	wantChannel(t, s, c)
	wantPending(t, s, nil)
}

// testIsolation: what the caller holds and what the store holds never alias.
func testIsolation(t *testing.T, f Factory) {
	s := f.New(t)
	ctx := ctxFor(t)
	c := channel(4)
	want := c.Clone()
	d := deposit(c.ID, 1).(core.Deposit)
	st := core.SignState{ChannelID: c.ID, State: c.Setup.Clone(), Hash: nitro.Bytes32{1}}
	wantEntries := []ports.OutboxEntry{
		{ChannelID: c.ID, Effect: core.Deposit{ChannelID: d.ChannelID, Asset: d.Asset, Item: d.Item, ExpectedHeld: big.NewInt(1), Amount: big.NewInt(7)}},
		{ChannelID: c.ID, Effect: core.SignState{ChannelID: c.ID, State: c.Setup.Clone(), Hash: nitro.Bytes32{1}}},
	}
	entries := mustCommit(t, s, ports.Change{Channel: c, Effects: []core.Effect{d, st}})
	for i := range wantEntries {
		wantEntries[i].ID = entries[i].ID
	}
	scribble := func(c *core.Channel) {
		c.Participants[0].ParticipantID = "scribbled"
		c.Funding[0].Holdings.SetInt64(-999)
		c.States[len(c.States)-1].Sigs[0].V = 0
		c.Setup.Outcome[0].Allocation[0].Amount.SetInt64(-1)
		c.Setup.Participants[0] = nitro.Address{0xff}
	}
	scribble(&c)
	d.Amount.SetInt64(-5)
	st.State.Outcome[0].Allocation[0].Amount.SetInt64(-6)
	wantChannel(t, s, want)
	wantPending(t, s, wantEntries)

	got, err := s.Get(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	scribble(&got)
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	scribble(&list[0])
	pend, err := s.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pend[0].Effect.(core.Deposit).Amount.SetInt64(-7)
	pend[1].Effect.(core.SignState).State.Outcome[0].Allocation[0].Amount.SetInt64(-8)
	wantChannel(t, s, want)
	wantPending(t, s, wantEntries)
}

func testNonces(t *testing.T, f Factory) {
	s := f.New(t)
	ctx := ctxFor(t)
	a, b, c := nitro.Address{0xa}, nitro.Address{0xb}, nitro.Address{0xc}
	lists := [][]nitro.Address{{a, b}, {b, a}, {a, b, c}}
	last := map[int]uint64{}
	for round := 0; round < 3; round++ {
		for i, l := range lists {
			n, err := s.NextNonce(ctx, l)
			if err != nil {
				t.Fatal(err)
			}
			if n <= last[i] {
				t.Fatalf("list %d: nonce %d after %d", i, n, last[i])
			}
			last[i] = n
		}
	}
	// Concurrent reservations never collide.
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 4; k++ {
				n, err := s.NextNonce(ctx, []nitro.Address{c, a})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if seen[n] {
					errs <- fmt.Errorf("nonce %d reserved twice", n)
				}
				seen[n] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s = f.reopen(t, s)
	n, err := s.NextNonce(ctxFor(t), lists[0])
	if err != nil {
		t.Fatal(err)
	}
	if n <= last[0] {
		t.Fatalf("after reopen: nonce %d reuses one at or below %d", n, last[0])
	}
}

// testConcurrentCommits: commits from many goroutines (as the app makes
// for different channels) all land, each channel's entries in its order.
func testConcurrentCommits(t *testing.T, f Factory) {
	s := f.New(t)
	const workers, rounds = 16, 20
	testkit.Parallel(t, workers, func(g int) error {
		c := channel(byte(100 + g))
		for k := 0; k < rounds; k++ {
			c.Now = int64(k)
			entries, err := s.Commit(context.Background(), []ports.Change{{Channel: c, Effects: []core.Effect{deposit(c.ID, 2*k), deposit(c.ID, 2*k+1)}}})
			if err == nil && len(entries) != 2 {
				err = fmt.Errorf("%d entries", len(entries))
			}
			if err == nil && g%4 == 0 {
				err = s.Done(context.Background(), []uint64{entries[0].ID})
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	s = f.reopen(t, s)
	pend, err := s.Pending(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	want := workers*rounds*2 - (workers/4)*rounds
	if len(pend) != want {
		t.Fatalf("Pending: %d entries, want %d", len(pend), want)
	}
	next := map[nitro.Bytes32]int{}
	ids := map[uint64]bool{}
	for _, e := range pend {
		if ids[e.ID] {
			t.Fatalf("entry id %d twice", e.ID)
		}
		ids[e.ID] = true
		item := e.Effect.(core.Deposit).Item
		if item < next[e.ChannelID] {
			t.Fatalf("channel %s: item %d after %d", e.ChannelID, item, next[e.ChannelID])
		}
		next[e.ChannelID] = item + 1
	}
	for g := 0; g < workers; g++ {
		c := channel(byte(100 + g))
		c.Now = rounds - 1
		wantChannel(t, s, c)
	}
	list, err := s.List(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(list, func(a, b core.Channel) int { return bytes.Compare(a.ID[:], b.ID[:]) }) || len(list) != workers {
		t.Fatalf("List: %d channels, sorted %v", len(list), slices.IsSortedFunc(list, func(a, b core.Channel) int { return bytes.Compare(a.ID[:], b.ID[:]) }))
	}
}
