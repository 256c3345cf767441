package page_test

import (
	"context"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/server"
)

// party is one wallet (memory store, the shared memory chain) behind a real
// server on loopback, driven through the Go client.
type party struct {
	id     string // participantId
	signer *memory.Signer
	url    string // http://127.0.0.1:port
	token  string
	c      *client.Client
	out    chan app.Message // the MessageQueued notifications its client got
	// restart puts a new server for the same wallet behind the URL and
	// closes the old one, which ends its WebSocket sessions.
	restart func()
}

func startParty(t *testing.T, ctx context.Context, chain *memory.Chain, seed, id string) *party {
	t.Helper()
	s := memory.SignerFromSeed("page-test-" + seed)
	chain.Fund(s.Address(), big.NewInt(1000))
	// No ticks: nothing is resent, so each step queues exactly the
	// messages the seed path names.
	w, err := app.New(ctx, app.Config{Signer: s, Store: memory.NewStore(), Chain: chain.Account(s.Address()), TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	p := &party{id: id, signer: s, token: "token-" + seed, out: make(chan app.Message, 64)}
	t.Cleanup(func() { _ = w.Close() })
	newServer := func() *server.Server {
		srv, err := server.New(w, server.Config{Token: p.token, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		return srv
	}
	var cur atomic.Pointer[server.Server]
	cur.Store(newServer())
	hs := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		cur.Load().Handler().ServeHTTP(rw, r)
	}))
	t.Cleanup(hs.Close)
	p.restart = func() { _ = cur.Swap(newServer()).Close() }
	p.url = hs.URL
	p.c, err = client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/api", p.token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.c.Close() })
	go func() {
		for n := range p.c.Notifications() {
			if n.Method == "MessageQueued" {
				p.out <- n.Message
			}
		}
	}()
	return p
}

// deliver carries the next message from queued its sender's outbox to its
// recipient's server, as the operators' transport would.
func deliver(t *testing.T, ctx context.Context, from, to *party) {
	t.Helper()
	select {
	case m := <-from.out:
		if m.Recipient != to.id {
			t.Fatalf("message for %q, want %q", m.Recipient, to.id)
		}
		if err := to.c.PushMessage(ctx, m); err != nil {
			t.Fatalf("push to %s: %v", to.id, err)
		}
	case <-time.After(waitFor):
		t.Fatalf("%s queued no message for %s", from.id, to.id)
	}
}

// TestPageFollowsSeedPath opens A's page in headless Chromium, types the
// token, drives one channel between A and B through the seed path (create,
// join, fund, two updates, close) with the Go client, and checks what the
// page shows at each stage: status, turn, funding and balances, then the
// messages in and out, and the table again after the server restarts and
// after a reload.
func TestPageFollowsSeedPath(t *testing.T) {
	b := newBrowser(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	chain := memory.NewChain(big.NewInt(1337))
	// B's participantId is markup: the page must show it as text.
	A, B := startParty(t, ctx, chain, "A", "alice"), startParty(t, ctx, chain, "B", "<i>bob</i>")
	ps := []app.Participant{
		{ParticipantID: A.id, SigningAddress: A.signer.Address(), Destination: nitro.AddressToDestination(A.signer.Address())},
		{ParticipantID: B.id, SigningAddress: B.signer.Address(), Destination: nitro.AddressToDestination(B.signer.Address())},
	}
	alloc := func(a, b int64) []app.Allocation {
		return []app.Allocation{{AssetHolderAddress: chain.ETHAssetHolder(), AllocationItems: []app.AllocationItem{
			{Destination: ps[0].Destination, Amount: big.NewInt(a)}, {Destination: ps[1].Destination, Amount: big.NewInt(b)}}}}
	}
	bal := func(a, b string) [][2]string { return [][2]string{{A.id, a}, {B.id, b}} }

	// A wrong token is refused; the right one connects and shows the wallet.
	b.run("open the page", chromedp.Navigate(A.url+"/"))
	b.run("type a wrong token", chromedp.SendKeys(chromedp.CSS("#token"), "not-"+A.token), chromedp.Click(chromedp.CSS("#connect")))
	until(b, "the refusal", `document.getElementById("error").textContent`, func(s string) bool { return strings.Contains(s, "refused") })
	b.run("type the token", chromedp.SendKeys(chromedp.CSS("#token"), A.token), chromedp.Click(chromedp.CSS("#connect")))
	until(b, "connected", `document.getElementById("conn").dataset.state`, func(s string) bool { return s == "connected" })
	until(b, "A's signing address", `document.getElementById("signing-address").textContent`, func(s string) bool {
		return strings.EqualFold(s, A.signer.Address().String())
	})
	if w, err := eval[string](b, `getComputedStyle(document.querySelector("th")).fontWeight`); err != nil || w != "600" {
		t.Fatalf("the style sheet is not applied (th font-weight %q, %v)", w, err)
	}

	// Opening: A proposes; B joins; both deposit; the postfund states cross.
	r, err := A.c.CreateChannel(ctx, app.CreateChannelParams{Participants: ps, Allocations: alloc(5, 3)})
	if err != nil {
		t.Fatal(err)
	}
	id := strings.ToLower(r.ChannelID.String())
	b.wantRow("A created", id, rowView{Status: "opening", Turn: "0", Funding: "ReadyToFund", Balances: bal("5", "3")})
	deliver(t, ctx, A, B) // turn 0
	if _, err := B.c.JoinChannel(ctx, r.ChannelID); err != nil {
		t.Fatal(err)
	}
	deliver(t, ctx, B, A) // turn 1: A deposits, B deposits on seeing it, A signs turn 2
	b.wantRow("both deposited", id, rowView{Status: "funding", Turn: "2", Funding: "Funded", Balances: bal("5", "3")})
	deliver(t, ctx, A, B) // turn 2
	deliver(t, ctx, B, A) // turn 3
	b.wantRow("running", id, rowView{Status: "running", Turn: "3", Funding: "Funded", Balances: bal("5", "3")})

	// Running: A pays B 2, B pays A 1.
	if _, err := A.c.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: r.ChannelID, Allocations: alloc(3, 5)}); err != nil {
		t.Fatal(err)
	}
	b.wantRow("A updated", id, rowView{Status: "running", Turn: "4", Funding: "Funded", Balances: bal("3", "5")})
	deliver(t, ctx, A, B)
	if _, err := B.c.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: r.ChannelID, Allocations: alloc(4, 4)}); err != nil {
		t.Fatal(err)
	}
	deliver(t, ctx, B, A)
	b.wantRow("B updated", id, rowView{Status: "running", Turn: "5", Funding: "Funded", Balances: bal("4", "4")})
	b.screenshot()

	// Closing: A's final state, B's countersignature, A concludes on chain.
	if _, err := A.c.CloseChannel(ctx, r.ChannelID); err != nil {
		t.Fatal(err)
	}
	b.wantRow("A closing", id, rowView{Status: "closing", Turn: "6", Funding: "Funded", Balances: bal("4", "4")})
	deliver(t, ctx, A, B)
	deliver(t, ctx, B, A)
	b.wantRow("closed", id, rowView{Status: "closed", Turn: "6", Funding: "Defunded", Balances: bal("4", "4")})

	// The messages, newest first: A's four out (MessageQueued) and the four
	// it was given (MessageReceived), one state each.
	short := id[:8] + "…" + id[len(id)-4:]
	var want []messageView
	for turn := 6; turn >= 0; turn-- {
		m := messageView{Dir: "out", Route: A.id + " → " + B.id, Summary: "state " + short + " turn " + itoa(turn)}
		if turn%2 == 1 {
			m = messageView{Dir: "in", Route: B.id + " → " + A.id, Summary: m.Summary}
		}
		want = append(want, m)
		if turn == 6 {
			want = append([]messageView{{Dir: "in", Route: B.id + " → " + A.id, Summary: m.Summary}}, want...)
		}
	}
	// Each direction newest first. Across directions the order is the
	// notifications': a message the wallet queued on a chain event (its
	// postfund) may be pushed before the MessageReceived of the call that
	// led to it, which the server sends once that call returns.
	byDir := func(ms []messageView, dir string) []messageView {
		var out []messageView
		for _, m := range ms {
			if m.Dir == dir {
				out = append(out, m)
			}
		}
		return out
	}
	until(b, "eight messages", messagesJS, func(got []messageView) bool {
		if len(got) != len(want) {
			return false
		}
		for _, dir := range []string{"in", "out"} {
			g, w := byDir(got, dir), byDir(want, dir)
			if len(g) != len(w) {
				return false
			}
			for i := range g {
				if g[i].Route != w[i].Route || !strings.HasPrefix(g[i].Summary, w[i].Summary) {
					return false
				}
			}
		}
		return true
	})
	if n, err := eval[int](b, `document.querySelectorAll("#channels i, #messages i").length`); err != nil || n != 0 {
		t.Fatalf("B's participantId became markup: %d <i> elements (%v)", n, err)
	}

	// The server goes away: the page says so, reconnects to the next one,
	// rebuilds the table from GetChannels and keeps its messages.
	A.restart()
	until(b, "reconnecting", `document.getElementById("conn").dataset.state`, func(s string) bool { return s == "reconnecting" })
	until(b, "connected again", `document.getElementById("conn").dataset.state`, func(s string) bool { return s == "connected" })
	b.wantRow("closed after reconnecting", id, rowView{Status: "closed", Turn: "6", Funding: "Defunded", Balances: bal("4", "4")})
	if got, err := eval[[]messageView](b, messagesJS); err != nil || len(got) != len(want) {
		t.Fatalf("messages after reconnecting: %d, %v; want %d", len(got), err, len(want))
	}

	// A reload keeps the token (sessionStorage) and rebuilds the table
	// from GetChannels.
	b.run("reload", chromedp.Reload())
	until(b, "connected after reload", `document.getElementById("conn").dataset.state`, func(s string) bool { return s == "connected" })
	b.wantRow("closed after reload", id, rowView{Status: "closed", Turn: "6", Funding: "Defunded", Balances: bal("4", "4")})
	if got, err := eval[[]messageView](b, messagesJS); err != nil || !reflect.DeepEqual(got, []messageView{}) {
		t.Fatalf("messages after reload: %+v, %v (want none: the page keeps them in memory only)", got, err)
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }
