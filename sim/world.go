package sim

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/apprules"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Defaults of a Config.
const (
	// DefaultReorgDepth is the deepest reorg Reorg makes.
	DefaultReorgDepth = 2
	// InitialFunds is what every wallet's account starts with, in wei and
	// in tokens.
	InitialFunds = 1_000_000
	// ChainID is the world's chain id.
	ChainID = 1337
	// StartTime is the world clock's start, in seconds.
	StartTime = 1_700_000_000
)

// Config describes a world: its wallets, the channels they may open and the
// chain's settings.
type Config struct {
	// Wallets is the number of wallets, named A, B, C, ... (1 to 26).
	Wallets int
	// Channels are the channels the wallets may open, by slot.
	Channels []ChannelSpec
	// Confirmations is the chain's confirmation depth (see
	// memory.WithConfirmations); 0 means ReorgDepth+1, the least that is
	// safe against the reorgs the world makes.
	Confirmations uint64
	// ReorgDepth is the deepest reorg the world makes, and how deep a
	// deposit must be buried before a postfund state may rely on it; 0
	// means DefaultReorgDepth.
	ReorgDepth int
	// DropReorged makes reorgs drop the removed blocks' transactions (a
	// double spend) instead of requeuing them. Liveness cannot hold then:
	// Stabilize only checks agreement.
	DropReorged bool
	// Open starts the world with every channel created, joined, funded and
	// running, after Warmup updates each (without faults), so that a run
	// starts deep in the protocol.
	Open   bool
	Warmup int
	// Trace records a Mermaid sequence diagram of the run (Diagram).
	Trace bool
}

// ChannelSpec is a channel the wallets may open.
type ChannelSpec struct {
	// Participants are wallet indices, distinct, at least two; the first
	// creates the channel.
	Participants []int
	// ETH is each participant's deposit in wei, in participant order.
	ETH []int64
	// Token, when set, adds a second asset (an ERC20 asset holder) with
	// each participant's deposit in tokens.
	Token []int64
	// App makes the channel's appDefinition AppAddress, where the world's
	// chain holds SingleAssetPayments (see apps.go); the app allows one
	// asset only, so App excludes Token.
	App bool
}

func (c Config) withDefaults() Config {
	if c.ReorgDepth == 0 {
		c.ReorgDepth = DefaultReorgDepth
	}
	if c.Confirmations == 0 {
		c.Confirmations = uint64(c.ReorgDepth) + 1
	}
	return c
}

// Validate reports whether the configuration describes a world.
func (c Config) Validate() error {
	if c.Wallets < 2 || c.Wallets > 26 {
		return fmt.Errorf("sim: %d wallets, want 2 to 26", c.Wallets)
	}
	for i, s := range c.Channels {
		if len(s.Participants) < 2 {
			return fmt.Errorf("sim: channel %d has %d participants", i, len(s.Participants))
		}
		seen := map[int]bool{}
		for _, p := range s.Participants {
			if p < 0 || p >= c.Wallets || seen[p] {
				return fmt.Errorf("sim: channel %d: bad participant %d", i, p)
			}
			seen[p] = true
		}
		if len(s.ETH) != len(s.Participants) || (s.Token != nil && len(s.Token) != len(s.Participants)) {
			return fmt.Errorf("sim: channel %d: one amount per participant", i)
		}
		if s.App && s.Token != nil {
			return fmt.Errorf("sim: channel %d: %s allows one asset, no token", i, AppName)
		}
		for _, a := range append(slices.Clone(s.ETH), s.Token...) {
			if a < 0 || a > InitialFunds/1000 {
				return fmt.Errorf("sim: channel %d: amount %d", i, a)
			}
		}
	}
	return nil
}

// Envelope is a message in flight.
type Envelope struct {
	ID   int
	From string
	To   string
	Data []byte
	// Forged marks a message the world made up with a participant's key
	// (a Byzantine peer); honest wallets must reject what it carries.
	Forged bool
}

