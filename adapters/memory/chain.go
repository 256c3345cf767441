package memory

// The in-memory chain: its options, its state (blocks, transactions,
// receipts) and how a submission is checked, queued and mined. The
// ports.Chain view is in chain_account.go and chain_dispute_port.go, event
// streams in chain_events.go, the contracts in chain_exec.go,
// chain_assetholder.go, chain_adjudicator.go and chain_dispute.go (the
// dispute functions, apps run by package apprules), reorgs in
// chain_reorg.go and chain_rewind.go, and the helpers that set up and
// inspect the world in chain_world.go.

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/apprules"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// ChainDefaultStartTime is the genesis block time, in seconds, of a Chain
// built without WithStartTime.
const ChainDefaultStartTime uint64 = 1_700_000_000

// ChainOption configures NewChain.
type ChainOption func(*chainConfig)

type chainConfig struct {
	manual        bool
	startTime     uint64
	blockTime     uint64
	confirmations uint64
	protocol      nitro.Protocol
}

// WithManualMining makes submitted transactions queue until Mine (or
// AdjustTime) seals them, all in one block, in submission order. Without it
// every accepted transaction is mined at once in a block of its own.
func WithManualMining() ChainOption { return func(c *chainConfig) { c.manual = true } }

// WithProtocol makes the adjudicator check signatures over (and record
// outcome hashes of) protocol p's state hash, as the contracts of that
// nitro-protocol generation do; without it the chain is 0.17.0's. Only the
// hashes change: the model's rules and events stay 0.17.0's. It lets
// wallets on nitro.Protocol0101 run their whole protocol on this chain.
func WithProtocol(p nitro.Protocol) ChainOption { return func(c *chainConfig) { c.protocol = p } }

// WithStartTime sets the genesis block time in seconds (default
// ChainDefaultStartTime).
func WithStartTime(t uint64) ChainOption { return func(c *chainConfig) { c.startTime = t } }

// WithBlockTime sets how many seconds each mined block is later than its
// parent (default 1). Block times strictly increase, so 0 counts as 1.
func WithBlockTime(seconds uint64) ChainOption {
	return func(c *chainConfig) {
		if seconds == 0 {
			seconds = 1
		}
		c.blockTime = seconds
	}
}

// WithConfirmations makes the chain's ports.Chain views see a block only once
// it has n confirmations, that is once n-1 blocks have been mined on top of
// it: event streams deliver its events then, and Holdings reads the state as
// of the newest such block. 0 and 1 both mean at once (the default). A reorg
// of depth < n never removes a block a view has seen, so a wallet never acts
// on a deposit or a conclude that a reorg then undoes; the submission checks
// (the gas estimate) still run against the head.
func WithConfirmations(n uint64) ChainOption {
	return func(c *chainConfig) { c.confirmations = n }
}

// Chain is an in-memory chain carrying the Nitro 0.17.0 contracts: a
// NitroAdjudicator, an ETHAssetHolder and any number of ERC20AssetHolders,
// each with the contracts' exact checks, revert reasons, payouts and events,
// the adjudicator's dispute functions included (running transitions are
// judged by the app's code set with SetCode).
// It is meant for fast tests, demos and property tests; the real-EVM adapter
// must pass the same tests.
//
// Accounts hold ETH, and each ERC20 asset holder keeps its own token ledger.
// No gas is charged, so balances move exactly by what the contracts move.
// Account returns the ports.Chain view of one sending account.
//
// A submission is first checked against the current state, as the gas
// estimate of a real adapter would: a revert returns *ports.RevertError and
// sends nothing. By default an accepted transaction is then mined at once in
// its own block. With WithManualMining it queues and is executed again when
// Mine seals it; if it fails then (its checks depend on state that changed
// meanwhile) it is still recorded in the block as a failed transaction with
// no effects and no events, and Receipt reports its error.
//
// Time is the block time only: the genesis block 0 is at the start time and
// each block is WithBlockTime seconds after its parent. Nothing reads the
// wall clock, and transaction hashes come from a counter, so runs are
// reproducible.
//
// Blocks keep, per transaction, the undo log of its effects, so that Reorg
// can roll the last blocks back. Fund and FundToken act outside blocks and
// are never rolled back. With WithConfirmations the ports.Chain views lag the
// head by the confirmation depth; the world helpers (ChannelHoldings, Balance,
// Finalized, ...) always read the head.
//
// A Chain is safe for concurrent use.
type Chain struct {
	mu          sync.Mutex
	chainID     *big.Int
	manual      bool
	blockTime   uint64
	confirms    uint64
	protocol    nitro.Protocol
	adjudicator nitro.Address
	ethHolder   nitro.Address
	holders     map[nitro.Address]*chainAssetHolder
	balances    map[nitro.Address]*big.Int
	status      map[nitro.Bytes32]chainChannelStatus
	blocks      []*chainBlock
	pending     []*chainTx
	txs         map[ports.TxHash]*chainTx
	txCount     uint64
	failNext    int
	failErr     error
	down        bool
	subs        map[*chainSub]struct{}
	sealed      uint64 // blocks sealed, ever: salts block hashes (chain_rewind.go)
	code        map[nitro.Address][]byte
	// apps are the apps prepared for runs from code, by address
	// (chain_dispute.go); SetCode drops an address's entry.
	apps map[nitro.Address]*apprules.App
}

