package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Errors of the proposal policy; test them with errors.Is.
var (
	// ErrProposalRejected: the wallet's ProposalPolicy rejected the
	// proposal; nothing of the message carrying it was stored.
	ErrProposalRejected = errors.New("app: proposal rejected by policy")
	// ErrTooManyProposals: the wallet holds as many proposals not yet
	// joined as it may (Config.MaxPendingProposals overall or
	// MaxPendingProposalsPerPeer from the proposing key); nothing of the
	// message carrying it was stored. Joining or expiry frees slots.
	ErrTooManyProposals = errors.New("app: too many pending proposals")
)

// Defaults of the proposal bounds in Config: a held proposal costs a few
// kilobytes (memory store) to about ten (PostgreSQL), so the defaults
// bound what strangers can make the wallet keep to about 10 MB, while a
// peer may still have a few hundred proposals waiting for the application
// (a counterparty that opens more at once should be approved by the
// ProposalPolicy, which joins at once, or get higher caps).
const (
	DefaultMaxPendingProposals        = 1024
	DefaultMaxPendingProposalsPerPeer = 256
	DefaultProposalExpiry             = 24 * time.Hour
)

// ProposalExpired is published when a Tick deletes a proposal that was
// never joined within Config.ProposalExpiry.
const ProposalExpired NotificationType = "ProposalExpired"

// ProposalDecision is a ProposalPolicy's answer.
type ProposalDecision int

// Proposal decisions.
const (
	// ProposalHold stores the proposal as proposed until JoinChannel.
	ProposalHold ProposalDecision = iota
	// ProposalApprove joins the channel at once, in the same call.
	ProposalApprove
	// ProposalReject refuses it: nothing is stored.
	ProposalReject
)

// Proposal is a channel a peer proposed, as a ProposalPolicy sees it.
type Proposal struct {
	// Proposer is the key that signed the proposal's state.
	Proposer nitro.Address
	// Sender is the participant id the message claims to come from.
	Sender string
	// Channel is the channel as it would be stored.
	Channel ChannelResult
	// FundingStrategy is the proposal's: core.FundingDirect, or
	// core.FundingFake (no deposits: the channel runs unfunded on chain,
	// as the TypeScript wallet's Fake strategy).
	FundingStrategy string
}

// ProposalPolicy decides what happens to a channel a peer proposes, after
// the core accepted its state and before anything is stored (after
// go-nitro's PolicyMaker, with a third answer: hold). It is asked once per
// new channel, before the caps on held proposals are checked (an approved
// proposal needs no slot), while the wallet holds the channel's lock: it
// must be quick and must not call the wallet. Decisions other than
// ProposalApprove and ProposalReject hold.
type ProposalPolicy interface {
	Decide(p Proposal) ProposalDecision
}

// ProposalPolicyFunc is a ProposalPolicy made of a function.
type ProposalPolicyFunc func(Proposal) ProposalDecision

// Decide calls f.
func (f ProposalPolicyFunc) Decide(p Proposal) ProposalDecision { return f(p) }

// withProposalDefaults fills the zero proposal settings of cfg.
func withProposalDefaults(cfg *Config) {
	if cfg.MaxPendingProposals == 0 {
		cfg.MaxPendingProposals = DefaultMaxPendingProposals
	}
	if cfg.MaxPendingProposalsPerPeer == 0 {
		cfg.MaxPendingProposalsPerPeer = DefaultMaxPendingProposalsPerPeer
	}
	if cfg.ProposalExpiry == 0 {
		cfg.ProposalExpiry = DefaultProposalExpiry
	}
}

// proposalBook counts the proposals the wallet holds (channels a peer
// proposed that it has not joined), overall and per proposing key, so that
// a message is checked against the caps without reading the store. It is
// filled from the store once, at New, and kept up to date by every commit
// (note) and by admit, which reserves a new proposal's slot before its
// commit; a call that fails before committing gives the slot back.
type proposalBook struct {
	mu     sync.Mutex
	held   map[nitro.Bytes32]heldProposal
	byPeer map[nitro.Address]int
	max    int // overall cap; negative: none
	maxPer int // per proposer; negative: none
	size   atomic.Int64
}

