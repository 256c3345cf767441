// Package client is a typed Go client of the wallet's JSON-RPC API as
// `nitrowallet serve` serves it (package server): over a WebSocket, with
// the server's notifications, or over HTTP POST, without them. Its methods
// mirror app.Wallet's and use app's types.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"sync"

	"github.com/coder/websocket"
	"github.com/creachadair/jrpc2"
	"github.com/creachadair/jrpc2/channel"
	"github.com/creachadair/jrpc2/jhttp"

	"github.com/nitrowallet/nitrowallet/app"
)

// Notification is one notification pushed by the server. Channel is set
// for ChannelProposed, ChannelUpdated and ChannelClosed; Message for
// MessageQueued and MessageReceived. Params holds the raw params.
type Notification struct {
	Method  string
	Channel app.ChannelResult
	Message app.Message
	Params  json.RawMessage
}

// Options tunes Dial and DialHTTP.
type Options struct {
	// Observe, when set, sees every JSON-RPC message sent (out true) and
	// received, as raw JSON: for logging or schema checks.
	Observe func(out bool, msg []byte)
	// HTTPClient dials (default http.DefaultClient); set it for TLS.
	HTTPClient *http.Client
	// Queue bounds the notifications held for Notifications; more are
	// dropped and counted (Dropped). Zero means 65536.
	Queue int
	// Quiet opens a WebSocket session for calls only: the server pushes it
	// no notifications. A backend with many concurrent calls can spread
	// them over several quiet sessions beside one that takes the
	// notifications (one session's calls share its connection).
	Quiet bool
}

// Client calls one server. It is safe for concurrent use.
type Client struct {
	rpc     *jrpc2.Client
	ws      *websocket.Conn
	notes   chan Notification
	mu      sync.Mutex
	cond    *sync.Cond
	pending []Notification
	limit   int
	dropped uint64
	closed  bool          // the connection ended (or Close)
	quit    chan struct{} // closed by Close: nobody reads any more
	quitter sync.Once
}

// Dial opens a WebSocket session with the server at url (ws:// or wss://,
// ending in /api), authenticated with token.
func Dial(ctx context.Context, url, token string) (*Client, error) {
	return DialWith(ctx, url, token, Options{})
}

// DialWith is Dial with options.
func DialWith(ctx context.Context, url, token string, o Options) (*Client, error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	if o.Quiet {
		u, err := neturl.Parse(url)
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		q := u.Query()
		q.Set("notifications", "off")
		u.RawQuery = q.Encode()
		url = u.String()
	}
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h, HTTPClient: o.HTTPClient, Subprotocols: []string{"nitrowallet"}})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, &Error{Code: -32001, Message: "Unauthorized"}
		}
		return nil, fmt.Errorf("client: dial %s: %w", url, err)
	}
	ws.SetReadLimit(-1)
	c := newClient(o)
	c.ws = ws
	var ch channel.Channel = &wsChannel{c: ws}
	if o.Observe != nil {
		ch = observed{ch, o.Observe}
	}
	c.rpc = jrpc2.NewClient(notifyTap{ch, c}, &jrpc2.ClientOptions{OnStop: c.onStop})
	go c.deliver()
	return c, nil
}

// DialHTTP returns a client calling url (http:// or https://, ending in
// /api) with one POST per call; it gets no notifications.
func DialHTTP(url, token string, o Options) *Client {
	hc := o.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	auth := &http.Client{Transport: bearerTransport{token: token, base: hc.Transport}, Timeout: hc.Timeout}
	var ch channel.Channel = jhttp.NewChannel(url, &jhttp.ChannelOptions{Client: auth})
	if o.Observe != nil {
		ch = observed{ch, o.Observe}
	}
	c := newClient(o)
	c.rpc = jrpc2.NewClient(ch, &jrpc2.ClientOptions{OnStop: c.onStop})
	go c.deliver()
	return c
}

