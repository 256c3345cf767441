package ethereum

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Contracts locates a deployment of the Nitro 0.17.0 contracts.
type Contracts struct {
	Adjudicator    common.Address
	ETHAssetHolder common.Address
	// ERC20AssetHolders are the deployment's ERC20 asset holders; each
	// one's token is read from the contract.
	ERC20AssetHolders []common.Address
	// StartBlock is the first block that can hold their events (the
	// deployment block); event streams never scan below it.
	StartBlock uint64
}

// Config wires a Chain to a node, an account and a deployment. Zero fields
// take the defaults documented on each.
type Config struct {
	Client    Client
	Signer    TxSigner
	Contracts Contracts

	// Confirmations is how many blocks an event waits below the head
	// before it is streamed, and the depth Holdings reads at: a deposit is
	// only counted once a reorg that deep is needed to undo it. Default
	// DefaultConfirmations, or 0 (as soon as it is mined) on a dev chain.
	Confirmations uint64
	// Dev marks a local development chain whose blocks nobody reorgs:
	// go-ethereum's simulated chain (DevChain.NewChain sets it) or a dev
	// node such as geth --dev, anvil or hardhat. Only a dev chain's
	// Confirmations defaults to 0; New refuses Dev on a chain whose id is
	// not a dev chain's (1337 or 31337) with ErrNotDevChain.
	Dev bool
	// PollInterval is how often event streams and transaction trackers ask
	// the node for news (default 1 s).
	PollInterval time.Duration
	// MaxBlockRange caps the blocks of one eth_getLogs call (default 2000).
	MaxBlockRange uint64
	// GasMarginPercent is added to every gas estimate (default 30).
	GasMarginPercent uint64
	// StuckBlocks and StuckTimeout: a transaction not mined after that many
	// new blocks, or that long, is resubmitted with the same nonce and fees
	// raised by FeeBumpPercent (defaults 3 blocks, 2 minutes, 25%; nodes
	// require at least 10%).
	StuckBlocks    uint64
	StuckTimeout   time.Duration
	FeeBumpPercent uint64
	// UnavailableAfter is how many failed receipt polls in a row make a
	// waiting call return an ports.ErrUnavailable error (default 3); the
	// transaction is still followed in the background.
	UnavailableAfter int
	// ReceiptWait bounds how long Deposit and ConcludeAndTransferAll wait
	// for their transaction's receipt (default DefaultReceiptWait): after
	// it they return ErrNotMined while the transaction is still followed
	// (and resubmitted if stuck) in the background, so a lost or
	// underpriced transaction never holds its caller for long.
	ReceiptWait time.Duration
	// CallTimeout bounds every call to the node (default
	// DefaultCallTimeout): a node that stops answering surfaces as
	// ports.ErrUnavailable after it, and the call is tried again as the
	// caller's retry policy says.
	CallTimeout time.Duration
	// OnTx, if set, is called once for every transaction when it is mined
	// or abandoned (from the tracker's goroutine).
	OnTx func(TxInfo)

	// firstFeeCap rewrites a new transaction's fee cap (tests make the
	// first submission underpriced to exercise resubmission).
	firstFeeCap func(*big.Int) *big.Int
}

