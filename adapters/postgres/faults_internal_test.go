package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/lib/pq"

	"github.com/nitrowallet/nitrowallet/ports"
)

// TestDriverErrorClasses: each kind of driver error gets its sentinel, the
// driver's error stays wrapped, and a commit statement's failure is an
// unknown outcome exactly when the server may have committed it.
func TestDriverErrorClasses(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	pqe := func(code, severity string) error {
		return &pq.Error{Code: pq.ErrorCode(code), Severity: severity, Message: code}
	}
	for _, tc := range []struct {
		name    string
		err     error
		want    error // sentinel of a call's error
		unknown bool  // a commit statement's outcome is unknown
	}{
		{"statement cancelled (57014)", pqe("57014", "ERROR"), ports.ErrStoreTimeout, false},
		{"lock timeout (55P03)", pqe("55P03", "ERROR"), ports.ErrStoreTimeout, false},
		{"starting up or shutting down (57P03)", pqe("57P03", "FATAL"), ports.ErrStoreUnavailable, false},
		{"session terminated (57P01)", pqe("57P01", "FATAL"), ports.ErrStoreUnavailable, true},
		{"connection failure (08006)", pqe("08006", "FATAL"), ports.ErrStoreUnavailable, true},
		{"too many connections (53300)", pqe("53300", "FATAL"), ports.ErrStoreUnavailable, false},
		{"connection refused", refused, ports.ErrStoreUnavailable, false},
		{"connection reset", reset, ports.ErrStoreUnavailable, true},
		{"end of stream", io.ErrUnexpectedEOF, ports.ErrStoreUnavailable, true},
		{"unique violation (23505)", pqe("23505", "ERROR"), nil, false},
	} {
		err := callError(context.Background(), "op", fmt.Errorf("wrapped: %w", tc.err))
		if tc.want != nil && !errors.Is(err, tc.want) || !errors.Is(err, tc.err) {
			t.Errorf("%s: %v; want %v wrapping the driver's error", tc.name, err, tc.want)
		}
		if tc.want == nil && (errors.Is(err, ports.ErrStoreTimeout) || errors.Is(err, ports.ErrStoreUnavailable)) {
			t.Errorf("%s: %v; want it untyped", tc.name, err)
		}
		w := writeError(tc.err)
		if errors.Is(w, ports.ErrOutcomeUnknown) != tc.unknown || !errors.Is(w, tc.err) {
			t.Errorf("%s: commit error %v; want outcome unknown %v", tc.name, w, tc.unknown)
		}
	}
	// A call whose context ended is a timeout with the context's error,
	// whatever the driver made of the cancellation.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := callError(ctx, "op", pqe("57014", "ERROR")); !errors.Is(err, ports.ErrStoreTimeout) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v; want ports.ErrStoreTimeout and context.Canceled", err)
	}
}
