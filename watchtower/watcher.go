package watchtower

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/follow"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Defaults of Config.
const (
	DefaultCheckInterval    = time.Second
	DefaultResubmitDelay    = 15 * time.Second
	DefaultCheckConcurrency = 16
	maxEarly                = 10000
	defaultCheckCallLimit   = 30 * time.Second
)

// ErrNoStore and ErrNoChain: New was given a Config without them.
var (
	ErrNoStore = errors.New("watchtower: no store")
	ErrNoChain = errors.New("watchtower: no chain")
)

// Config configures a Watcher.
type Config struct {
	// Store keeps proofs, alarms and the event cursor.
	Store Store
	// Chain is bound to the watcher's own account: it pays the
	// checkpoints' gas (no participant's key is needed). The watcher uses
	// its Events, Checkpoint, Record and BlockTime.
	Chain ports.Chain
	// CheckInterval is how often alarms are checked against the
	// adjudicator's record (default DefaultCheckInterval).
	CheckInterval time.Duration
	// ResubmitDelay is how long after a checkpoint was accepted by the
	// chain the watcher waits before submitting it again while the record
	// still shows the stale challenge (a transaction lost to a reorg or
	// still pending); default DefaultResubmitDelay. A failed submission is
	// retried on the next check.
	ResubmitDelay time.Duration
	// CheckConcurrency is how many alarms are checked (and answered, a
	// checkpoint waiting for its block) at once, the most urgent first;
	// default DefaultCheckConcurrency.
	CheckConcurrency int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Stats counts what a Watcher did since it was made.
type Stats struct {
	// Proofs stored (newer than the one held), and refused as invalid.
	Proofs, Refused uint64
	// Alarms set from ChallengeRegistered events on channels with a proof.
	Alarms uint64
	// Checkpoints submitted (accepted by the chain port) and failed.
	Checkpoints, Failed uint64
}

// Watcher is the keyless watchtower: see the package documentation. Make
// one with New, hand it proofs with Watch (or through Local, Handler),
// and run it with Run. Safe for concurrent use.
type Watcher struct {
	cfg  Config
	log  *slog.Logger
	poke chan struct{}

	mu   sync.Mutex
	next map[nitro.Bytes32]time.Time // earliest resubmission per channel
	// early holds challenges seen on channels the watcher held no proof
	// for (a wallet's hand-off may still be on its way): a proof that
	// comes in for one turns it into an alarm. In memory, at most
	// maxEarly, pruned once they finalize.
	early map[nitro.Bytes32]Alarm
	// checking holds the channels whose alarm check is under way; slots
	// bounds them (CheckConcurrency); checks counts them for Run.
	checking map[nitro.Bytes32]bool
	slots    chan struct{}
	checks   sync.WaitGroup

	proofs, refused, alarms, checkpoints, failed atomic.Uint64
}

// New returns a Watcher on cfg.
func New(cfg Config) (*Watcher, error) {
	if cfg.Store == nil {
		return nil, ErrNoStore
	}
	if cfg.Chain == nil {
		return nil, ErrNoChain
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.ResubmitDelay <= 0 {
		cfg.ResubmitDelay = DefaultResubmitDelay
	}
	if cfg.CheckConcurrency <= 0 {
		cfg.CheckConcurrency = DefaultCheckConcurrency
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Watcher{cfg: cfg, log: log.With("component", "watchtower"), poke: make(chan struct{}, 1), next: map[nitro.Bytes32]time.Time{}, early: map[nitro.Bytes32]Alarm{},
		checking: map[nitro.Bytes32]bool{}, slots: make(chan struct{}, cfg.CheckConcurrency)}, nil
}

// Stats returns the watcher's counters.
func (w *Watcher) Stats() Stats {
	return Stats{Proofs: w.proofs.Load(), Refused: w.refused.Load(), Alarms: w.alarms.Load(),
		Checkpoints: w.checkpoints.Load(), Failed: w.failed.Load()}
}

// Watch checks p (Check) and stores it if it is newer than the proof held
// for its channel. It returns an error wrapping ErrInvalidProof for a proof
// that does not check, and the store's error if it cannot store it; a
// proof no newer than the one held is no error. It implements
// ports.Watchtower.
func (w *Watcher) Watch(ctx context.Context, p ports.WatchProof) error {
	if err := Check(p); err != nil {
		w.refused.Add(1)
		return err
	}
	stored, err := w.cfg.Store.Put(ctx, p)
	if err != nil {
		return fmt.Errorf("watchtower: store proof: %w", err)
	}
	if stored {
		w.proofs.Add(1)
		w.mu.Lock()
		a, ok := w.early[p.ChannelID]
		w.mu.Unlock()
		if ok {
			if err := w.cfg.Store.SetAlarm(ctx, a); err != nil {
				return fmt.Errorf("watchtower: store alarm: %w", err)
			}
			w.mu.Lock()
			delete(w.early, p.ChannelID)
			w.mu.Unlock()
			w.alarms.Add(1)
		}
		w.wake() // an alarm may now be answerable
	}
	return nil
}

func (w *Watcher) wake() {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

// Run follows the chain's events and answers alarms until ctx ends; it
// returns ctx's error. Store and chain failures are logged and retried.
func (w *Watcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.follow(ctx)
	}()
	t := time.NewTicker(w.cfg.CheckInterval)
	defer t.Stop()
	for {
		w.checkAlarms(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			w.checks.Wait()
			return ctx.Err()
		case <-t.C:
		case <-w.poke:
		}
	}
}

// follow feeds chain events to alarms, from the stored cursor,
// reconnecting whenever the stream ends (as the wallet's follower does).
// An event's alarm is stored before the cursor moves past it.
func (w *Watcher) follow(ctx context.Context) {
	follow.Events(ctx, w.log, w.cfg.Store.Cursor, w.cfg.Chain, func(cur ports.Cursor, events <-chan core.ChainEvent) bool {
		for ev := range events {
			if ev.Kind == core.EventRewound {
				// Blocks read before left the chain: events come again from
				// the ancestor, and every alarm is checked against the
				// record as it is now.
				cur = cur.Rewind(ev.Block, ev.BlockHash)
				w.log.Warn("chain rewound; re-reading events", "ancestor", ev.Block)
			} else {
				if !w.retry(ctx, "handle event", func() error { return w.handle(ctx, ev) }) {
					return false
				}
				cur = cur.Advance(ev.Block, ev.BlockHash)
			}
			if !w.retry(ctx, "save cursor", func() error { return w.cfg.Store.SetCursor(ctx, cur) }) {
				return false
			}
			w.wake()
		}
		return true
	})
}

// handle sets an alarm for a challenge registered on a channel the
// watcher holds a proof for; other events change nothing (the alarm check
// reads the record itself).
func (w *Watcher) handle(ctx context.Context, ev core.ChainEvent) error {
	if ev.Kind != core.EventChallengeRegistered {
		return nil
	}
	a := Alarm{ChannelID: ev.ChannelID, TurnNumRecord: ev.TurnNumRecord, FinalizesAt: ev.FinalizesAt}
	p, err := w.cfg.Store.Get(ctx, ev.ChannelID)
	if errors.Is(err, ErrNotFound) {
		// Not a channel we watch, or its first proof is on its way.
		w.mu.Lock()
		if len(w.early) < maxEarly {
			w.early[ev.ChannelID] = a
		}
		w.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	w.log.Info("challenge registered", "channel", ev.ChannelID, "turn", ev.TurnNumRecord, "proof_turn", p.Turn(), "finalizes_at", ev.FinalizesAt)
	w.alarms.Add(1)
	return w.cfg.Store.SetAlarm(ctx, a)
}

// retry runs f until it succeeds, with backoff; false once ctx ends first.
func (w *Watcher) retry(ctx context.Context, what string, f func() error) bool {
	for try := follow.MinBackoff; ; try = min(2*try, follow.MaxBackoff) {
		if ctx.Err() != nil {
			return false
		}
		err := f()
		if err == nil {
			return true
		}
		w.log.Warn(what+" failed; retrying", "err", err)
		if !follow.Sleep(ctx, try) {
			return false
		}
	}
}
