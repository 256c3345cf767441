package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
