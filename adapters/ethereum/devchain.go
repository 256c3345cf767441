package ethereum

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
)

// DevOptions tunes NewDevChain.
type DevOptions struct {
	// Artifacts to deploy; nil means LoadArtifacts("").
	Artifacts *Artifacts
	// Alloc funds accounts in the genesis block (wei).
	Alloc map[common.Address]*big.Int
	// MainnetRules runs today's mainnet gas rules instead of the dev
	// chain's: go-ethereum's dev config with the Bogota fork (EIP-8037/8038
	// state-gas repricing, about 3x dearer new storage) switched off.
	MainnetRules bool
	// PollInterval is the Config.PollInterval of NewChain's chains and of
	// the dev chain's own transactions (default 5 ms).
	PollInterval time.Duration
	// OnTx observes the dev chain's own transactions (deployments and
	// funding), and is the default Config.OnTx of NewChain's chains.
	OnTx func(TxInfo)
}

// DevChain is go-ethereum's in-process simulated chain (chain id 1337)
// with the Nitro 0.17.0 contracts and the package's test Token deployed
// from the npm artifacts, and a funded faucet account that owns the
// Token supply. Its client mines a block after every transaction sent
// through it, so app-level code runs without manual mining; Commit mines
// an extra (empty) block.
type DevChain struct {
	// Backend is the simulated chain; use Commit rather than
	// Backend.Commit so commits are serialized.
	Backend *simulated.Backend
	// Deployment locates the contracts.
	Deployment Deployment

	opts    DevOptions
	client  Client
	commit  sync.Mutex // serializes Commit, RollbackTo and Close
	closed  bool       // set under commit by Close
	faucet  *sender
	stop    context.CancelFunc
	chainMu sync.Mutex
	chains  []*Chain
}

// faucetBalance is the faucet's genesis balance: 10^9 ether.
var faucetBalance = new(big.Int).Mul(big.NewInt(1e9), big.NewInt(1e18))

// faucetKey is the dev chain's well-known faucet key (keccak256 of a
// fixed string); never use it on a real network.
func faucetKey() *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("nitrowallet/ethereum/devchain/faucet")))
	if err != nil {
		panic(err)
	}
	return k
}

// NewDevChain starts a simulated chain and deploys the contracts.
func NewDevChain(ctx context.Context, opts DevOptions) (*DevChain, error) {
	art := opts.Artifacts
	if art == nil {
		var err error
		if art, err = LoadArtifacts(""); err != nil {
			return nil, err
		}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Millisecond
	}
	key := faucetKey()
	alloc := types.GenesisAlloc{crypto.PubkeyToAddress(key.PublicKey): {Balance: faucetBalance}}
	for a, wei := range opts.Alloc {
		alloc[a] = types.Account{Balance: new(big.Int).Set(wei)}
	}
	var simOpts []func(*node.Config, *ethconfig.Config)
	if opts.MainnetRules {
		simOpts = append(simOpts, func(_ *node.Config, ec *ethconfig.Config) {
			cfg := *ec.Genesis.Config
			cfg.BogotaTime = nil
			ec.Genesis.Config = &cfg
		})
	}
	d := &DevChain{Backend: simulated.NewBackend(alloc, simOpts...), opts: opts}
	d.client = autoCommit{Client: d.Backend.Client(), d: d}
	id, err := d.client.ChainID(ctx)
	if err != nil {
		_ = d.Backend.Close()
		return nil, err
	}
	life, stop := context.WithCancel(context.Background())
	d.stop = stop
	cfg := &Config{PollInterval: opts.PollInterval, OnTx: opts.OnTx}
	cfg.setDefaults()
	d.faucet = &sender{client: d.client, signer: KeySigner(key), chainID: id, cfg: cfg, life: life}
	d.Deployment, err = Deploy(ctx, d.client, KeySigner(key), art, DeployOptions{Token: true, Config: *cfg})
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// autoCommit mines a block after every transaction it sends.
type autoCommit struct {
	simulated.Client
	d *DevChain
}

func (c autoCommit) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	if err := c.Client.SendTransaction(ctx, tx); err != nil {
		return err
	}
	c.d.Commit()
	return nil
}

// Client returns the dev chain's client: it mines a block after every
// transaction it sends, so a sent transaction is mined at once.
func (d *DevChain) Client() Client { return d.client }

