package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/internal/apischema"
	"github.com/nitrowallet/nitrowallet/server"
)

// lightNode is a wallet on the memory store and chain behind a server: for
// tests of the HTTP and WebSocket layer that need no PostgreSQL or EVM.
type lightNode struct {
	w     *app.Wallet
	srv   *server.Server
	hs    *httptest.Server
	chain *memory.Chain
}

func newLight(t testing.TB, tls bool, tune func(*server.Config, *app.Wallet)) *lightNode {
	t.Helper()
	ctx := context.Background()
	signer := memory.SignerFromSeed("server-light-" + t.Name())
	chain := memory.NewChain(big.NewInt(1337))
	chain.Fund(signer.Address(), big.NewInt(1_000_000))
	w, err := app.New(ctx, app.Config{Signer: signer, Store: memory.NewStore(), Chain: chain.Account(signer.Address()), TickInterval: -1, Logger: testLogger(t, "wallet")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Token: "secret-token", Logger: testLogger(t, "server")}
	if tune != nil {
		tune(&cfg, w)
	}
	srv, err := server.New(w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := &lightNode{w: w, srv: srv, chain: chain}
	if tls {
		n.hs = httptest.NewTLSServer(srv.Handler())
	} else {
		n.hs = httptest.NewServer(srv.Handler())
	}
	t.Cleanup(func() { _ = w.Close() })
	t.Cleanup(func() { _ = srv.Close() })
	t.Cleanup(n.hs.Close)
	return n
}

func (n *lightNode) wsURL() string { return "ws" + strings.TrimPrefix(n.hs.URL, "http") + "/api" }

// post sends body to /api with the token (when not empty) and returns the
// status and the body.
func post(t *testing.T, hc *http.Client, url, token string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/api", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// rpcReply is one JSON-RPC response as the tests read it.
type rpcReply struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// reply parses one response after checking its JSON-RPC 2.0 envelope (and
// the schema, for a method and code the schema defines).
func reply(t *testing.T, method string, b []byte) rpcReply {
	t.Helper()
	if err := apischema.CheckEnvelope(b); err != nil {
		t.Fatalf("%s: %v\n%s", method, err, b)
	}
	if err := apischema.Response(method, b); err != nil && !isNotInSchema(err) {
		t.Fatalf("%s: %v\n%s", method, err, b)
	}
	var r rpcReply
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func wantRPCError(t *testing.T, what string, r rpcReply, code int) {
	t.Helper()
	if r.Error == nil || r.Error.Code != code {
		t.Fatalf("%s: id %s result %s error %+v, want error code %d", what, r.ID, r.Result, r.Error, code)
	}
}