// Stats counts what happened in a run.
type Stats struct {
	Calls, CallErrors                   int
	Sent, Delivered, Rejected, Forged   int
	Dropped, Duplicated, Reordered      int
	Syncs                               int
	Blocks, Reorgs, Deposits, Concludes int
	TxErrors, InjectedTxFailures        int
	ChainEvents                         int
	Ticks, Crashes                      int
	// Offline counts the wallets stopped by GoOffline.
	Offline             int
	Seconds             int64
	Rejections          map[string]int
	StepChecks          int
	Commits, Signatures int
	// InvalidProposals counts the app-invalid states hostile peers made
	// (ProposeInvalid), InvalidRefused the refusals of them by honest
	// wallets.
	InvalidProposals, InvalidRefused int
}

// Wallet is one wallet of the world.
type Wallet struct {
	Index  int
	Name   string
	key    *ecdsa.PrivateKey
	signer *signer
	store  *store
	port   *port
	app    *app.Wallet
	dest   nitro.Address
	// lagging wallets get chain events only through Events.
	lagging bool
	// offline wallets are stopped (GoOffline): no messages, events,
	// ticks or calls until ComeBack.
	offline bool
	// backAt is the chain head's time when the wallet last came back
	// online: it can answer a challenge only from then on.
	backAt uint64
	// view is the wallet's channels as last committed (under World.mu).
	view map[nitro.Bytes32]core.Channel
	// intents are the state hashes the wallet committed SignState for.
	intents map[nitro.Bytes32]intent
}

// App returns the wallet's current app.Wallet (it changes on a restart).
func (wal *Wallet) App() *app.Wallet { return wal.app }

// Address is the wallet's signing address.
func (wal *Wallet) Address() nitro.Address { return wal.signer.Address() }

// Destination is where the wallet's payouts go.
func (wal *Wallet) Destination() nitro.Address { return wal.dest }

type intent struct {
	id    nitro.Bytes32
	state nitro.State
}

type sigKey struct {
	signer nitro.Address
	id     nitro.Bytes32
	turn   uint64
}

type turnKey struct {
	id   nitro.Bytes32
	turn uint64
}

// World is a deterministic world of wallets, network and chain. Its methods
// are not safe for concurrent use: one goroutine drives it.
type World struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger

	Chain   *memory.Chain
	ETH     nitro.Address
	Token   nitro.Address
	clock   *clock
	Wallets []*Wallet
	byName  map[string]*Wallet
	byAddr  map[nitro.Address]*Wallet

	// ids are the channel ids by slot (zero until created).
	ids   []nitro.Bytes32
	netMu sync.Mutex
	net   []*Envelope
	// nextID numbers envelopes.
	nextID int

	stats Stats
	trace []string
	// calls counts calls, for sampling; stabilizing is set by Stabilize.
	calls       int
	stabilizing bool

	mu         sync.Mutex // guards what the wallets' goroutines touch
	violations []string
	signed     map[nitro.Address]map[nitro.Bytes32]bool
	signedTurn map[sigKey]nitro.Bytes32
	agreed     map[turnKey]nitro.Bytes32

	// byz is the Byzantine actors' state (see hostile.go).
	byz byzantine
	// disp is the disputes' state (see dispute.go).
	disp disputes
	// app is SingleAssetPayments prepared for the world's predictions, nil
	// if no channel uses it (see apps.go).
	app *apprules.App

	// logs caches the chain's canonical events by chain version.
	chainVersion int
	logsVersion  int
	logs         []core.ChainEvent
}