// Commit mines a block with the pending transactions. After Close it
// mines nothing and returns the zero hash: a block sealed while the
// backend closes writes to a closed database, and go-ethereum answers that
// with log.Crit, which exits the process with status 1 and no output (a CI
// run lost the whole package's tests that way).
func (d *DevChain) Commit() common.Hash {
	d.commit.Lock()
	defer d.commit.Unlock()
	if d.closed {
		return common.Hash{}
	}
	return d.Backend.Commit()
}

// Faucet is the funded account that deployed the contracts and owns the
// Token supply.
func (d *DevChain) Faucet() common.Address { return d.faucet.signer.Address() }

// NewChain returns a Chain on the dev chain's contracts sending from key,
// with the dev chain's poll interval and observer unless cfg sets them.
// cfg's Client, Signer and Contracts are filled in, and Dev is set (no
// confirmation depth unless cfg sets one). The DevChain closes it.
// Blocks are only mined for transactions (and Commit), so with
// cfg.Confirmations above 0 events wait for later transactions or Commits.
func (d *DevChain) NewChain(ctx context.Context, key *ecdsa.PrivateKey, cfg Config) (*Chain, error) {
	cfg.Client, cfg.Signer, cfg.Contracts, cfg.Dev = d.client, KeySigner(key), d.Deployment.Contracts, true
	if cfg.PollInterval == 0 {
		cfg.PollInterval = d.opts.PollInterval
	}
	if cfg.OnTx == nil {
		cfg.OnTx = d.opts.OnTx
	}
	c, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d.chainMu.Lock()
	d.chains = append(d.chains, c)
	d.chainMu.Unlock()
	return c, nil
}

// Fund sends wei from the faucet to addr and waits until it is mined.
func (d *DevChain) Fund(ctx context.Context, addr common.Address, wei *big.Int) error {
	before, err := d.Balance(ctx, addr)
	if err != nil {
		return err
	}
	if _, _, err := d.faucet.transact(ctx, call{kind: "fund", to: &addr, value: new(big.Int).Set(wei)}); err != nil {
		return err
	}
	// The simulated chain can report the receipt before the head's state
	// shows the transfer; wait until it does.
	want := new(big.Int).Add(before, wei)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := d.Balance(ctx, addr)
		if err != nil {
			return err
		}
		if b.Cmp(want) >= 0 {
			// The transaction pool adopts a new head's state in the
			// background, so a transaction sent at once could still be
			// refused for a balance of 0 (TestChallengeEvents, seen on a
			// loaded machine). The simulated chain syncs the pool before it
			// seals a block: mining one more makes the pool's state hold
			// the transfer, whichever head it has adopted.
			d.Commit()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ethereum: fund %s: balance %v after the transfer, want %v", addr, b, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// FundToken transfers amount test tokens from the faucet to addr.
func (d *DevChain) FundToken(ctx context.Context, addr common.Address, amount *big.Int) error {
	data, err := erc20ABI.Pack("transfer", addr, amount)
	if err != nil {
		return err
	}
	tok := d.Deployment.Token
	_, _, err = d.faucet.transact(ctx, call{kind: "mint", to: &tok, data: data})
	return err
}

// Balance returns addr's ETH balance at the head.
func (d *DevChain) Balance(ctx context.Context, addr common.Address) (*big.Int, error) {
	b, err := d.client.BalanceAt(ctx, addr, nil)
	return b, classify("read balance", err)
}

// TokenBalance returns addr's test token balance at the head.
func (d *DevChain) TokenBalance(ctx context.Context, addr common.Address) (*big.Int, error) {
	return TokenBalance(ctx, d.client, d.Deployment.Token, addr)
}

// TokenBalance reads an ERC20 balance.
func TokenBalance(ctx context.Context, client Client, token, addr common.Address) (*big.Int, error) {
	data, err := erc20ABI.Pack("balanceOf", addr)
	if err != nil {
		return nil, err
	}
	res, err := client.CallContract(ctx, ethereum.CallMsg{To: &token, Data: data}, nil)
	if err != nil {
		return nil, classify("balanceOf", err)
	}
	vals, err := erc20ABI.Unpack("balanceOf", res)
	if err != nil {
		return nil, fmt.Errorf("ethereum: balanceOf: %w", err)
	}
	return vals[0].(*big.Int), nil
}

// Close stops the chains built by NewChain and the simulated chain.
func (d *DevChain) Close() {
	d.chainMu.Lock()
	chains := d.chains
	d.chains = nil
	d.chainMu.Unlock()
	for _, c := range chains {
		c.Close()
	}
	d.stop()
	d.faucet.wg.Wait()
	d.commit.Lock()
	defer d.commit.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	_ = d.Backend.Close()
}
