package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/creachadair/jrpc2"

	"github.com/nitrowallet/nitrowallet/app"
)

// wsChannel is a WebSocket connection as a jrpc2 channel.Channel: one
// JSON-RPC message (or batch) per text message. A message over max bytes
// is answered with -32600 and skipped; one over the connection's read
// limit (four times max) ends the connection (close code 1009).
type wsChannel struct {
	c       *websocket.Conn
	ctx     context.Context
	max     int64
	timeout time.Duration
	owed    *atomic.Int64 // the session's calls awaiting their response
}

// pushPrefix starts every notification jrpc2 pushes (its encoder writes
// the fields in this order); anything else the server sends is a response
// or a batch of them.
var pushPrefix = []byte(`{"jsonrpc":"2.0","method":`)

func (ch *wsChannel) Send(b []byte) error {
	ctx, cancel := context.WithTimeout(ch.ctx, ch.timeout)
	defer cancel()
	err := ch.c.Write(ctx, websocket.MessageText, b)
	if ch.owed != nil && !bytes.HasPrefix(b, pushPrefix) {
		n := int64(1)
		if len(b) > 0 && b[0] == '[' {
			var batch []json.RawMessage
			if json.Unmarshal(b, &batch) == nil {
				n = int64(len(batch))
			}
		}
		// Responses to requests no handler saw (a parse error) were never
		// counted: the count stops at zero rather than going below.
		for {
			cur := ch.owed.Load()
			if ch.owed.CompareAndSwap(cur, max(cur-n, 0)) {
				break
			}
		}
	}
	return err
}

func (ch *wsChannel) Recv() ([]byte, error) {
	for {
		_, b, err := ch.c.Read(ch.ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure || websocket.CloseStatus(err) == websocket.StatusGoingAway {
				return nil, io.EOF
			}
			return nil, err
		}
		if int64(len(b)) > ch.max {
			msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": nil, "error": jrpc2.Error{Code: jrpc2.InvalidRequest, Message: msgTooLarge}})
			if err := ch.Send(msg); err != nil {
				return nil, err
			}
			continue
		}
		return b, nil
	}
}

func (ch *wsChannel) Close() error { return ch.c.Close(websocket.StatusNormalClosure, "") }

// note is one notification waiting for a connection.
type note struct {
	method string
	params json.RawMessage
}

// wsConn is one WebSocket session: its jrpc2 server and its queue of
// notifications, written by its own goroutine so that a slow reader holds
// up no one else.
type wsConn struct {
	srv    *jrpc2.Server
	wsMu   sync.Mutex
	ws     *websocket.Conn // nil until the upgrade completes (setWS)
	queue  chan note
	failed *note        // the notification whose write ended the session (set by its pump)
	quiet  bool         // opened with ?notifications=off: calls only
	unsent atomic.Int64 // notifications queued and not yet written
	owed   atomic.Int64 // calls begun whose response is not yet written
	cancel context.CancelFunc
	remote string
}

// setWS attaches the upgraded connection; false when the session was
// dropped meanwhile (the connection is then closed).
func (c *wsConn) setWS(ws *websocket.Conn, ctx context.Context) bool {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	c.ws = ws
	if ctx.Err() != nil {
		_ = ws.Close(websocket.StatusGoingAway, "server closing")
		return false
	}
	return true
}

// closeWS closes the connection, if it is upgraded yet (graceful: with a
// close frame; else at once).
func (c *wsConn) closeWS(graceful bool) {
	c.wsMu.Lock()
	ws := c.ws
	c.wsMu.Unlock()
	switch {
	case ws == nil:
	case graceful:
		_ = ws.Close(websocket.StatusGoingAway, "server closing")
	default:
		_ = ws.CloseNow()
	}
}

// connSet holds the live WebSocket sessions.
type connSet struct {
	s     *Server
	mu    sync.Mutex
	conns map[*wsConn]struct{}
	done  bool
	// held are the MessageQueued notifications broadcast while no session
	// took notifications, oldest first, for the next session that does
	// (a message for a peer is otherwise lost until a SyncChannel); at
	// most heldCap and Config.HeldBytes (heldBytes), the oldest dropped
	// for room and counted in heldDropped, which that session learns as
	// NotificationsDropped.
	held        []note
	heldBytes   int
	heldDropped uint64
}

// heldCap bounds the held messages: with the NotificationsDropped note
// before them they fit a new session's queue.
func (cs *connSet) heldCap() int { return max(cs.s.cfg.NotificationQueue-1, 1) }

