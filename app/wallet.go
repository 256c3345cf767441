package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
	"github.com/nitrowallet/nitrowallet/ports"
)

// DefaultChallengeDuration is used when CreateChannel does not give one (seconds).
const DefaultChallengeDuration = 86400

// Config wires a wallet to its adapters.
type Config struct {
	Signer ports.Signer
	Store  ports.Store
	Chain  ports.Chain
	// Clock defaults to the system clock.
	Clock ports.Clock
	// ChannelCache is how many channels the wallet keeps in memory after
	// it committed or read them, so that a call on a busy channel does
	// not read it back from the store; zero means 4,096 (about 3 kB each
	// for a two-party channel). A server with more channels active at
	// once should raise it.
	ChannelCache int
	// DoneFlushDelay is how long the done marks of a call's effects wait
	// for the wallet's next commit to carry them before they are written
	// on their own (donelater.go); zero means 20 ms. Negative: only a
	// commit, a Tick, Flush or Close writes them (deterministic, for
	// simulations).
	DoneFlushDelay time.Duration
	// TickInterval is how often channels get a Tick (retries, backup
	// conclude); zero means one second, negative disables the ticker.
	TickInterval time.Duration
	// TxRetryDelay is how long a deposit or conclude of this wallet's may go
	// without its effect showing on chain before it is submitted again
	// (whole seconds; zero means core.TxRetryDelay). It must exceed the
	// time a transaction takes to reach the chain adapter's confirmation
	// depth.
	TxRetryDelay time.Duration
	// BackupConcludeDelay is how long the participants other than the
	// final state's mover wait for the channel to be concluded before they
	// submit the conclude themselves (whole seconds; zero means
	// core.BackupConcludeDelay).
	BackupConcludeDelay time.Duration
	// MinChallengeDuration and MaxChallengeDuration bound the challenge
	// duration of every channel this wallet creates or joins, proposals
	// included (whole seconds, inclusive; zero means
	// core.DefaultMinChallengeDuration, one hour, and
	// core.DefaultMaxChallengeDuration, thirty days). A shorter duration
	// would let a peer finalize a stale state on chain before this wallet
	// can respond; a longer one would lock its deposit for that long in a
	// dispute. Proposals outside the bounds are refused with
	// ErrChallengeDuration.
	MinChallengeDuration time.Duration
	MaxChallengeDuration time.Duration
	// Protocol is the nitro-protocol generation whose state hash this
	// wallet signs and checks: nitro.Protocol0170 (the zero value, the
	// default, matching the contracts the chain adapters call) or
	// nitro.Protocol0101 (the TypeScript server wallet 1.13.1's). Every
	// channel the wallet creates or is proposed takes it and keeps it in
	// the store (core.Channel.Protocol); a peer's state signed under the
	// other generation is refused with core.ErrWrongProtocol and nothing
	// is stored, and joining a channel stored under another profile
	// fails with core.ErrProtocolChanged.
	Protocol nitro.Protocol
	// AutoChallengeAfter is a liveness exit: when positive, a channel that
	// has awaited a peer this long (whole seconds of Tick time) is
	// challenged on its own, as by ChallengeChannel. A channel awaits a
	// peer when it cannot go on without a peer's deposit (funding),
	// postfund signature, next move (running, on a channel with an app,
	// after this wallet's move) or countersignature of a final state this
	// wallet signed; app-less running channels never await a reply (see
	// core/liveness.go). Any progress from a peer restarts the wait. Zero,
	// the default, turns it off; negative is ErrInvalidParams.
	AutoChallengeAfter time.Duration
	// Limits bound incoming messages; zero means wire.DefaultLimits().
	Limits wire.Limits
	// ProposalPolicy decides what happens to each channel a peer proposes
	// (see ProposalPolicy); nil holds every proposal for JoinChannel.
	ProposalPolicy ProposalPolicy
	// MaxPendingProposals bounds the proposals held (not yet joined) from
	// all peers: one more is refused with ErrTooManyProposals. Zero means
	// DefaultMaxPendingProposals, negative no bound.
	MaxPendingProposals int
	// MaxPendingProposalsPerPeer bounds those proposed by one key (the
	// signer of the proposal's state) in the same way. Zero means
	// DefaultMaxPendingProposalsPerPeer, negative no bound.
	MaxPendingProposalsPerPeer int
	// ProposalExpiry is how long a held proposal waits for JoinChannel
	// before a Tick deletes it; zero means DefaultProposalExpiry, negative
	// never.
	ProposalExpiry time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// WalletVersion goes into every message; defaults to wire.WalletVersion.
	WalletVersion string
	// Requests bounds what peers' GetChannel requests can make the wallet
	// send; zero fields take their defaults (see RequestLimits).
	Requests RequestLimits
	// NotificationQueue bounds each subscriber's queue of notifications not
	// yet read, and those kept for the first subscriber during New; zero
	// means DefaultNotificationQueue. See Subscribe for what happens when
	// it is full.
	NotificationQueue int
	// CloseTimeout is how long Close waits for calls in flight before it
	// stops their effects (a signature, a transaction still waiting for
	// its receipt); what it stops stays pending in the store and is
	// carried out on the next start. Zero means DefaultCloseTimeout.
	CloseTimeout time.Duration
	// Parallelism is how many channels background work (chain events,
	// ticks, effects resumed at start) drives at once; zero means
	// DefaultParallelism. Their effects are carried out by a worker per
	// channel, so a transaction waiting for its receipt holds up neither
	// the chain follower nor the ticker nor other channels. 1 drives them
	// one at a time, in order, without workers, and makes New resume
	// pending effects before it returns: for deterministic simulations.
	Parallelism int
	// Watchtower, if set, is handed the support proof of each channel's
	// supported state whenever it changes, in the background, so that it
	// can clear a stale challenge while this wallet is offline (package
	// watchtower). Nil: no watchtower.
	Watchtower ports.Watchtower
}

