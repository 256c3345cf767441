package ethereum_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// The fault runs' settings: a block a second, one confirmation, node
// calls bounded at 2 s, receipts awaited 4 s, ticks every 200 ms and a
// transaction whose effect does not show resubmitted by the core after
// 10 s (stuck ones are resubmitted by the adapter after 3 blocks).
const (
	faultChannels     = 6
	faultFunding      = 1e18 // wei per sending account
	faultConfirmation = 1
)

// faultNode is a geth --dev node with the Nitro contracts deployed.
type faultNode struct {
	*gethProc
	dep ethereum.Deployment
}

func newFaultNode(t *testing.T) *faultNode {
	t.Helper()
	g := newGethProc(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	deployer := newKey(t)
	if err := g.fundAll(ctx, milli(100_000), crypto.PubkeyToAddress(deployer.PublicKey)); err != nil {
		t.Fatal(err)
	}
	dep, err := ethereum.Deploy(ctx, g.client, ethereum.KeySigner(deployer), loadArtifacts(t),
		ethereum.DeployOptions{Config: ethereum.Config{PollInterval: 50 * time.Millisecond, Dev: true}})
	if err != nil {
		t.Fatal(err)
	}
	return &faultNode{gethProc: g, dep: dep}
}

// recorder notes, for one run, when the wallets' chains last reached the
// node and had a transaction mined, and counts what they send.
type recorder struct {
	mu                       sync.Mutex
	faultEnd                 time.Time
	nodeBack, mined, progres time.Time
	sends                    map[string]int // by party
	fills                    int            // gap fillers mined
	underpriced              []*types.Transaction
	onSend                   func(who string, tx *types.Transaction)
}

func (r *recorder) endFault() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faultEnd = time.Now()
}

// first sets *at to now if the fault has ended and *at is still unset.
func (r *recorder) first(at *time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.faultEnd.IsZero() && at.IsZero() {
		*at = time.Now()
	}
}

func (r *recorder) sent(who string, tx *types.Transaction) {
	r.mu.Lock()
	r.sends[who]++
	if tx.GasFeeCap().Cmp(big.NewInt(1)) == 0 {
		r.underpriced = append(r.underpriced, tx)
	}
	hook := r.onSend
	r.mu.Unlock()
	if hook != nil {
		hook(who, tx)
	}
}

func (r *recorder) totalSends() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, k := range r.sends {
		n += k
	}
	return n
}

// since is how long after the fault's end t came (-1 s: never).
func (r *recorder) since(t time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.IsZero() || r.faultEnd.IsZero() {
		return -time.Second
	}
	return t.Sub(r.faultEnd)
}

// recClient is the wallets' client: it tells the recorder about
// successful head reads and accepted transactions.
type recClient struct {
	ethereum.Client
	r   *recorder
	who string
}

func (c recClient) BlockNumber(ctx context.Context) (uint64, error) {
	n, err := c.Client.BlockNumber(ctx)
	if err == nil {
		c.r.first(&c.r.nodeBack)
	}
	return n, err
}

func (c recClient) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	err := c.Client.SendTransaction(ctx, tx)
	if err == nil {
		c.r.sent(c.who, tx)
	}
	return err
}

// fparty is one wallet of a fault run; its wallet and chain are replaced
// when it crashes, its key, store and destination stay.
type fparty struct {
	name       string
	key        *ecdsa.PrivateKey
	signer     *memory.Signer
	store      *memory.Store
	dest       common.Address
	underprice atomic.Bool

	mu    sync.RWMutex
	w     *app.Wallet
	chain *ethereum.Chain
	gen   int
	up    chan struct{} // non-nil while the wallet is down: closed when it is back
}

func (p *fparty) account() common.Address { return crypto.PubkeyToAddress(p.key.PublicKey) }

// faultRun drives two wallets through channels on a geth node.
type faultRun struct {
	t       *testing.T
	ctx     context.Context
	n       *faultNode
	rec     *recorder
	log     *slog.Logger
	parties []*fparty
	from    uint64

	mu      sync.Mutex
	views   map[string]map[nitro.Bytes32]app.ChannelResult
	changed chan struct{}
	wg      sync.WaitGroup
}

// newFaultRun funds two fresh accounts and returns the run; start starts
// its wallets.
func newFaultRun(t *testing.T, ctx context.Context, n *faultNode, logs *syncBuffer) *faultRun {
	t.Helper()
	r := &faultRun{t: t, ctx: ctx, n: n, rec: &recorder{sends: map[string]int{}},
		log:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		views: map[string]map[nitro.Bytes32]app.ChannelResult{}, changed: make(chan struct{})}
	var accounts []common.Address
	for _, name := range []string{"A", "B"} {
		key := newKey(t)
		p := &fparty{name: name, key: key, signer: memory.NewSigner(key), store: memory.NewStore()}
		p.dest = common.BytesToAddress(crypto.Keccak256([]byte(fmt.Sprintf("gethfault-dest-%s-%x", name, p.account())))[12:])
		r.parties = append(r.parties, p)
		r.views[name] = map[nitro.Bytes32]app.ChannelResult{}
		accounts = append(accounts, p.account())
	}
	if err := n.fundAll(ctx, big.NewInt(faultFunding), accounts...); err != nil {
		t.Fatal(err)
	}
	head, err := n.head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.from = head + 1
	return r
}

