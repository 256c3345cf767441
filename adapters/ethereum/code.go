package ethereum

import (
	"context"
	"math/big"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Code implements ports.Chain: eth_getCode at the head block, or with
// Confirmations at the newest confirmed block (a deployment a reorg may
// still undo does not count yet). Empty where no contract is deployed.
func (c *Chain) Code(ctx context.Context, addr nitro.Address) ([]byte, error) {
	// An ended context fails here: go-ethereum's client may still answer
	// a call made with one (its select between the request and ctx.Done
	// picks either when both are ready), so ports/chaintest's Code check
	// failed now and then.
	if err := ctx.Err(); err != nil {
		return nil, classify("read code", err)
	}
	at, ok, err := c.confirmedBlock(ctx)
	if err != nil || !ok {
		return nil, err
	}
	code, err := c.client.CodeAt(ctx, addr, at)
	if err != nil {
		return nil, classify("read code", err)
	}
	return code, nil
}

// confirmedBlock returns the block reads of confirmed state are made at:
// nil (the head) without a confirmation depth, else the head less the
// depth; ok is false while the chain is shorter than the depth (nothing
// is confirmed yet).
func (c *Chain) confirmedBlock(ctx context.Context) (at *big.Int, ok bool, err error) {
	if c.cfg.Confirmations == 0 {
		return nil, true, nil
	}
	head, err := c.client.BlockNumber(ctx)
	if err != nil {
		return nil, false, classify("read head", err)
	}
	if head < c.cfg.Confirmations {
		return nil, false, nil
	}
	return new(big.Int).SetUint64(head - c.cfg.Confirmations), true, nil
}
