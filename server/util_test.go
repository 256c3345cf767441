package server_test

import (
	"crypto/ecdsa"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/apischema"
)

// wantCode fails t unless err is a *client.Error with code and matches
// sentinel (when not nil).
func wantCode(t *testing.T, what string, err error, code int, sentinel error) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("%s: %v, want an API error with code %d", what, err, code)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Fatalf("%s: %v does not match %v", what, err, sentinel)
	}
}

// testLogger logs to t (shown with -v or on failure), from warnings up
// unless NITROWALLET_TEST_LOG=debug.
func testLogger(t testing.TB, name string) *slog.Logger {
	lvl := slog.LevelWarn
	if os.Getenv("NITROWALLET_TEST_LOG") == "debug" {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: lvl})).With("node", name)
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

func isNotInSchema(err error) bool { return errors.Is(err, apischema.ErrNotInSchema) }

func addrOf(k *ecdsa.PrivateKey) nitro.Address { return crypto.PubkeyToAddress(k.PublicKey) }