// heldProposal is one proposal the book counts.
type heldProposal struct {
	proposer nitro.Address
	since    time.Time // when the wallet first stored it (or restarted)
}

func newProposalBook(cfg Config) *proposalBook {
	return &proposalBook{
		held: map[nitro.Bytes32]heldProposal{}, byPeer: map[nitro.Address]int{},
		max: cfg.MaxPendingProposals, maxPer: cfg.MaxPendingProposalsPerPeer,
	}
}

// proposerOf is the key that proposed a channel the wallet has not joined:
// the mover of the lowest turn it holds that is not this wallet's (every
// state held carries its mover's signature).
func proposerOf(c *core.Channel) nitro.Address {
	n := uint64(len(c.Participants))
	for i := range c.States {
		who := int(c.States[i].State.TurnNum % n)
		if who != c.MyIndex && c.States[i].SignedBy(who) {
			return c.Participants[who].SigningAddress
		}
	}
	return nitro.Address{}
}

// add counts id under proposer; the caller holds mu and id is not counted.
func (b *proposalBook) add(id nitro.Bytes32, proposer nitro.Address, now time.Time) {
	b.held[id] = heldProposal{proposer: proposer, since: now}
	b.byPeer[proposer]++
	b.size.Store(int64(len(b.held)))
}

// drop stops counting id; the caller holds mu.
func (b *proposalBook) drop(id nitro.Bytes32) {
	h, ok := b.held[id]
	if !ok {
		return
	}
	delete(b.held, id)
	if b.byPeer[h.proposer]--; b.byPeer[h.proposer] <= 0 {
		delete(b.byPeer, h.proposer)
	}
	b.size.Store(int64(len(b.held)))
}

// reserve counts a new proposal if the caps leave room for it.
func (b *proposalBook) reserve(id nitro.Bytes32, proposer nitro.Address, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.held[id]; ok {
		return nil
	}
	if b.max >= 0 && len(b.held) >= b.max {
		return fmt.Errorf("%w: %d held, the most the wallet holds", ErrTooManyProposals, len(b.held))
	}
	if b.maxPer >= 0 && b.byPeer[proposer] >= b.maxPer {
		return fmt.Errorf("%w: %d held from %s, the most the wallet holds from one key", ErrTooManyProposals, b.byPeer[proposer], proposer)
	}
	b.add(id, proposer, now)
	return nil
}

// release stops counting id.
func (b *proposalBook) release(id nitro.Bytes32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.drop(id)
}

// note records a channel a commit wrote (ok) or may have written (!ok: its
// outcome is unknown, so a proposal is counted but never uncounted).
func (b *proposalBook) note(c *core.Channel, ok bool, now time.Time) {
	if c.Joined && (!ok || b.size.Load() == 0) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.Joined {
		b.drop(c.ID)
		return
	}
	p := proposerOf(c)
	if h, had := b.held[c.ID]; had {
		if h.proposer == p {
			return
		}
		b.drop(c.ID)
		now = h.since
	}
	b.add(c.ID, p, now)
}

// expired returns the proposals counted since before cutoff.
func (b *proposalBook) expired(cutoff time.Time) []nitro.Bytes32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []nitro.Bytes32
	for id, h := range b.held {
		if !h.since.After(cutoff) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(x, y nitro.Bytes32) int { return bytes.Compare(x[:], y[:]) })
	return ids
}

// loadProposals fills the wallet's proposal book from its store. A
// proposal's expiry counts from this restart: the store does not keep when
// it arrived.
func (w *Wallet) loadProposals(ctx context.Context) error {
	w.props = newProposalBook(w.cfg)
	cs, err := w.cfg.Store.List(ctx)
	if err != nil {
		return fmt.Errorf("app: read proposals: %w", err)
	}
	now := w.cfg.Clock.Now()
	for i := range cs {
		w.props.note(&cs[i], true, now)
	}
	return nil
}

