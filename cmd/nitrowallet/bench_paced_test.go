package main

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPacedWorkloadKeepsToItsSchedule: the paced workload never starts an
// update before it is due (so it makes at most one per channel more than
// the schedule holds), and each latency counts from when the update was
// due, so none is shorter than the update itself could take (positive).
func TestPacedWorkloadKeepsToItsSchedule(t *testing.T) {
	ctx := context.Background()
	p, err := newBenchPair(ctx, newBenchMemoryChain(), "memory")
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	ids, err := p.open(4)
	if err != nil {
		t.Fatal(err)
	}
	const rate = 200.0 // updates/s over the 4 channels
	s, err := benchRunOnce(ctx, p.pacedWorkload(ids, rate), 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if limit := len(ids) + int(rate*s.elapsed.Seconds()); s.ops < 1 || s.ops > limit {
		t.Fatalf("%d updates in %v at %v/s over %d channels: want 1 to %d", s.ops, s.elapsed, rate, len(ids), limit)
	}
	if s.lat[0] <= 0 {
		t.Fatalf("shortest latency %v, want positive", s.lat[0])
	}
}

// TestBenchTableShowsP999: the table has a p99.9 column with the row's
// figure under it.
func TestBenchTableShowsP999(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 1000; i++ {
		lat = append(lat, time.Duration(i)*time.Microsecond)
	}
	r := benchSummarize("row", "updates/s", []benchSample{{ops: len(lat), elapsed: time.Second, cpu: time.Second, lat: lat}}, nil)
	if r.p999 != 1000*time.Microsecond || r.p99 != 991*time.Microsecond {
		t.Fatalf("p99 %v, p99.9 %v: want 991µs and 1ms", r.p99, r.p999)
	}
	var out bytes.Buffer
	benchPrintTable(&out, []benchRow{r})
	lines := strings.Split(out.String(), "\n")
	head, row := strings.Split(lines[0], "|"), strings.Split(lines[2], "|")
	for i, h := range head {
		if strings.TrimSpace(h) == "p99.9" {
			if got := strings.TrimSpace(row[i]); got != "1.00 ms" {
				t.Fatalf("p99.9 cell %q, want 1.00 ms", got)
			}
			return
		}
	}
	t.Fatalf("no p99.9 column in %q", lines[0])
}

// TestBenchTickerCountsEveryTick: the paced row's ticker reports each tick
// once, with the time it was due (never in the future, one step apart),
// and counts the ticks a late caller missed instead of dropping them.
func TestBenchTickerCountsEveryTick(t *testing.T) {
	const step = time.Millisecond
	tk, err := newBenchTicker(step)
	if err != nil {
		t.Fatal(err)
	}
	defer tk.close()
	var last time.Time
	total := 0
	for range 20 {
		due, n, err := tk.wait()
		if err != nil {
			t.Fatal(err)
		}
		if now := time.Now(); n < 1 || due.After(now) {
			t.Fatalf("tick due %v with %d ticks, now %v", due, n, now)
		}
		if !last.IsZero() && due.Sub(last) != time.Duration(n)*step {
			t.Fatalf("ticks %v then %v (%d passed): not %v apart", last, due, n, step)
		}
		last, total = due, total+n
	}
	time.Sleep(20 * step) // miss at least 20 ticks
	due, n, err := tk.wait()
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 || due.Sub(last) != time.Duration(n)*step {
		t.Fatalf("after sleeping 20 steps: %d ticks, due %v after %v", n, due, last)
	}
	if _, err := newBenchTicker(0); err == nil {
		t.Fatal("a ticker of step 0")
	}
}

// TestBenchLoopsYield: on one processor, the workers of a yielding loop
// take turns call by call, while those of a tight loop each run a long
// stretch of calls before the other gets the processor (the closed-loop
// rows' 100+ ms p99).
func TestBenchLoopsYield(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	longestRun := func(yield bool) int {
		var seq [1 << 20]int8
		var next atomic.Int64
		w := benchLoops(2, yield, func(g int) func(int) error {
			return func(int) error {
				if i := next.Add(1); i < int64(len(seq)) {
					seq[i] = int8(g + 1)
				}
				return nil
			}
		}, nil)
		if _, err := benchRunOnce(context.Background(), w, 30*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		n := min(next.Load(), int64(len(seq)))
		longest, run := 0, 0
		for i := int64(2); i < n; i++ {
			if seq[i] == seq[i-1] {
				run++
			} else {
				run = 0
			}
			longest = max(longest, run+1)
		}
		return longest
	}
	if r := longestRun(true); r > 4 {
		t.Errorf("yielding workers: %d calls in a row by one of them", r)
	}
	if r := longestRun(false); r <= 4 {
		t.Errorf("tight workers: at most %d calls in a row: the test no longer shows the difference", r)
	}
}
