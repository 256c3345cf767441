package app

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
	"github.com/nitrowallet/nitrowallet/ports"
)

// RequestLimits bound what peers' GetChannel requests can make the wallet
// send. A request is answered only for a participant of the channel other
// than this wallet (the message's sender must be its participantId, and the
// answer goes to it); beyond that, each message and each sender has a
// budget. A request over a budget is dropped silently, not refused: the
// rest of its message still applies (a sync message carries states along
// with its request), PushMessage returns no error for it, and the Stats
// counters count it. A peer that got no answer can ask again later.
//
// Senders are not authenticated: a stranger naming a participant spends
// that participant's budget (never more than the budget), and replies only
// ever go to participants. Zero fields take the defaults below.
type RequestLimits struct {
	// PerMessage bounds the channels one message's requests are answered
	// for (repeated requests for one channel count once); requests for
	// further channels are dropped. Default DefaultRequestsPerMessage.
	// Whatever PerMessage, the replies to one message together fit in what
	// a peer may receive in one message, taken to be the wallet's own
	// Config.Limits (MaxMessageBytes and MaxStates).
	PerMessage int
	// PeerBurst is how many bytes of replies one sender can make the wallet
	// send at once; default DefaultPeerReplyBurst.
	PeerBurst int
	// PeerRate is how many bytes of replies per second a sender's budget
	// regains (by Config.Clock); default DefaultPeerReplyRate. Over any
	// time t a sender makes the wallet send at most PeerBurst + PeerRate·t
	// bytes of replies, plus one message's replies.
	PeerRate int
	// Peers bounds the senders whose budgets are kept apart; default
	// DefaultRequestPeers. Budgets that have refilled are forgotten (a new
	// one starts full); when the table is full of spent budgets, new
	// senders share one budget, so the table's memory stays bounded however
	// many names senders invent.
	Peers int
}

// Defaults of RequestLimits.
const (
	DefaultRequestsPerMessage = 16
	DefaultPeerReplyBurst     = 1 << 20
	DefaultPeerReplyRate      = 64 << 10
	DefaultRequestPeers       = 4096
)

// applyBounds fills in the defaults of the bounds on peers' requests and on
// notification queues, and checks them. Limits must already be set.
func (c *Config) applyBounds() error {
	r := &c.Requests
	if r.PerMessage < 0 || r.PeerBurst < 0 || r.PeerRate < 0 || r.Peers < 0 || c.NotificationQueue < 0 {
		return fmt.Errorf("%w: negative RequestLimits or NotificationQueue", ErrInvalidParams)
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&r.PerMessage, DefaultRequestsPerMessage)
	def(&r.PeerBurst, DefaultPeerReplyBurst)
	def(&r.PeerRate, DefaultPeerReplyRate)
	def(&r.Peers, DefaultRequestPeers)
	def(&c.NotificationQueue, DefaultNotificationQueue)
	return nil
}

// requestGate admits peers' GetChannel requests within RequestLimits and
// counts what it drops.
type requestGate struct {
	lim       RequestLimits
	maxBytes  int // what a peer may receive in one message
	maxStates int
	clock     ports.Clock

	mu     sync.Mutex
	seed   maphash.Seed
	peers  map[uint64]*replyBudget // by a hash of the sender: names may be long
	shared replyBudget             // for new senders while peers is full
	swept  time.Time

	answered, ignored, overMessage, overBudget, replyBytes atomic.Uint64
}

// replyBudget is one sender's token bucket, in bytes; it may go below zero
// by one reply larger than PeerBurst.
type replyBudget struct {
	level float64
	at    time.Time
}

func newRequestGate(cfg Config) *requestGate {
	d := wire.DefaultLimits()
	g := &requestGate{
		lim: cfg.Requests, maxBytes: cfg.Limits.MaxMessageBytes, maxStates: cfg.Limits.MaxStates,
		clock: cfg.Clock, seed: maphash.MakeSeed(), peers: map[uint64]*replyBudget{},
	}
	if g.maxBytes <= 0 {
		g.maxBytes = d.MaxMessageBytes
	}
	if g.maxStates <= 0 {
		g.maxStates = d.MaxStates
	}
	g.shared.level = float64(g.lim.PeerBurst)
	return g
}

