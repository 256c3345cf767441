package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// benchTicker ticks every step from its creation: a timerfd read through
// Go's network poller, so a tick wakes the process when the kernel's timer
// fires (microseconds), not when Go's timers would (up to a millisecond
// late while the process is idle: the poller's wait is in milliseconds).
type benchTicker struct {
	f     *os.File
	start time.Time
	step  time.Duration
	ticks int64 // ticks handed out so far
	buf   [8]byte
}

func newBenchTicker(step time.Duration) (*benchTicker, error) {
	if step <= 0 {
		return nil, fmt.Errorf("bench ticker: step %v", step)
	}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("bench ticker: timerfd_create: %w", err)
	}
	ts := unix.NsecToTimespec(int64(step))
	start := time.Now()
	if err := unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bench ticker: timerfd_settime: %w", err)
	}
	return &benchTicker{f: os.NewFile(uintptr(fd), "timerfd"), start: start, step: step}, nil
}

// wait blocks until the next tick and returns when the last tick passed
// was due and how many ticks passed since the last wait (more than one
// when the caller was late).
func (t *benchTicker) wait() (time.Time, int, error) {
	if _, err := t.f.Read(t.buf[:]); err != nil {
		return time.Time{}, 0, fmt.Errorf("bench ticker: read: %w", err)
	}
	n := int64(binary.NativeEndian.Uint64(t.buf[:])) // expirations since the last read
	t.ticks += n
	return t.start.Add(time.Duration(t.ticks) * t.step), int(n), nil
}

func (t *benchTicker) close() { t.f.Close() }
