package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/server"
	"github.com/nitrowallet/nitrowallet/server/metrics"
)

// TestAuth: POST /api, the WebSocket upgrade and /metrics refuse a missing
// or wrong token with 401 and a JSON-RPC -32001 body; the token works as a
// header and, on the WebSocket, as a "bearer.<token>" subprotocol;
// /healthz, /readyz and the page need none.
func TestAuth(t *testing.T) {
	var ready error
	n := newLight(t, false, func(c *server.Config, w *app.Wallet) {
		c.Ready = func(context.Context) error { return ready }
		c.Metrics = metrics.New(w)
	})
	hc := n.hs.Client()
	call := []byte(`{"jsonrpc":"2.0","id":1,"method":"GetWalletInformation","params":{}}`)
	for _, tok := range []string{"", "wrong", "secret-token-but-longer", "secret-toke"} {
		status, body := post(t, hc, n.hs.URL, tok, call)
		if status != http.StatusUnauthorized {
			t.Fatalf("POST with token %q: HTTP %d, want 401", tok, status)
		}
		wantRPCError(t, "POST with token "+tok, reply(t, "GetWalletInformation", body), server.CodeUnauthorized)
	}
	if status, body := post(t, hc, n.hs.URL, "secret-token", call); status != http.StatusOK || reply(t, "GetWalletInformation", body).Error != nil {
		t.Fatalf("POST with the token: HTTP %d %s", status, body)
	}

	ctx := context.Background()
	for _, tok := range []string{"", "wrong"} {
		_, err := client.Dial(ctx, n.wsURL(), tok)
		var e *client.Error
		if !errors.As(err, &e) || e.Code != server.CodeUnauthorized {
			t.Fatalf("WebSocket with token %q: %v, want a -32001 refusal", tok, err)
		}
	}
	// A browser's way: the token in the subprotocol list.
	for _, c := range []struct {
		protos []string
		ok     bool
	}{{[]string{"nitrowallet", "bearer.secret-token"}, true}, {[]string{"nitrowallet", "bearer.nope"}, false}, {[]string{"nitrowallet"}, false}} {
		ws, resp, err := websocket.Dial(ctx, n.wsURL(), &websocket.DialOptions{Subprotocols: c.protos})
		if !c.ok {
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("subprotocols %v: %v (response %v), want 401", c.protos, err, resp)
			}
			continue
		}
		if err != nil {
			t.Fatalf("subprotocols %v: %v", c.protos, err)
		}
		if ws.Subprotocol() != server.Subprotocol {
			t.Fatalf("negotiated subprotocol %q, want %q", ws.Subprotocol(), server.Subprotocol)
		}
		if err := ws.Write(ctx, websocket.MessageText, call); err != nil {
			t.Fatal(err)
		}
		_, b, err := ws.Read(ctx)
		if err != nil || reply(t, "GetWalletInformation", b).Error != nil {
			t.Fatalf("call over the subprotocol-authenticated socket: %s, %v", b, err)
		}
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}

	get := func(path, tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, n.hs.URL+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := get("/metrics", ""); st != http.StatusUnauthorized || !strings.Contains(body, "-32001") {
		t.Fatalf("/metrics without the token: %d %s", st, body)
	}
	if st, _ := get("/metrics", "wrong"); st != http.StatusUnauthorized {
		t.Fatalf("/metrics with a wrong token: %d", st)
	}
	if st, _ := get("/metrics", "secret-token"); st == http.StatusUnauthorized {
		t.Fatal("/metrics with the token: 401")
	}
	if st, _ := get("/healthz", ""); st != http.StatusOK {
		t.Fatalf("/healthz: %d", st)
	}
	if st, _ := get("/readyz", ""); st != http.StatusOK {
		t.Fatalf("/readyz when ready: %d", st)
	}
	ready = errors.New("store unreachable")
	if st, body := get("/readyz", ""); st != http.StatusServiceUnavailable || !strings.Contains(body, "store unreachable") {
		t.Fatalf("/readyz when not ready: %d %q", st, body)
	}
	if st, body := get("/", ""); st != http.StatusOK || !strings.Contains(strings.ToLower(body), "<html") {
		t.Fatalf("GET /: %d %.80q", st, body)
	}
	if st, _ := get("/nothing-here", ""); st != http.StatusNotFound {
		t.Fatalf("GET /nothing-here: %d, want 404", st)
	}
}