// admitRequests returns the requests of m the wallet will answer: for at
// most PerMessage distinct channels, each known (or started by m's own
// states), asked for by a participant other than this wallet, with
// replies that fit one peer message and the sender's budget. ids are the
// channel ids of m's signed states, as the codec computed them.
func (w *Wallet) admitRequests(ctx context.Context, m core.Message, ids []nitro.Bytes32) []core.Request {
	reqs := m.Payload.Requests
	if len(reqs) == 0 {
		return nil
	}
	g := w.gate
	var (
		kept             []core.Request
		seen             = make(map[nitro.Bytes32]struct{}, min(len(reqs), 2*g.lim.PerMessage))
		examined         int
		msgBytes, msgSts int
	)
	for _, q := range reqs {
		if q.Type != core.RequestGetChannel {
			continue // the codec admits no other type
		}
		if _, dup := seen[q.ChannelID]; dup {
			continue
		}
		seen[q.ChannelID] = struct{}{}
		if examined >= g.lim.PerMessage {
			g.overMessage.Add(1)
			continue
		}
		examined++
		size, states, ok := w.replyCost(ctx, m, ids, q.ChannelID)
		switch {
		case !ok:
			g.ignored.Add(1)
		case msgBytes+size > g.maxBytes || msgSts+states > g.maxStates:
			g.overMessage.Add(1)
		case !g.take(m.Sender, size):
			g.overBudget.Add(1)
		default:
			msgBytes += size
			msgSts += states
			kept = append(kept, q)
			g.answered.Add(1)
			g.replyBytes.Add(uint64(size))
		}
	}
	return kept
}

// replyCost measures the answer to a GetChannel request for channel id in
// m: the encoded size and number of the states it may carry (the
// channel's recent states plus those m brings for it). ok is false when
// the request is not answered at all: the channel is unknown and m does
// not start it, or m's sender is not a participant other than this wallet.
// The channel is read without its lock, so the measure is the channel's as
// of admission.
func (w *Wallet) replyCost(ctx context.Context, m core.Message, ids []nitro.Bytes32, id nitro.Bytes32) (size, states int, ok bool) {
	out := core.Message{Recipient: m.Sender, Payload: core.Payload{WalletVersion: w.cfg.WalletVersion}}
	c, known := w.cache.get(id)
	if !known {
		var err error
		c, err = w.cfg.Store.Get(ctx, id)
		known = err == nil
		if err != nil && !errors.Is(err, ports.ErrNotFound) {
			w.log.Warn("GetChannel request: load channel failed", "channel", id, "err", err)
			return 0, 0, false
		}
	}
	if known {
		if !c.AnswersGetChannel(m.Sender) {
			return 0, 0, false
		}
		out.Sender = c.Me().ParticipantID
		out.Payload.SignedStates = append(out.Payload.SignedStates, c.GetChannelReply()...)
	}
	brought := 0
	for i, s := range m.Payload.SignedStates {
		if i < len(ids) && ids[i] == id {
			out.Payload.SignedStates = append(out.Payload.SignedStates, s)
			brought++
		}
	}
	if !known && brought == 0 {
		return 0, 0, false
	}
	data, err := wire.EncodeMessage(out)
	if err != nil {
		return 0, 0, false
	}
	return len(data), len(out.Payload.SignedStates), true
}

// take spends size bytes of sender's budget if it has them (or is full,
// for a reply larger than PeerBurst).
func (g *requestGate) take(sender string, size int) bool {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	key := maphash.String(g.seed, sender)
	b, ok := g.peers[key]
	if !ok {
		if len(g.peers) >= g.lim.Peers {
			g.sweep(now)
		}
		if len(g.peers) < g.lim.Peers {
			b = &replyBudget{level: float64(g.lim.PeerBurst), at: now}
			g.peers[key] = b
		} else {
			b = &g.shared
		}
	}
	g.refill(b, now)
	need := min(float64(size), float64(g.lim.PeerBurst))
	if b.level < need {
		return false
	}
	b.level -= float64(size)
	return true
}

func (g *requestGate) refill(b *replyBudget, now time.Time) {
	if dt := now.Sub(b.at); dt > 0 {
		b.level = min(float64(g.lim.PeerBurst), b.level+dt.Seconds()*float64(g.lim.PeerRate))
	}
	b.at = now
}

// sweep forgets the budgets that have refilled (a new one starts full, so
// nothing is lost), at most once a second.
func (g *requestGate) sweep(now time.Time) {
	if !g.swept.IsZero() && now.Sub(g.swept) < time.Second {
		return
	}
	g.swept = now
	for k, b := range g.peers {
		if g.refill(b, now); b.level >= float64(g.lim.PeerBurst) {
			delete(g.peers, k)
		}
	}
}