// trimHeld drops the oldest held messages beyond heldCap and
// Config.HeldBytes (the newest is always kept), counting them. Under
// cs.mu.
func (cs *connSet) trimHeld() {
	k := 0
	for k < len(cs.held)-1 && (len(cs.held)-k > cs.heldCap() || cs.heldBytes > cs.s.cfg.HeldBytes) {
		cs.heldBytes -= len(cs.held[k].params)
		k++
	}
	if k > 0 {
		cs.held = append(cs.held[:0], cs.held[k:]...)
		cs.heldDropped += uint64(k)
		cs.s.log.Warn("no session takes notifications: the oldest held messages for peers dropped", "dropped", k, "held", len(cs.held))
	}
}

func newConnSet(s *Server) *connSet { return &connSet{s: s, conns: map[*wsConn]struct{}{}} }

func (cs *connSet) add(c *wsConn) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.done {
		return false
	}
	cs.conns[c] = struct{}{}
	cs.gauge()
	if !c.quiet && len(cs.held) > 0 {
		cs.handOverHeld(c)
	}
	return true
}

// handOverHeld queues the held messages, after a NotificationsDropped
// note when some were dropped, for c, a session joining (its queue is
// empty and has room for them: heldCap). Under cs.mu.
func (cs *connSet) handOverHeld(c *wsConn) {
	n := len(cs.held)
	if cs.heldDropped > 0 {
		if b, err := json.Marshal(Dropped{Dropped: cs.heldDropped}); err == nil {
			c.unsent.Add(1)
			c.queue <- note{method: NoteNotificationsDropped, params: b}
		}
	}
	for _, h := range cs.held {
		c.unsent.Add(1)
		c.queue <- h
	}
	cs.s.log.Info("messages held while no session was open handed to a new session", "remote", c.remote, "messages", n, "dropped", cs.heldDropped)
	cs.held, cs.heldBytes, cs.heldDropped = nil, 0, 0
}

// remove forgets c; it reports whether c was still there.
func (cs *connSet) remove(c *wsConn) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.conns[c]; !ok {
		return false
	}
	delete(cs.conns, c)
	close(c.queue)
	cs.gauge()
	var back []note
	for n := range c.queue { // closed: what its pump has not taken, then the end
		c.unsent.Add(-1)
		if n.method == NoteMessageQueued {
			back = append(back, n)
		}
	}
	cs.holdBackLocked(c, back)
	return true
}

// holdBackLocked puts messages queued for c, now removed, and never
// written back in front of the held ones, when no session takes
// notifications now (one that does got them when they were broadcast): it
// runs under the same lock as the removal, before any other session can
// join. Under cs.mu.
func (cs *connSet) holdBackLocked(c *wsConn, back []note) {
	if len(back) == 0 || cs.done {
		return
	}
	for o := range cs.conns {
		if !o.quiet {
			return
		}
	}
	for _, n := range back {
		cs.heldBytes += len(n.params)
	}
	cs.held = append(back, cs.held...)
	cs.trimHeld()
	cs.s.log.Info("messages an ended session did not write held for the next session", "remote", c.remote, "messages", len(back), "held", len(cs.held))
}

func (cs *connSet) gauge() {
	if m := cs.s.cfg.Metrics; m != nil {
		m.Subscribers(len(cs.conns))
	}
}

// broadcast queues a notification for every connection without waiting: a
// connection whose queue is full is dropped (and logged). A MessageQueued
// that no session takes (none open, only quiet ones, or only ones dropped
// here) is held for the next session that does.
func (cs *connSet) broadcast(method string, params any) {
	b, err := json.Marshal(params)
	if err != nil {
		cs.s.log.Error("notification not encoded", "method", method, "err", err)
		return
	}
	n := note{method: method, params: b}
	var slow []*wsConn
	cs.mu.Lock()
	took := false
	for c := range cs.conns {
		if c.quiet {
			continue
		}
		c.unsent.Add(1)
		select {
		case c.queue <- n:
			took = true
		default:
			c.unsent.Add(-1)
			slow = append(slow, c)
		}
	}
	if !took && method == NoteMessageQueued && !cs.done {
		cs.hold(n)
	}
	cs.mu.Unlock()
	for _, c := range slow {
		if cs.remove(c) {
			cs.s.log.Warn("websocket client too slow: notification queue full, connection dropped",
				"remote", c.remote, "queue", cs.s.cfg.NotificationQueue)
			c.cancel()
			c.closeWS(false)
		}
	}
}

