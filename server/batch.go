package server

import (
	"context"

	"github.com/creachadair/jrpc2"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// The batch calls (extensions, after the server wallet's createChannels,
// joinChannels, closeChannels and syncChannels): each returns
// ChannelResult[], one per channel in the order given, and queues one
// merged message per peer as MessageQueued. They are all or nothing (see
// app.MaxBatchChannels and app.Wallet.CreateChannels); bad params (n or
// the ids out of 1..app.MaxBatchChannels, a repeated id) are -32602, and
// a channel's failure has the single call's code.

// createChannelsParams are CreateChannels' params: CreateChannel's and n,
// the number of channels.
type createChannelsParams struct {
	createParams
	N int `json:"n"`
}

// channelIDsParams are the params of JoinChannels, CloseChannels and
// SyncChannels.
type channelIDsParams struct {
	ChannelIDs []nitro.Bytes32 `json:"channelIds"`
}

func createChannels(ctx context.Context, s *Server, req *jrpc2.Request) (any, error) {
	var p createChannelsParams
	if err := decodeParams(req, &p, append(createRequired, "n")...); err != nil {
		return nil, err
	}
	cp, err := p.toApp()
	if err != nil {
		return nil, err
	}
	return s.results(s.w.CreateChannels(ctx, cp, p.N))
}

func onChannels(f func(*app.Wallet, context.Context, []nitro.Bytes32) (app.Result, error)) method {
	return func(ctx context.Context, s *Server, req *jrpc2.Request) (any, error) {
		var p channelIDsParams
		if err := decodeParams(req, &p, "channelIds"); err != nil {
			return nil, err
		}
		return s.results(f(s.w, ctx, p.ChannelIDs))
	}
}

// results sends the call's outbox to the WebSocket connections (as
// MessageQueued) and returns every channel's result.
func (s *Server) results(res app.Result, err error) (any, error) {
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
