package server

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/creachadair/jrpc2"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Methods of the API: those of client-api-schema 0.5.0 and the extensions.
const (
	MethodCreateChannel         = "CreateChannel"
	MethodJoinChannel           = "JoinChannel"
	MethodUpdateChannel         = "UpdateChannel"
	MethodCloseChannel          = "CloseChannel"
	MethodChallengeChannel      = "ChallengeChannel"
	MethodGetState              = "GetState"
	MethodGetChannels           = "GetChannels"
	MethodPushMessage           = "PushMessage"
	MethodSyncChannel           = "SyncChannel"
	MethodGetWalletInformation  = "GetWalletInformation"
	MethodRegisterAppDefinition = "RegisterAppDefinition" // extension
	MethodRegisterAppBytecode   = "RegisterAppBytecode"   // extension
	// The server wallet's batch calls (extensions; batch.go).
	MethodCreateChannels = "CreateChannels"
	MethodJoinChannels   = "JoinChannels"
	MethodCloseChannels  = "CloseChannels"
	MethodSyncChannels   = "SyncChannels"

	// MethodUpdateFundingForChannels (extension, the TypeScript wallet's
	// updateFundingForChannels): see updateFundingForChannels (funding.go).
	MethodUpdateFundingForChannels = "UpdateFundingForChannels"
)

// Notifications the server pushes to every WebSocket connection.
const (
	NoteChannelProposed = "ChannelProposed"
	NoteChannelUpdated  = "ChannelUpdated"
	NoteChannelClosed   = "ChannelClosed"
	NoteMessageQueued   = "MessageQueued"
	// NoteMessageReceived (extension): a PushMessage call succeeded;
	// params: the Message given.
	NoteMessageReceived = "MessageReceived"
	// NoteNotificationsDropped (extension): params Dropped.
	NoteNotificationsDropped = "NotificationsDropped"
)

// Messages gives each client API code its message in client-api-schema
// 0.5.0 (1400, SyncChannel's channel not found, is the wallet's: the
// schema has no SyncChannel error).
var Messages = map[int]string{
	app.CodeNotYourTurnClose:         "Not your turn",
	app.CodeChannelNotFoundClose:     "Channel not found",
	app.CodeChannelNotFoundUpdate:    "Channel not found",
	app.CodeInvalidTransition:        "Invalid transition",
	app.CodeInvalidAppData:           "Invalid app data",
	app.CodeNotYourTurnUpdate:        "Not your turn",
	app.CodeChannelClosedUpdate:      "Channel closed",
	app.CodeWrongParticipant:         "Wrong participant",
	app.CodeSigningAddressNotFound:   "Could not find signing address",
	app.CodeInvalidAppDefinition:     "Invalid App Definition",
	app.CodeChannelNotFoundJoin:      "Could not find channel",
	app.CodeInvalidTransitionJoin:    "Invalid Transition",
	app.CodeChannelNotFoundGetState:  "Could not find channel",
	app.CodeChannelNotFoundChallenge: "Could not find channel",
	app.CodeChannelNotFoundSync:      "Could not find channel",
	app.CodeWalletError:              "Wallet error",
}

type method func(ctx context.Context, s *Server, req *jrpc2.Request) (any, error)

var methods = map[string]method{
	MethodCreateChannel:         createChannel,
	MethodJoinChannel:           onChannel((*app.Wallet).JoinChannel),
	MethodUpdateChannel:         updateChannel,
	MethodCloseChannel:          onChannel((*app.Wallet).CloseChannel),
	MethodChallengeChannel:      onChannel((*app.Wallet).ChallengeChannel),
	MethodGetState:              getState,
	MethodGetChannels:           getChannels,
	MethodPushMessage:           pushMessage,
	MethodSyncChannel:           syncChannel,
	MethodGetWalletInformation:  getWalletInformation,
	MethodRegisterAppDefinition: registerAppDefinition,
	MethodRegisterAppBytecode:   registerAppBytecode,
	MethodCreateChannels:        createChannels,
	MethodJoinChannels:          onChannels((*app.Wallet).JoinChannels),
	MethodCloseChannels:         onChannels((*app.Wallet).CloseChannels),
	MethodSyncChannels:          onChannels((*app.Wallet).SyncChannels),

	MethodUpdateFundingForChannels: updateFundingForChannels, // funding.go
}

