//go:build !linux

package main

import (
	"fmt"
	"time"
)

// benchTicker ticks every step from its creation, on Go's timers (exact
// to the kernel's timer on Linux only: bench_ticker_linux.go).
type benchTicker struct {
	start time.Time
	step  time.Duration
	ticks int64
}

func newBenchTicker(step time.Duration) (*benchTicker, error) {
	if step <= 0 {
		return nil, fmt.Errorf("bench ticker: step %v", step)
	}
	return &benchTicker{start: time.Now(), step: step}, nil
}

// wait blocks until the next tick and returns when the last tick passed
// was due and how many ticks passed since the last wait.
func (t *benchTicker) wait() (time.Time, int, error) {
	next := t.start.Add(time.Duration(t.ticks+1) * t.step)
	time.Sleep(time.Until(next))
	n := max(int64(time.Since(t.start)/t.step)-t.ticks, 1)
	t.ticks += n
	return t.start.Add(time.Duration(t.ticks) * t.step), int(n), nil
}

func (t *benchTicker) close() {}