// TestTLS: the API works under TLS, over WebSocket (wss) and POST.
func TestTLS(t *testing.T) {
	n := newLight(t, true, nil)
	ctx := context.Background()
	c, err := client.DialWith(ctx, n.wsURL(), "secret-token", client.Options{HTTPClient: n.hs.Client()})
	if err != nil {
		t.Fatalf("dial wss: %v", err)
	}
	defer c.Close()
	if !strings.HasPrefix(n.wsURL(), "wss://") {
		t.Fatalf("URL %s is not wss", n.wsURL())
	}
	info, err := c.GetWalletInformation(ctx)
	if err != nil || info.SigningAddress != n.w.Address() {
		t.Fatalf("over wss: %+v, %v", info, err)
	}
	p := client.DialHTTP(n.hs.URL+"/api", "secret-token", client.Options{HTTPClient: n.hs.Client()})
	defer p.Close()
	cs, err := p.GetChannels(ctx)
	if err != nil || len(cs) != 0 {
		t.Fatalf("over https POST: %v, %v", cs, err)
	}
	// The extension methods, and an error of theirs typed on the client.
	trueApp := []byte{0x60, 0x01, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3}
	if err := c.RegisterAppBytecode(ctx, nitro.Address{0xa1}, trueApp); err != nil {
		t.Fatalf("RegisterAppBytecode: %v", err)
	}
	err = c.RegisterAppBytecode(ctx, nitro.Address{0xa2}, nil)
	wantCode(t, "RegisterAppBytecode without code", err, app.CodeInvalidAppDefinition, app.ErrInvalidAppDefinition)
	err = c.RegisterAppDefinition(ctx, nitro.Address{0xa3})
	wantCode(t, "RegisterAppDefinition of an address without code", err, app.CodeInvalidAppDefinition, app.ErrInvalidAppDefinition)
	bad := client.DialHTTP(n.hs.URL+"/api", "wrong", client.Options{HTTPClient: n.hs.Client()})
	defer bad.Close()
	if _, err := bad.GetChannels(ctx); err == nil {
		t.Fatal("POST with a wrong token over https succeeded")
	}
}

// TestCloseEndsSessions: Close ends every WebSocket session (the client's
// notification stream ends) and refuses new ones.
func TestCloseEndsSessions(t *testing.T) {
	n := newLight(t, false, nil)
	ctx := context.Background()
	c, err := client.Dial(ctx, n.wsURL(), "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitSubscribers(t, n.srv, 1)
	if err := n.srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, open := <-c.Notifications():
		if open {
			t.Fatal("a notification after Close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the session outlived Close")
	}
	if c2, err := client.Dial(ctx, n.wsURL(), "secret-token"); err == nil {
		if _, err := c2.GetChannels(ctx); err == nil {
			t.Fatal("a call on a session opened after Close succeeded")
		}
		c2.Close()
	}
}

// TestTokenNeverLogged: refused and accepted calls, at debug level, log
// neither the token nor a wrong one offered.
func TestTokenNeverLogged(t *testing.T) {
	var buf lockedBuffer
	n := newLight(t, false, func(c *server.Config, _ *app.Wallet) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	hc := n.hs.Client()
	call := []byte(`{"jsonrpc":"2.0","id":1,"method":"GetState","params":{"channelId":"0x` + strings.Repeat("1", 64) + `"}}`)
	post(t, hc, n.hs.URL, "offered-wrong-token", call)
	post(t, hc, n.hs.URL, "secret-token", call)
	_, _ = client.Dial(context.Background(), n.wsURL(), "offered-wrong-token")
	c, err := client.Dial(context.Background(), n.wsURL(), "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.GetState(context.Background(), [32]byte{1})
	c.Close()
	logs := buf.String()
	if !strings.Contains(logs, "unauthorized") || !strings.Contains(logs, "call failed") {
		t.Fatalf("the logs lack the refusal or the failed call:\n%s", logs)
	}
	for _, secret := range []string{"secret-token", "offered-wrong-token"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the logs hold %q:\n%s", secret, logs)
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
