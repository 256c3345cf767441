package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
)

// The benchmarks behind `nitrowallet bench`, for `go test -bench`: the
// same wallets and workloads, with b.N operations. An operation is one
// off-chain update (the mover's UpdateChannel and the receiver's
// PushMessage) or one channel's whole life on the simulated chain.

// benchUpdatesN runs b.N updates spread over the channels, each channel in
// its own goroutine, and reports updates/s and latency quantiles. With an
// app (non-nil), the channels name it as their appDefinition.
func benchUpdatesN(b *testing.B, store string, channels int, a *benchApp) {
	ctx := context.Background()
	p, err := newBenchPair(ctx, newBenchMemoryChain(), store)
	if err != nil {
		b.Fatal(err)
	}
	defer p.close()
	if a != nil {
		if err := p.useApp(ctx, *a); err != nil {
			b.Fatal(err)
		}
	}
	ids, err := p.open(channels)
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	lat := make([][]time.Duration, len(ids))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if err := p.update(id); err != nil {
					errs <- err
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	reportLatency(b, el, slices.Concat(lat...), "updates/s")
}

func reportLatency(b *testing.B, el time.Duration, lat []time.Duration, unit string) {
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(len(lat))/el.Seconds(), unit)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()), "p99-µs")
}

// BenchmarkUpdates: off-chain updates between two wallets on the memory
// chain, on one channel (ping-pong) and on 64 channels in parallel, with
// memory stores and with PostgreSQL stores (synchronous commit on); and on
// 64 channels whose app is SingleAssetPayments, with memory stores.
func BenchmarkUpdates(b *testing.B) {
	for _, st := range []string{"memory", "postgres"} {
		for _, n := range []int{1, 64} {
			b.Run(fmt.Sprintf("store=%s/channels=%d", st, n), func(b *testing.B) {
				url := "memory"
				if st == "postgres" {
					pgtest.Open(b)
					url = pgtest.URL()
				}
				benchUpdatesN(b, url, n, nil)
			})
		}
	}
	b.Run("store=memory/channels=64/app=SingleAssetPayments", func(b *testing.B) {
		a, err := benchSingleAssetPayments()
		if err != nil {
			b.Fatal(err)
		}
		benchUpdatesN(b, "memory", 64, &a)
	})
}

// BenchmarkLifecycleEVM: channels opened, updated once, closed and paid out
// between two wallets on go-ethereum's simulated chain, 100 at once.
func BenchmarkLifecycleEVM(b *testing.B) {
	ctx := context.Background()
	o := benchOptions{count: 1, evmChans: 100}
	for i := 0; i < b.N; i++ {
		rows, err := benchEVM(ctx, o)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rows {
			b.Logf("%s: %.1f %s, p50 %v, p99 %v", r.name, r.value, r.unit, r.p50, r.p99)
		}
		b.ReportMetric(float64(rows[0].p50.Microseconds())/1000, "open-p50-ms")
		b.ReportMetric(rows[1].value, "lifecycles/s")
	}
}

// BenchmarkIdleHeap reports the heap a memory store takes per idle channel
// with 10,000 channels held.
func BenchmarkIdleHeap(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r, err := benchIdleHeap(context.Background(), 10_000)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.value, "B/channel")
	}
}

