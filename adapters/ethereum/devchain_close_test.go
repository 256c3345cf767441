package ethereum_test

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/internal/testkit"
	"github.com/nitrowallet/nitrowallet/ports"
)

func init() { testkit.ShowGethCritical() }

// TestDevChainCloseWhileMining closes a dev chain while goroutines mine on
// it. A block sealed while the backend closes writes to a closed database,
// and go-ethereum answers with log.Crit: os.Exit(1) with no output, which
// took a whole CI package down once. Commit and RollbackTo must instead see
// the closed chain: no block, no crash, a typed error.
func TestDevChainCloseWhileMining(t *testing.T) {
	ctx := context.Background()
	d, err := ethereum.NewDevChain(ctx, ethereum.DevOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	var wg sync.WaitGroup
	mined := make(chan struct{}, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				if d.Commit() == (common.Hash{}) {
					return
				}
				if n == 3 {
					mined <- struct{}{}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Transactions through the auto-mining client race the close too.
		for i := 0; i < 1000; i++ {
			if err := d.Fund(ctx, ethereum.KeySigner(key).Address(), big.NewInt(1)); err != nil {
				return
			}
		}
	}()
	for i := 0; i < 4; i++ {
		<-mined
	}
	d.Close()
	wg.Wait()
	if h := d.Commit(); h != (common.Hash{}) {
		t.Fatalf("Commit after Close mined block %s", h)
	}
	if err := d.RollbackTo(ctx, 1); !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("RollbackTo after Close: %v, want ports.ErrUnavailable", err)
	}
	d.Close() // a second Close is harmless
}

// TestDevChainAdjustTimeMinesPendingFirst: a transaction left pending
// (sent past the auto-mining client, as one whose block sealed before
// the pool took it up is left) does not make AdjustTime fail ("could not
// adjust time on non-empty block", a CI failure of TestDisputeGas): it is
// mined first, at the old time, and the clock still moves by the amount.
func TestDevChainAdjustTimeMinesPendingFirst(t *testing.T) {
	ctx := context.Background()
	d, err := ethereum.NewDevChain(ctx, ethereum.DevOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	key := newKey(t)
	from := crypto.PubkeyToAddress(key.PublicKey)
	if err := d.Fund(ctx, from, big.NewInt(1e18)); err != nil {
		t.Fatal(err)
	}
	cl := d.Backend.Client()
	nonce, err := cl.PendingNonceAt(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := types.SignTx(types.NewTx(&types.DynamicFeeTx{
		ChainID: big.NewInt(1337), Nonce: nonce, GasTipCap: big.NewInt(2e9), GasFeeCap: big.NewInt(1e11), Gas: 21000,
		To: &common.Address{0xaa}, Value: big.NewInt(1),
	}), types.LatestSignerForChainID(big.NewInt(1337)), key)
	if err != nil {
		t.Fatal(err)
	}
	before, err := cl.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.SendTransaction(ctx, tx); err != nil { // no block mined
		t.Fatal(err)
	}
	if _, err := d.AdjustTime(100 * time.Second); err != nil {
		t.Fatalf("adjust time with a transaction pending: %v", err)
	}
	r, err := cl.TransactionReceipt(ctx, tx.Hash())
	if err != nil || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("the pending transaction: receipt %v, %v", r, err)
	}
	after, err := cl.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if after.Time < before.Time+100 {
		t.Fatalf("head time %d after adjusting %d by 100 s", after.Time, before.Time)
	}
}
