package memory

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// ChainDefaultStartTime is the genesis block time, in seconds, of a Chain
// built without WithStartTime.
const ChainDefaultStartTime uint64 = 1_700_000_000

// Revert reasons of the Nitro 0.17.0 contracts (and of the OpenZeppelin ERC20
// behind ERC20AssetHolder) that Chain reproduces, beyond those named in
// ports. They are the exact strings the real contracts revert with.
const (
	ChainReasonExternalDestination = "Deposit to external destination"
	ChainReasonAdditionOverflow    = "SafeMath: addition overflow"
	ChainReasonIncorrectChainID    = "Incorrect chainId"
	ChainReasonStateCount          = "Insufficient or excess states"
	ChainReasonInputLengths        = "Bad |signatures|v|whoSignedWhat|"
	ChainReasonTooManyParticipants = "Too many participants!"
	ChainReasonTurnNumTooLow       = "largestTurnNum too low"
	ChainReasonInvalidSignatures   = "Invalid signatures / !isFinal"
	ChainReasonNotAllocation       = "AssetOutcome not an allocation"
	ChainReasonETHTransfer         = "Could not transfer ETH"
	ChainReasonERC20Balance        = "ERC20: transfer amount exceeds balance"
	ChainReasonERC20ZeroAddress    = "ERC20: transfer to the zero address"
	// ChainReasonNoCode is the empty reason of a call to an address that is
	// not one of this chain's asset holders (Solidity reverts without a
	// reason when the callee has no code).
	ChainReasonNoCode = ""
)

var chainMaxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// ChainOption configures NewChain.
type ChainOption func(*chainConfig)

type chainConfig struct {
	manual        bool
	startTime     uint64
	blockTime     uint64
	confirmations uint64
}

// WithManualMining makes submitted transactions queue until Mine (or
// AdjustTime) seals them, all in one block, in submission order. Without it
// every accepted transaction is mined at once in a block of its own.
func WithManualMining() ChainOption { return func(c *chainConfig) { c.manual = true } }

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
// each with the contracts' exact checks, revert reasons, payouts and events.
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
}

// chainAssetHolder is one asset holder contract: its holdings per channel
// and, for an ERC20 asset holder, the token ledger of its token (the holder's
// own address holds the escrowed tokens). The ETH escrow is the holder's
// balance in Chain.balances.
type chainAssetHolder struct {
	addr     nitro.Address
	erc20    bool
	holdings map[nitro.Bytes32]*big.Int
	tokens   map[nitro.Address]*big.Int
}