type chainBlock struct {
	number uint64
	hash   nitro.Bytes32
	time   uint64
	txs    []*chainTx
}

// chainTx is a submitted transaction and, once mined, its outcome: its
// error, its events and the undo log of its effects (newest last).
type chainTx struct {
	hash     ports.TxHash
	from     nitro.Address
	deposit  *ports.DepositRequest
	conclude *ports.ConcludeRequest
	// The dispute calls (chain_dispute.go).
	challenge  *ports.ChallengeRequest
	respond    *ports.RespondRequest
	checkpoint *ports.CheckpointRequest
	push       *ports.PushOutcomeRequest

	mined bool
	block uint64
	time  uint64
	index int
	err   error
	logs  []core.ChainEvent
	undo  []func()
	// held records the holdings each effect overwrote, oldest first, so
	// that reads can lag the head by the confirmation depth.
	held []chainHeld
}

// chainHeld is one overwritten holdings entry: asset holder, channel and the
// value before the write.
type chainHeld struct {
	asset nitro.Address
	id    nitro.Bytes32
	old   *big.Int
}

// ChainReceipt describes a mined transaction.
type ChainReceipt struct {
	TxHash    ports.TxHash
	From      nitro.Address
	Block     uint64
	BlockTime uint64
	// Index is the transaction's position in its block.
	Index int
	// Err is nil when the transaction succeeded; otherwise why it failed
	// when mined (a *ports.RevertError, or an error wrapping
	// ports.ErrInsufficientFunds).
	Err error
	// Events are the logs the transaction emitted, in order.
	Events []core.ChainEvent
}

// Succeeded reports whether the transaction succeeded.
func (r ChainReceipt) Succeeded() bool { return r.Err == nil }

// NewChain returns a chain with id chainID whose genesis block 0 is mined,
// with the adjudicator and the ETH asset holder deployed and no funds.
func NewChain(chainID *big.Int, opts ...ChainOption) *Chain {
	cfg := chainConfig{startTime: ChainDefaultStartTime, blockTime: 1}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.confirmations == 0 {
		cfg.confirmations = 1
	}
	c := &Chain{
		chainID:     new(big.Int).Set(chainID),
		manual:      cfg.manual,
		blockTime:   cfg.blockTime,
		confirms:    cfg.confirmations,
		protocol:    cfg.protocol,
		adjudicator: chainContractAddress("NitroAdjudicator"),
		ethHolder:   chainContractAddress("ETHAssetHolder"),
		holders:     map[nitro.Address]*chainAssetHolder{},
		balances:    map[nitro.Address]*big.Int{},
		status:      map[nitro.Bytes32]chainChannelStatus{},
		blocks:      []*chainBlock{{number: 0, time: cfg.startTime, hash: chainGenesisHash(chainID)}},
		txs:         map[ports.TxHash]*chainTx{},
		subs:        map[*chainSub]struct{}{},
	}
	c.holders[c.ethHolder] = &chainAssetHolder{addr: c.ethHolder, holdings: map[nitro.Bytes32]*big.Int{}}
	return c
}

func chainContractAddress(name string) nitro.Address {
	return nitro.Address(crypto.Keccak256([]byte(name))[12:])
}

// BlockNumber returns the head block's number (0 before anything is mined).
func (c *Chain) BlockNumber() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.head().number
}

// Now returns the head block's time in seconds.
func (c *Chain) Now() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.head().time
}

// Pending returns how many submitted transactions wait to be mined (always 0
// without WithManualMining).
func (c *Chain) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// Mine seals a block, one block time after the head, holding every pending
// transaction (none without WithManualMining), and returns its number.
func (c *Chain) Mine() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mineLocked(c.nextTimeLocked())
}

