package postgres

// Errors from the driver, typed: a call that timed out matches
// ports.ErrStoreTimeout (and the context's error), one that could not reach
// the server ports.ErrStoreUnavailable, and a write that may have committed
// all the same ports.ErrOutcomeUnknown too. The driver's error stays
// wrapped, for logs and errors.As.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/nitrowallet/nitrowallet/ports"
)

// failure is what a driver error means to a caller.
type failure int

const (
	failOther       failure = iota // a statement error: report it as it is
	failTimeout                    // the statement was cancelled or timed out
	failUnavailable                // the server could not be reached or dropped the session
)

// classify says what a driver error means.
func classify(err error) failure {
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch {
		case pe.Code == pqerror.QueryCanceled || pe.Code == pqerror.LockNotAvailable:
			return failTimeout
		case pe.Code.Class() == pqerror.ClassConnectionException,
			pe.Code == pqerror.AdminShutdown, pe.Code == pqerror.CrashShutdown,
			pe.Code == pqerror.CannotConnectNow, pe.Code == pqerror.TooManyConnections:
			return failUnavailable
		}
		return failOther
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return failTimeout
	}
	var ne net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.As(err, &ne) {
		return failUnavailable
	}
	return failOther
}

// callError wraps the error of a store call made with ctx (op says which):
// if the call's context ended, it is a timeout wrapping the context's
// error, whatever the driver made of the cancellation; else it is typed by
// classify.
func callError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && classify(err) != failOther {
		if errors.Is(err, cerr) {
			return fmt.Errorf("postgres store: %s: %w: %w", op, ports.ErrStoreTimeout, err)
		}
		return fmt.Errorf("postgres store: %s: %w: %w (%w)", op, ports.ErrStoreTimeout, cerr, err)
	}
	return typed(op, err)
}

// typed wraps err with the sentinel classify gives it.
func typed(op string, err error) error {
	switch classify(err) {
	case failTimeout:
		return fmt.Errorf("postgres store: %s: %w: %w", op, ports.ErrStoreTimeout, err)
	case failUnavailable:
		return fmt.Errorf("postgres store: %s: %w: %w", op, ports.ErrStoreUnavailable, err)
	}
	return fmt.Errorf("postgres store: %s: %w", op, err)
}

// writeError wraps the error of a commit statement. An error the server
// reported for the statement (severity ERROR) means it rolled back, and so
// does a connection that failed before the statement was sent; any other
// failure (the session died, the connection broke) may have come after
// the server committed, so the outcome is unknown.
func writeError(err error) error {
	var pe *pq.Error
	var oe *net.OpError
	isPQ := errors.As(err, &pe)
	refused := isPQ && (pe.Code == pqerror.CannotConnectNow || pe.Code == pqerror.TooManyConnections) // no session
	sure := (isPQ && pe.Severity != pqerror.SeverityFatal && pe.Severity != pqerror.SeverityPanic) || refused ||
		errors.Is(err, driver.ErrBadConn) || (errors.As(err, &oe) && oe.Op == "dial")
	if sure || classify(err) == failOther {
		return typed("write", err)
	}
	return fmt.Errorf("%w (%w)", typed("write", err), ports.ErrOutcomeUnknown)
}
