package ethereum

import (
	"context"
	"errors"
	"math/big"
	"testing"
)

// TestConfirmationsDefault: a Chain on a node gets DefaultConfirmations
// unless its config sets a depth; only a dev chain (Config.Dev on a dev
// chain id, as DevChain.NewChain sets) defaults to 0. The dev chain's
// client is a JSON-RPC client (over an in-process connection), so New sees
// it as any node.
func TestConfirmationsDefault(t *testing.T) {
	d := devChain(t, DevOptions{})
	ctx := context.Background()
	key := KeySigner(fundedKeyless("confirmations"))
	node := Config{Client: d.Client(), Signer: key, Contracts: d.Deployment.Contracts}
	for _, tc := range []struct {
		name string
		cfg  func(Config) Config
		want uint64
	}{
		{"node", func(c Config) Config { return c }, DefaultConfirmations},
		{"node, explicit depth", func(c Config) Config { c.Confirmations = 3; return c }, 3},
		{"dev node", func(c Config) Config { c.Dev = true; return c }, 0},
		{"dev node, explicit depth", func(c Config) Config { c.Dev, c.Confirmations = true, 2; return c }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(ctx, tc.cfg(node))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.Confirmations(); got != tc.want {
				t.Fatalf("confirmations %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("simulated chain", func(t *testing.T) {
		c, err := d.NewChain(ctx, fundedKeyless("confirmations"), Config{})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Confirmations(); got != 0 {
			t.Fatalf("confirmations %d, want 0", got)
		}
	})
	t.Run("dev flag on a public chain", func(t *testing.T) {
		for _, id := range []int64{1, 10, 137, 11155111, 1338} {
			cfg := node
			cfg.Client, cfg.Dev = chainIDClient{Client: d.Client(), id: big.NewInt(id)}, true
			c, err := New(ctx, cfg)
			if !errors.Is(err, ErrNotDevChain) {
				if c != nil {
					c.Close()
				}
				t.Fatalf("chain id %d: err %v, want ErrNotDevChain", id, err)
			}
		}
	})
	if DefaultConfirmations < 2 {
		t.Fatalf("DefaultConfirmations %d is no protection against reorgs", DefaultConfirmations)
	}
}

// chainIDClient is a Client that reports another chain id.
type chainIDClient struct {
	Client
	id *big.Int
}

func (c chainIDClient) ChainID(context.Context) (*big.Int, error) { return new(big.Int).Set(c.id), nil }
