// Package metrics exports a wallet's Prometheus metrics with
// github.com/prometheus/client_golang, the Prometheus project's own client
// library: its registry, collectors and text exposition are what every
// scraper reads, so none of it is written here by hand.
//
// A Metrics has a registry of its own (never the global one, so two
// wallets in one process, or tests, do not collide) holding the Go runtime
// and process collectors and the wallet's series, all named nitrowallet_*
// (docs/metrics.md lists them). Three kinds of sources feed it:
//
//   - the server, per event: ObserveCall for every API call, Subscribers
//     when the WebSocket sessions change, TxReplaced from the Ethereum
//     adapter's transaction hook;
//   - the wallet, per commit: New installs app.Wallet.ObserveCommits for
//     the store commit latency histogram and, on a store that groups
//     commits (PostgreSQL), app.Wallet.ObserveStoreBatches for the batch
//     size histogram;
//   - the wallet, per scrape: its counters (app.Wallet.Stats, atomic
//     loads) and a store snapshot (app.Wallet.Snapshot: the channels by
//     status and the pending outbox effects), read when /metrics is
//     scraped, bounded by SnapshotTimeout.
package metrics

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/ports"
)

// SnapshotTimeout bounds the store reads of one scrape.
const SnapshotTimeout = 5 * time.Second

// Methods are the method label values ObserveCall keeps; any other name
// (a client's typo, a hostile client's noise) is recorded as "other", so
// the number of series stays bounded.
var Methods = []string{
	"CreateChannel", "JoinChannel", "UpdateChannel", "CloseChannel", "ChallengeChannel",
	"GetState", "GetChannels", "PushMessage", "SyncChannel", "GetWalletInformation",
	"RegisterAppDefinition", "RegisterAppBytecode", "UpdateFundingForChannels",
}

// OtherMethod is the method label of calls to a name not in Methods.
const OtherMethod = "other"

// Metrics holds one wallet's collectors. Its methods are safe for
// concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	methods  map[string]bool
	calls    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	commitD  prometheus.Histogram
	commitN  prometheus.Histogram
	commitE  prometheus.Counter
	subs     prometheus.Gauge
	replaced atomic.Uint64
	handler  http.Handler
}

// New registers the collectors for w on a registry of their own and
// installs w's commit observer (replacing any other). A nil w gives only
// the call, subscriber and Go/process series.
func New(w *app.Wallet) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), methods: map[string]bool{}}
	for _, name := range Methods {
		m.methods[name] = true
	}
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nitrowallet_api_calls_total",
		Help: "API calls answered, by JSON-RPC method and code (0 for success, else the client API or JSON-RPC error code).",
	}, []string{"method", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nitrowallet_api_call_duration_seconds",
		Help:    "Time to answer an API call, by JSON-RPC method and code.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5ms .. 16s
	}, []string{"method", "code"})
	m.commitD = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "nitrowallet_store_commit_duration_seconds",
		Help:    "Time the wallet waited for each store commit (for PostgreSQL: the group commit's wait, the statement and the WAL flush).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 0.1ms .. 3.3s
	})
	m.commitN = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "nitrowallet_store_commit_batch_size",
		Help:    "Commit requests (Commit and Done calls) carried by each transaction of a store that groups commits (PostgreSQL's group commit); no observations with a store that does not.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 10), // 1 .. 512
	})
	m.commitE = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nitrowallet_store_commit_errors_total",
		Help: "Store commits that returned an error (some may still have become durable: see ports.ErrOutcomeUnknown).",
	})
	m.subs = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "nitrowallet_websocket_subscribers",
		Help: "WebSocket sessions open now (each gets every notification).",
	})
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.calls, m.latency, m.subs,
	)
	if w != nil {
		m.reg.MustRegister(m.commitD, m.commitN, m.commitE, &walletCollector{w: w, replaced: &m.replaced})
		w.ObserveCommits(m.observeCommit)
		w.ObserveStoreBatches(func(b ports.CommitBatch) { m.commitN.Observe(float64(b.Requests)) })
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return m
}

// ObserveCall records one API call: its method, client API code (0 for
// success) and how long it took.
func (m *Metrics) ObserveCall(method string, code int, d time.Duration) {
	if !m.methods[method] {
		method = OtherMethod
	}
	c := strconv.Itoa(code)
	m.calls.WithLabelValues(method, c).Inc()
	m.latency.WithLabelValues(method, c).Observe(d.Seconds())
}

// Subscribers sets the number of WebSocket subscribers.
func (m *Metrics) Subscribers(n int) { m.subs.Set(float64(n)) }

// TxReplaced counts n replacements of stuck chain transactions (fee
// bumps): feed it ethereum.TxInfo.Resubmissions from the Ethereum
// adapter's Config.OnTx, which reports each transaction once, when it is
// mined or given up. It shows as
// nitrowallet_chain_transactions_total{state="replaced"}.
func (m *Metrics) TxReplaced(n int) {
	if n > 0 {
		m.replaced.Add(uint64(n))
	}
}

