package client

import (
	"context"
	"fmt"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

type fundingUpdate struct {
	ChannelID          nitro.Bytes32 `json:"channelId"`
	AssetHolderAddress nitro.Address `json:"assetHolderAddress"`
	Amount             string        `json:"amount"`
}

// UpdateFundingForChannels sets channels' holdings as a chain watcher
// outside the wallet reports them (extension; the TypeScript wallet's
// updateFundingForChannels). It returns the channels' results; the
// messages the call queues come as MessageQueued notifications.
func (c *Client) UpdateFundingForChannels(ctx context.Context, ups []app.FundingUpdate) ([]app.ChannelResult, error) {
	p := struct {
		FundingUpdates []fundingUpdate `json:"fundingUpdates"`
	}{FundingUpdates: make([]fundingUpdate, len(ups))}
	for i, u := range ups {
		amt := "0x"
		if u.Amount != nil {
			amt = fmt.Sprintf("%#x", u.Amount) // a negative amount reaches the server, which refuses it
		}
		p.FundingUpdates[i] = fundingUpdate{ChannelID: u.ChannelID, AssetHolderAddress: u.AssetHolder, Amount: amt}
	}
	var r []app.ChannelResult
	err := c.call(ctx, "UpdateFundingForChannels", p, &r)
	return r, err
}
