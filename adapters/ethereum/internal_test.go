package ethereum

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

var testArtifacts = sync.OnceValues(func() (*Artifacts, error) { return LoadArtifacts("") })

func devChain(t *testing.T, opts DevOptions) *DevChain {
	t.Helper()
	art, err := testArtifacts()
	if err != nil {
		t.Fatal(err)
	}
	opts.Artifacts = art
	d, err := NewDevChain(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func fundedKey(t *testing.T, d *DevChain, name string) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("internal-test/" + name)))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Fund(context.Background(), crypto.PubkeyToAddress(k.PublicKey), big.NewInt(1e18)); err != nil {
		t.Fatal(err)
	}
	return k
}

func channelID(n uint64) nitro.Bytes32 {
	return crypto.Keccak256Hash([]byte(fmt.Sprintf("internal-test-channel-%d", n)))
}

func deposit(t *testing.T, c *Chain, id nitro.Bytes32, expected, amount int64) (ports.TxHash, error) {
	t.Helper()
	return c.Deposit(context.Background(), ports.DepositRequest{
		ChannelID: id, Asset: c.cfg.Contracts.ETHAssetHolder, ExpectedHeld: big.NewInt(expected), Amount: big.NewInt(amount),
	})
}

// TestABIMatchesArtifacts checks the embedded ABI subset against the npm
// artifacts: same selectors, signatures and event topics.
func TestABIMatchesArtifacts(t *testing.T) {
	art, err := testArtifacts()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		embedded abi.ABI
		full     []abi.ABI
	}{
		{"NitroAdjudicator", adjudicatorABI, []abi.ABI{art.NitroAdjudicator.ABI}},
		{"ERC20AssetHolder", assetHolderABI, []abi.ABI{art.ERC20AssetHolder.ABI}},
		{"Token", erc20ABI, []abi.ABI{art.Token.ABI}},
	} {
		for _, full := range tc.full {
			for name, m := range tc.embedded.Methods {
				fm, ok := full.Methods[name]
				if !ok || fm.Sig != m.Sig || string(fm.ID) != string(m.ID) || len(fm.Outputs) != len(m.Outputs) {
					t.Errorf("%s.%s: embedded %s %x, artifact %s %x", tc.name, name, m.Sig, m.ID, fm.Sig, fm.ID)
				}
			}
			for name, e := range tc.embedded.Events {
				fe, ok := full.Events[name]
				if !ok || fe.Sig != e.Sig || fe.ID != e.ID {
					t.Errorf("%s event %s: embedded %s, artifact %s", tc.name, name, e.Sig, fe.Sig)
					continue
				}
				for i := range e.Inputs {
					if e.Inputs[i].Indexed != fe.Inputs[i].Indexed {
						t.Errorf("%s event %s input %d: indexed differs", tc.name, name, i)
					}
				}
			}
		}
	}
	// The ETH asset holder shares the selectors the adapter uses (not Token).
	for name, m := range assetHolderABI.Methods {
		fm, ok := art.ETHAssetHolder.ABI.Methods[name]
		if name != "Token" && (!ok || string(fm.ID) != string(m.ID)) {
			t.Errorf("ETHAssetHolder.%s: selector differs", name)
		}
	}
	if got := assetHolderABI.Events["Deposited"].ID.Hex(); got != "0xb39477ecc06c5293391f8b73168b655d9c1310af93dbbf043187d79f881bbb8f" {
		t.Errorf("Deposited topic %s", got)
	}
}

// dataError is a JSON-RPC error with data, as a node returns for reverts.
type dataError struct {
	msg  string
	data any
}

func (e dataError) Error() string  { return e.msg }
func (e dataError) ErrorData() any { return e.data }

var _ rpc.DataError = dataError{}