// admission is the proposal slots one call reserved: given back unless
// the call reaches its commit.
type admission struct {
	ids  []nitro.Bytes32
	kept bool
}

func (a *admission) undo(w *Wallet) {
	if a.kept {
		return
	}
	for _, id := range a.ids {
		w.props.release(id)
	}
}

// admitProposal applies the wallet's policy to a channel that a Receive
// (in) starts, after the core accepted it as next with effects effs: a
// non-zero appDefinition not registered is refused (ErrInvalidAppDefinition);
// approved, it is joined in the same Step sequence; rejected, or beyond a
// cap, the call fails and nothing of it is kept; held, its slot is
// reserved in adm.
func (w *Wallet) admitProposal(in core.Input, next core.Channel, effs []core.Effect, adm *admission) (core.Channel, []core.Effect, error) {
	if err := w.requireApp(next.Setup.AppDefinition); err != nil {
		return next, nil, err
	}
	proposer := proposerOf(&next)
	r, _ := in.(core.Receive)
	decision := ProposalHold
	if w.cfg.ProposalPolicy != nil {
		decision = w.cfg.ProposalPolicy.Decide(Proposal{Proposer: proposer, Sender: r.Sender, Channel: ResultOf(next), FundingStrategy: next.FundingStrategy})
	}
	switch decision {
	case ProposalReject:
		return next, nil, fmt.Errorf("%w: proposed by %s", ErrProposalRejected, proposer)
	case ProposalApprove:
		// The proposal passed the deployment the Receive carried.
		joined, more, err := w.step(next, core.Join{Deployment: r.Deployment})
		if err != nil {
			return next, nil, err
		}
		return joined, append(slices.Clip(effs), more...), nil
	}
	if err := w.props.reserve(next.ID, proposer, w.cfg.Clock.Now()); err != nil {
		return next, nil, err
	}
	adm.ids = append(adm.ids, next.ID)
	return next, effs, nil
}

// expireProposals deletes the proposals held longer than ProposalExpiry
// (on a Tick), freeing their slots; each is announced as ProposalExpired.
func (w *Wallet) expireProposals(ctx context.Context) {
	if w.cfg.ProposalExpiry < 0 {
		return
	}
	for _, id := range w.props.expired(w.cfg.Clock.Now().Add(-w.cfg.ProposalExpiry)) {
		w.expireProposal(ctx, id)
	}
}

// expireProposal deletes one expired proposal under its channel's lock,
// unless it was joined meanwhile. The store refuses to delete a channel
// the wallet joined.
func (w *Wallet) expireProposal(ctx context.Context, id nitro.Bytes32) {
	m := w.locks.lockOne(id)
	defer w.locks.unlockOne(id, m)
	c, ok := w.cache.get(id)
	if !ok {
		var err error
		c, err = w.cfg.Store.Get(ctx, id)
		if errors.Is(err, ports.ErrNotFound) {
			w.props.release(id)
			return
		}
		if err != nil {
			w.log.Warn("expire proposal: load failed", "channel", id, "err", err)
			return
		}
	}
	if c.Joined {
		w.props.release(id)
		return
	}
	err := w.cfg.Store.DeleteProposal(ctx, id)
	switch {
	case err == nil:
	case errors.Is(err, ports.ErrNotFound), errors.Is(err, ports.ErrNotProposal):
		w.cache.drop(id)
		w.props.release(id)
		return
	default:
		w.log.Warn("expire proposal: delete failed", "channel", id, "err", err)
		return
	}
	w.cache.drop(id)
	w.props.release(id)
	w.subs.publish(Notification{Type: ProposalExpired, Channel: ResultOf(c)})
}