// start runs p's wallet on its store with a new chain.
func (r *faultRun) start(p *fparty) {
	r.t.Helper()
	cfg := ethereum.Config{
		Client: recClient{Client: r.n.client, r: r.rec, who: p.name}, Signer: ethereum.KeySigner(p.key),
		Contracts: r.n.dep.Contracts, Dev: true, Confirmations: faultConfirmation,
		PollInterval: 100 * time.Millisecond, CallTimeout: 2 * time.Second, ReceiptWait: 4 * time.Second,
		OnTx: func(info ethereum.TxInfo) {
			if info.Err == nil && info.Block > 0 {
				r.rec.first(&r.rec.mined)
			}
			if info.Kind == "fill" && info.Block > 0 {
				r.rec.mu.Lock()
				r.rec.fills++
				r.rec.mu.Unlock()
			}
		},
	}
	ethereum.UnderpriceWhile(&cfg, p.underprice.Load)
	c, err := ethereum.New(r.ctx, cfg)
	if err != nil {
		r.t.Fatalf("%s: chain: %v", p.name, err)
	}
	w, err := app.New(r.ctx, app.Config{Signer: p.signer, Store: p.store, Chain: c, Logger: r.log.With("wallet", p.name),
		TickInterval: 200 * time.Millisecond, TxRetryDelay: 10 * time.Second, CloseTimeout: 20 * time.Millisecond})
	if err != nil {
		c.Close()
		r.t.Fatalf("%s: wallet: %v", p.name, err)
	}
	notes, stop := w.Subscribe()
	p.mu.Lock()
	p.w, p.chain = w, c
	p.gen++
	if p.up != nil {
		close(p.up)
		p.up = nil
	}
	p.mu.Unlock()
	r.wg.Add(1)
	go r.follow(p, w, notes)
	r.t.Cleanup(func() { stop(); _ = w.Close(); c.Close() })
}

// crash stops p's wallet and chain at once, without waiting for what they
// are doing (a transaction waiting for its receipt is left to the node),
// and starts a new wallet on p's store.
func (r *faultRun) crash(p *fparty) {
	p.mu.Lock()
	w, c := p.w, p.chain
	p.up = make(chan struct{})
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.Close() }()
	go func() { defer wg.Done(); _ = w.Close() }()
	wg.Wait()
	r.start(p)
}

// stopAll closes every wallet and chain (the end of a run).
func (r *faultRun) stopAll() {
	for _, p := range r.parties {
		p.mu.RLock()
		w, c := p.w, p.chain
		p.mu.RUnlock()
		_ = w.Close()
		c.Close()
	}
	r.wg.Wait()
}

// call runs f on p's current wallet; if p crashed meanwhile and f failed,
// it runs f again on the new one (the app's calls are idempotent).
func (r *faultRun) call(p *fparty, f func(*app.Wallet) error) error {
	for {
		p.mu.RLock()
		w, gen, up := p.w, p.gen, p.up
		p.mu.RUnlock()
		if up != nil {
			select {
			case <-up:
				continue
			case <-r.ctx.Done():
				return r.ctx.Err()
			}
		}
		err := f(w)
		if err == nil {
			return nil
		}
		p.mu.RLock()
		same := p.gen == gen && p.up == nil
		p.mu.RUnlock()
		if same {
			return err
		}
	}
}

// follow routes the notifications of one wallet until its stream ends.
func (r *faultRun) follow(p *fparty, w *app.Wallet, notes <-chan app.Notification) {
	defer r.wg.Done()
	for n := range notes {
		switch n.Type {
		case app.MessageQueued:
			r.deliver(n.Message)
		case app.ChannelProposed:
			r.record(p, n.Channel)
			var res app.Result
			err := r.call(p, func(w *app.Wallet) (err error) {
				res, err = w.JoinChannel(r.ctx, n.Channel.ChannelID)
				return err
			})
			if err != nil {
				r.t.Errorf("%s: join: %v", p.name, err)
				continue
			}
			r.deliverAll(res)
		default:
			r.record(p, n.Channel)
		}
	}
}

func (r *faultRun) record(p *fparty, c app.ChannelResult) {
	r.rec.first(&r.rec.progres)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.views[p.name][c.ChannelID] = c
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *faultRun) party(name string) *fparty {
	for _, p := range r.parties {
		if p.name == name {
			return p
		}
	}
	r.t.Fatalf("no party %q", name)
	return nil
}

// deliver pushes m to its recipient and, recursively, the answers.
func (r *faultRun) deliver(m app.Message) {
	to := r.party(m.Recipient)
	var res app.Result
	if err := r.call(to, func(w *app.Wallet) (err error) {
		res, err = w.PushMessage(r.ctx, m.Data)
		return err
	}); err != nil {
		r.t.Errorf("push to %s: %v", m.Recipient, err)
		return
	}
	r.deliverAll(res)
}