func TestClassify(t *testing.T) {
	revertData := func(reason string) string {
		sel := crypto.Keccak256([]byte("Error(string)"))[:4]
		ty, _ := abi.NewType("string", "", nil)
		b, err := abi.Arguments{{Type: ty}}.Pack(reason)
		if err != nil {
			t.Fatal(err)
		}
		return hexutil.Encode(append(sel, b...))
	}
	refused := &url.Error{Op: "Post", URL: "http://127.0.0.1:1", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	for _, tc := range []struct {
		name   string
		err    error
		is     []error
		reason *string
	}{
		{"revert with reason", dataError{"execution reverted: holdings < expectedHeld", revertData(ports.ReasonHoldingsBelowExpected)}, []error{ports.ErrReverted}, ptr(ports.ReasonHoldingsBelowExpected)},
		{"revert without data", errors.New("execution reverted"), []error{ports.ErrReverted}, ptr("")},
		{"reason only in the message", errors.New("execution reverted: Channel finalized."), []error{ports.ErrReverted}, ptr(ports.ReasonChannelFinalized)},
		{"token shortfall", dataError{"execution reverted", revertData(ReasonERC20Balance)}, []error{ports.ErrReverted, ports.ErrInsufficientFunds}, ptr(ReasonERC20Balance)},
		{"gas money", errors.New("insufficient funds for gas * price + value: have 0 want 1"), []error{ports.ErrInsufficientFunds}, nil},
		{"estimate of a transfer", errors.New("insufficient funds for transfer"), []error{ports.ErrInsufficientFunds}, nil},
		{"connection refused", refused, []error{ports.ErrUnavailable}, nil},
		{"server error", rpc.HTTPError{StatusCode: 503, Status: "503 Service Unavailable"}, []error{ports.ErrUnavailable}, nil},
		{"closed client", rpc.ErrClientQuit, []error{ports.ErrUnavailable}, nil},
		{"canceled", context.Canceled, []error{context.Canceled}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := classify("op", tc.err)
			for _, want := range tc.is {
				if !errors.Is(got, want) {
					t.Errorf("classify(%v) = %v, does not match %v", tc.err, got, want)
				}
			}
			var rev *ports.RevertError
			isRevert := errors.As(got, &rev)
			switch {
			case tc.reason == nil && isRevert:
				t.Errorf("classify(%v) = %v, a revert", tc.err, got)
			case tc.reason != nil && (!isRevert || rev.Reason != *tc.reason):
				t.Errorf("classify(%v) = %v, want revert %q", tc.err, got, *tc.reason)
			}
			if tc.reason == nil && !errors.Is(tc.err, context.Canceled) && errors.Is(got, ports.ErrUnavailable) == errors.Is(got, ports.ErrInsufficientFunds) {
				t.Errorf("classify(%v) = %v: want exactly one of unavailable, insufficient funds", tc.err, got)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// scanAll scans up to the safe head.
func scanAll(ctx context.Context, s *scanner) ([]core.ChainEvent, error) {
	var all []core.ChainEvent
	for {
		evs, more, err := s.scan(ctx)
		all = append(all, evs...)
		if err != nil || !more {
			return all, err
		}
	}
}

// TestConfirmations: with a confirmation depth of 2 an event is streamed
// only once two blocks sit on top of its own.
func TestConfirmations(t *testing.T) {
	d := devChain(t, DevOptions{})
	c, err := d.NewChain(context.Background(), fundedKey(t, d, "conf"), Config{Confirmations: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tx, err := deposit(t, c, channelID(1), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	s := scanner{c: c}
	eth := c.cfg.Contracts.ETHAssetHolder
	for i := 0; i < 2; i++ {
		evs, err := scanAll(ctx, &s)
		if err != nil || len(evs) != 0 {
			t.Fatalf("after %d more blocks: events %+v, err %v; want none yet", i, evs, err)
		}
		// Holdings agree with the stream: the deposit is not confirmed yet.
		if h, err := c.Holdings(ctx, eth, channelID(1)); err != nil || h.Sign() != 0 {
			t.Fatalf("after %d more blocks: holdings %v, err %v; want 0 until confirmed", i, h, err)
		}
		d.Commit()
	}
	evs, err := scanAll(ctx, &s)
	if err != nil || len(evs) != 1 || evs[0].TxHash != tx || evs[0].Kind != core.EventDeposited {
		t.Fatalf("after 2 more blocks: events %+v, err %v; want the deposit", evs, err)
	}
	if h, err := c.Holdings(ctx, eth, channelID(1)); err != nil || h.Int64() != 10 {
		t.Fatalf("confirmed: holdings %v, err %v; want 10", h, err)
	}
	head, _ := d.Client().BlockNumber(ctx)
	if evs[0].Block+2 != head {
		t.Fatalf("event of block %d streamed at head %d", evs[0].Block, head)
	}
	if evs, _ := scanAll(ctx, &s); len(evs) != 0 {
		t.Fatalf("a second scan repeats %+v", evs)
	}
}

// TestScanRanges: scanning in ranges of 3 blocks finds exactly what one
// big range finds, with block times from the headers.
func TestScanRanges(t *testing.T) {
	d := devChain(t, DevOptions{})
	ctx := context.Background()
	c, err := d.NewChain(ctx, fundedKey(t, d, "ranges"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 7; i++ {
		if _, err := deposit(t, c, channelID(uint64(i)), 0, 10+i); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			d.Commit()
		}
	}
	whole, err := scanAll(ctx, &scanner{c: c})
	if err != nil {
		t.Fatal(err)
	}
	small, err := New(ctx, Config{Client: d.Client(), Signer: c.cfg.Signer, Contracts: c.cfg.Contracts, MaxBlockRange: 3, Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	parts, err := scanAll(ctx, &scanner{c: small})
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) != 7 || len(parts) != 7 {
		t.Fatalf("found %d and %d events, want 7", len(whole), len(parts))
	}
	for i := range whole {
		h, err := d.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(whole[i].Block))
		if err != nil {
			t.Fatal(err)
		}
		if whole[i].TxHash != parts[i].TxHash || whole[i].BlockTime != h.Time || parts[i].BlockTime != h.Time {
			t.Fatalf("event %d: %+v vs %+v (header time %d)", i, whole[i], parts[i], h.Time)
		}
		if whole[i].AmountDeposited.Int64() != 10+int64(i) {
			t.Fatalf("event %d deposited %v", i, whole[i].AmountDeposited)
		}
	}
}

// TestStuckTransactionResubmitted: a deposit sent with a fee cap below the
// base fee sits in the pool; after StuckBlocks blocks it is resubmitted
// with the same nonce and higher fees, and mined.
func TestStuckTransactionResubmitted(t *testing.T) {
	d := devChain(t, DevOptions{})
	ctx := context.Background()
	var mu sync.Mutex
	var infos []TxInfo
	c, err := d.NewChain(ctx, fundedKey(t, d, "stuck"), Config{
		StuckBlocks: 2, StuckTimeout: time.Hour,
		OnTx:        func(i TxInfo) { mu.Lock(); infos = append(infos, i); mu.Unlock() },
		firstFeeCap: func(*big.Int) *big.Int { return big.NewInt(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		tx  ports.TxHash
		err error
	}
	done := make(chan result, 1)
	go func() {
		tx, err := deposit(t, c, channelID(1), 0, 10)
		done <- result{tx, err}
	}()
	var r result
	blocks := 0
	for wait := true; wait; {
		select {
		case r = <-done:
			wait = false
		case <-time.After(time.Millisecond):
			// Blocks come and go without the underpriced transaction.
			d.Commit()
			blocks++
		}
	}
	if r.err != nil {
		t.Fatalf("deposit: %v", r.err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(infos) != 1 || infos[0].Resubmissions < 1 || infos[0].Hash != r.tx || infos[0].Err != nil {
		t.Fatalf("tx reports %+v, want one mined deposit resubmitted at least once", infos)
	}
	mined, _, err := d.Client().TransactionByHash(ctx, r.tx)
	if err != nil {
		t.Fatal(err)
	}
	if mined.GasFeeCap().Cmp(big.NewInt(1)) <= 0 || mined.Nonce() != infos[0].Nonce {
		t.Fatalf("mined version has fee cap %v nonce %d", mined.GasFeeCap(), mined.Nonce())
	}
	if h, _ := c.Holdings(ctx, c.cfg.Contracts.ETHAssetHolder, channelID(1)); h.Int64() != 10 {
		t.Fatalf("holdings %v", h)
	}
	t.Logf("mined after %d empty blocks and %d resubmissions", blocks, infos[0].Resubmissions)
}

// TestNonceResync: two Chains sending from one account (two nonce
// managers) step on each other's nonces; each resynchronizes from the node
// and every deposit goes through.
func TestNonceResync(t *testing.T) {
	d := devChain(t, DevOptions{})
	ctx := context.Background()
	key := fundedKey(t, d, "resync")
	c1, err := d.NewChain(ctx, key, Config{})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := d.NewChain(ctx, key, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []*Chain{c1, c2, c1, c2, c1} {
		if _, err := deposit(t, c, channelID(uint64(i)), 0, 1); err != nil {
			t.Fatalf("deposit %d: %v", i, err)
		}
	}
	n, err := d.Client().NonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey), nil)
	if err != nil || n != 5 {
		t.Fatalf("account nonce %d (%v), want 5", n, err)
	}
}

// lossyClient fails SendTransaction once with a transport error, either
// before the node sees the transaction or after it accepted it (a lost
// answer).
type lossyClient struct {
	Client
	mu        sync.Mutex
	fail      bool
	forwarded bool
}

func (c *lossyClient) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	c.mu.Lock()
	fail := c.fail
	c.fail = false
	c.mu.Unlock()
	if !fail {
		return c.Client.SendTransaction(ctx, tx)
	}
	if c.forwarded {
		if err := c.Client.SendTransaction(ctx, tx); err != nil {
			return err
		}
	}
	return &url.Error{Op: "Post", URL: "http://127.0.0.1:8545", Err: syscall.ECONNRESET}
}

// TestSendFailureKeepsNonces: a send that fails in transport returns
// ErrUnavailable; the next deposit uses the right nonce whether or not the
// node got the lost transaction.
func TestSendFailureKeepsNonces(t *testing.T) {
	for _, forwarded := range []bool{false, true} {
		t.Run(fmt.Sprintf("forwarded=%v", forwarded), func(t *testing.T) {
			d := devChain(t, DevOptions{})
			ctx := context.Background()
			key := fundedKey(t, d, "lossy")
			lossy := &lossyClient{Client: d.Client(), forwarded: forwarded}
			c, err := New(ctx, Config{Client: lossy, Signer: KeySigner(key), Contracts: d.Deployment.Contracts, PollInterval: 5 * time.Millisecond, Dev: true})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := deposit(t, c, channelID(1), 0, 1); err != nil {
				t.Fatal(err)
			}
			lossy.mu.Lock()
			lossy.fail = true
			lossy.mu.Unlock()
			if _, err := deposit(t, c, channelID(2), 0, 1); !errors.Is(err, ports.ErrUnavailable) {
				t.Fatalf("deposit through a failing send: %v, want ErrUnavailable", err)
			}
			if _, err := deposit(t, c, channelID(3), 0, 1); err != nil {
				t.Fatalf("deposit after the failure: %v", err)
			}
			want := map[bool]uint64{false: 2, true: 3}[forwarded]
			if n, _ := d.Client().NonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey), nil); n != want {
				t.Fatalf("account nonce %d, want %d", n, want)
			}
			h2, _ := c.Holdings(ctx, d.Deployment.ETHAssetHolder, channelID(2))
			if (h2.Sign() > 0) != forwarded {
				t.Fatalf("channel 2 holds %v; the lost send reached the node: %v", h2, forwarded)
			}
		})
	}
}

// frontRunner runs once, right after the next gas estimate, another
// account's transaction that makes the estimated one fail when mined.
type frontRunner struct {
	Client
	mu  sync.Mutex
	run func()
}

func (c *frontRunner) EstimateGas(ctx context.Context, m ethereum.CallMsg) (uint64, error) {
	gas, err := c.Client.EstimateGas(ctx, m)
	c.mu.Lock()
	run := c.run
	c.run = nil
	c.mu.Unlock()
	if run != nil {
		run()
	}
	return gas, err
}

// frontRun returns a chain on d (its client wrapped by wrap) whose next
// deposit to channel id is front-run: once its gas is estimated, another
// account deposits the same 10 wei, so it fails in its block.
func frontRun(t *testing.T, d *DevChain, id nitro.Bytes32, name string, wrap func(Client) Client, onTx func(TxInfo)) *Chain {
	t.Helper()
	ctx := context.Background()
	other, err := d.NewChain(ctx, fundedKey(t, d, "other"+name), Config{})
	if err != nil {
		t.Fatal(err)
	}
	fr := &frontRunner{Client: d.Client(), run: func() {
		if _, err := deposit(t, other, id, 0, 10); err != nil {
			t.Errorf("front-running deposit: %v", err)
		}
	}}
	c, err := New(ctx, Config{Client: wrap(fr), Signer: KeySigner(fundedKey(t, d, "slow"+name)), Contracts: d.Deployment.Contracts,
		PollInterval: 5 * time.Millisecond, Dev: true, OnTx: onTx})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestDepositRevertedInBlock: a deposit whose estimate passed but which
// fails once mined (another deposit filled the channel in between) comes
// back as a typed revert with the contract's reason and the failed
// transaction's hash.
func TestDepositRevertedInBlock(t *testing.T) {
	d := devChain(t, DevOptions{})
	ctx := context.Background()
	id := channelID(1)
	var infos []TxInfo
	c := frontRun(t, d, id, "", func(c Client) Client { return c }, func(i TxInfo) { infos = append(infos, i) })
	tx, err := deposit(t, c, id, 0, 10)
	var rev *ports.RevertError
	if !errors.As(err, &rev) || rev.Reason != ports.ReasonHoldingsSufficient {
		t.Fatalf("deposit: %v, want revert %q", err, ports.ReasonHoldingsSufficient)
	}
	rcpt, rerr := d.Client().TransactionReceipt(ctx, tx)
	if rerr != nil || rcpt.Status != types.ReceiptStatusFailed {
		t.Fatalf("receipt of %s: %+v, %v: want the failed transaction", tx, rcpt, rerr)
	}
	if len(infos) != 1 || infos[0].Err == nil || infos[0].GasUsed != rcpt.GasUsed {
		t.Fatalf("tx reports %+v", infos)
	}
	if h, _ := c.Holdings(ctx, d.Deployment.ETHAssetHolder, id); h.Int64() != 10 {
		t.Fatalf("holdings %v, want only the other deposit", h)
	}
}

// TestDevChainSetup: genesis allocations, the deployment's wiring, and the
// faucet owning the test Token's supply.
func TestDevChainSetup(t *testing.T) {
	rich := crypto.PubkeyToAddress(fundedKeyless("rich").PublicKey)
	d := devChain(t, DevOptions{Alloc: map[common.Address]*big.Int{rich: big.NewInt(5e18)}})
	ctx := context.Background()
	if b, err := d.Balance(ctx, rich); err != nil || b.Cmp(big.NewInt(5e18)) != 0 {
		t.Fatalf("genesis balance %v, %v", b, err)
	}
	c, err := d.NewChain(ctx, fundedKeyless("any"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	holder := d.Deployment.ERC20AssetHolder()
	if c.tokens[holder] != d.Deployment.Token || len(c.watch) != 3 {
		t.Fatalf("chain sees tokens %v and watches %v", c.tokens, c.watch)
	}
	supply := big.NewInt(10_000_000_000)
	if b, err := d.TokenBalance(ctx, d.Faucet()); err != nil || b.Cmp(supply) != 0 {
		t.Fatalf("faucet tokens %v, %v; want the supply %v", b, err, supply)
	}
	// A Chain refuses an asset holder wired to another adjudicator.
	bad := d.Deployment.Contracts
	bad.Adjudicator = d.Deployment.Token
	if _, err := New(ctx, Config{Client: d.Client(), Signer: KeySigner(fundedKeyless("x")), Contracts: bad}); err == nil {
		t.Fatal("New accepted asset holders of another adjudicator")
	}
}

func fundedKeyless(name string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("internal-test-nofunds/" + name)))
	if err != nil {
		panic(err)
	}
	return k
}

// replaySucceeds answers every call at a given block with success, as a
// node whose block at that height was replaced by a rewind would.
type replaySucceeds struct{ Client }

func (c replaySucceeds) CallContract(ctx context.Context, msg ethereum.CallMsg, block *big.Int) ([]byte, error) {
	if block != nil {
		return nil, nil
	}
	return c.Client.CallContract(ctx, msg, block)
}

// TestFailedTxWhoseReplaySucceeds (issue 19, seen in the kill without the
// pool journal once rewinds were handled): a deposit that failed in its
// block, whose replay on the state after that block succeeds, is a
// *ports.RevertError with no reason. Before, the sender read the reason
// of the replay's nil error and the process panicked.
func TestFailedTxWhoseReplaySucceeds(t *testing.T) {
	d := devChain(t, DevOptions{})
	c := frontRun(t, d, channelID(2), "-replay", func(c Client) Client { return replaySucceeds{c} }, nil)
	_, err := deposit(t, c, channelID(2), 0, 10)
	var rev *ports.RevertError
	if !errors.As(err, &rev) || rev.Reason != "" {
		t.Fatalf("deposit: %v, want a revert without reason", err)
	}
}