// New builds a world: the chain, and every wallet with its store, signer and
// app.Wallet. Close it when done.
func New(cfg Config) (*World, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	w := &World{
		cfg: cfg, ctx: ctx, cancel: cancel,
		log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Chain:       memory.NewChain(big.NewInt(ChainID), memory.WithManualMining(), memory.WithConfirmations(cfg.Confirmations)),
		clock:       &clock{now: StartTime},
		byName:      map[string]*Wallet{},
		byAddr:      map[nitro.Address]*Wallet{},
		ids:         make([]nitro.Bytes32, len(cfg.Channels)),
		signed:      map[nitro.Address]map[nitro.Bytes32]bool{},
		signedTurn:  map[sigKey]nitro.Bytes32{},
		agreed:      map[turnKey]nitro.Bytes32{},
		logsVersion: -1,
	}
	w.stats.Rejections = map[string]int{}
	w.initByzantine()
	w.disp.init()
	w.ETH = w.Chain.ETHAssetHolder()
	w.Token = w.Chain.AddERC20AssetHolder("SIM")
	if err := w.installApp(); err != nil {
		cancel()
		return nil, err
	}
	for i := 0; i < cfg.Wallets; i++ {
		name := string(rune('A' + i))
		key, err := crypto.ToECDSA(crypto.Keccak256([]byte("nitrowallet-sim-" + name)))
		if err != nil {
			cancel()
			return nil, err
		}
		wal := &Wallet{
			Index: i, Name: name, key: key,
			dest:    nitro.Address(crypto.Keccak256Hash([]byte("nitrowallet-sim-destination-" + name)).Bytes()[12:]),
			view:    map[nitro.Bytes32]core.Channel{},
			intents: map[nitro.Bytes32]intent{},
		}
		wal.signer = &signer{w: w, wal: wal, inner: memory.NewSigner(key)}
		wal.store = &store{w: w, wal: wal, mem: memory.NewStore(), entries: map[uint64]core.Effect{}}
		addr := wal.signer.Address()
		w.Chain.Fund(addr, big.NewInt(InitialFunds))
		w.Chain.FundToken(w.Token, addr, big.NewInt(InitialFunds))
		wal.port = &port{w: w, wal: wal, acct: w.Chain.Account(addr)}
		w.signed[addr] = map[nitro.Bytes32]bool{}
		w.Wallets = append(w.Wallets, wal)
		w.byName[name] = wal
		w.byAddr[addr] = wal
	}
	for _, wal := range w.Wallets {
		if err := w.start(wal); err != nil {
			w.Close()
			return nil, err
		}
		if err := w.registerApp(wal); err != nil {
			w.Close()
			return nil, err
		}
	}
	if cfg.Trace {
		w.traceHeader()
	}
	if cfg.Open {
		w.open(cfg.Warmup)
	}
	return w, nil
}

// open creates, joins and funds every channel, then makes updates updates
// in each, letting the world calm down after each step.
func (w *World) open(updates int) {
	for slot := range w.ids {
		w.CreateChannel(slot)
	}
	w.Calm()
	for slot := range w.ids {
		for range w.cfg.Channels[slot].Participants {
			w.JoinChannel(slot, 0)
		}
	}
	for i := 0; i < 4; i++ {
		w.Calm()
	}
	for u := 0; u < updates; u++ {
		for slot := range w.ids {
			w.UpdateChannel(slot, 0, u)
		}
		w.Calm()
	}
}

// Config returns the world's configuration, defaults filled in.
func (w *World) Config() Config { return w.cfg }

// Close stops every wallet.
func (w *World) Close() {
	for _, wal := range w.Wallets {
		if wal.app != nil {
			_ = wal.app.Close()
		}
	}
	w.cancel()
}

// Stats returns the counters so far.
func (w *World) Stats() Stats {
	s := w.stats
	s.Rejections = map[string]int{}
	for k, v := range w.stats.Rejections {
		s.Rejections[k] = v
	}
	s.Seconds = w.clock.Now().Unix() - StartTime
	return s
}

// Digest renders the whole world: every wallet's channels as committed, the
// chain's canonical events, balances and holdings, the messages in flight
// and the counters. Two runs of the same commands from the same
// configuration have the same digest.
func (w *World) Digest() string {
	var sb strings.Builder
	w.mu.Lock()
	for _, wal := range w.Wallets {
		ids := make([]nitro.Bytes32, 0, len(wal.view))
		for id := range wal.view {
			ids = append(ids, id)
		}
		slices.SortFunc(ids, func(a, b nitro.Bytes32) int { return strings.Compare(a.Hex(), b.Hex()) })
		for _, id := range ids {
			fmt.Fprintf(&sb, "%s %s\n", wal.Name, Canonical(wal.view[id]))
		}
	}
	w.mu.Unlock()
	fmt.Fprintf(&sb, "chain %d %s\n", w.Chain.BlockNumber(), Canonical(w.Chain.Logs(0, w.Chain.BlockNumber())))
	for _, a := range w.assets() {
		for _, wal := range w.Wallets {
			fmt.Fprintf(&sb, "%s %v %v\n", wal.Name, w.balance(a, wal.Address()), w.balance(a, wal.dest))
		}
	}
	w.netMu.Lock()
	for _, e := range w.net {
		fmt.Fprintf(&sb, "msg %d %s %s %x\n", e.ID, e.From, e.To, e.Data)
	}
	w.netMu.Unlock()
	st := w.Stats()
	fmt.Fprintf(&sb, "%s\n", Canonical(st))
	return sb.String()
}