// assigner gives every method name a handler that bounds the call's time,
// applies the rate limit (limited: WebSocket calls; POST takes its tokens
// per HTTP request), maps errors to client API codes and records metrics.
type assigner struct {
	s       *Server
	limited bool
	owed    *atomic.Int64 // a WebSocket session's calls awaiting their response (nil over POST)
}

func (a assigner) Assign(_ context.Context, name string) jrpc2.Handler {
	s := a.s
	m, known := methods[name]
	label := name
	if !known {
		label = "unknown"
	}
	return func(ctx context.Context, req *jrpc2.Request) (any, error) {
		start := time.Now()
		var res any
		var err error
		admitted := s.calls.enter()
		if admitted {
			defer s.calls.exit()
		}
		if a.owed != nil {
			a.owed.Add(1) // the session's channel counts the response written
		}
		switch {
		case !admitted:
			err = &jrpc2.Error{Code: CodeShuttingDown, Message: msgShuttingDown}
		case a.limited && !s.limiter.Allow():
			err = &jrpc2.Error{Code: CodeRateLimited, Message: msgRateLimited}
		case !known:
			err = &jrpc2.Error{Code: jrpc2.MethodNotFound, Message: "Method not found"}
		default:
			ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
			res, err = m(ctx, s, req)
			cancel()
			err = s.rpcError(label, err)
		}
		if s.cfg.Metrics != nil {
			code := 0
			if err != nil {
				code = int(jrpc2.ErrorCode(err))
			}
			s.cfg.Metrics.ObserveCall(label, code, time.Since(start))
		}
		if err != nil {
			return nil, err
		}
		return res, nil
	}
}

// rpcError turns a wallet error into the JSON-RPC error of its client API
// code, with the schema's message and no data (the schema allows none for
// 500, and its data shapes for the others are not ours). The wallet's
// ErrInvalidParams without a code of its own is -32602.
func (s *Server) rpcError(method string, err error) error {
	if err == nil {
		return nil
	}
	var rpc *jrpc2.Error
	if errors.As(err, &rpc) {
		return rpc
	}
	code := app.Code(err)
	if code == app.CodeWalletError && errors.Is(err, app.ErrInvalidParams) {
		return &jrpc2.Error{Code: jrpc2.InvalidParams, Message: "Invalid params"}
	}
	msg, ok := Messages[code]
	if !ok {
		msg = Messages[app.CodeWalletError]
	}
	lvl := s.log.Info
	if code == app.CodeWalletError {
		lvl = s.log.Warn
	}
	lvl("call failed", "method", method, "code", code, "err", err)
	return &jrpc2.Error{Code: jrpc2.Code(code), Message: msg}
}

// result sends the call's outbox to the WebSocket connections (as
// MessageQueued) and returns its one channel's result.
func (s *Server) result(res app.Result, err error) (any, error) {
	s.queueOutbox(res.Outbox)
	if err != nil {
		return nil, err
	}
	if len(res.ChannelResults) == 0 {
		return nil, errors.New("server: the wallet returned no channel")
	}
	return res.ChannelResults[0], nil
}

func (s *Server) queueOutbox(out []app.Message) {
	for _, m := range out {
		s.conns.broadcast(NoteMessageQueued, MessageOf(m))
	}
}

// createRequired are CreateChannel's required params.
var createRequired = []string{"participants", "allocations", "appDefinition", "appData", "fundingStrategy"}

func createChannel(ctx context.Context, s *Server, req *jrpc2.Request) (any, error) {
	var p createParams
	if err := decodeParams(req, &p, createRequired...); err != nil {
		return nil, err
	}
	cp, err := p.toApp()
	if err != nil {
		return nil, err
	}
	return s.result(s.w.CreateChannel(ctx, cp))
}

// toApp checks p and gives it the wallet's form.
func (p createParams) toApp() (app.CreateChannelParams, error) {
	as, err := toAllocations(p.Allocations)
	if err != nil {
		return app.CreateChannelParams{}, err
	}
	if p.FundingLedgerChannelID != nil && *p.FundingLedgerChannelID != "" {
		return app.CreateChannelParams{}, &app.Error{Code: app.CodeWalletError, Err: app.ErrUnsupportedFunding}
	}
	cp := app.CreateChannelParams{
		Participants: toParticipants(p.Participants), Allocations: as, AppDefinition: p.AppDefinition,
		AppData: p.AppData, FundingStrategy: p.FundingStrategy,
	}
	if p.ChallengeDuration != nil {
		cp.ChallengeDuration = *p.ChallengeDuration
	}
	return cp, nil
}