// hold keeps a message broadcast while no session takes notifications,
// dropping the oldest held ones when there is no room. Under cs.mu.
func (cs *connSet) hold(n note) {
	cs.held = append(cs.held, n)
	cs.heldBytes += len(n.params)
	cs.trimHeld()
}

// rehold holds, once c's pump ended, the message whose write ended the
// session, as remove held those c never took (holdBackLocked); written in
// part, it may reach a client twice, which a peer wallet takes as a
// no-op. A session that opened since takes newer messages only: this one
// is then its peer's to get by SyncChannel.
func (cs *connSet) rehold(c *wsConn) {
	if c.failed == nil || c.failed.method != NoteMessageQueued {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.holdBackLocked(c, []note{*c.failed})
}

func (cs *connSet) closeAll() {
	cs.mu.Lock()
	cs.done = true
	all := make([]*wsConn, 0, len(cs.conns))
	for c := range cs.conns {
		all = append(all, c)
	}
	cs.mu.Unlock()
	for _, c := range all {
		cs.remove(c)
		c.cancel()
		c.closeWS(true)
	}
}

// serveWS upgrades GET /api to a WebSocket session (auth checked before).
func (s *Server) serveWS(rw http.ResponseWriter, r *http.Request) {
	if s.calls.isDraining() {
		writeRPCError(rw, http.StatusServiceUnavailable, CodeShuttingDown, msgShuttingDown)
		return
	}
	// The session joins the broadcast before the upgrade completes: a
	// client whose dial has returned gets every notification from then on
	// (what is broadcast meanwhile waits in its queue).
	ctx, cancel := context.WithCancel(s.life)
	defer cancel()
	c := &wsConn{queue: make(chan note, s.cfg.NotificationQueue), cancel: cancel, remote: r.RemoteAddr,
		quiet: r.URL.Query().Get("notifications") == "off"}
	if !s.conns.add(c) {
		writeRPCError(rw, http.StatusServiceUnavailable, CodeShuttingDown, msgShuttingDown)
		return
	}
	ws, err := websocket.Accept(rw, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		s.conns.remove(c)
		s.log.Info("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	ws.SetReadLimit(4 * s.cfg.MaxRequestBytes)
	if !c.setWS(ws, ctx) {
		s.conns.remove(c)
		return
	}
	ch := &wsChannel{c: ws, ctx: ctx, max: s.cfg.MaxRequestBytes, timeout: s.cfg.WriteTimeout, owed: &c.owed}
	srv := jrpc2.NewServer(assigner{s: s, limited: true, owed: &c.owed}, &jrpc2.ServerOptions{
		AllowPush: true, DisableBuiltin: true, Concurrency: 8,
		NewContext: func() context.Context { return ctx },
	})
	c.srv = srv
	s.log.Info("websocket session started", "remote", r.RemoteAddr)
	srv.Start(ch)
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		for n := range c.queue {
			err := srv.Notify(ctx, n.method, n.params)
			c.unsent.Add(-1)
			if err != nil {
				c.failed = &n
				s.log.Info("websocket notification not sent; connection dropped", "remote", c.remote, "err", err)
				cancel()
				_ = ws.CloseNow()
				return
			}
		}
	}()
	err = srv.Wait()
	s.conns.remove(c)
	cancel()
	_ = ws.CloseNow()
	<-pumped
	s.conns.rehold(c)
	s.log.Info("websocket session ended", "remote", r.RemoteAddr, "err", err)
}

// feed forwards the wallet's notifications to every WebSocket connection.
func (s *Server) feed(notes <-chan app.Notification) {
	defer close(s.feedDone)
	for n := range notes {
		switch n.Type {
		case app.ChannelProposed, app.ChannelUpdated, app.ChannelClosed:
			s.conns.broadcast(string(n.Type), n.Channel)
		case app.MessageQueued:
			s.conns.broadcast(NoteMessageQueued, MessageOf(n.Message))
		case app.NotificationsDropped:
			s.log.Warn("wallet notifications dropped: clients must resync", "dropped", n.Dropped)
			s.conns.broadcast(NoteNotificationsDropped, Dropped{Dropped: n.Dropped})
		default:
			s.log.Debug("wallet notification not forwarded", "type", n.Type)
		}
	}
}

// Subscribers returns the number of live WebSocket sessions.
func (s *Server) Subscribers() int {
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	return len(s.conns.conns)
}
