package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/internal/wireschema"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/server/metrics"
)

// scrape fetches url (a Handler behind a real HTTP server) and parses the
// Prometheus text it serves.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape: read body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: HTTP %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape: content type %q, want Prometheus text", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("scrape: parse: %v\n%s", err, body)
	}
	return fams
}

// family returns the named family, failing t if it is missing, has no
// HELP text or is not of type typ.
func family(t *testing.T, fams map[string]*dto.MetricFamily, name string, typ dto.MetricType) *dto.MetricFamily {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("series %s missing from the scrape", name)
	}
	if f.GetHelp() == "" {
		t.Errorf("series %s has no HELP text", name)
	}
	if f.GetType() != typ {
		t.Fatalf("series %s is a %v, want %v", name, f.GetType(), typ)
	}
	return f
}

// sample returns the metric of f whose labels are exactly labels (name,
// value pairs), failing t if there is none.
func sample(t *testing.T, f *dto.MetricFamily, labels ...string) *dto.Metric {
	t.Helper()
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				continue next
			}
		}
		return m
	}
	t.Fatalf("%s has no sample with labels %v", f.GetName(), labels)
	return nil
}

// value is the counter's or gauge's value of f's sample with labels.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("series %s missing from the scrape", name)
	}
	m := sample(t, f, labels...)
	switch f.GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	t.Fatalf("series %s is a %v, not a counter or gauge", name, f.GetType())
	return 0
}

// want fails t unless the named sample has value v.
func want(t *testing.T, who string, fams map[string]*dto.MetricFamily, v float64, name string, labels ...string) {
	t.Helper()
	if got := value(t, fams, name, labels...); got != v {
		t.Errorf("%s: %s%v = %v, want %v", who, name, labels, got, v)
	}
}

// manualClock is a clock the test moves by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// flakySigner is a real signer whose next signature can be made to fail,
// as a remote signer that is down would.
type flakySigner struct {
	ports.Signer
	failNext atomic.Bool
}

var errSignerDown = errors.New("test: signer unavailable")

func (s *flakySigner) SignState(ctx context.Context, h nitro.Bytes32) (nitro.Signature, error) {
	if s.failNext.CompareAndSwap(true, false) {
		return nitro.Signature{}, errSignerDown
	}
	return s.Signer.SignState(ctx, h)
}

// countingStore is a real store that counts the wallet's Commit calls, to
// check the commit histogram against.
type countingStore struct {
	ports.Store
	commits atomic.Int64
}

func (s *countingStore) Commit(ctx context.Context, changes []ports.Change) ([]ports.OutboxEntry, error) {
	s.commits.Add(1)
	return s.Store.Commit(ctx, changes)
}

// countingBatchStore is a countingStore over the PostgreSQL store: it
// passes ObserveBatches and Counts on.
type countingBatchStore struct {
	*countingStore
	pg *postgres.Store
}

func (s countingBatchStore) ObserveBatches(f func(ports.CommitBatch)) { s.pg.ObserveBatches(f) }

// Counts passes ports.Counter on, so that the snapshot counts with SQL.
func (s countingBatchStore) Counts(ctx context.Context) (ports.Counts, error) {
	return s.pg.Counts(ctx)
}

// party is one wallet with its metrics served over HTTP.
type party struct {
	name   string
	w      *app.Wallet
	m      *metrics.Metrics
	url    string // the metrics endpoint
	store  *countingStore
	pg     *postgres.Store // nil on the memory store
	signer *flakySigner
	notes  <-chan app.Notification
	dest   nitro.Address

	// What the test made the wallet do, to check the scrape against.
	calls    map[[2]string]int // by method and code
	received [3]int            // states in messages pushed to it: setup, update, final
}

// storeKind opens a store for one wallet.
type storeKind struct {
	name string
	open func(t *testing.T) (ports.Store, *postgres.Store)
}

var storeKinds = []storeKind{
	{"memory", func(*testing.T) (ports.Store, *postgres.Store) { return memory.NewStore(), nil }},
	{"postgres", func(t *testing.T) (ports.Store, *postgres.Store) {
		url, schema := pgtest.Schema(t, "nwmetrics")
		s, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema})
		if err != nil {
			t.Fatalf("open PostgreSQL store: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, s
	}},
}

// newParty makes a wallet on chain with a store of kind k, its Metrics and
// an HTTP server for them.
func newParty(t *testing.T, ctx context.Context, name string, chain *memory.Chain, clk *manualClock, k storeKind) *party {
	t.Helper()
	s := memory.SignerFromSeed("metrics-test-" + name)
	chain.Fund(s.Address(), big.NewInt(1_000_000))
	raw, pg := k.open(t)
	p := &party{name: name, store: &countingStore{Store: raw}, pg: pg, signer: &flakySigner{Signer: s},
		calls: map[[2]string]int{}, dest: nitro.Address{0xde, byte(name[0])}}
	var store ports.Store = p.store
	if pg != nil {
		store = countingBatchStore{countingStore: p.store, pg: pg}
	}
	w, err := app.New(ctx, app.Config{
		Signer: p.signer, Store: store, Chain: chain.Account(s.Address()), Clock: clk,
		TickInterval: -1, TxRetryDelay: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	p.w = w
	notes, stop := w.Subscribe()
	t.Cleanup(stop)
	p.notes = notes
	p.m = metrics.New(w)
	srv := httptest.NewServer(p.m.Handler())
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// call runs one wallet call as the server would, timing it and recording
// it with ObserveCall under its method and code.
func call[T any](p *party, method string, f func() (T, error)) (T, error) {
	start := time.Now()
	r, err := f()
	code := 0
	if err != nil {
		code = app.Code(err)
	}
	p.m.ObserveCall(method, code, time.Since(start))
	p.calls[[2]string{method, fmt.Sprint(code)}]++
	return r, err
}

// push delivers m to p with PushMessage (as a recorded call), after
// checking it against the wire-format schema, and counts the states it
// carries by kind for the received series.
func push(t *testing.T, ctx context.Context, p *party, m app.Message) app.Result {
	t.Helper()
	if err := wireschema.Validate(m.Data); err != nil {
		t.Fatalf("message to %s fails the wire-format schema: %v", p.name, err)
	}
	msg, _, err := wire.DecodeMessageIDs(m.Data, wire.DefaultLimits())
	if err != nil {
		t.Fatalf("decode message to %s: %v", p.name, err)
	}
	r, err := call(p, "PushMessage", func() (app.Result, error) { return p.w.PushMessage(ctx, m.Data) })
	if err != nil {
		t.Fatalf("push to %s: %v", p.name, err)
	}
	for _, s := range msg.Payload.SignedStates {
		switch {
		case s.State.IsFinal:
			p.received[2]++
		case s.State.TurnNum < 2*uint64(len(s.State.Participants)):
			p.received[0]++
		default:
			p.received[1]++
		}
	}
	return r
}

// waitNote waits for a notification matching pred on p's stream.
func waitNote(t *testing.T, p *party, what string, pred func(app.Notification) bool) app.Notification {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case n := <-p.notes:
			if pred(n) {
				return n
			}
		case <-timeout:
			t.Fatalf("%s: timed out waiting for %s", p.name, what)
		}
	}
}
