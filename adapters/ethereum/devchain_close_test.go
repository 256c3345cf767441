package ethereum_test

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"

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
