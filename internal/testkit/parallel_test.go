package testkit

import (
	"errors"
	"sync/atomic"
	"testing"
)

// recorder is a testing.TB that records a Fatal instead of stopping.
type recorder struct {
	testing.TB
	fatal []any
}

func (r *recorder) Helper()           {}
func (r *recorder) Fatal(args ...any) { r.fatal = append(r.fatal, args...) }

// TestParallelRunsEveryWorkerAndReportsAnError: every index runs once, and
// an error from any worker fails the test.
func TestParallelRunsEveryWorkerAndReportsAnError(t *testing.T) {
	var ran [8]atomic.Int32
	Parallel(t, len(ran), func(i int) error { ran[i].Add(1); return nil })
	for i := range ran {
		if n := ran[i].Load(); n != 1 {
			t.Errorf("worker %d ran %d times", i, n)
		}
	}
	boom := errors.New("boom")
	r := &recorder{TB: t}
	Parallel(r, 8, func(i int) error {
		if i == 5 {
			return boom
		}
		return nil
	})
	if len(r.fatal) == 0 || r.fatal[0] != boom {
		t.Fatalf("an error from worker 5 was not reported: %v", r.fatal)
	}
}