// Wallet is a Nitro state-channel wallet. Create one with New; it is safe for
// concurrent use. A call stops at its context's end only before it commits
// anything (returning the context's error, nothing changed); once its intent
// is durable it completes, and retrying it with the same parameters returns
// the same result (see the package documentation). After Close every call
// returns ErrClosed.
type Wallet struct {
	cfg     Config
	log     *slog.Logger
	me      nitro.Address
	locks   *channelLocks
	cache   *channelCache
	ticks   *tickSet
	props   *proposalBook
	apps    *appRegistry // registered apps (apps.go)
	subs    *hub
	gate    *requestGate
	rewound atomic.Uint64 // chain rewinds handled (Stats.ChainRewinds)
	meter   meter         // the other counters of Stats, and the commit observer (meter.go)
	cancel  context.CancelFunc
	bg      context.Context // the background and effects context; Close ends it
	wg      sync.WaitGroup
	life    lifecycle

	effects *effectWorkers // carries out background work's effects, by channel
	doneq   *doneQueue     // done marks waiting for a commit (donelater.go)
	owned   *ownedEntries  // entries running calls carry out themselves (owned.go)
	tower   *towerHand     // hands proofs to Config.Watchtower; nil without one
}

// New returns a wallet and starts its background work: following chain
// events from the stored cursor and ticking channels. Close stops it.
func New(ctx context.Context, cfg Config) (*Wallet, error) {
	if cfg.Signer == nil || cfg.Store == nil || cfg.Chain == nil {
		return nil, fmt.Errorf("%w: signer, store and chain are required", ErrInvalidParams)
	}
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	if cfg.TickInterval == 0 {
		cfg.TickInterval = time.Second
	}
	if cfg.TxRetryDelay < 0 || cfg.BackupConcludeDelay < 0 || cfg.AutoChallengeAfter < 0 {
		return nil, fmt.Errorf("%w: negative TxRetryDelay, BackupConcludeDelay or AutoChallengeAfter", ErrInvalidParams)
	}
	if err := checkChallengeBounds(cfg); err != nil {
		return nil, err
	}
	if err := cfg.Protocol.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	if cfg.Limits == (wire.Limits{}) {
		cfg.Limits = wire.DefaultLimits()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.WalletVersion == "" {
		cfg.WalletVersion = wire.WalletVersion
	}
	withProposalDefaults(&cfg)
	if err := cfg.applyBounds(); err != nil {
		return nil, err
	}
	if err := withBackgroundDefaults(&cfg); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &Wallet{
		cfg: cfg, log: cfg.Logger, me: cfg.Signer.Address(), locks: newChannelLocks(),
		cache: newChannelCache(cfg.ChannelCache), ticks: newTickSet(cfg.AutoChallengeAfter > 0), effects: newEffectWorkers(cfg.Parallelism),
		owned: newOwnedEntries(), subs: newHub(cfg.NotificationQueue), gate: newRequestGate(cfg), cancel: cancel, bg: bg,
		doneq: newDoneQueue(),
	}
	if cfg.Watchtower != nil {
		w.tower = newTowerHand(cfg.Watchtower, cfg.Logger)
	}
	if _, err := cfg.Store.ChainCursor(ctx); err != nil {
		cancel()
		return nil, storeErr("read chain cursor", err)
	}
	if err := w.loadApps(ctx); err != nil {
		cancel()
		return nil, err
	}
	if err := w.loadProposals(ctx); err != nil {
		cancel()
		return nil, err
	}
	// Effects committed before a crash are carried out again, in the
	// background (see startResume); the messages they queue wait for the
	// first subscriber.
	if err := w.startResume(ctx); err != nil {
		cancel()
		return nil, err
	}
	if w.tower != nil {
		w.wg.Add(1)
		go w.tower.run(bg, &w.wg)
	}
	if cfg.DoneFlushDelay >= 0 {
		w.wg.Add(1)
		go w.doneFlusher(bg, cmp.Or(cfg.DoneFlushDelay, doneFlushDelay))
	}
	w.wg.Add(1)
	go w.followChain(bg)
	if cfg.TickInterval > 0 {
		w.wg.Add(1)
		go w.tickLoop(bg)
	}
	return w, nil
}

// Address is the wallet's signing address.
func (w *Wallet) Address() nitro.Address { return w.me }

// Subscribe returns a stream of notifications and a function that ends it.
// A slow reader delays only its own stream, and what waits for it is
// bounded: at most Config.NotificationQueue notifications (plus a few
// being handed over). When its queue is full the oldest is dropped, and the
// reader gets a NotificationsDropped notification, with the number
// dropped, where they were. A reader that gets one has missed channel
// changes and may have missed MessageQueued notifications, which carry
// messages the wallet produced on its own (after a chain event or a tick)
// for the reader to deliver: it recovers by reading the channels again
// (GetChannels) and calling SyncChannel on each channel not closed, which
// resends this wallet's latest states to every peer. Stats counts the
// notifications dropped.
func (w *Wallet) Subscribe() (<-chan Notification, func()) { return w.subs.subscribe() }

// CreateChannel proposes a new directly funded channel and signs its first
// setup state.
func (w *Wallet) CreateChannel(ctx context.Context, p CreateChannelParams) (Result, error) {
	if err := w.enter(ctx); err != nil {
		return Result{}, apiError(err)
	}
	defer w.leave()
	in, addrs, err := w.createInput(p)
	if err != nil {
		return Result{}, apiError(err, createRules...)
	}
	id, err := w.pickNonce(ctx, &in, addrs)
	if err != nil {
		return Result{}, apiError(err, createRules...)
	}
	res, err := w.apply(ctx, []job{{id: id, in: in, create: true}})
	return res, apiError(err, createRules...)
}

// createRules give CreateChannel's errors their client API codes.
var createRules = []codeRule{{core.ErrNotParticipant, CodeSigningAddressNotFound}, appRule}

// createInput checks CreateChannel's parameters and returns the core
// input (without its nonce) and the participants' signing addresses.
func (w *Wallet) createInput(p CreateChannelParams) (core.Create, []nitro.Address, error) {
	if err := w.requireApp(p.AppDefinition); err != nil {
		return core.Create{}, nil, err
	}
	outcome, err := toOutcome(p.Allocations)
	if err != nil {
		return core.Create{}, nil, err
	}
	if p.FundingStrategy == "" {
		p.FundingStrategy = core.FundingDirect
	}
	if p.ChallengeDuration == 0 {
		p.ChallengeDuration = DefaultChallengeDuration
	}
	dep := w.deployment()
	// Before a nonce is reserved: a refused create stores nothing.
	if err := dep.CheckFunding(p.FundingStrategy, dep.Protocol); err != nil {
		return core.Create{}, nil, err
	}
	if len(p.AppData) > w.cfg.Limits.MaxAppDataBytes {
		return core.Create{}, nil, fmt.Errorf("%w: appData of %d bytes", ErrInvalidParams, len(p.AppData))
	}
	addrs := make([]nitro.Address, len(p.Participants))
	for i, pp := range p.Participants {
		addrs[i] = pp.SigningAddress
	}
	if !slices.Contains(addrs, w.me) {
		return core.Create{}, nil, core.ErrNotParticipant
	}
	return core.Create{
		Me: w.me, ChainID: dep.ChainID, Participants: toCoreParticipants(p.Participants),
		Outcome: outcome, AppDefinition: p.AppDefinition, AppData: p.AppData,
		ChallengeDuration: p.ChallengeDuration, FundingStrategy: p.FundingStrategy, Deployment: dep,
	}, addrs, nil
}

// JoinChannel accepts a proposed channel and signs its setup state.
func (w *Wallet) JoinChannel(ctx context.Context, id nitro.Bytes32) (Result, error) {
	if err := w.enter(ctx); err != nil {
		return Result{}, apiError(err)
	}
	defer w.leave()
	res, err := w.apply(ctx, []job{{id: id, in: core.Join{Deployment: w.deployment()}}})
	return res, apiError(err, joinRules...)
}

// joinRules, closeRules and syncRules give JoinChannel's, CloseChannel's
// and SyncChannel's errors their client API codes.
var (
	joinRules = []codeRule{
		{core.ErrChannelNotFound, CodeChannelNotFoundJoin},
		{core.ErrAlreadyJoined, CodeInvalidTransitionJoin},
		{core.ErrUnusableChannel, CodeInvalidTransitionJoin},
		{core.ErrUnsupportedFunding, CodeInvalidTransitionJoin},
		{core.ErrInvalidTransition, CodeInvalidTransitionJoin},
	}
	closeRules = []codeRule{
		{core.ErrChannelNotFound, CodeChannelNotFoundClose},
		{core.ErrNotYourTurn, CodeNotYourTurnClose},
		{core.ErrSigningInProgress, CodeNotYourTurnClose},
		{core.ErrChannelClosed, CodeNotYourTurnClose},
	}
	syncRules = []codeRule{{core.ErrChannelNotFound, CodeChannelNotFoundSync}}
)

// UpdateChannel signs the next state on this wallet's turn.
func (w *Wallet) UpdateChannel(ctx context.Context, p UpdateChannelParams) (Result, error) {
	if err := w.enter(ctx); err != nil {
		return Result{}, apiError(err)
	}
	defer w.leave()
	rules := []codeRule{
		{core.ErrChannelNotFound, CodeChannelNotFoundUpdate},
		{core.ErrNotYourTurn, CodeNotYourTurnUpdate},
		{core.ErrSigningInProgress, CodeNotYourTurnUpdate}, // my turn is taken by my pending state
		{core.ErrChannelClosed, CodeChannelClosedUpdate},
		{core.ErrDisputed, CodeChannelClosedUpdate}, // closed to updates while a challenge runs
		{core.ErrInvalidTransition, CodeInvalidTransition},
		{core.ErrNotRunning, CodeInvalidTransition},
		{ErrInvalidParams, CodeInvalidTransition},
	}
	outcome, err := toOutcome(p.Allocations)
	if err != nil {
		return Result{}, apiError(err, rules...)
	}
	if len(p.AppData) > w.cfg.Limits.MaxAppDataBytes {
		return Result{}, &Error{Code: CodeInvalidAppData, Err: fmt.Errorf("%w: appData of %d bytes", ErrInvalidParams, len(p.AppData))}
	}
	jobs := []job{{id: p.ChannelID, in: core.Update{Outcome: outcome, AppData: p.AppData}}}
	res, err := w.apply(ctx, jobs)
	if errors.Is(err, core.ErrSigningInProgress) && w.finishOther(ctx, p.ChannelID, updateIntent(outcome, p.AppData)) {
		res, err = w.apply(ctx, jobs)
	}
	if errors.Is(err, core.ErrNotYourTurn) || errors.Is(err, core.ErrSigningInProgress) {
		if r, ok, rerr := w.retried(ctx, p.ChannelID, updateIntent(outcome, p.AppData)); ok {
			res, err = r, rerr
		}
	}
	return res, apiError(err, rules...)
}

// CloseChannel signs a final state on this wallet's turn; the others
// countersign it and the channel is concluded on chain.
func (w *Wallet) CloseChannel(ctx context.Context, id nitro.Bytes32) (Result, error) {
	if err := w.enter(ctx); err != nil {
		return Result{}, apiError(err)
	}
	defer w.leave()
	res, err := w.apply(ctx, []job{{id: id, in: core.Close{}}})
	if errors.Is(err, core.ErrSigningInProgress) && w.finishOther(ctx, id, closeIntent) {
		res, err = w.apply(ctx, []job{{id: id, in: core.Close{}}})
	}
	if errors.Is(err, core.ErrChannelClosed) || errors.Is(err, core.ErrSigningInProgress) {
		if r, ok, rerr := w.retried(ctx, id, closeIntent); ok {
			res, err = r, rerr
		}
	}
	return res, apiError(err, closeRules...)
}

// SyncChannel resends this wallet's states to every peer and asks them for
// theirs: use it after a peer may have lost messages.
func (w *Wallet) SyncChannel(ctx context.Context, id nitro.Bytes32) (Result, error) {
	if err := w.enter(ctx); err != nil {
		return Result{}, apiError(err)
	}
	defer w.leave()
	res, err := w.apply(ctx, []job{{id: id, in: core.Sync{}}})
	return res, apiError(err, syncRules...)
}

// GetState returns one channel's result.
func (w *Wallet) GetState(ctx context.Context, id nitro.Bytes32) (ChannelResult, error) {
	if err := w.enter(ctx); err != nil {
		return ChannelResult{}, apiError(err)
	}
	defer w.leave()
	c, err := w.cfg.Store.Get(ctx, id)
	if errors.Is(err, ports.ErrNotFound) {
		err = fmt.Errorf("%w: %s", core.ErrChannelNotFound, id)
	}
	if err != nil && !errors.Is(err, core.ErrChannelNotFound) {
		err = storeErr("get channel", err)
	}
	if err != nil {
		return ChannelResult{}, apiError(err, codeRule{core.ErrChannelNotFound, CodeChannelNotFoundGetState})
	}
	return ResultOf(c), nil
}

// GetChannels returns every channel's result.
func (w *Wallet) GetChannels(ctx context.Context) ([]ChannelResult, error) {
	if err := w.enter(ctx); err != nil {
		return nil, apiError(err)
	}
	defer w.leave()
	cs, err := w.cfg.Store.List(ctx)
	if err != nil {
		return nil, apiError(storeErr("list channels", err))
	}
	out := make([]ChannelResult, len(cs))
	for i, c := range cs {
		out[i] = ResultOf(c)
	}
	return out, nil
}

// PushMessage takes a wire message (JSON) from a peer. A message is applied
// whole or not at all: any bad part rejects it and changes nothing.
//
// data is either the envelope {recipient, sender, data: Payload} (what
// Message.Data holds) or, as the server wallet's pushMessage takes it, the
// bare Payload {walletVersion, signedStates, objectives, requests}: the two
// share no key, and an object mixing them is refused (wire.DecodePushedIDs).
// A bare payload is taken as addressed to this wallet (no recipient is
// checked) and names no sender, so its GetChannel requests are not
// answered (counted as ignored in Stats): push the envelope, or call
// SyncChannel, for an answer.
func (w *Wallet) PushMessage(ctx context.Context, data []byte) (Result, error) {
	if err := w.enter(ctx); err != nil {
		return Result{}, apiError(err)
	}
	defer w.leave()
	msg, ids, bare, err := wire.DecodePushedIDs(data, w.cfg.Limits)
	if err != nil {
		return Result{}, apiError(err)
	}
	if bare {
		w.gate.ignored.Add(uint64(len(msg.Payload.Requests))) // no sender to answer
		msg.Payload.Requests = nil
	}
	msg.Payload.Requests = w.admitRequests(ctx, msg, ids)
	// The deployment is filled in where a message starts a channel (see
	// applyLocked): only a proposal needs it.
	jobs := receiveJobs(core.Receive{Me: w.me, Recipient: msg.Recipient, Sender: msg.Sender, Bare: bare}, msg, ids)
	res, err := w.apply(ctx, jobs)
	if err == nil {
		w.meter.receivedStates(&msg)
	}
	return res, apiError(err, codeRule{core.ErrNotParticipant, CodeWrongParticipant}, codeRule{core.ErrWrongRecipient, CodeWrongParticipant}, appRule)
}

// receiveJobs splits a message into one Receive per channel (base with the
// channel's states, objectives and requests), in the order channels first
// appear. ids are the signed states' channel ids as the
// codec computed them (a missing or zero one is computed again).
func receiveJobs(base core.Receive, m core.Message, ids []nitro.Bytes32) []job {
	if p := m.Payload; len(p.SignedStates) == 1 && len(p.Objectives) == 0 && len(p.Requests) == 0 && len(ids) == 1 && ids[0] != (nitro.Bytes32{}) {
		// An update's message: one state of one channel.
		base.States = p.SignedStates
		return []job{{id: ids[0], in: base, receive: true}}
	}
	var (
		order []nitro.Bytes32
		recs  []core.Receive
		idx   map[nitro.Bytes32]int // once there are many channels
	)
	get := func(id nitro.Bytes32) *core.Receive {
		if idx != nil {
			if i, ok := idx[id]; ok {
				return &recs[i]
			}
		} else {
			for i := range order {
				if order[i] == id {
					return &recs[i]
				}
			}
		}
		order = append(order, id)
		recs = append(recs, base)
		switch {
		case idx != nil:
			idx[id] = len(order) - 1
		case len(order) > 16:
			idx = make(map[nitro.Bytes32]int, 2*len(order))
			for i, o := range order {
				idx[o] = i
			}
		}
		return &recs[len(recs)-1]
	}
	for i, s := range m.Payload.SignedStates {
		var id nitro.Bytes32
		if i < len(ids) {
			id = ids[i]
		}
		if id == (nitro.Bytes32{}) {
			var err error
			if id, err = s.State.ChannelID(); err != nil {
				continue // the codec already verified ids; unreachable
			}
		}
		r := get(id)
		r.States = append(r.States, s)
	}
	for _, o := range m.Payload.Objectives {
		if o.TargetChannelID == (nitro.Bytes32{}) {
			continue
		}
		r := get(o.TargetChannelID)
		r.Objectives = append(r.Objectives, o)
	}
	for _, q := range m.Payload.Requests {
		r := get(q.ChannelID)
		r.Requests = append(r.Requests, q)
	}
	if len(recs) == 0 {
		return nil
	}
	jobs := make([]job, len(recs))
	for i := range recs {
		jobs[i] = job{id: order[i], in: recs[i], receive: true}
	}
	return jobs
}
