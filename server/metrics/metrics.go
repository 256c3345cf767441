// Package metrics exports a wallet's Prometheus metrics (client_golang).
package metrics

import (
	"net/http"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
)

// Metrics holds one wallet's collectors.
type Metrics struct{}

// New registers the collectors for w on a registry of their own.
func New(w *app.Wallet) *Metrics { return &Metrics{} }

// ObserveCall records one API call: its method, client API code (0 for
// success) and how long it took.
func (m *Metrics) ObserveCall(method string, code int, d time.Duration) {}

// Subscribers sets the number of WebSocket subscribers.
func (m *Metrics) Subscribers(n int) {}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler { return http.NotFoundHandler() }