func (c *Config) setDefaults() {
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.MaxBlockRange == 0 {
		c.MaxBlockRange = 2000
	}
	if c.GasMarginPercent == 0 {
		c.GasMarginPercent = 30
	}
	if c.StuckBlocks == 0 {
		c.StuckBlocks = 3
	}
	if c.StuckTimeout <= 0 {
		c.StuckTimeout = 2 * time.Minute
	}
	if c.FeeBumpPercent < 10 {
		c.FeeBumpPercent = 25
	}
	if c.UnavailableAfter <= 0 {
		c.UnavailableAfter = 3
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.ReceiptWait <= 0 {
		c.ReceiptWait = DefaultReceiptWait
	}
}

// ErrUnknownAssetHolder is returned for an asset that is not one of the
// deployment's asset holders (a deposit to it would not revert on an EVM,
// it would just lose the funds).
var ErrUnknownAssetHolder = errors.New("ethereum: not an asset holder of this deployment")

// ErrNotMined: a transaction was sent but its receipt did not come within
// Config.ReceiptWait; it may still be mined (it is followed, and
// resubmitted if stuck). It matches ports.ErrUnavailable, so the wallet
// retries the effect later, which Nitro makes harmless.
var ErrNotMined = fmt.Errorf("ethereum: transaction not mined in time: %w", ports.ErrUnavailable)

// ErrTxReplaced: the transaction's nonce was used by another transaction
// (it was dropped or replaced); its effect did not happen, and the wallet
// submits it again later.
var ErrTxReplaced = errors.New("ethereum: the transaction's nonce was used by another transaction")

// DefaultReceiptWait is Config.ReceiptWait's default.
const DefaultReceiptWait = 30 * time.Second

// Chain implements ports.Chain on an EVM node carrying the Nitro 0.17.0
// contracts, sending from one account. See the package documentation for
// how transactions are submitted, tracked and reported.
type Chain struct {
	cfg     Config
	client  Client
	chainID *big.Int
	send    *sender
	tokens  map[common.Address]common.Address // ERC20 asset holder -> token
	watch   []common.Address
	topics  []common.Hash

	tokenLocks map[common.Address]*sync.Mutex

	stop context.CancelFunc
	done sync.WaitGroup // event streams

	// wakers are the event streams' wake-up channels: a stream polls at
	// once when one of the chain's own transactions is mined, so a wallet
	// sees the events of its own transactions without a poll delay.
	wakeMu sync.Mutex
	wakers map[chan struct{}]struct{}
}

var _ ports.Chain = (*Chain)(nil)

// Parsed ABIs; they are constants of the package.
var (
	adjudicatorABI = mustABI(adjudicatorABIJSON)
	assetHolderABI = mustABI(assetHolderABIJSON)
	erc20ABI       = mustABI(erc20ABIJSON)
)

func mustABI(s string) abi.ABI {
	a, err := abi.JSON(strings.NewReader(s))
	if err != nil {
		panic(err)
	}
	return a
}

// New connects a Chain: it reads the chain id and checks that every asset
// holder answers to the configured adjudicator.
func New(ctx context.Context, cfg Config) (*Chain, error) {
	if cfg.Client == nil || cfg.Signer == nil {
		return nil, errors.New("ethereum: Config needs a Client and a Signer")
	}
	if cfg.Contracts.Adjudicator == (common.Address{}) || cfg.Contracts.ETHAssetHolder == (common.Address{}) {
		return nil, errors.New("ethereum: Config.Contracts needs the adjudicator and the ETH asset holder")
	}
	cfg.setDefaults()
	if _, ok := cfg.Client.(deadlineClient); !ok {
		cfg.Client = deadlineClient{Client: cfg.Client, timeout: cfg.CallTimeout}
	}
	id, err := cfg.Client.ChainID(ctx)
	if err != nil {
		return nil, classify("read chain id", err)
	}
	if cfg.Confirmations, err = confirmations(cfg, id); err != nil {
		return nil, err
	}
	life, stop := context.WithCancel(context.Background())
	c := &Chain{
		cfg: cfg, client: cfg.Client, chainID: id, stop: stop,
		tokens:     map[common.Address]common.Address{},
		tokenLocks: map[common.Address]*sync.Mutex{},
		wakers:     map[chan struct{}]struct{}{},
		watch:      []common.Address{cfg.Contracts.Adjudicator, cfg.Contracts.ETHAssetHolder},
	}
	c.send = &sender{client: cfg.Client, signer: cfg.Signer, chainID: id, cfg: &c.cfg, life: life, mined: c.wake}
	holders := append([]common.Address{cfg.Contracts.ETHAssetHolder}, cfg.Contracts.ERC20AssetHolders...)
	for i, h := range holders {
		var adj common.Address
		if err := c.view(ctx, assetHolderABI, h, "AdjudicatorAddress", &adj); err != nil {
			stop()
			return nil, fmt.Errorf("ethereum: asset holder %s: %w", h, err)
		}
		if adj != cfg.Contracts.Adjudicator {
			stop()
			return nil, fmt.Errorf("ethereum: asset holder %s answers to adjudicator %s, not %s", h, adj, cfg.Contracts.Adjudicator)
		}
		if i == 0 {
			continue
		}
		var tok common.Address
		if err := c.view(ctx, assetHolderABI, h, "Token", &tok); err != nil {
			stop()
			return nil, fmt.Errorf("ethereum: ERC20 asset holder %s: %w", h, err)
		}
		c.tokens[h] = tok
		c.tokenLocks[h] = &sync.Mutex{}
		c.watch = append(c.watch, h)
	}
	for _, ev := range []abi.Event{
		assetHolderABI.Events["Deposited"], assetHolderABI.Events["AllocationUpdated"],
		adjudicatorABI.Events["Concluded"], adjudicatorABI.Events["ChallengeRegistered"], adjudicatorABI.Events["ChallengeCleared"],
	} {
		c.topics = append(c.topics, ev.ID)
	}
	return c, nil
}

// Close stops the chain's event streams and transaction trackers and waits
// for them. Calls in progress return errors.
func (c *Chain) Close() {
	c.stop()
	c.send.wg.Wait()
	c.done.Wait()
}

// ChainID implements ports.Chain.
func (c *Chain) ChainID() *big.Int { return new(big.Int).Set(c.chainID) }

// AssetHolders implements ports.Chain: the deployment's ETH asset holder,
// then its ERC20 asset holders.
func (c *Chain) AssetHolders() []nitro.Address {
	out := []nitro.Address{nitro.Address(c.cfg.Contracts.ETHAssetHolder)}
	for _, h := range c.cfg.Contracts.ERC20AssetHolders {
		out = append(out, nitro.Address(h))
	}
	return out
}

// Address is the account the chain sends from.
func (c *Chain) Address() common.Address { return c.cfg.Signer.Address() }

// Contracts returns the deployment the chain talks to.
func (c *Chain) Contracts() Contracts { return c.cfg.Contracts }

// Deposit implements ports.Chain. For ETH it calls the ETHAssetHolder's
// deposit(channelId, expectedHeld, amount) sending amount wei; for an ERC20
// asset holder it first approves the holder for amount tokens (unless the
// allowance already covers it), then calls deposit. It returns once the
// deposit is mined; see the package documentation.
func (c *Chain) Deposit(ctx context.Context, req ports.DepositRequest) (ports.TxHash, error) {
	if err := nitro.CheckAmount(req.ExpectedHeld); err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: deposit expectedHeld: %w", err)
	}
	if err := nitro.CheckAmount(req.Amount); err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: deposit amount: %w", err)
	}
	data, err := assetHolderABI.Pack("deposit", req.ChannelID, req.ExpectedHeld, req.Amount)
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: deposit: %w", err)
	}
	holder := req.Asset
	if _, ok := c.tokens[holder]; !ok && holder != c.cfg.Contracts.ETHAssetHolder {
		return ports.TxHash{}, fmt.Errorf("ethereum: deposit to %s: %w", holder, ErrUnknownAssetHolder)
	}
	// A node that came back without the deployment would take a deposit to
	// an empty address as a plain transfer: refuse it, typed.
	if err := c.hasCode(ctx, holder); err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: deposit: %w", err)
	}
	if holder == c.cfg.Contracts.ETHAssetHolder {
		h, _, err := c.send.transact(ctx, call{kind: "deposit", to: &holder, value: new(big.Int).Set(req.Amount), data: data})
		return h, err
	}
	token, ok := c.tokens[holder]
	if !ok {
		return ports.TxHash{}, fmt.Errorf("ethereum: deposit to %s: %w", holder, ErrUnknownAssetHolder)
	}
	// One ERC20 deposit per asset holder at a time, so that concurrent
	// deposits do not overwrite each other's allowance.
	lock := c.tokenLocks[holder]
	lock.Lock()
	defer lock.Unlock()
	var allowance *big.Int
	if err := c.view(ctx, erc20ABI, token, "allowance", &allowance, c.Address(), holder); err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: deposit: %w", err)
	}
	if allowance.Cmp(req.Amount) < 0 {
		approve, err := erc20ABI.Pack("approve", holder, req.Amount)
		if err != nil {
			return ports.TxHash{}, fmt.Errorf("ethereum: approve: %w", err)
		}
		if _, _, err := c.send.transact(ctx, call{kind: "approve", to: &token, data: approve}); err != nil {
			return ports.TxHash{}, err
		}
	}
	h, _, err := c.send.transact(ctx, call{kind: "deposit", to: &holder, data: data})
	return h, err
}

