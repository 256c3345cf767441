package server_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"math/big"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/apischema"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/server"
)

// node is one wallet on PostgreSQL behind its own server on loopback.
type node struct {
	name  string
	w     *app.Wallet
	store *postgres.Store
	srv   *server.Server
	hs    *httptest.Server
	token string
	addr  nitro.Address
	dest  nitro.Address
	c     *client.Client
	notes *noteLog
	check *schemaCheck
}

// world is wallets sharing one simulated chain (go-ethereum's, with the
// Nitro contracts).
type world struct {
	t     *testing.T
	ctx   context.Context
	dev   *ethereum.DevChain
	nodes []*node
}

func newWorld(t *testing.T, names []string, tune func(*server.Config)) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dev, err := ethereum.NewDevChain(ctx, ethereum.DevOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	wd := &world{t: t, ctx: ctx, dev: dev}
	for _, name := range names {
		wd.nodes = append(wd.nodes, wd.start(name, tune))
	}
	return wd
}

func (wd *world) start(name string, tune func(*server.Config)) *node {
	t, ctx := wd.t, wd.ctx
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte("server-test-" + name + "-" + t.Name())))
	if err != nil {
		t.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	if err := wd.dev.Fund(ctx, addr, big.NewInt(1e18)); err != nil {
		t.Fatal(err)
	}
	chain, err := wd.dev.NewChain(ctx, key, ethereum.Config{})
	if err != nil {
		t.Fatal(err)
	}
	url, schema := pgtest.Schema(t, "nwserve")
	store, err := postgres.Open(ctx, url, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatalf("open PostgreSQL store: %v", err)
	}
	w, err := app.New(ctx, app.Config{Signer: memory.NewSigner(key), Store: store, Chain: chain, TickInterval: 50 * time.Millisecond, Logger: testLogger(t, name+"/wallet")})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{name: name, w: w, store: store, token: "token-" + name, addr: addr, notes: &noteLog{}}
	n.dest = crypto.PubkeyToAddress(mustKey(t, "dest-"+name+t.Name()).PublicKey)
	cfg := server.Config{Token: n.token, Logger: testLogger(t, name)}
	if tune != nil {
		tune(&cfg)
	}
	n.srv, err = server.New(w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.hs = httptest.NewServer(n.srv.Handler())
	// Cleanups run last-in first-out: the client, the HTTP server, the
	// API server, the wallet, then the store.
	t.Cleanup(func() { _ = store.Close() })
	t.Cleanup(func() { _ = w.Close() })
	t.Cleanup(func() { _ = n.srv.Close() })
	t.Cleanup(n.hs.Close)
	n.check = newSchemaCheck(t, name)
	n.c = n.dial(t, n.check)
	go n.notes.collect(n.c.Notifications())
	return n
}

func mustKey(t *testing.T, seed string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte(seed)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// wsURL is the node's WebSocket API address.
func (n *node) wsURL() string { return "ws" + strings.TrimPrefix(n.hs.URL, "http") + "/api" }

// dial opens a WebSocket client whose every message is checked.
func (n *node) dial(t *testing.T, check *schemaCheck) *client.Client {
	t.Helper()
	c, err := client.DialWith(context.Background(), n.wsURL(), n.token, client.Options{Observe: check.observe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// schemaCheck validates every message a client sends and gets against
// client-api-schema 0.5.0: requests by their method's definition,
// responses by the method of their request, notifications by theirs.
// Extension methods and notifications, and errors with codes the schema
// lacks, are checked as JSON-RPC 2.0 envelopes only, and counted.
type schemaCheck struct {
	t       *testing.T
	name    string
	mu      sync.Mutex
	methods map[string]string // request id -> method
	checked map[string]int    // what was validated, by kind and method
	skipped map[string]int    // what the schema has no definition for
}

func newSchemaCheck(t *testing.T, name string) *schemaCheck {
	return &schemaCheck{t: t, name: name, methods: map[string]string{}, checked: map[string]int{}, skipped: map[string]int{}}
}

func (s *schemaCheck) observe(out bool, msg []byte) {
	var e struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if err := json.Unmarshal(msg, &e); err != nil {
		s.t.Errorf("%s: message not a JSON-RPC object: %v\n%s", s.name, err, msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var kind, method string
	var err error
	switch {
	case out:
		kind, method = "request", e.Method
		s.methods[string(e.ID)] = e.Method
		err = apischema.Request(msg)
	case e.Method != "":
		kind, method = "notification", e.Method
		err = apischema.Notification(msg)
	default:
		kind, method = "response", s.methods[string(e.ID)]
		err = apischema.Response(method, msg)
	}
	if errors.Is(err, apischema.ErrNotInSchema) {
		s.skipped[kind+" "+method]++
		err = nil
		if kind != "request" && kind != "notification" {
			err = apischema.CheckEnvelope(msg)
		}
	} else if err == nil {
		s.checked[kind+" "+method]++
	}
	if err != nil {
		s.t.Errorf("%s: %s %s fails the schema: %v\n%s", s.name, kind, method, err, msg)
	}
}

func (s *schemaCheck) counts() (checked, skipped map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, k := map[string]int{}, map[string]int{}
	for a, b := range s.checked {
		c[a] = b
	}
	for a, b := range s.skipped {
		k[a] = b
	}
	return c, k
}

// noteLog keeps every notification a client got.
type noteLog struct {
	mu    sync.Mutex
	notes []client.Notification
	wake  chan struct{}
}

func (l *noteLog) collect(ch <-chan client.Notification) {
	for n := range ch {
		l.mu.Lock()
		l.notes = append(l.notes, n)
		w := l.wake
		l.wake = nil
		l.mu.Unlock()
		if w != nil {
			close(w)
		}
	}
}

// since returns the notifications from index i on, and a channel closed
// when more arrive.
func (l *noteLog) since(i int) ([]client.Notification, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wake == nil {
		l.wake = make(chan struct{})
	}
	if i > len(l.notes) {
		i = len(l.notes)
	}
	return append([]client.Notification(nil), l.notes[i:]...), l.wake
}

func (l *noteLog) count(method string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := 0
	for _, n := range l.notes {
		if n.Method == method {
			k++
		}
	}
	return k
}

// relay delivers every MessageQueued a node's client gets to the
// recipient's server with PushMessage, through the Go client, until ctx
// ends.
func (wd *world) relay(ctx context.Context) {
	for _, n := range wd.nodes {
		go func(n *node) {
			i := 0
			for {
				got, wake := n.notes.since(i)
				i += len(got)
				for _, x := range got {
					if x.Method != server.NoteMessageQueued {
						continue
					}
					to := wd.byName(x.Message.Recipient)
					if to == nil {
						wd.t.Errorf("%s queued a message for unknown recipient %q", n.name, x.Message.Recipient)
						continue
					}
					if err := to.c.PushMessage(ctx, x.Message); err != nil && ctx.Err() == nil {
						wd.t.Errorf("push %s -> %s: %v", n.name, to.name, err)
					}
				}
				select {
				case <-wake:
				case <-ctx.Done():
					return
				}
			}
		}(n)
	}
}

func (wd *world) byName(name string) *node {
	for _, n := range wd.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// waitState polls GetState (through the client) until ok holds.
func (n *node) waitState(t *testing.T, id nitro.Bytes32, what string, ok func(app.ChannelResult) bool) app.ChannelResult {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := n.c.GetState(context.Background(), id)
		if err != nil && !errors.Is(err, app.ErrChannelNotFound) {
			t.Fatalf("%s: GetState: %v", n.name, err)
		}
		if err == nil && ok(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: channel never %s; last: status %s turn %d funding %s", n.name, what, c.Status, c.TurnNum, c.FundingStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitNote waits until the node's client has got a notification of method
// for which ok holds (nil: any).
func (n *node) waitNote(t *testing.T, method string, ok func(client.Notification) bool) client.Notification {
	t.Helper()
	timeout := time.After(30 * time.Second)
	i := 0
	for {
		got, wake := n.notes.since(i)
		i += len(got)
		for _, x := range got {
			if x.Method == method && (ok == nil || ok(x)) {
				return x
			}
		}
		select {
		case <-wake:
		case <-timeout:
			t.Fatalf("%s's client never got a %s notification", n.name, method)
		}
	}
}