// AdjustTime moves the chain clock: like the simulated backend's AdjustTime
// it seals a block timestamped seconds (at least 1) after the head, holding
// any pending transactions, and returns its number.
func (c *Chain) AdjustTime(seconds uint64) uint64 {
	if seconds == 0 {
		seconds = 1
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mineLocked(c.head().time + seconds)
}

// Receipt returns the receipt of a mined transaction. Like a node, it
// reports false for an unknown or still pending transaction.
func (c *Chain) Receipt(tx ports.TxHash) (ChainReceipt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.txs[tx]
	if t == nil || !t.mined {
		return ChainReceipt{}, false
	}
	r := ChainReceipt{TxHash: t.hash, From: t.from, Block: t.block, BlockTime: t.time, Index: t.index, Err: t.err}
	for _, ev := range t.logs {
		r.Events = append(r.Events, chainCloneEvent(ev))
	}
	return r, true
}

// FailNext makes the next n submissions (Deposit, ConcludeAndTransferAll
// and the dispute calls) from any account fail with an error wrapping err, without reaching the
// chain. A nil err means ports.ErrUnavailable. Submissions refused because
// the chain is down (SetDown) do not count.
func (c *Chain) FailNext(n int, err error) {
	if err == nil {
		err = ports.ErrUnavailable
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failNext, c.failErr = n, err
}

// SetDown makes every call of every account view fail with an error wrapping
// ports.ErrUnavailable while down is true. Going down also ends every open
// event stream (its channel is closed and undelivered events are dropped),
// as a lost connection would; consumers resubscribe from the last block they
// processed. The world helpers (Mine, Fund, ...) keep working.
func (c *Chain) SetDown(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = down
	if down {
		for s := range c.subs {
			close(s.stop)
			delete(c.subs, s)
		}
	}
}

// submit checks tx against the current state and, if it would succeed,
// gives it a hash and queues it (mining it at once in automatic mode).
func (c *Chain) submit(ctx context.Context, tx *chainTx) (ports.TxHash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.gateLocked(ctx); err != nil {
		return ports.TxHash{}, err
	}
	if c.failNext > 0 {
		c.failNext--
		return ports.TxHash{}, fmt.Errorf("memory chain: injected failure: %w", c.failErr)
	}
	x := &chainExec{c: c, from: tx.from, time: c.nextTimeLocked()}
	err := x.run(tx)
	x.rollback()
	if err != nil {
		return ports.TxHash{}, err
	}
	c.txCount++
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], c.txCount)
	tx.hash = crypto.Keccak256Hash([]byte("nitrowallet/memory/chain/tx"), chainWord(c.chainID), buf[:])
	c.txs[tx.hash] = tx
	c.pending = append(c.pending, tx)
	if !c.manual {
		c.mineLocked(c.nextTimeLocked())
	}
	return tx.hash, nil
}

func chainWord(x *big.Int) []byte {
	b := make([]byte, 32)
	return x.FillBytes(b)
}

func (c *Chain) head() *chainBlock { return c.blocks[len(c.blocks)-1] }

func (c *Chain) nextTimeLocked() uint64 { return c.head().time + c.blockTime }

// mineLocked seals the pending transactions into a new block at time t and
// streams its events.
func (c *Chain) mineLocked(t uint64) uint64 {
	b := &chainBlock{number: c.head().number + 1, time: t}
	b.hash = c.blockHashLocked(b)
	var logIndex uint64
	for i, tx := range c.pending {
		x := &chainExec{c: c, from: tx.from, time: t}
		tx.err = x.run(tx)
		if tx.err != nil {
			x.rollback()
		}
		tx.mined, tx.block, tx.time, tx.index = true, b.number, t, i
		tx.undo = x.undo
		tx.logs = x.logs
		tx.held = x.held
		for j := range tx.logs {
			ev := &tx.logs[j]
			ev.Block, ev.BlockHash, ev.BlockTime, ev.TxHash, ev.LogIndex = b.number, b.hash, t, tx.hash, logIndex
			logIndex++
		}
		b.txs = append(b.txs, tx)
	}
	c.pending = nil
	c.blocks = append(c.blocks, b)
	for s := range c.subs {
		c.feedLocked(s)
	}
	return b.number
}

// confirmedLocked returns the newest block with the configured number of
// confirmations (the genesis block while the chain is shorter).
func (c *Chain) confirmedLocked() uint64 {
	head := c.head().number
	if head+1 < c.confirms {
		return 0
	}
	return head + 1 - c.confirms
}

// ConfirmedBlock returns the newest block the ports.Chain views see: the
// head less the confirmation depth (see WithConfirmations), at least 0.
func (c *Chain) ConfirmedBlock() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.confirmedLocked()
}