// benchTestURL returns a PostgreSQL URL whose bench schemas are this
// test's own (dropped when it ends), so that runs elsewhere on the same
// server do not collide with it.
func benchTestURL(t *testing.T) string {
	t.Helper()
	db := pgtest.Open(t)
	base := fmt.Sprintf("nitrowallet_benchtest_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
	t.Cleanup(func() {
		for _, w := range []string{"a", "b", "floor"} {
			_, _ = db.Exec("DROP SCHEMA IF EXISTS " + base + "_" + w + " CASCADE")
		}
	})
	return pgtest.URL() + "&search_path=" + base
}

// benchTestOptions are tiny sizes: one short repetition, no warm-up, so
// that the operations counted by the PostgreSQL probe are the sample's.
var benchTestOptions = benchOptions{duration: 400 * time.Millisecond, count: 1, channels: 4}

// checkBenchRow checks the figures every throughput row has.
func checkBenchRow(t *testing.T, ss, cs []benchSample) benchRow {
	t.Helper()
	if len(ss) != 1 || len(cs) != 1 {
		t.Fatalf("%d samples and %d ceiling samples, want 1 and 1", len(ss), len(cs))
	}
	r := benchSummarize("row", "ops/s", ss, cs)
	if ss[0].ops == 0 || r.value <= 0 || r.p50 <= 0 || r.p99 < r.p50 || r.allocs <= 0 || r.cpuOp <= 0 ||
		r.ceiling <= 0 || r.ratio <= 0 || r.cpuRate <= 0 {
		t.Fatalf("implausible row: %+v", r)
	}
	return r
}

// checkBenchPG checks the server's figures of a row: the probe counted
// the sample's operations, and the server wrote rows and WAL and
// committed for them.
func checkBenchPG(t *testing.T, ss []benchSample, st *benchPGStats, minRows float64) {
	t.Helper()
	if st == nil {
		t.Fatal("no PostgreSQL figures")
	}
	t.Logf("%d ops: %d/%d/%d rows inserted/updated/deleted, %d commits, %d B of WAL, server CPU %v (measured: %v)",
		st.ops, st.ins, st.upd, st.del, st.commits, st.wal, st.cpu, st.cpuOK)
	if st.ops != int64(ss[0].ops) {
		t.Errorf("the probe counted %d operations, the sample %d", st.ops, ss[0].ops)
	}
	if per := float64(st.rows()) / float64(st.ops); per < minRows || per > 100 {
		t.Errorf("%.1f rows written per operation, want %.0f to 100", per, minRows)
	}
	if st.ins <= 0 || st.commits <= 0 || st.wal == 0 || (st.cpuOK && st.cpu <= 0) {
		t.Errorf("implausible server figures: %+v", *st)
	}
}

// TestBenchOpenRows runs the open rows briefly: every channel opened runs
// on both wallets, and on PostgreSQL each writes at least both wallets'
// channel rows.
func TestBenchOpenRows(t *testing.T) {
	eachBenchStore(t, 2, func(url string) ([]benchSample, []benchSample, *benchPGStats, error) {
		return benchOpen(context.Background(), benchTestOptions, url, 4, benchCeilingWorkload(1))
	})
}

// TestBenchManyRow runs the many-channels row on PostgreSQL with 20
// channels and 4 goroutines: the probe's figures are the sample's (how
// evenly the channels are updated is TestBenchSpreadWorkload's).
func TestBenchManyRow(t *testing.T) {
	ctx := context.Background()
	o := benchTestOptions
	o.duration = time.Second
	ss, cs, st, spread, err := benchMany(ctx, o, benchTestURL(t), 20, 4, benchCeilingWorkload(2))
	if err != nil {
		t.Fatal(err)
	}
	checkBenchRow(t, ss, cs)
	checkBenchPG(t, ss, st, 4)
	if spread[1] < 1 || spread[1] < spread[0] {
		t.Errorf("updates per channel %d to %d", spread[0], spread[1])
	}
}

// TestBenchSpreadWorkload: the many-channels workload updates every
// channel, each goroutine's channels in turn and taking up where it
// stopped in the previous run, so that after any number of runs a
// goroutine's channels differ by at most one update; every update counts.
func TestBenchSpreadWorkload(t *testing.T) {
	ctx := context.Background()
	p, err := newBenchPair(ctx, newBenchMemoryChain(), "memory")
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	p.funding = core.FundingFake
	ids, err := p.openBatch(21)
	if err != nil {
		t.Fatal(err)
	}
	w := p.spreadWorkload(ids, 4)
	ops := 0
	for run := 0; run < 3; run++ {
		s, err := benchRunOnce(ctx, w, 150*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		ops += s.ops
	}
	total := int64(0)
	lo, hi := make([]int64, 4), make([]int64, 4)
	for i, id := range ids {
		v, _ := p.turns.Load(id)
		k := v.(*atomic.Int64).Load()
		total += k
		if g := i % 4; i < 4 || k < lo[g] {
			lo[g] = k
		}
		hi[i%4] = max(hi[i%4], k)
	}
	if total != int64(ops) {
		t.Errorf("channels updated %d times in all, the runs logged %d", total, ops)
	}
	for g := range lo {
		if lo[g] < 1 || hi[g]-lo[g] > 1 {
			t.Errorf("goroutine %d: its channels updated %d to %d times, want all, within one", g, lo[g], hi[g])
		}
	}
}

// TestBenchOpenBatch: openBatch opens more channels than one batch call
// takes, each distinct and running on both wallets.
func TestBenchOpenBatch(t *testing.T) {
	p, err := newBenchPair(context.Background(), newBenchMemoryChain(), "memory")
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	p.funding = core.FundingFake
	n := app.MaxBatchChannels + 3
	ids, err := p.openBatch(n)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[nitro.Bytes32]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	if len(ids) != n || len(seen) != n {
		t.Fatalf("%d channels, %d distinct; want %d", len(ids), len(seen), n)
	}
	if err := p.update(ids[n-1]); err != nil {
		t.Fatal(err)
	}
}

// TestBenchPGStatsOfUpdates runs the 2-channel update row on both stores:
// on PostgreSQL with the server's figures (an update writes at least a
// state on each wallet), on memory without.
func TestBenchPGStatsOfUpdates(t *testing.T) {
	eachBenchStore(t, 4, func(url string) ([]benchSample, []benchSample, *benchPGStats, error) {
		return benchUpdatesStats(context.Background(), benchTestOptions, url, 2, nil, benchCeilingWorkload(2))
	})
}

// TestBenchPGStatsOfAppUpdates runs the SingleAssetPayments rows' workload
// on both stores, as `-only app` does: on PostgreSQL with the server's
// figures (a state on each wallet per update, at least).
func TestBenchPGStatsOfAppUpdates(t *testing.T) {
	a, err := benchSingleAssetPayments()
	if err != nil {
		t.Fatal(err)
	}
	eachBenchStore(t, 2, func(url string) ([]benchSample, []benchSample, *benchPGStats, error) {
		return benchUpdatesStats(context.Background(), benchTestOptions, url, 2, &a, benchCeilingWorkload(2))
	})
}

// eachBenchStore runs a row on the memory store and on PostgreSQL and
// checks its figures: on PostgreSQL the server's, with at least minRows
// rows written per operation; on memory none.
func eachBenchStore(t *testing.T, minRows float64, run func(url string) (rows, ceils []benchSample, st *benchPGStats, err error)) {
	for _, store := range []string{"memory", "postgres"} {
		t.Run(store, func(t *testing.T) {
			url := store
			if store == "postgres" {
				url = benchTestURL(t)
			}
			ss, cs, st, err := run(url)
			if err != nil {
				t.Fatal(err)
			}
			checkBenchRow(t, ss, cs)
			if store == "postgres" {
				checkBenchPG(t, ss, st, minRows)
			} else if st != nil {
				t.Errorf("PostgreSQL figures for the memory store: %+v", *st)
			}
		})
	}
}

// TestBenchProcStat reads this process's /proc/<pid>/stat as the probe
// reads the server's: its CPU time grows with work, and it started after
// boot and before now.
func TestBenchProcStat(t *testing.T) {
	comm, cpu0, started, ok := benchProcStat(os.Getpid())
	if !ok || comm == "" {
		t.Fatalf("benchProcStat(self): %q, ok %v", comm, ok)
	}
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
	}
	_, cpu1, _, _ := benchProcStat(os.Getpid())
	if cpu1 <= cpu0 {
		t.Errorf("CPU time %v after 100 ms of work, %v before", cpu1, cpu0)
	}
	bt := benchBootTime()
	if now := float64(time.Now().Unix()); bt <= 0 || started <= 0 || bt+started > now+1 {
		t.Errorf("boot time %.0f, started %.2f s after boot; now %.0f", bt, started, now)
	}
	if _, _, _, ok := benchProcStat(-1); ok {
		t.Error("benchProcStat(-1) reads something")
	}
}
