package metrics_test

import (
	"context"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/server/metrics"
)

// updates is how many updates each party makes in the seed path.
const updates = 2

// TestSeedPathSeries runs a channel between two wallets through the seed
// path (create, join, fund, updates, close, closed) with a few faults on
// the way (a signature and two deposits that fail), scrapes each wallet's
// Handler over HTTP and checks every series against what ran: on the
// memory store and on PostgreSQL.
func TestSeedPathSeries(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) { seedPathSeries(t, k) })
	}
}

func seedPathSeries(t *testing.T, k storeKind) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	chain := memory.NewChain(big.NewInt(1337))
	clk := &manualClock{now: time.Unix(1_700_000_000, 0)}
	A, B := newParty(t, ctx, "A", chain, clk, k), newParty(t, ctx, "B", chain, clk, k)
	ps := []app.Participant{
		{ParticipantID: "A", SigningAddress: A.signer.Address(), Destination: nitro.AddressToDestination(A.dest)},
		{ParticipantID: "B", SigningAddress: B.signer.Address(), Destination: nitro.AddressToDestination(B.dest)},
	}
	alloc := func(a int64) []app.Allocation {
		return []app.Allocation{{AssetHolderAddress: chain.ETHAssetHolder(), AllocationItems: []app.AllocationItem{
			{Destination: ps[0].Destination, Amount: big.NewInt(a)}, {Destination: ps[1].Destination, Amount: big.NewInt(8 - a)},
		}}}
	}
	must := func(r app.Result, err error) app.Result {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	r := must(call(A, "CreateChannel", func() (app.Result, error) {
		return A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: ps, Allocations: alloc(5)})
	}))
	id := r.ChannelResults[0].ChannelID
	push(t, ctx, B, r.Outbox[0])

	// B's signer is down for its join: the signature stays pending in the
	// outbox until a tick drives it.
	B.signer.failNext.Store(true)
	if _, err := call(B, "JoinChannel", func() (app.Result, error) { return B.w.JoinChannel(ctx, id) }); err == nil {
		t.Fatal("JoinChannel with the signer down succeeded")
	}
	fams := scrape(t, B.url)
	pending, err := B.store.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) == 0 {
		t.Fatal("no effect pending after the signer failed")
	}
	want(t, "B, signer down", fams, float64(len(pending)), "nitrowallet_outbox_pending_effects")
	st, err := B.w.GetState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "B, signer down", fams, 1, "nitrowallet_channels", "status", string(st.Status))
	if err := B.w.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	join := waitNote(t, B, "MessageQueued (join)", func(n app.Notification) bool { return n.Type == app.MessageQueued })
	want(t, "B, after the tick", scrape(t, B.url), 0, "nitrowallet_outbox_pending_effects")

	// A's deposit reverts, then fails (chain unreachable), then is mined,
	// each retry on a tick after TxRetryDelay.
	chain.FailNext(1, &ports.RevertError{Reason: "test revert"})
	push(t, ctx, A, join.Message)
	clk.advance(11 * time.Second)
	chain.FailNext(1, nil)
	if err := A.w.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	clk.advance(11 * time.Second)
	if err := A.w.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	msg2 := waitNote(t, A, "MessageQueued (postfund)", func(n app.Notification) bool { return n.Type == app.MessageQueued })
	waitNote(t, B, "B funded", func(n app.Notification) bool {
		return n.Channel.ChannelID == id && n.Channel.FundingStatus == core.FundingFunded
	})
	r = push(t, ctx, B, msg2.Message)
	push(t, ctx, A, r.Outbox[0])

	fams = scrape(t, A.url)
	for _, s := range metrics.Statuses {
		want(t, "A running", fams, map[bool]float64{true: 1}[s == "running"], "nitrowallet_channels", "status", s)
	}

	a := int64(5)
	for i := 0; i < updates; i++ {
		a--
		r = must(call(A, "UpdateChannel", func() (app.Result, error) {
			return A.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: alloc(a)})
		}))
		push(t, ctx, B, r.Outbox[0])
		a++
		r = must(call(B, "UpdateChannel", func() (app.Result, error) {
			return B.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: alloc(a)})
		}))
		push(t, ctx, A, r.Outbox[0])
	}

	// A syncs: B answers its one GetChannel request, and gets A's states
	// again (received again).
	r = must(call(A, "SyncChannel", func() (app.Result, error) { return A.w.SyncChannel(ctx, id) }))
	for _, m := range r.Outbox {
		rb := push(t, ctx, B, m)
		for _, m := range rb.Outbox {
			push(t, ctx, A, m)
		}
	}
	// A call refused (unknown channel), and a method the API lacks.
	if _, err := call(A, "UpdateChannel", func() (app.Result, error) {
		return A.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: nitro.Bytes32{1}, Allocations: alloc(a)})
	}); err == nil {
		t.Fatal("update of an unknown channel succeeded")
	}
	A.m.ObserveCall("NoSuchMethod", -32601, time.Millisecond)
	A.calls[[2]string{metrics.OtherMethod, "-32601"}]++

	r = must(call(A, "CloseChannel", func() (app.Result, error) { return A.w.CloseChannel(ctx, id) }))
	r = push(t, ctx, B, r.Outbox[0])
	push(t, ctx, A, r.Outbox[0])
	for _, p := range []*party{A, B} {
		waitNote(t, p, "Defunded", func(n app.Notification) bool {
			return n.Channel.ChannelID == id && n.Channel.FundingStatus == core.FundingDefunded
		})
	}
	A.m.Subscribers(3)
	B.m.Subscribers(1)
	A.m.TxReplaced(2)

	// Every series of each party, against what ran.
	tx := map[string][4]float64{"A": {4, 2, 1, 1}, "B": {1, 1, 0, 0}} // submitted, mined, reverted, failed
	replaced := map[string]float64{"A": 2, "B": 0}
	subscribers := map[string]float64{"A": 3, "B": 1}
	for _, p := range []*party{A, B} {
		fams := settle(t, p)
		who := p.name
		checkCalls(t, who, fams, p.calls)
		// Each party signs its prefund and postfund states, every update
		// (its own, and the peer's as a countersignature: an app-less
		// running state is provable only with every signature) and the
		// final state (A's, then B's countersignature).
		for i, kind := range []string{"setup", "update", "final"} {
			want(t, who, fams, []float64{2, 2 * updates, 1}[i], "nitrowallet_updates_signed_total", "kind", kind)
			want(t, who, fams, float64(p.received[i]), "nitrowallet_updates_received_total", "kind", kind)
		}
		for i, state := range []string{"submitted", "mined", "reverted", "failed"} {
			want(t, who, fams, tx[who][i], "nitrowallet_chain_transactions_total", "state", state)
		}
		want(t, who, fams, replaced[who], "nitrowallet_chain_transactions_total", "state", "replaced")
		for _, s := range metrics.Statuses {
			want(t, who, fams, map[bool]float64{true: 1}[s == "closed"], "nitrowallet_channels", "status", s)
		}
		want(t, who, fams, 0, "nitrowallet_outbox_pending_effects")
		want(t, who, fams, subscribers[who], "nitrowallet_websocket_subscribers")
		stats := p.w.Stats()
		for outcome, v := range map[string]uint64{"answered": stats.RequestsAnswered, "ignored": stats.RequestsIgnored,
			"over_message": stats.RequestsOverMessage, "over_budget": stats.RequestsOverBudget} {
			want(t, who, fams, float64(v), "nitrowallet_peer_requests_total", "outcome", outcome)
		}
		want(t, who, fams, float64(stats.ReplyBytes), "nitrowallet_peer_reply_bytes_total")
		want(t, who, fams, 0, "nitrowallet_notifications_dropped_total")
		want(t, who, fams, 0, "nitrowallet_chain_rewinds_total")
		want(t, who, fams, 0, "nitrowallet_snapshot_errors_total")
		want(t, who, fams, 0, "nitrowallet_store_commit_errors_total")
		commits := family(t, fams, "nitrowallet_store_commit_duration_seconds", dto.MetricType_HISTOGRAM).GetMetric()[0].GetHistogram()
		if commits.GetSampleCount() == 0 || commits.GetSampleSum() <= 0 {
			t.Errorf("%s: commit histogram count %d sum %v", who, commits.GetSampleCount(), commits.GetSampleSum())
		}
		checkBatches(t, p, fams)
		family(t, fams, "go_goroutines", dto.MetricType_GAUGE)
		family(t, fams, "process_cpu_seconds_total", dto.MetricType_COUNTER)
	}
	// B answered A's one request (SyncChannel asks for the one channel).
	want(t, "B", scrape(t, B.url), 1, "nitrowallet_peer_requests_total", "outcome", "answered")
}