func onChannel(f func(*app.Wallet, context.Context, nitro.Bytes32) (app.Result, error)) method {
	return func(ctx context.Context, s *Server, req *jrpc2.Request) (any, error) {
		var p channelIDParams
		if err := decodeParams(req, &p, "channelId"); err != nil {
			return nil, err
		}
		return s.result(f(s.w, ctx, p.ChannelID))
	}
}

func updateChannel(ctx context.Context, s *Server, req *jrpc2.Request) (any, error) {
	var p updateParams
	if err := decodeParams(req, &p, "channelId", "allocations", "appData"); err != nil {
		return nil, err
	}
	as, err := toAllocations(p.Allocations)
	if err != nil {
		return nil, err
	}
	return s.result(s.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: p.ChannelID, Allocations: as, AppData: p.AppData}))
}

func getState(ctx context.Context, s *Server, req *jrpc2.Request) (any, error) {
	var p channelIDParams
	if err := decodeParams(req, &p, "channelId"); err != nil {
		return nil, err
	}
	return s.w.GetState(ctx, p.ChannelID)
}

// getChannels returns the wallet's channels, closed ones included unless
// includeClosed is false (the schema gives the param no default; absent
// means all, as app.Wallet.GetChannels returns).
func getChannels(ctx context.Context, s *Server, req *jrpc2.Request) (any, error) {
	var p getChannelsParams
	if err := decodeParams(req, &p); err != nil {
		return nil, err
	}
	cs, err := s.w.GetChannels(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]app.ChannelResult, 0, len(cs))
	for _, c := range cs {
		if c.Status == core.StatusClosed && p.IncludeClosed != nil && !*p.IncludeClosed {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

func pushMessage(ctx context.Context, s *Server, req *jrpc2.Request) (any, error) {
	var p Message
	if err := decodeParams(req, &p, "recipient", "data"); err != nil {
		return nil, err
	}
	res, err := s.w.PushMessage(ctx, p.Data)
	s.queueOutbox(res.Outbox)
	if err != nil {
		return nil, err
	}
	s.conns.broadcast(NoteMessageReceived, p)
	return Success{Success: true}, nil
}

// syncChannel resends this wallet's latest states of the channel to its
// peers; its result is the schema's empty object.
func syncChannel(ctx context.Context, s *Server, req *jrpc2.Request) (any, error) {
	var p channelIDParams
	if err := decodeParams(req, &p, "channelId"); err != nil {
		return nil, err
	}
	res, err := s.w.SyncChannel(ctx, p.ChannelID)
	s.queueOutbox(res.Outbox)
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func getWalletInformation(_ context.Context, s *Server, req *jrpc2.Request) (any, error) {
	var p struct{}
	if err := decodeParams(req, &p); err != nil {
		return nil, err
	}
	info := WalletInformation{SigningAddress: s.w.Address(), WalletVersion: s.cfg.WalletVersion}
	if d := s.cfg.Destination; d != (nitro.Address{}) {
		info.DestinationAddress = &d
	}
	return info, nil
}

func registerAppDefinition(ctx context.Context, s *Server, req *jrpc2.Request) (any, error) {
	var p registerParams
	if err := decodeParams(req, &p, "appDefinition"); err != nil {
		return nil, err
	}
	if err := s.w.RegisterAppDefinition(ctx, p.AppDefinition); err != nil {
		return nil, err
	}
	return Success{Success: true}, nil
}

func registerAppBytecode(ctx context.Context, s *Server, req *jrpc2.Request) (any, error) {
	var p bytecodeParams
	if err := decodeParams(req, &p, "appDefinition", "bytecode"); err != nil {
		return nil, err
	}
	if err := s.w.RegisterAppBytecode(ctx, p.AppDefinition, p.Bytecode); err != nil {
		return nil, err
	}
	return Success{Success: true}, nil
}