// InFlight returns the number of messages in flight.
func (w *World) InFlight() int { return len(w.net) }

// ChannelID returns the id of the channel in slot, if it has been created.
func (w *World) ChannelID(slot int) (nitro.Bytes32, bool) {
	if slot < 0 || slot >= len(w.ids) || w.ids[slot] == (nitro.Bytes32{}) {
		return nitro.Bytes32{}, false
	}
	return w.ids[slot], true
}

// View returns a copy of wallet i's channel id as last committed.
func (w *World) View(i int, id nitro.Bytes32) (core.Channel, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.Wallets[i].view[id]
	if !ok {
		return core.Channel{}, false
	}
	return c.Clone(), true
}

// start creates the wallet's app.Wallet over its store (a first start or a
// restart); what it sends while resuming is captured.
func (w *World) start(wal *Wallet) error {
	wal.port.reset()
	w.mu.Lock()
	wal.store.handed = nil // what the new incarnation resends is sent
	w.mu.Unlock()
	wal.store.setCapture(true)
	defer wal.store.setCapture(false)
	a, err := app.New(w.ctx, app.Config{
		Signer: wal.signer, Store: wal.store, Chain: wal.port, Clock: w.clock,
		TickInterval: -1, Logger: w.log,
		// The world's channels use a 100 s challenge duration, below the
		// production minimum: no dispute runs in it.
		MinChallengeDuration: time.Second,
		// One channel at a time, resumed effects before New returns, and
		// done marks written only by commits and ticks: the world must
		// replay exactly from its seed.
		Parallelism:    1,
		DoneFlushDelay: -1,
	})
	if err != nil {
		return fmt.Errorf("sim: start wallet %s: %w", wal.Name, err)
	}
	wal.app = a
	return nil
}

// restart crashes a wallet and starts it again from its store.
func (w *World) restart(wal *Wallet) {
	_ = wal.app.Close()
	w.mu.Lock()
	wal.store.dead, wal.store.countdown = false, 0
	w.mu.Unlock()
	w.stats.Crashes++
	w.note(wal.Name, "crash; restart from store")
	if err := w.start(wal); err != nil {
		w.violate("%v", err)
	}
}

// reap restarts the wallets whose store died under a CrashDuring.
func (w *World) reap() {
	for _, wal := range w.Wallets {
		w.mu.Lock()
		dead := wal.store.dead
		w.mu.Unlock()
		// An offline wallet's store may die in its Close (which writes the
		// done marks left); it starts again when it comes back.
		if dead && !wal.offline {
			w.restart(wal)
		}
	}
}

func (w *World) violate(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.violateLocked(format, args...)
}

func (w *World) violateLocked(format string, args ...any) {
	v := fmt.Sprintf(format, args...)
	if len(w.violations) < 20 && !slices.Contains(w.violations, v) {
		w.violations = append(w.violations, v)
	}
}

// Violations returns the safety violations found so far.
func (w *World) Violations() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.violations)
}

// errCrashed is what a dead store answers.
var errCrashed = errors.New("sim: wallet crashed")

// clock is the world's time, moved only by Tick.
type clock struct {
	mu  sync.Mutex
	now int64
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Unix(c.now, 0)
}

func (c *clock) advance(s int64) {
	c.mu.Lock()
	c.now += s
	c.mu.Unlock()
}

// label names a channel by slot for traces and reports.
func (w *World) label(id nitro.Bytes32) string {
	for i, x := range w.ids {
		if x == id {
			return fmt.Sprintf("ch%d", i+1)
		}
	}
	return id.Hex()[:10]
}