// settle scrapes p until the commit histogram has every commit the store
// saw (background work, such as the payout events, may still commit just
// after the last notification), and returns that scrape.
func settle(t *testing.T, p *party) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := p.store.commits.Load()
		fams := scrape(t, p.url)
		h := family(t, fams, "nitrowallet_store_commit_duration_seconds", dto.MetricType_HISTOGRAM).GetMetric()[0].GetHistogram()
		if int64(h.GetSampleCount()) == before && p.store.commits.Load() == before {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: commit histogram counts %d commits, the store saw %d", p.name, h.GetSampleCount(), p.store.commits.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkCalls checks the call counter and latency histogram against the
// calls the test recorded, and that they hold nothing else.
func checkCalls(t *testing.T, who string, fams map[string]*dto.MetricFamily, calls map[[2]string]int) {
	t.Helper()
	cf := family(t, fams, "nitrowallet_api_calls_total", dto.MetricType_COUNTER)
	lf := family(t, fams, "nitrowallet_api_call_duration_seconds", dto.MetricType_HISTOGRAM)
	if len(cf.GetMetric()) != len(calls) || len(lf.GetMetric()) != len(calls) {
		t.Errorf("%s: %d call series and %d latency series, want %d", who, len(cf.GetMetric()), len(lf.GetMetric()), len(calls))
	}
	for mc, n := range calls {
		want(t, who, fams, float64(n), "nitrowallet_api_calls_total", "method", mc[0], "code", mc[1])
		h := sample(t, lf, "method", mc[0], "code", mc[1]).GetHistogram()
		if h.GetSampleCount() != uint64(n) || h.GetSampleSum() <= 0 {
			t.Errorf("%s: latency of %v: count %d sum %v, want count %d", who, mc, h.GetSampleCount(), h.GetSampleSum(), n)
		}
	}
}

// checkBatches checks the batch size histogram: empty on the memory store
// (it does not group commits); on PostgreSQL, one observation per
// transaction of its Stats, summing to the requests they carried.
func checkBatches(t *testing.T, p *party, fams map[string]*dto.MetricFamily) {
	t.Helper()
	h := family(t, fams, "nitrowallet_store_commit_batch_size", dto.MetricType_HISTOGRAM).GetMetric()[0].GetHistogram()
	if p.pg == nil {
		if h.GetSampleCount() != 0 {
			t.Errorf("%s: %d batches observed on the memory store", p.name, h.GetSampleCount())
		}
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := p.pg.Stats()
		if h.GetSampleCount() == s.Transactions && uint64(h.GetSampleSum()) == s.Requests && s.Transactions > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: batch histogram count %d sum %v, store stats %+v", p.name, h.GetSampleCount(), h.GetSampleSum(), s)
		}
		time.Sleep(20 * time.Millisecond)
		h = family(t, scrape(t, p.url), "nitrowallet_store_commit_batch_size", dto.MetricType_HISTOGRAM).GetMetric()[0].GetHistogram()
	}
}

