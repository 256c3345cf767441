package app

import (
	"context"
	"fmt"
	"math/big"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// FundingUpdate is what an asset holder holds for a channel, as a chain
// watcher outside the wallet reports it (the TypeScript wallet's
// updateFundingForChannels entry): the total holdings, not an increment.
type FundingUpdate struct {
	ChannelID   nitro.Bytes32
	AssetHolder nitro.Address
	Amount      *big.Int
}

// UpdateFundingForChannels sets the holdings of channels whose chain
// watcher is outside the wallet. Each update reaches its channel's core as
// a Deposited event with those holdings would (core.ReportHoldings), so
// the deposits of a directly funded channel follow in allocation order and
// the postfund states are signed once it is funded; holdings only grow
// until the payout, so a report below what the channel knows changes
// nothing. All updates apply in one commit or none does: an unknown channel
// (ErrChannelNotFound), an asset holder not in the channel's outcome
// (ErrUnknownAsset) or an amount outside 0..2^256-1 (ErrInvalidHoldings,
// which refines ErrInvalidParams) refuses the whole call and stores
// nothing. An unknown channel has code CodeChannelNotFoundUpdate (400),
// the others CodeWalletError (ErrUnknownAsset and ErrInvalidHoldings both
// refine ErrInvalidParams). The result has each channel once, in the order
// first named.
func (w *Wallet) UpdateFundingForChannels(ctx context.Context, updates []FundingUpdate) (Result, error) {
	if err := w.enter(ctx); err != nil {
		return Result{}, apiError(err)
	}
	defer w.leave()
	var (
		jobs []job
		idx  = map[nitro.Bytes32]int{}
	)
	for _, u := range updates {
		if err := nitro.CheckAmount(u.Amount); err != nil {
			return Result{}, apiError(fmt.Errorf("%w: channel %s asset %s: %w", core.ErrInvalidHoldings, u.ChannelID, u.AssetHolder, err))
		}
		h := core.AssetHoldings{Asset: u.AssetHolder, Amount: new(big.Int).Set(u.Amount)}
		i, ok := idx[u.ChannelID]
		if !ok {
			i = len(jobs)
			idx[u.ChannelID] = i
			jobs = append(jobs, job{id: u.ChannelID, in: core.ReportHoldings{}})
		}
		r := jobs[i].in.(core.ReportHoldings)
		r.Holdings = append(r.Holdings, h)
		jobs[i].in = r
	}
	if len(jobs) == 0 {
		return Result{}, nil
	}
	res, err := w.apply(ctx, jobs)
	return res, apiError(err, codeRule{core.ErrChannelNotFound, CodeChannelNotFoundUpdate})
}

// depositAllowed says why a deposit into channel id must not be made
// (refused), or fails to read the channel (err). It refuses, with
// ErrUnsupportedFunding, a deposit into a channel whose states are signed
// under another protocol generation than the one the chain's adjudicator
// checks: the deposit could be neither concluded nor disputed there, so it
// would be locked for good: core.Deployment.CheckFunding's rule, which
// create and join apply too; this catches a channel stored before that
// check, or kept when the wallet moved to another chain. It also refuses a
// deposit into a channel the store no longer holds.
func (b *batch) depositAllowed(ctx context.Context, id nitro.Bytes32) (refused, err error) {
	c, ok, err := b.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return fmt.Errorf("app: deposit into channel %s, which the store does not hold", id), nil
	}
	dep := core.Deployment{ChainProtocol: ports.ProtocolOf(b.w.cfg.Chain)}
	if err := dep.CheckFunding(c.FundingStrategy, c.Protocol); err != nil {
		return fmt.Errorf("app: deposit into channel %s: %w", id, err), nil
	}
	return nil, nil
}