// chainChannelStatus is the adjudicator's status of a channel (the parts of
// ChannelData the model needs). finalizesAt 0 means Open.
type chainChannelStatus struct {
	turnNumRecord uint64
	finalizesAt   uint64
	outcomeHash   nitro.Bytes32
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

// ETHAssetHolder returns the ETH asset holder's address,
// keccak256("ETHAssetHolder")[12:].
func (c *Chain) ETHAssetHolder() nitro.Address { return c.ethHolder }

// AddERC20AssetHolder deploys an ERC20 asset holder for a new token called
// name, with an empty token ledger, and returns its address,
// keccak256("ERC20AssetHolder:" + name)[12:]. Adding the same name again
// returns the existing holder. Deposits need no approval.
func (c *Chain) AddERC20AssetHolder(name string) nitro.Address {
	addr := chainContractAddress("ERC20AssetHolder:" + name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.holders[addr]; !ok {
		c.holders[addr] = &chainAssetHolder{
			addr: addr, erc20: true,
			holdings: map[nitro.Bytes32]*big.Int{},
			tokens:   map[nitro.Address]*big.Int{},
		}
	}
	return addr
}

// Fund credits amount wei to addr, outside any block. It panics if amount
// is negative.
func (c *Chain) Fund(addr nitro.Address, amount *big.Int) {
	if amount.Sign() < 0 {
		panic("memory: Fund with a negative amount")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.balances[addr] = new(big.Int).Add(chainGet(c.balances, addr), amount)
}

// Balance returns addr's ETH balance in wei.
func (c *Chain) Balance(addr nitro.Address) *big.Int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return new(big.Int).Set(chainGet(c.balances, addr))
}

// FundToken credits amount tokens of the ERC20 asset holder asset to addr,
// outside any block. It panics if asset is not an ERC20 asset holder of this
// chain or amount is negative.
func (c *Chain) FundToken(asset, addr nitro.Address, amount *big.Int) {
	if amount.Sign() < 0 {
		panic("memory: FundToken with a negative amount")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ah := c.erc20Locked(asset)
	ah.tokens[addr] = new(big.Int).Add(chainGet(ah.tokens, addr), amount)
}

// TokenBalance returns addr's balance of the token of the ERC20 asset holder
// asset (the holder's own address holds what is escrowed). It panics if asset
// is not an ERC20 asset holder of this chain.
func (c *Chain) TokenBalance(asset, addr nitro.Address) *big.Int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return new(big.Int).Set(chainGet(c.erc20Locked(asset).tokens, addr))
}

func (c *Chain) erc20Locked(asset nitro.Address) *chainAssetHolder {
	ah := c.holders[asset]
	if ah == nil || !ah.erc20 {
		panic(fmt.Sprintf("memory: %s is not an ERC20 asset holder", asset))
	}
	return ah
}

// ChannelHoldings returns what asset holds for channel id now (zero for an
// unknown asset holder).
func (c *Chain) ChannelHoldings(asset nitro.Address, id nitro.Bytes32) *big.Int {
	c.mu.Lock()
	defer c.mu.Unlock()
	ah := c.holders[asset]
	if ah == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(chainGet(ah.holdings, id))
}

// Finalized reports whether the adjudicator has channel id finalized at the
// head block's time.
func (c *Chain) Finalized(id nitro.Bytes32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.finalizedLocked(id, c.head().time)
}

func (c *Chain) finalizedLocked(id nitro.Bytes32, now uint64) bool {
	st := c.status[id]
	return st.finalizesAt != 0 && st.finalizesAt <= now
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

// FailNext makes the next n submissions (Deposit, ConcludeAndTransferAll)
// from any account fail with an error wrapping err, without reaching the
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

// Account returns the ports.Chain view of the chain that sends its
// transactions from addr.
func (c *Chain) Account(addr nitro.Address) ports.Chain { return &chainAccount{c: c, from: addr} }

// chainAccount is the ports.Chain view bound to one sending account.
type chainAccount struct {
	c    *Chain
	from nitro.Address
}

var _ ports.Chain = (*chainAccount)(nil)

// ChainID implements ports.Chain.
func (a *chainAccount) ChainID() *big.Int { return new(big.Int).Set(a.c.chainID) }

// AssetHolders implements ports.Chain: the ETH asset holder and every ERC20
// asset holder added so far.
func (a *chainAccount) AssetHolders() []nitro.Address {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	out := make([]nitro.Address, 0, len(a.c.holders))
	out = append(out, a.c.ethHolder)
	for addr := range a.c.holders {
		if addr != a.c.ethHolder {
			out = append(out, addr)
		}
	}
	slices.SortFunc(out[1:], func(x, y nitro.Address) int { return bytes.Compare(x[:], y[:]) })
	return out
}

// Deposit implements ports.Chain: the asset holder's deposit(destination,
// expectedHeld, amount), sending amount wei with it for ETH.
func (a *chainAccount) Deposit(ctx context.Context, req ports.DepositRequest) (ports.TxHash, error) {
	if err := nitro.CheckAmount(req.ExpectedHeld); err != nil {
		return ports.TxHash{}, fmt.Errorf("memory chain: deposit expectedHeld: %w", err)
	}
	if err := nitro.CheckAmount(req.Amount); err != nil {
		return ports.TxHash{}, fmt.Errorf("memory chain: deposit amount: %w", err)
	}
	req.ExpectedHeld = new(big.Int).Set(req.ExpectedHeld)
	req.Amount = new(big.Int).Set(req.Amount)
	return a.c.submit(ctx, &chainTx{from: a.from, deposit: &req})
}

// ConcludeAndTransferAll implements ports.Chain:
// concludePushOutcomeAndTransferAll with the state's turn number as
// largestTurnNum, one state (so the contract hashes it with isFinal true),
// whoSignedWhat all zero and the signatures in participant order.
func (a *chainAccount) ConcludeAndTransferAll(ctx context.Context, req ports.ConcludeRequest) (ports.TxHash, error) {
	st := req.State
	if st.ChainID == nil {
		return ports.TxHash{}, fmt.Errorf("memory chain: conclude: %w", nitro.ErrBadChainID)
	}
	if len(st.Participants) <= nitro.MaxParticipants {
		// What a real adapter could not encode fails here, before any
		// transaction; more participants revert on chain.
		final := st
		final.IsFinal = true
		if _, err := final.Hash(); err != nil {
			return ports.TxHash{}, fmt.Errorf("memory chain: conclude: %w", err)
		}
	}
	cp := ports.ConcludeRequest{State: st.Clone(), Signatures: append([]nitro.Signature(nil), req.Signatures...)}
	return a.c.submit(ctx, &chainTx{from: a.from, conclude: &cp})
}

// Holdings implements ports.Chain: the holdings as of the newest confirmed
// block (the head without WithConfirmations). An address that is not an
// asset holder of this chain is an error (no contract code), not zero.
func (a *chainAccount) Holdings(ctx context.Context, asset nitro.Address, channelID nitro.Bytes32) (*big.Int, error) {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.gateLocked(ctx); err != nil {
		return nil, err
	}
	ah := c.holders[asset]
	if ah == nil {
		return nil, fmt.Errorf("memory chain: no asset holder at %s", asset)
	}
	return c.confirmedHoldingsLocked(asset, channelID), nil
}

// confirmedHoldingsLocked returns what asset held for channel id at the
// newest confirmed block: the head's value with the writes of the younger
// blocks undone.
func (c *Chain) confirmedHoldingsLocked(asset nitro.Address, id nitro.Bytes32) *big.Int {
	v := chainGet(c.holders[asset].holdings, id)
	for b := len(c.blocks) - 1; b > int(c.confirmedLocked()); b-- {
		txs := c.blocks[b].txs
		for i := len(txs) - 1; i >= 0; i-- {
			for j := len(txs[i].held) - 1; j >= 0; j-- {
				if h := txs[i].held[j]; h.asset == asset && h.id == id {
					v = h.old
				}
			}
		}
	}
	return new(big.Int).Set(v)
}

// Events implements ports.Chain. The stream replays every past event of
// confirmed blocks >= the cursor's block, then follows new blocks as they
// are mined and confirmed (at once without WithConfirmations). A cursor
// whose block is no longer on the chain starts the stream with a
// core.EventRewound at the common ancestor (see rewindCursorLocked), and a
// Reorg that removes blocks the stream was given sends one too. Each
// subscriber has an unbounded queue, so a slow reader never blocks the
// chain. The channel is closed when ctx ends or when the chain goes down.
func (a *chainAccount) Events(ctx context.Context, from ports.Cursor) (<-chan core.ChainEvent, error) {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.gateLocked(ctx); err != nil {
		return nil, err
	}
	s := &chainSub{
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		out:  make(chan core.ChainEvent),
	}
	s.from, s.next = from.Block, from.Block
	if anc, moved := c.rewindCursorLocked(from); moved {
		s.from, s.next = anc.number, anc.number
		s.push([]core.ChainEvent{{Kind: core.EventRewound, Block: anc.number, BlockHash: anc.hash, BlockTime: anc.time}})
	}
	c.feedLocked(s)
	c.subs[s] = struct{}{}
	go s.run(ctx, c)
	return s.out, nil
}

// gateLocked refuses calls whose context has ended or while the chain is down.
func (c *Chain) gateLocked(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.down {
		return fmt.Errorf("memory chain: down: %w", ports.ErrUnavailable)
	}
	return nil
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

// feedLocked queues for s the events of the confirmed blocks it has not been
// given yet.
func (c *Chain) feedLocked(s *chainSub) {
	last := c.confirmedLocked()
	for ; s.next <= last; s.next++ {
		if evs := chainBlockEvents(c.blocks[s.next]); len(evs) > 0 {
			s.push(evs)
		}
	}
}

// ConfirmedBlock returns the newest block the ports.Chain views see: the
// head less the confirmation depth (see WithConfirmations), at least 0.
func (c *Chain) ConfirmedBlock() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.confirmedLocked()
}

// Logs returns the events of the blocks from through to of the current
// chain (up to the head), in chain order, as eth_getLogs would. They are
// copies.
func (c *Chain) Logs(from, to uint64) []core.ChainEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []core.ChainEvent
	for b := from; b <= to && b < uint64(len(c.blocks)); b++ {
		for _, ev := range chainBlockEvents(c.blocks[b]) {
			out = append(out, chainCloneEvent(ev))
		}
	}
	return out
}

// ReorgMode says what becomes of the transactions of the blocks a reorg
// removes.
type ReorgMode uint8

const (
	// ReorgRequeue puts them back in the pending queue, in their order and
	// ahead of the transactions already pending, as nodes return them to
	// their mempools; the next Mine executes them again.
	ReorgRequeue ReorgMode = iota
	// ReorgDrop forgets them, as if the new branch carried conflicting
	// transactions (a double spend): Receipt no longer knows them.
	ReorgDrop
)

// Reorg replaces the last depth blocks with an empty branch: it undoes their
// transactions newest first, removes the blocks (the head goes back to the
// block before them, its number and its time) and requeues or drops their
// transactions according to mode. It returns the hashes of the transactions
// the removed blocks held, in order. The genesis block is never removed, so
// depth is capped at the head's number. Without WithManualMining requeued
// transactions are mined again at once, in one block.
//
// Event streams that were given no removed block carry on and deliver the
// new branch's blocks as they are mined (and confirmed). A stream that was
// given a removed block drops what it has not delivered of them and gets a
// core.EventRewound at the new head, the common ancestor, before the new
// branch's events: its reader must undo what the removed blocks told it
// (see core.Rewound). A confirmation depth larger than the reorg spares it.
func (c *Chain) Reorg(depth int, mode ReorgMode) []ports.TxHash {
	c.mu.Lock()
	defer c.mu.Unlock()
	depth = min(max(depth, 0), len(c.blocks)-1)
	if depth == 0 {
		return nil
	}
	keep := len(c.blocks) - depth
	removed := c.blocks[keep:]
	for i := len(removed) - 1; i >= 0; i-- {
		txs := removed[i].txs
		for j := len(txs) - 1; j >= 0; j-- {
			for k := len(txs[j].undo) - 1; k >= 0; k-- {
				txs[j].undo[k]()
			}
		}
	}
	for s := range c.subs {
		c.rewindSubLocked(s, keep, len(c.blocks))
	}
	var txs []*chainTx
	var hashes []ports.TxHash
	for _, b := range removed {
		for _, tx := range b.txs {
			tx.mined, tx.block, tx.time, tx.index = false, 0, 0, 0
			tx.err, tx.logs, tx.undo, tx.held = nil, nil, nil, nil
			txs = append(txs, tx)
			hashes = append(hashes, tx.hash)
		}
	}
	c.blocks = c.blocks[:keep:keep]
	switch mode {
	case ReorgDrop:
		for _, tx := range txs {
			delete(c.txs, tx.hash)
		}
	default:
		c.pending = append(txs, c.pending...)
		if !c.manual && len(c.pending) > 0 {
			c.mineLocked(c.nextTimeLocked())
		}
	}
	return hashes
}

func chainBlockEvents(b *chainBlock) []core.ChainEvent {
	var evs []core.ChainEvent
	for _, tx := range b.txs {
		evs = append(evs, tx.logs...)
	}
	return evs
}

// chainExec executes one transaction against the chain's state, journaling
// every change so that a revert (or a later reorg) can undo it.
type chainExec struct {
	c    *Chain
	from nitro.Address
	time uint64
	undo []func()
	logs []core.ChainEvent
	held []chainHeld
}

func (x *chainExec) run(tx *chainTx) error {
	if tx.deposit != nil {
		return x.deposit(*tx.deposit)
	}
	return x.conclude(*tx.conclude)
}

func (x *chainExec) rollback() {
	for i := len(x.undo) - 1; i >= 0; i-- {
		x.undo[i]()
	}
	x.undo, x.logs, x.held = nil, nil, nil
}

// setHoldings sets what asset holder ah holds for id, journaling the old
// value for undo and for confirmed reads.
func (x *chainExec) setHoldings(ah *chainAssetHolder, id nitro.Bytes32, v *big.Int) {
	x.held = append(x.held, chainHeld{asset: ah.addr, id: id, old: chainGet(ah.holdings, id)})
	chainSet(x, ah.holdings, id, v)
}

func (x *chainExec) emit(ev core.ChainEvent) { x.logs = append(x.logs, ev) }

// chainSet sets m[k] = v, journaling the old entry.
func chainSet[K comparable](x *chainExec, m map[K]*big.Int, k K, v *big.Int) {
	old, ok := m[k]
	x.undo = append(x.undo, func() {
		if ok {
			m[k] = old
		} else {
			delete(m, k)
		}
	})
	m[k] = v
}

// chainGet returns m[k] or zero. Stored values are never modified in place.
func chainGet[K comparable](m map[K]*big.Int, k K) *big.Int {
	if v, ok := m[k]; ok {
		return v
	}
	return new(big.Int)
}

// move transfers amt (which from is known to have) in ledger m.
func (x *chainExec) move(m map[nitro.Address]*big.Int, from, to nitro.Address, amt *big.Int) {
	chainSet(x, m, from, new(big.Int).Sub(chainGet(m, from), amt))
	chainSet(x, m, to, new(big.Int).Add(chainGet(m, to), amt))
}

func (x *chainExec) setStatus(id nitro.Bytes32, st chainChannelStatus) {
	m := x.c.status
	old, ok := m[id]
	x.undo = append(x.undo, func() {
		if ok {
			m[id] = old
		} else {
			delete(m, id)
		}
	})
	m[id] = st
}

func chainRevert(reason string) error { return &ports.RevertError{Reason: reason} }

// deposit models ETHAssetHolder.deposit and ERC20AssetHolder.deposit.
func (x *chainExec) deposit(req ports.DepositRequest) error {
	c := x.c
	ah := c.holders[req.Asset]
	if ah == nil {
		return chainRevert(ChainReasonNoCode)
	}
	if !ah.erc20 && chainGet(c.balances, x.from).Cmp(req.Amount) < 0 {
		// The node refuses a transaction whose value exceeds the balance.
		return fmt.Errorf("memory chain: %s cannot send %s wei: %w", x.from, req.Amount, ports.ErrInsufficientFunds)
	}
	if nitro.IsExternalDestination(req.ChannelID) {
		return chainRevert(ChainReasonExternalDestination)
	}
	held := chainGet(ah.holdings, req.ChannelID)
	if held.Cmp(req.ExpectedHeld) < 0 {
		return chainRevert(ports.ReasonHoldingsBelowExpected)
	}
	target := new(big.Int).Add(req.ExpectedHeld, req.Amount)
	if target.Cmp(chainMaxUint256) > 0 {
		return chainRevert(ChainReasonAdditionOverflow)
	}
	if held.Cmp(target) >= 0 {
		return chainRevert(ports.ReasonHoldingsSufficient)
	}
	deposited := new(big.Int).Sub(target, held)
	if ah.erc20 {
		// transferFrom pulls only what is deposited.
		if chainGet(ah.tokens, x.from).Cmp(deposited) < 0 {
			return fmt.Errorf("%w (%w)", chainRevert(ChainReasonERC20Balance), ports.ErrInsufficientFunds)
		}
		x.move(ah.tokens, x.from, ah.addr, deposited)
	} else {
		// The sender pays amount and is refunded amount - deposited.
		x.move(c.balances, x.from, ah.addr, deposited)
	}
	now := new(big.Int).Add(held, deposited)
	x.setHoldings(ah, req.ChannelID, now)
	x.emit(core.ChainEvent{
		Kind: core.EventDeposited, ChannelID: req.ChannelID, Asset: ah.addr,
		AmountDeposited: new(big.Int).Set(deposited), Holdings: new(big.Int).Set(now),
	})
	return nil
}

// conclude models NitroAdjudicator.concludePushOutcomeAndTransferAll with
// one state, in the contract's order of checks.
func (x *chainExec) conclude(req ports.ConcludeRequest) error {
	c := x.c
	st := req.State
	if st.ChainID.Cmp(c.chainID) != 0 {
		return chainRevert(ChainReasonIncorrectChainID)
	}
	n := len(st.Participants)
	if n > nitro.MaxParticipants {
		// Never concluded, so never finalized: the next check is the first
		// to fail.
		return chainRevert(ChainReasonTooManyParticipants)
	}
	id, err := st.ChannelID()
	if err != nil {
		return fmt.Errorf("memory chain: conclude: %w", err)
	}
	if c.finalizedLocked(id, x.time) {
		return chainRevert(ports.ReasonChannelFinalized)
	}
	// requireValidInput(n, numStates = 1, |sigs|, |whoSignedWhat| = n).
	if n < 1 {
		return chainRevert(ChainReasonStateCount)
	}
	if len(req.Signatures) != n {
		return chainRevert(ChainReasonInputLengths)
	}
	if n >= nitro.MaxParticipants {
		return chainRevert(ChainReasonTooManyParticipants)
	}
	if st.TurnNum == nitro.MaxUint48 {
		// uint48 largestTurnNum + 1 wraps to 0 in the contract.
		return chainRevert(ChainReasonTurnNumTooLow)
	}
	final := st
	final.IsFinal = true
	hash, err := final.Hash()
	if err != nil {
		return fmt.Errorf("memory chain: conclude: %w", err)
	}
	for i, p := range st.Participants {
		signer, err := nitro.RecoverSigner(hash, req.Signatures[i])
		if err != nil {
			return chainRevert(ports.ReasonInvalidSignature)
		}
		if signer != p {
			return chainRevert(ChainReasonInvalidSignatures)
		}
	}
	outcomeHash, err := st.Outcome.Hash()
	if err != nil {
		return fmt.Errorf("memory chain: conclude: %w", err)
	}
	x.setStatus(id, chainChannelStatus{turnNumRecord: 0, finalizesAt: x.time, outcomeHash: outcomeHash})
	x.emit(core.ChainEvent{Kind: core.EventConcluded, ChannelID: id, FinalizesAt: x.time})
	for _, ao := range st.Outcome {
		if err := x.transferAll(id, ao); err != nil {
			return err
		}
	}
	return nil
}

// transferAll models AssetHolder.transferAllAdjudicatorOnly: the allocation
// is paid in order out of the channel's holdings, each item getting
// min(amount, what is left).
func (x *chainExec) transferAll(id nitro.Bytes32, ao nitro.AssetOutcome) error {
	if ao.Guarantee != nil {
		return chainRevert(ChainReasonNotAllocation)
	}
	ah := x.c.holders[ao.AssetHolder]
	if ah == nil {
		return chainRevert(ChainReasonNoCode)
	}
	initial := chainGet(ah.holdings, id)
	surplus := new(big.Int).Set(initial)
	total := new(big.Int)
	pays := make([]*big.Int, len(ao.Allocation))
	for i, it := range ao.Allocation {
		pay := new(big.Int).Set(it.Amount)
		if pay.Cmp(surplus) > 0 {
			pay.Set(surplus)
		}
		surplus.Sub(surplus, pay)
		total.Add(total, pay)
		pays[i] = pay
	}
	x.setHoldings(ah, id, new(big.Int).Sub(initial, total))
	for i, it := range ao.Allocation {
		if pays[i].Sign() == 0 {
			continue
		}
		if !nitro.IsExternalDestination(it.Destination) {
			x.setHoldings(ah, it.Destination, new(big.Int).Add(chainGet(ah.holdings, it.Destination), pays[i]))
			continue
		}
		to := nitro.DestinationToAddress(it.Destination)
		if ah.erc20 {
			if to == (nitro.Address{}) {
				return chainRevert(ChainReasonERC20ZeroAddress)
			}
			x.move(ah.tokens, ah.addr, to, pays[i])
			continue
		}
		if x.c.isContract(to) {
			// The adjudicator and asset holders have no payable fallback.
			return chainRevert(ChainReasonETHTransfer)
		}
		x.move(x.c.balances, ah.addr, to, pays[i])
	}
	x.emit(core.ChainEvent{
		Kind: core.EventAllocationUpdated, ChannelID: id, Asset: ah.addr,
		InitialHoldings: new(big.Int).Set(initial),
	})
	return nil
}

func (c *Chain) isContract(a nitro.Address) bool {
	_, ok := c.holders[a]
	return ok || a == c.adjudicator
}

// chainSub is one event stream: a queue filled by the chain under its lock
// and drained to out by the subscriber's goroutine.
type chainSub struct {
	// from is the first block asked for; next is the next block whose
	// events are to be queued (both guarded by the chain's lock).
	from  uint64
	next  uint64
	mu    sync.Mutex
	queue []core.ChainEvent
	wake  chan struct{}
	stop  chan struct{}
	out   chan core.ChainEvent
}

func (s *chainSub) push(evs []core.ChainEvent) {
	s.mu.Lock()
	for _, ev := range evs {
		s.queue = append(s.queue, chainCloneEvent(ev))
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *chainSub) run(ctx context.Context, c *Chain) {
	defer close(s.out)
	defer c.unsubscribe(s)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			case <-s.stop:
				return
			}
		}
		ev := s.queue[0]
		s.queue[0] = core.ChainEvent{}
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.out <- ev:
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		}
	}
}

func (c *Chain) unsubscribe(s *chainSub) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.subs, s)
}

func chainCloneEvent(ev core.ChainEvent) core.ChainEvent {
	for _, p := range []**big.Int{&ev.AmountDeposited, &ev.Holdings, &ev.InitialHoldings} {
		if *p != nil {
			*p = new(big.Int).Set(*p)
		}
	}
	return ev
}