// TestSeriesWithoutWallet: New(nil) serves the call, subscriber and
// Go/process series and no wallet series.
func TestSeriesWithoutWallet(t *testing.T) {
	m := metrics.New(nil)
	m.ObserveCall("GetChannels", 0, 2*time.Millisecond)
	m.Subscribers(2)
	fams := scrapeHandler(t, m)
	want(t, "nil wallet", fams, 1, "nitrowallet_api_calls_total", "method", "GetChannels", "code", "0")
	want(t, "nil wallet", fams, 2, "nitrowallet_websocket_subscribers")
	if _, ok := fams["nitrowallet_channels"]; ok {
		t.Error("wallet series without a wallet")
	}
}

// scrapeHandler serves m's Handler on a real HTTP server for one scrape.
func scrapeHandler(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	return scrape(t, srv.URL)
}

// TestSnapshotError: when the store snapshot fails (here: the wallet is
// closed) the scrape still answers, counts the failure and leaves the
// snapshot's gauges out rather than report stale values.
func TestSnapshotError(t *testing.T) {
	chain := memory.NewChain(big.NewInt(1337))
	s := memory.SignerFromSeed("metrics-test-closed")
	w, err := app.New(context.Background(), app.Config{Signer: s, Store: memory.NewStore(), Chain: chain.Account(s.Address()), TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(w)
	fams := scrapeHandler(t, m)
	want(t, "open", fams, 0, "nitrowallet_snapshot_errors_total")
	want(t, "open", fams, 0, "nitrowallet_channels", "status", "running")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		fams = scrapeHandler(t, m)
		want(t, "closed", fams, float64(i), "nitrowallet_snapshot_errors_total")
		for _, name := range []string{"nitrowallet_channels", "nitrowallet_outbox_pending_effects"} {
			if _, ok := fams[name]; ok {
				t.Errorf("scrape %d after Close has %s", i, name)
			}
		}
		want(t, "closed", fams, 0, "nitrowallet_updates_signed_total", "kind", "setup")
	}
}