func newClient(o Options) *Client {
	if o.Queue <= 0 {
		o.Queue = 1 << 16
	}
	c := &Client{notes: make(chan Notification), limit: o.Queue, quit: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Close ends the session. Notifications not yet read are dropped.
func (c *Client) Close() error {
	c.quitter.Do(func() { close(c.quit) })
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	return c.rpc.Close()
}

// Notifications returns the server's notifications, in order. When the
// connection ends it gives the notifications received before, then is
// closed; after Close it is closed at once.
func (c *Client) Notifications() <-chan Notification { return c.notes }

// Dropped returns how many notifications were dropped because the
// Notifications channel was not read in time.
func (c *Client) Dropped() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// onStop wakes deliver when the connection ends.
func (c *Client) onStop(*jrpc2.Client, error) {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
}

// queue keeps a notification as it came; deliver decodes it.
func (c *Client) queue(n Notification) {
	c.mu.Lock()
	if len(c.pending) >= c.limit {
		c.dropped++
	} else {
		c.pending = append(c.pending, n)
		c.cond.Signal()
	}
	c.mu.Unlock()
}

// notifyTap takes the server's notifications off the connection as they
// are read, in order, and passes only the rest (responses) on to jrpc2:
// its client hands every message it reads to a goroutine of its own, so
// notifications it delivered could overtake one another.
type notifyTap struct {
	channel.Channel
	c *Client
}

func (t notifyTap) Recv() ([]byte, error) {
	for {
		b, err := t.Channel.Recv()
		if err != nil {
			return b, err
		}
		if n, ok := asNotification(b); ok {
			t.c.queue(n)
			continue
		}
		return b, nil
	}
}

// asNotification reads b as a JSON-RPC notification: one object with a
// method and no id.
func asNotification(b []byte) (Notification, bool) {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' || !bytes.Contains(b, []byte(`"method"`)) {
		return Notification{}, false
	}
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if json.Unmarshal(b, &m) != nil || m.Method == "" || m.ID != nil {
		return Notification{}, false
	}
	return Notification{Method: m.Method, Params: m.Params}, true
}

// deliver hands queued notifications to the Notifications channel, so
// that a slow reader never holds up the connection. When the connection
// ends, what was received is still handed over, until Close.
func (c *Client) deliver() {
	defer close(c.notes)
	for {
		c.mu.Lock()
		for len(c.pending) == 0 && !c.closed {
			c.cond.Wait()
		}
		if len(c.pending) == 0 {
			c.mu.Unlock()
			return
		}
		n := c.pending[0]
		c.pending = c.pending[1:]
		c.mu.Unlock()
		decode(&n)
		select {
		case c.notes <- n:
		case <-c.quit:
			return
		}
	}
}

// decode fills a notification's Channel or Message from its params.
func decode(n *Notification) {
	switch n.Method {
	case "ChannelProposed", "ChannelUpdated", "ChannelClosed":
		_ = json.Unmarshal(n.Params, &n.Channel)
	case "MessageQueued", "MessageReceived":
		var m message
		if json.Unmarshal(n.Params, &m) == nil {
			n.Message = app.Message{Recipient: m.Recipient, Sender: m.Sender, Data: m.Data}
		}
	}
}

// wsChannel is the client's WebSocket as a jrpc2 channel.
type wsChannel struct{ c *websocket.Conn }

func (ch *wsChannel) Send(b []byte) error {
	return ch.c.Write(context.Background(), websocket.MessageText, b)
}

func (ch *wsChannel) Recv() ([]byte, error) {
	_, b, err := ch.c.Read(context.Background())
	if err != nil {
		if s := websocket.CloseStatus(err); s == websocket.StatusNormalClosure || s == websocket.StatusGoingAway {
			return nil, io.EOF
		}
		return nil, err
	}
	return b, nil
}

func (ch *wsChannel) Close() error { return ch.c.Close(websocket.StatusNormalClosure, "") }

type observed struct {
	channel.Channel
	f func(out bool, msg []byte)
}

func (o observed) Send(b []byte) error {
	o.f(true, b)
	return o.Channel.Send(b)
}

func (o observed) Recv() ([]byte, error) {
	b, err := o.Channel.Recv()
	if err == nil {
		o.f(false, b)
	}
	return b, err
}

type bearerTransport struct {
	token string
	base  http.RoundTripper
}

func (t bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// call makes one call, turning JSON-RPC errors into *Error.
func (c *Client) call(ctx context.Context, method string, params, result any) error {
	err := c.rpc.CallResult(ctx, method, params, result)
	var e *jrpc2.Error
	if errors.As(err, &e) {
		return &Error{Code: int(e.Code), Message: e.Message}
	}
	return err
}
