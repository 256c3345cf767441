package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/nitrowallet/nitrowallet/ports"
)

// TestWriteTimeoutCarriesCallerDeadline: a write cancelled by the driver
// when its batch's deadline (the caller's) passed reaches the caller as a
// timeout that also matches context.DeadlineExceeded, whether or not the
// caller's context has noticed yet (seen once in CI-like runs: the 57014
// answer came first, without the context's error).
func TestWriteTimeoutCarriesCallerDeadline(t *testing.T) {
	driver := typed("write", &pq.Error{Code: "57014", Message: "canceling statement due to user request"})
	if !errors.Is(driver, ports.ErrStoreTimeout) {
		t.Fatalf("57014 is not a timeout: %v", driver)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	for name, ctx := range map[string]context.Context{"expired": expired, "timer not fired": deadlineOnly{time.Now().Add(-time.Millisecond)}} {
		err := withCallContext(ctx, driver)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ports.ErrStoreTimeout) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := withCallContext(context.Background(), driver); errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no deadline: %v", err)
	}
	other := fmt.Errorf("some other failure")
	if err := withCallContext(expired, other); err != other {
		t.Fatalf("a non-timeout error changed: %v", err)
	}
}

// deadlineOnly has a deadline in the past but reports no error yet, as a
// context whose timer has not fired.
type deadlineOnly struct{ d time.Time }

func (c deadlineOnly) Deadline() (time.Time, bool) { return c.d, true }
func (deadlineOnly) Done() <-chan struct{}         { return nil }
func (deadlineOnly) Err() error                    { return nil }
func (deadlineOnly) Value(any) any                 { return nil }
