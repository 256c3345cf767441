// Package server serves one wallet's client API over JSON-RPC 2.0, on HTTP
// POST and on WebSocket, with bearer-token auth, request limits, health
// checks, Prometheus metrics and an operator's page. `nitrowallet serve`
// runs it.
//
// Libraries, and why:
//   - github.com/creachadair/jrpc2 does the JSON-RPC 2.0 protocol: request
//     parsing, batches, ids, error objects and server push. Its jhttp
//     bridge serves POST /api (a single request or a batch per HTTP
//     request); each WebSocket connection gets a jrpc2.Server of its own
//     with AllowPush, so notifications go out on the same connection as
//     responses. It is small, has no dependencies beyond its author's mds,
//     and keeps the spec's corner cases (notifications, invalid members of
//     a batch, duplicate ids) out of our code.
//   - github.com/coder/websocket (the maintained successor of
//     nhooyr.io/websocket) does the WebSocket protocol: context-aware
//     reads and writes of whole messages, read limits, subprotocol
//     negotiation, origin checks. A connection is wrapped as a jrpc2
//     channel.Channel (one JSON-RPC message per text message), so no
//     framing is written by hand.
//   - golang.org/x/time/rate bounds the calls admitted per second.
//
// Routes: POST /api and GET /api (WebSocket upgrade) need the bearer token,
// as does /metrics; /healthz, /readyz and the page at / do not. See
// docs/serve.md for the API (the methods and notifications of
// @statechannels/client-api-schema 0.5.0, plus RegisterAppDefinition,
// RegisterAppBytecode, UpdateFundingForChannels and the MessageReceived
// notification).
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/creachadair/jrpc2"
	"github.com/creachadair/jrpc2/jhttp"
	"golang.org/x/time/rate"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
	"github.com/nitrowallet/nitrowallet/server/metrics"
	"github.com/nitrowallet/nitrowallet/server/page"
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
	// (/readyz); nil means always ready. Its error's text is the 503
	// body, so it must be short and hold no secret.
	Ready func(ctx context.Context) error
	// Metrics, when set, records calls and serves /metrics.
	Metrics *metrics.Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// CallTimeout bounds one call; zero means DefaultCallTimeout.
	CallTimeout time.Duration
	// NotificationQueue bounds the notifications waiting to be written to
	// one WebSocket connection; a connection that lets more pile up is
	// dropped (and logged). It also bounds, less one, the MessageQueued
	// notifications held while no session takes notifications, for the
	// next one that does. Zero means DefaultNotificationQueue.
	NotificationQueue int
	// HeldBytes bounds the bytes of the MessageQueued notifications held
	// while no session takes notifications (a peer's requests can make
	// the wallet answer with large states); the oldest are dropped for
	// room. Zero means DefaultHeldBytes.
	HeldBytes int
	// WriteTimeout bounds one write to a WebSocket connection; a client
	// that does not read for that long is dropped. Zero means
	// DefaultWriteTimeout.
	WriteTimeout time.Duration
	// WalletVersion is GetWalletInformation's walletVersion; empty means
	// wire.WalletVersion.
	WalletVersion string
	// Destination, when not zero, is GetWalletInformation's
	// destinationAddress.
	Destination nitro.Address
}

// Defaults of Config.
const (
	DefaultMaxRequestBytes   = 1 << 20
	DefaultRatePerSecond     = 10000
	DefaultBurst             = 20000
	DefaultCallTimeout       = 30 * time.Second
	DefaultNotificationQueue = 1024
	DefaultHeldBytes         = 64 << 20
	DefaultWriteTimeout      = 10 * time.Second
)

// Server serves one wallet.
type Server struct {
	w       *app.Wallet
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	limiter *rate.Limiter
	bridge  jhttp.Bridge
	conns   *connSet
	calls   inflight

	life      context.Context // ends at Close
	stop      context.CancelFunc
	stopFeed  func()
	feedDone  chan struct{}
	closeOnce sync.Once
}

// New builds a server for w. It does not listen: mount Handler on an
// http.Server. It subscribes to w's notifications at once, so messages the
// wallet queues from then on reach the WebSocket connections.
func New(w *app.Wallet, cfg Config) (*Server, error) {
	if w == nil {
		return nil, fmt.Errorf("server: %w: no wallet", app.ErrInvalidParams)
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("server: %w: empty token", app.ErrInvalidParams)
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.RatePerSecond <= 0 {
		cfg.RatePerSecond = DefaultRatePerSecond
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.NotificationQueue <= 0 {
		cfg.NotificationQueue = DefaultNotificationQueue
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.HeldBytes <= 0 {
		cfg.HeldBytes = DefaultHeldBytes
	}
	if cfg.WalletVersion == "" {
		cfg.WalletVersion = wire.WalletVersion
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	life, stop := context.WithCancel(context.Background())
	s := &Server{
		w: w, cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(),
		limiter: rate.NewLimiter(rate.Limit(cfg.RatePerSecond), cfg.Burst),
		life:    life, stop: stop, feedDone: make(chan struct{}),
	}
	s.conns = newConnSet(s)
	s.bridge = jhttp.NewBridge(assigner{s: s}, &jhttp.BridgeOptions{
		Server:       &jrpc2.ServerOptions{DisableBuiltin: true, Concurrency: 16},
		ParseRequest: parsedRequests,
	})
	notes, stopFeed := w.Subscribe()
	s.stopFeed = stopFeed
	go s.feed(notes)
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = rw.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	s.mux.Handle("POST /api", s.authed(http.HandlerFunc(s.servePost)))
	s.mux.Handle("GET /api", s.authed(http.HandlerFunc(s.serveWS)))
	s.mux.Handle("GET /metrics", s.authed(http.HandlerFunc(s.serveMetrics)))
	s.mux.Handle("GET /{$}", page.Handler())
}

// Handler returns the server's routes: /api (JSON-RPC over POST, and over
// WebSocket on GET with an upgrade), /metrics, /healthz, /readyz and the
// operator's page at /.
func (s *Server) Handler() http.Handler { return s.mux }

// Close ends every WebSocket session and stops the notification feed; the
// wallet stays open (its owner closes it).
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.stop()
		s.stopFeed()
		<-s.feedDone
		s.conns.closeAll()
		err = s.bridge.Close()
	})
	return err
}

func (s *Server) serveReady(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			rw.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(rw, "not ready: %v\n", err)
			return
		}
	}
	_, _ = rw.Write([]byte("ready\n"))
}

func (s *Server) serveMetrics(rw http.ResponseWriter, r *http.Request) {
	if s.cfg.Metrics == nil {
		http.NotFound(rw, r)
		return
	}
	s.cfg.Metrics.Handler().ServeHTTP(rw, r)
}
