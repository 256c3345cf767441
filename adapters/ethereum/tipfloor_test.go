package ethereum

import (
	"context"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
)

// tipFloorClient refuses every transaction whose tip is below floor, as a
// geth node started with --txpool.pricelimit does (same message), while
// suggesting the chain's usual, lower tip.
type tipFloorClient struct {
	Client
	floor    *big.Int
	mu       *sync.Mutex
	refused  *int
	accepted *[]*big.Int
}

func (c tipFloorClient) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tx.GasTipCap().Cmp(c.floor) < 0 {
		*c.refused++
		return fmt.Errorf("transaction gas price below minimum: gas tip cap %v, minimum needed %v", tx.GasTipCap(), c.floor)
	}
	*c.accepted = append(*c.accepted, tx.GasTipCap())
	return c.Client.SendTransaction(ctx, tx)
}

// TestTipDemandedAboveSuggestion (issue 19, found by the geth fault run):
// a node whose pool demands a higher tip than it suggests refuses the
// adapter's transaction with the tip it needs; the adapter pays it, for
// that transaction and the next ones. Before, every deposit failed with
// the refusal, and the wallet retried it with the same tip for ever.
func TestTipDemandedAboveSuggestion(t *testing.T) {
	d := devChain(t, DevOptions{})
	ctx := context.Background()
	sug, err := d.Client().SuggestGasTipCap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		refused  int
		accepted []*big.Int
	)
	floor := new(big.Int).Add(new(big.Int).Mul(sug, big.NewInt(3)), big.NewInt(1))
	fc := tipFloorClient{Client: d.Client(), floor: floor, mu: &mu, refused: &refused, accepted: &accepted}
	c, err := New(ctx, Config{Client: fc, Signer: KeySigner(fundedKey(t, d, "tipfloor")), Contracts: d.Deployment.Contracts, Dev: true,
		ReceiptWait: 5 * time.Second, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 2 {
		if _, err := deposit(t, c, channelID(uint64(120+i)), 0, 1); err != nil {
			t.Fatalf("deposit %d with the node demanding a tip of %v (it suggests %v): %v", i, floor, sug, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if refused != 1 || len(accepted) != 2 {
		t.Fatalf("%d refused, %d accepted; want the first refused once, then both accepted", refused, len(accepted))
	}
	for _, tip := range accepted {
		if tip.Cmp(floor) < 0 {
			t.Fatalf("accepted tip %v below the floor %v", tip, floor)
		}
	}
}
