package ethereum

import (
	"context"
	"fmt"
	"math/big"

	"github.com/nitrowallet/nitrowallet/ports"
)

// RollbackTo makes block n the head, as a node that lost its latest blocks
// would (geth --dev killed with its default database): the blocks above n
// leave the chain, their transactions are dropped rather than mined again,
// and later transactions and Commits build a new branch at the same
// heights. n 0 leaves the genesis block only: the contracts are gone.
func (d *DevChain) RollbackTo(ctx context.Context, n uint64) error {
	d.commit.Lock()
	defer d.commit.Unlock()
	if d.closed {
		return fmt.Errorf("ethereum: dev chain closed: rollback: %w", ports.ErrUnavailable)
	}
	h, err := d.client.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
	if err != nil {
		return classify("read header", err)
	}
	if err := d.Backend.Fork(h.Hash()); err != nil {
		return fmt.Errorf("ethereum: dev chain: fork at block %d: %w", n, err)
	}
	// Fork returns the removed blocks' transactions to the pool; drop them.
	d.Backend.Rollback()
	return nil
}

// Head returns the number of the dev chain's head block.
func (d *DevChain) Head(ctx context.Context) (uint64, error) {
	n, err := d.client.BlockNumber(ctx)
	return n, classify("read head", err)
}