func (r *faultRun) deliverAll(res app.Result) {
	for _, m := range res.Outbox {
		r.deliver(m)
	}
}

// wait blocks until both parties' views of id satisfy pred.
func (r *faultRun) wait(id nitro.Bytes32, what string, pred func(app.ChannelResult) bool) error {
	for {
		r.mu.Lock()
		ok := true
		for _, p := range r.parties {
			c, seen := r.views[p.name][id]
			ok = ok && seen && pred(c)
		}
		changed := r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-time.After(500 * time.Millisecond):
			r.refresh(id)
		case <-r.ctx.Done():
			r.mu.Lock()
			defer r.mu.Unlock()
			var views []string
			for _, p := range r.parties {
				c := r.views[p.name][id]
				views = append(views, fmt.Sprintf("%s: %s turn %d funding %s", p.name, c.Status, c.TurnNum, c.FundingStatus))
			}
			return fmt.Errorf("channel %s: gave up waiting for %s; views %v", id, what, views)
		}
	}
}

// refresh reads id from each running wallet into the views. Views follow
// notifications, but a restarted wallet resumes its effects in the
// background before the test subscribes, so what it did in between is
// told to no subscriber (seen once: B's view stuck at funding while A's
// channel was closed and paid). It does not count as progress.
func (r *faultRun) refresh(id nitro.Bytes32) {
	for _, p := range r.parties {
		p.mu.RLock()
		w, up := p.w, p.up
		p.mu.RUnlock()
		if w == nil || up != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
		c, err := w.GetState(ctx, id)
		cancel()
		if err != nil {
			continue
		}
		r.mu.Lock()
		if old, seen := r.views[p.name][id]; !seen || c.TurnNum >= old.TurnNum {
			r.views[p.name][id] = c
		}
		r.mu.Unlock()
	}
}

// channel opens a channel (A a0 wei, B b0 wei), signs two updates (A
// pays 1 wei, then B pays 3: A ends with a0+2), closes it from A and waits
// until both wallets see it paid out. It returns the channel id.
func (r *faultRun) channel(a0, b0 int64) (nitro.Bytes32, error) {
	A, B := r.parties[0], r.parties[1]
	alloc := func(a, b int64) []app.Allocation {
		return []app.Allocation{{AssetHolderAddress: r.n.dep.ETHAssetHolder, AllocationItems: []app.AllocationItem{
			{Destination: nitro.AddressToDestination(A.dest), Amount: big.NewInt(a)},
			{Destination: nitro.AddressToDestination(B.dest), Amount: big.NewInt(b)},
		}}}
	}
	ps := []app.Participant{
		{ParticipantID: "A", SigningAddress: A.signer.Address(), Destination: nitro.AddressToDestination(A.dest)},
		{ParticipantID: "B", SigningAddress: B.signer.Address(), Destination: nitro.AddressToDestination(B.dest)},
	}
	var res app.Result
	if err := r.call(A, func(w *app.Wallet) (err error) {
		res, err = w.CreateChannel(r.ctx, app.CreateChannelParams{Participants: ps, Allocations: alloc(a0, b0)})
		return err
	}); err != nil {
		return nitro.Bytes32{}, err
	}
	id := res.ChannelResults[0].ChannelID
	r.deliverAll(res)
	if err := r.wait(id, "running", func(c app.ChannelResult) bool { return c.Status == core.StatusRunning }); err != nil {
		return id, err
	}
	for turn := uint64(4); turn <= 5; turn++ {
		// A pays 1 at turn 4, B pays 3 at turn 5 (the mover pays): A ends
		// with a0+2, as the audit expects.
		mover, moved := r.parties[turn%2], []int64{-1, 2}[turn-4]
		if err := r.call(mover, func(w *app.Wallet) (err error) {
			res, err = w.UpdateChannel(r.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: alloc(a0+moved, b0-moved)})
			return err
		}); err != nil {
			return id, fmt.Errorf("%s: update to turn %d: %w", mover.name, turn, err)
		}
		r.deliverAll(res)
		if err := r.wait(id, fmt.Sprintf("turn %d", turn), func(c app.ChannelResult) bool { return c.TurnNum >= turn }); err != nil {
			return id, err
		}
	}
	if err := r.call(A, func(w *app.Wallet) (err error) {
		res, err = w.CloseChannel(r.ctx, id)
		return err
	}); err != nil {
		return id, fmt.Errorf("A: close: %w", err)
	}
	r.deliverAll(res)
	return id, r.wait(id, "closed and defunded", func(c app.ChannelResult) bool {
		return c.Status == core.StatusClosed && c.FundingStatus == core.FundingDefunded
	})
}

// faultAmounts are channel i's opening deposits: A's and B's.
func faultAmounts(i int) (a0, b0 int64) { return 5000 + int64(i), 3000 }
