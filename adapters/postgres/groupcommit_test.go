package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/testkit"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/ports/storetest"
)

// runningChannel returns a realistic running channel from the store suite's
// corpus, with its own id.
func runningChannel(id int) core.Channel {
	for _, s := range storetest.Corpus() {
		if s.Channel.Status() == core.StatusRunning && len(s.Channel.Participants) == 2 {
			c := s.Channel.Clone()
			c.ID = nitro.Bytes32{0xbe, byte(id >> 8), byte(id)}
			return c
		}
	}
	panic("no running channel in the corpus")
}

// update is what one durable channel update commits: the channel with the
// intent to sign, then (after signing) the signed state and the message.
func updateChanges(c core.Channel, turn int) []ports.Change {
	c.Now = int64(turn)
	l, _ := c.Latest()
	return []ports.Change{{Channel: c, Effects: []core.Effect{
		core.SignState{ChannelID: c.ID, State: l.State, Hash: l.Hash},
		core.Send{ChannelID: c.ID, Message: core.Message{Recipient: "B", Sender: "A", Payload: core.Payload{SignedStates: []core.SignedState{{State: l.State, Participants: c.Participants, Signatures: l.Sigs[:1]}}}}},
	}}}
}

// TestGroupCommit: concurrent Commits from many channels share
// transactions, and every one of them is durable when it returns.
func TestGroupCommit(t *testing.T) {
	s := open(t, postgres.Options{})
	ctx := context.Background()
	const channels, rounds = 64, 10
	base := make([]core.Channel, channels)
	for i := range base {
		base[i] = runningChannel(i)
	}
	testkit.Parallel(t, channels, func(i int) error {
		for k := 0; k < rounds; k++ {
			entries, err := s.Commit(ctx, updateChanges(base[i], k))
			if err == nil {
				err = s.Done(ctx, []uint64{entries[0].ID, entries[1].ID})
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	st := s.Stats()
	t.Logf("%d requests (%d channel changes) in %d transactions", st.Requests, st.Changes, st.Transactions)
	if st.Requests != 2*channels*rounds || st.Changes != channels*rounds {
		t.Fatalf("stats %+v", st)
	}
	if st.Transactions >= st.Requests {
		t.Fatalf("no group commit: %d transactions for %d requests", st.Transactions, st.Requests)
	}
	for i := range base {
		got, err := s.Get(ctx, base[i].ID)
		if err != nil || got.Now != rounds-1 {
			t.Fatalf("channel %d: Now=%d, %v", i, got.Now, err)
		}
	}
	if p, err := s.Pending(ctx); err != nil || len(p) != 0 {
		t.Fatalf("%d pending, %v", len(p), err)
	}
}

// BenchmarkDurableUpdates measures durable channel updates per second with
// 64 channels updating concurrently: each update is two commits (the intent
// to sign with its effects, then the signed state) and one Done, as the app
// makes them. Reports updates/s and the p99 latency of an update.
func BenchmarkDurableUpdates(b *testing.B) {
	for _, committers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("committers=%d", committers), func(b *testing.B) {
			s := open(b, postgres.Options{Committers: committers, MaxConns: 8})
			ctx := context.Background()
			const channels = 64
			base := make([]core.Channel, channels)
			for i := range base {
				base[i] = runningChannel(i)
			}
			var mu sync.Mutex
			var lat []time.Duration
			var next int
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for i := 0; i < channels; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := 0; ; k++ {
						mu.Lock()
						if next >= b.N {
							mu.Unlock()
							return
						}
						next++
						mu.Unlock()
						t0 := time.Now()
						ch := updateChanges(base[i], 2*k)
						entries, err := s.Commit(ctx, ch)
						if err == nil {
							ch[0].Channel.Now++
							ch[0].Effects = ch[0].Effects[1:]
							var more []ports.OutboxEntry
							more, err = s.Commit(ctx, ch)
							if err == nil {
								err = s.Done(ctx, []uint64{entries[0].ID, entries[1].ID, more[0].ID})
							}
						}
						if err != nil {
							b.Error(err)
							return
						}
						mu.Lock()
						lat = append(lat, time.Since(t0))
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/el.Seconds(), "updates/s")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
			st := s.Stats()
			if st.Transactions > 0 {
				b.ReportMetric(float64(st.Requests)/float64(st.Transactions), "requests/tx")
			}
		})
	}
}

// TestSameChannelSerialized: concurrent Commits on one channel (which the
// app never issues, but a store must survive) serialize on the channel's
// row across concurrent transactions: none fails or deadlocks, and every
// effect is kept.
func TestSameChannelSerialized(t *testing.T) {
	s := open(t, postgres.Options{Committers: 4})
	ctx := context.Background()
	c := runningChannel(7)
	const writers, rounds = 16, 10
	testkit.Parallel(t, writers, func(i int) error {
		for k := 0; k < rounds; k++ {
			if _, err := s.Commit(ctx, updateChanges(c, i*rounds+k)); err != nil {
				return err
			}
		}
		return nil
	})
	var version, entries int
	if err := s.DB().QueryRow(`SELECT version FROM channels WHERE id = $1`, c.ID[:]).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().QueryRow(`SELECT count(*) FROM outbox WHERE channel_id = $1`, c.ID[:]).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	// Commits sharing a transaction write the row once (the last wins), so
	// version counts transactions; every effect is kept.
	if version < 1 || version > writers*rounds || entries != 2*writers*rounds {
		t.Fatalf("version %d, %d outbox entries; want 1..%d and %d", version, entries, writers*rounds, 2*writers*rounds)
	}
	t.Logf("%d commits on one channel in %d transactions", writers*rounds, version)
}
