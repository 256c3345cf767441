package server

import (
	"context"
	"math/big"

	"github.com/creachadair/jrpc2"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// fundingParams are UpdateFundingForChannels' params: the TypeScript
// wallet's array of {channelId, assetHolderAddress, amount}, under
// "fundingUpdates" (params are an object here). The amount is the total
// holdings, as hex (the schema's Uint256) or decimal.
type fundingParams struct {
	FundingUpdates []fundingUpdateParams `json:"fundingUpdates"`
}

type fundingUpdateParams struct {
	ChannelID          *nitro.Bytes32 `json:"channelId"`
	AssetHolderAddress *nitro.Address `json:"assetHolderAddress"`
	Amount             string         `json:"amount"`
}

// updateFundingForChannels sets channels' holdings as a chain watcher
// outside the wallet reports them (app.Wallet.UpdateFundingForChannels);
// its result is the channels' results, and the messages the call queues
// go out as MessageQueued. A missing field or an amount that is not a
// number is -32602; an unknown channel is 400; an unknown asset holder or
// a negative amount is -32602; nothing is stored then.
func updateFundingForChannels(ctx context.Context, s *Server, req *jrpc2.Request) (any, error) {
	var p fundingParams
	if err := decodeParams(req, &p, "fundingUpdates"); err != nil {
		return nil, err
	}
	ups := make([]app.FundingUpdate, len(p.FundingUpdates))
	for i, u := range p.FundingUpdates {
		if u.ChannelID == nil || u.AssetHolderAddress == nil {
			return nil, invalidParams("fundingUpdates[%d]: channelId and assetHolderAddress are required", i)
		}
		amt, ok := new(big.Int).SetString(u.Amount, 0)
		if !ok {
			return nil, invalidParams("fundingUpdates[%d].amount %q", i, u.Amount)
		}
		ups[i] = app.FundingUpdate{ChannelID: *u.ChannelID, AssetHolder: *u.AssetHolderAddress, Amount: amt}
	}
	res, err := s.w.UpdateFundingForChannels(ctx, ups)
	s.queueOutbox(res.Outbox)
	if err != nil {
		return nil, err
	}
	out := res.ChannelResults
	if out == nil {
		out = []app.ChannelResult{}
	}
	return out, nil
}