// ConcludeAndTransferAll implements ports.Chain: the adjudicator's
// concludePushOutcomeAndTransferAll with the state's turn number as
// largestTurnNum, one state (which the contract hashes with isFinal true),
// whoSignedWhat all zero and the signatures in participant order. It
// returns once the transaction is mined.
func (c *Chain) ConcludeAndTransferAll(ctx context.Context, req ports.ConcludeRequest) (ports.TxHash, error) {
	data, err := concludeCalldata(req)
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: conclude: %w", err)
	}
	adj := c.cfg.Contracts.Adjudicator
	h, _, err := c.send.transact(ctx, call{kind: "conclude", to: &adj, data: data})
	return h, err
}

// abiFixedPart and abiSignature mirror the contract's tuples; go-ethereum
// matches fields by the CamelCased component names.
type abiFixedPart struct {
	ChainId           *big.Int
	Participants      []common.Address
	ChannelNonce      *big.Int
	AppDefinition     common.Address
	ChallengeDuration *big.Int
}

type abiSignature struct {
	V uint8
	R [32]byte
	S [32]byte
}

func concludeCalldata(req ports.ConcludeRequest) ([]byte, error) {
	st := req.State
	if st.ChainID == nil {
		return nil, nitro.ErrBadChainID
	}
	final := st
	final.IsFinal = true
	if _, err := final.Hash(); err != nil {
		return nil, err
	}
	appPart, err := st.AppPartHash()
	if err != nil {
		return nil, err
	}
	outcome, err := st.Outcome.Encode()
	if err != nil {
		return nil, err
	}
	n := len(st.Participants)
	sigs := make([]abiSignature, len(req.Signatures))
	for i, s := range req.Signatures {
		sigs[i] = abiSignature{V: s.V, R: s.R, S: s.S}
	}
	fp := abiFixedPart{
		ChainId: st.ChainID, Participants: st.Participants,
		ChannelNonce:      new(big.Int).SetUint64(st.ChannelNonce),
		AppDefinition:     st.AppDefinition,
		ChallengeDuration: new(big.Int).SetUint64(st.ChallengeDuration),
	}
	return adjudicatorABI.Pack("concludePushOutcomeAndTransferAll",
		new(big.Int).SetUint64(st.TurnNum), fp, appPart, outcome, uint8(1), make([]uint8, n), sigs)
}