// Registry is the registry the collectors are on, for a caller that adds
// its own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler { return m.handler }

func (m *Metrics) observeCommit(c app.CommitInfo) {
	m.commitD.Observe(c.Duration.Seconds())
	if c.Err != nil {
		m.commitE.Inc()
	}
}

// walletCollector reads the wallet's counters and a store snapshot at
// each scrape.
type walletCollector struct {
	w          *app.Wallet
	replaced   *atomic.Uint64
	snapErrors atomic.Uint64
}

var (
	descSigned = prometheus.NewDesc("nitrowallet_updates_signed_total",
		"States (updates) this wallet signed, by kind: setup (prefund and postfund), update (running) or final; its own moves and its countersignatures each count.", []string{"kind"}, nil)
	descReceived = prometheus.NewDesc("nitrowallet_updates_received_total",
		"Signed states (updates) in peers' messages that PushMessage accepted, by kind: setup, update or final (a resent state counts again).", []string{"kind"}, nil)
	descTx = prometheus.NewDesc("nitrowallet_chain_transactions_total",
		"Chain transactions (deposit, conclude, challenge, checkpoint, outcome push) by state: submitted to the chain port, then mined, reverted or failed; replaced counts fee bumps of stuck ones.", []string{"state"}, nil)
	descRequests = prometheus.NewDesc("nitrowallet_peer_requests_total",
		"Peers' GetChannel requests by outcome: answered, ignored (from a stranger), over_message (too many in one message), over_budget (the peer's reply budget spent).", []string{"outcome"}, nil)
	descReplyBytes = prometheus.NewDesc("nitrowallet_peer_reply_bytes_total",
		"Bytes of GetChannel replies admitted.", nil, nil)
	descDropped = prometheus.NewDesc("nitrowallet_notifications_dropped_total",
		"Notifications dropped from full subscriber queues.", nil, nil)
	descRewinds = prometheus.NewDesc("nitrowallet_chain_rewinds_total",
		"Chain rewinds handled: blocks the wallet had read events from left the node's chain.", nil, nil)
	descPending = prometheus.NewDesc("nitrowallet_outbox_pending_effects",
		"Outbox effects committed and not yet carried out (signatures, messages, transactions).", nil, nil)
	descChannels = prometheus.NewDesc("nitrowallet_channels",
		"Channels in the store by client API status.", []string{"status"}, nil)
	descSnapErr = prometheus.NewDesc("nitrowallet_snapshot_errors_total",
		"Scrapes whose store snapshot failed (nitrowallet_channels and nitrowallet_outbox_pending_effects are then left out).", nil, nil)
)

// Statuses are the channel statuses nitrowallet_channels always reports
// (zero when no channel has one), in the client API's order.
var Statuses = []string{"proposed", "opening", "funding", "running", "challenging", "responding", "closing", "closed"}

var _ prometheus.Collector = (*walletCollector)(nil)

// Describe sends the wallet series' descriptions.
func (c *walletCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSigned, descReceived, descTx, descRequests, descReplyBytes, descDropped, descRewinds, descPending, descChannels, descSnapErr} {
		ch <- d
	}
}

// Collect reads the wallet's counters and a store snapshot.
func (c *walletCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.w.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descSigned, s.StatesSigned.Setup, "setup")
	counter(descSigned, s.StatesSigned.Update, "update")
	counter(descSigned, s.StatesSigned.Final, "final")
	counter(descReceived, s.StatesReceived.Setup, "setup")
	counter(descReceived, s.StatesReceived.Update, "update")
	counter(descReceived, s.StatesReceived.Final, "final")
	tx := s.ChainTransactions
	counter(descTx, tx.Submitted, "submitted")
	counter(descTx, tx.Mined, "mined")
	counter(descTx, tx.Reverted, "reverted")
	counter(descTx, tx.Failed, "failed")
	counter(descTx, c.replaced.Load(), "replaced")
	counter(descRequests, s.RequestsAnswered, "answered")
	counter(descRequests, s.RequestsIgnored, "ignored")
	counter(descRequests, s.RequestsOverMessage, "over_message")
	counter(descRequests, s.RequestsOverBudget, "over_budget")
	counter(descReplyBytes, s.ReplyBytes)
	counter(descDropped, s.NotificationsDropped)
	counter(descRewinds, s.ChainRewinds)

	ctx, cancel := context.WithTimeout(context.Background(), SnapshotTimeout)
	defer cancel()
	snap, err := c.w.Snapshot(ctx)
	if err != nil {
		counter(descSnapErr, c.snapErrors.Add(1))
		return
	}
	counter(descSnapErr, c.snapErrors.Load())
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(snap.PendingEffects))
	for _, st := range Statuses {
		ch <- prometheus.MustNewConstMetric(descChannels, prometheus.GaugeValue, float64(snap.Channels[core.Status(st)]), st)
	}
	for st, n := range snap.Channels { // a status newer than this list
		if !slices.Contains(Statuses, string(st)) {
			ch <- prometheus.MustNewConstMetric(descChannels, prometheus.GaugeValue, float64(n), string(st))
		}
	}
}
