package main

import (
	"bytes"
	"context"
	"strings"
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
