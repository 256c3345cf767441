package ethereum

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/nitrowallet/nitrowallet/ports"
)

// DefaultCallTimeout bounds one call to the node when Config.CallTimeout is
// zero.
const DefaultCallTimeout = 10 * time.Second

// deadlineClient gives every call to the node a deadline (Config.CallTimeout)
// on top of its caller's: a node that stops answering (frozen, partitioned)
// surfaces as ports.ErrUnavailable instead of a call that hangs, whatever
// context the caller used (transaction trackers run under the adapter's own
// lifetime). Log subscriptions, which live long, are not bounded.
type deadlineClient struct {
	Client
	timeout time.Duration
}

// bound returns ctx with the call deadline and the function that maps a
// deadline the node call hit to ports.ErrUnavailable.
func (c deadlineClient) bound(ctx context.Context) (context.Context, func(error) error, context.CancelFunc) {
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	mapErr := func(err error) error {
		if err != nil && ctx.Err() == nil && cctx.Err() != nil {
			return fmt.Errorf("node did not answer within %v: %w: %w", c.timeout, ports.ErrUnavailable, err)
		}
		return err
	}
	return cctx, mapErr, cancel
}

func (c deadlineClient) BlockNumber(ctx context.Context) (uint64, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	n, err := c.Client.BlockNumber(ctx)
	return n, mapErr(err)
}

func (c deadlineClient) ChainID(ctx context.Context) (*big.Int, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	id, err := c.Client.ChainID(ctx)
	return id, mapErr(err)
}

func (c deadlineClient) CallContract(ctx context.Context, msg ethereum.CallMsg, block *big.Int) ([]byte, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	out, err := c.Client.CallContract(ctx, msg, block)
	return out, mapErr(err)
}

func (c deadlineClient) EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	g, err := c.Client.EstimateGas(ctx, msg)
	return g, mapErr(err)
}

func (c deadlineClient) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	logs, err := c.Client.FilterLogs(ctx, q)
	return logs, mapErr(err)
}

func (c deadlineClient) TransactionByHash(ctx context.Context, h common.Hash) (*types.Transaction, bool, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	tx, pending, err := c.Client.TransactionByHash(ctx, h)
	return tx, pending, mapErr(err)
}

func (c deadlineClient) TransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	r, err := c.Client.TransactionReceipt(ctx, h)
	return r, mapErr(err)
}

func (c deadlineClient) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	return mapErr(c.Client.SendTransaction(ctx, tx))
}

func (c deadlineClient) HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	h, err := c.Client.HeaderByNumber(ctx, number)
	return h, mapErr(err)
}

func (c deadlineClient) BalanceAt(ctx context.Context, a common.Address, block *big.Int) (*big.Int, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	b, err := c.Client.BalanceAt(ctx, a, block)
	return b, mapErr(err)
}

func (c deadlineClient) CodeAt(ctx context.Context, a common.Address, block *big.Int) ([]byte, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	b, err := c.Client.CodeAt(ctx, a, block)
	return b, mapErr(err)
}

func (c deadlineClient) NonceAt(ctx context.Context, a common.Address, block *big.Int) (uint64, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	n, err := c.Client.NonceAt(ctx, a, block)
	return n, mapErr(err)
}

func (c deadlineClient) PendingNonceAt(ctx context.Context, a common.Address) (uint64, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	n, err := c.Client.PendingNonceAt(ctx, a)
	return n, mapErr(err)
}

func (c deadlineClient) SuggestGasTipCap(ctx context.Context) (*big.Int, error) {
	ctx, mapErr, cancel := c.bound(ctx)
	defer cancel()
	t, err := c.Client.SuggestGasTipCap(ctx)
	return t, mapErr(err)
}
