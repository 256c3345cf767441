package client

import (
	"context"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// The batch calls (server extensions after the server wallet's batch
// calls): all or nothing, one result per channel in the order given; the
// merged messages to peers come as MessageQueued notifications.

type createChannelsParams struct {
	createParams
	N int `json:"n"`
}

type channelIDs struct {
	ChannelIDs []nitro.Bytes32 `json:"channelIds"`
}

// CreateChannels proposes n channels with the same parameters, each with
// its own nonce (as CreateChannel: fundingStrategy "Direct" when empty).
func (c *Client) CreateChannels(ctx context.Context, p app.CreateChannelParams, n int) ([]app.ChannelResult, error) {
	fs := p.FundingStrategy
	if fs == "" {
		fs = "Direct"
	}
	var r []app.ChannelResult
	err := c.call(ctx, "CreateChannels", createChannelsParams{createParams{
		Participants: nonNil(p.Participants), Allocations: nonNil(p.Allocations), AppDefinition: p.AppDefinition,
		AppData: nonNil(p.AppData), FundingStrategy: fs, ChallengeDuration: p.ChallengeDuration,
	}, n}, &r)
	return r, err
}

// JoinChannels joins proposed channels.
func (c *Client) JoinChannels(ctx context.Context, ids []nitro.Bytes32) ([]app.ChannelResult, error) {
	return c.onChannels(ctx, "JoinChannels", ids)
}

// CloseChannels signs a final state of each channel.
func (c *Client) CloseChannels(ctx context.Context, ids []nitro.Bytes32) ([]app.ChannelResult, error) {
	return c.onChannels(ctx, "CloseChannels", ids)
}

// SyncChannels resends the wallet's latest states of each channel to its
// peers (as MessageQueued notifications) and returns the channels.
func (c *Client) SyncChannels(ctx context.Context, ids []nitro.Bytes32) ([]app.ChannelResult, error) {
	return c.onChannels(ctx, "SyncChannels", ids)
}

func (c *Client) onChannels(ctx context.Context, method string, ids []nitro.Bytes32) ([]app.ChannelResult, error) {
	var r []app.ChannelResult
	err := c.call(ctx, method, channelIDs{nonNil(ids)}, &r)
	return r, err
}