// Holdings implements ports.Chain: the asset holder's holdings(channelId)
// at the head block, or with Confirmations at the newest confirmed block.
func (c *Chain) Holdings(ctx context.Context, asset nitro.Address, channelID nitro.Bytes32) (*big.Int, error) {
	if _, ok := c.tokens[asset]; !ok && asset != c.cfg.Contracts.ETHAssetHolder {
		return nil, fmt.Errorf("ethereum: holdings at %s: %w", asset, ErrUnknownAssetHolder)
	}
	// With a confirmation depth, read the newest confirmed block, as the
	// event stream does: a deposit a reorg may still undo must not count.
	at, ok, err := c.confirmedBlock(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return new(big.Int), nil
	}
	var h *big.Int
	if err := c.viewAt(ctx, at, assetHolderABI, asset, "holdings", &h, channelID); err != nil {
		return nil, err
	}
	return h, nil
}

// view calls a view function at the head block and unpacks its single
// result into out.
func (c *Chain) view(ctx context.Context, a abi.ABI, to common.Address, method string, out any, args ...any) error {
	return c.viewAt(ctx, nil, a, to, method, out, args...)
}

// viewAt calls a view function at block (nil: the head) and unpacks its
// single result into out.
func (c *Chain) viewAt(ctx context.Context, block *big.Int, a abi.ABI, to common.Address, method string, out any, args ...any) error {
	data, err := a.Pack(method, args...)
	if err != nil {
		return fmt.Errorf("ethereum: %s: %w", method, err)
	}
	res, err := c.client.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, block)
	if err != nil {
		return classify(method, err)
	}
	if len(res) == 0 {
		return fmt.Errorf("ethereum: %s at %s: %w", method, to, ports.ErrNoContract)
	}
	vals, err := a.Unpack(method, res)
	if err != nil || len(vals) != 1 {
		return fmt.Errorf("ethereum: %s at %s: unexpected answer %x (no contract there?): %v", method, to, res, err)
	}
	switch o := out.(type) {
	case **big.Int:
		v, ok := vals[0].(*big.Int)
		if !ok {
			return fmt.Errorf("ethereum: %s: got %T", method, vals[0])
		}
		*o = v
	case *common.Address:
		v, ok := vals[0].(common.Address)
		if !ok {
			return fmt.Errorf("ethereum: %s: got %T", method, vals[0])
		}
		*o = v
	default:
		return fmt.Errorf("ethereum: %s: cannot unpack into %T", method, out)
	}
	return nil
}
