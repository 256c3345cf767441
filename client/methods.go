package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Error is an error the server answered a call with: a client API code
// (app.Code*) or a JSON-RPC one (-32xxx), and its message. errors.Is
// matches it against the app sentinel its code stands for (see Is).
type Error struct {
	Code    int
	Message string
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("client: %s (code %d)", e.Message, e.Code) }

// Is matches the app sentinel of e's code: channel not found (301, 400,
// 1100, 1200, 1300, 1400), not your turn (300, 403), invalid transition
// (401, 1101), invalid app data (402: ErrInvalidParams), channel closed
// (404), wrong participant (900: ErrWrongRecipient and
// ErrNotParticipant), signing address not found (1000:
// ErrNotParticipant), invalid app definition (1001) and invalid params
// (-32602: ErrInvalidParams).
func (e *Error) Is(target error) bool {
	for _, s := range sentinels[e.Code] {
		if errors.Is(s, target) {
			return true
		}
	}
	return false
}

var sentinels = map[int][]error{
	app.CodeChannelNotFoundClose: {app.ErrChannelNotFound}, app.CodeChannelNotFoundUpdate: {app.ErrChannelNotFound},
	app.CodeChannelNotFoundJoin: {app.ErrChannelNotFound}, app.CodeChannelNotFoundGetState: {app.ErrChannelNotFound},
	app.CodeChannelNotFoundChallenge: {app.ErrChannelNotFound}, app.CodeChannelNotFoundSync: {app.ErrChannelNotFound},
	app.CodeNotYourTurnClose: {app.ErrNotYourTurn}, app.CodeNotYourTurnUpdate: {app.ErrNotYourTurn},
	app.CodeInvalidTransition: {app.ErrInvalidTransition}, app.CodeInvalidTransitionJoin: {app.ErrInvalidTransition},
	app.CodeInvalidAppData:         {app.ErrInvalidParams},
	app.CodeChannelClosedUpdate:    {app.ErrChannelClosed},
	app.CodeWrongParticipant:       {app.ErrWrongRecipient, app.ErrNotParticipant},
	app.CodeSigningAddressNotFound: {app.ErrNotParticipant},
	app.CodeInvalidAppDefinition:   {app.ErrInvalidAppDefinition},
	-32602:                         {app.ErrInvalidParams},
}

// WalletInformation is GetWalletInformation's result.
type WalletInformation struct {
	SigningAddress     nitro.Address  `json:"signingAddress"`
	DestinationAddress *nitro.Address `json:"destinationAddress,omitempty"`
	WalletVersion      string         `json:"walletVersion"`
}

type message struct {
	Recipient string          `json:"recipient"`
	Sender    string          `json:"sender,omitempty"`
	Data      json.RawMessage `json:"data"`
}

type createParams struct {
	Participants      []app.Participant `json:"participants"`
	Allocations       []app.Allocation  `json:"allocations"`
	AppDefinition     nitro.Address     `json:"appDefinition"`
	AppData           hexutil.Bytes     `json:"appData"`
	FundingStrategy   string            `json:"fundingStrategy"`
	ChallengeDuration uint64            `json:"challengeDuration,omitempty"`
}

type updateParams struct {
	ChannelID   nitro.Bytes32    `json:"channelId"`
	Allocations []app.Allocation `json:"allocations"`
	AppData     hexutil.Bytes    `json:"appData"`
}

type channelID struct {
	ChannelID nitro.Bytes32 `json:"channelId"`
}

// CreateChannel proposes a channel (fundingStrategy "Direct" when empty;
// challengeDuration, an extension, sent only when not zero).
func (c *Client) CreateChannel(ctx context.Context, p app.CreateChannelParams) (app.ChannelResult, error) {
	fs := p.FundingStrategy
	if fs == "" {
		fs = "Direct"
	}
	var r app.ChannelResult
	err := c.call(ctx, "CreateChannel", createParams{
		Participants: nonNil(p.Participants), Allocations: nonNil(p.Allocations), AppDefinition: p.AppDefinition,
		AppData: nonNil(p.AppData), FundingStrategy: fs, ChallengeDuration: p.ChallengeDuration,
	}, &r)
	return r, err
}

// JoinChannel joins a proposed channel.
func (c *Client) JoinChannel(ctx context.Context, id nitro.Bytes32) (app.ChannelResult, error) {
	return c.onChannel(ctx, "JoinChannel", id)
}

// UpdateChannel signs the next state.
func (c *Client) UpdateChannel(ctx context.Context, p app.UpdateChannelParams) (app.ChannelResult, error) {
	var r app.ChannelResult
	err := c.call(ctx, "UpdateChannel", updateParams{ChannelID: p.ChannelID, Allocations: nonNil(p.Allocations), AppData: nonNil(p.AppData)}, &r)
	return r, err
}

// CloseChannel signs a final state.
func (c *Client) CloseChannel(ctx context.Context, id nitro.Bytes32) (app.ChannelResult, error) {
	return c.onChannel(ctx, "CloseChannel", id)
}

// ChallengeChannel starts a challenge on chain.
func (c *Client) ChallengeChannel(ctx context.Context, id nitro.Bytes32) (app.ChannelResult, error) {
	return c.onChannel(ctx, "ChallengeChannel", id)
}

// GetState returns one channel.
func (c *Client) GetState(ctx context.Context, id nitro.Bytes32) (app.ChannelResult, error) {
	return c.onChannel(ctx, "GetState", id)
}

// GetChannels returns every channel, closed ones included.
func (c *Client) GetChannels(ctx context.Context) ([]app.ChannelResult, error) {
	var r []app.ChannelResult
	err := c.call(ctx, "GetChannels", map[string]bool{"includeClosed": true}, &r)
	return r, err
}

// PushMessage gives the server a message a peer's wallet queued (the
// params of that server's MessageQueued notification).
func (c *Client) PushMessage(ctx context.Context, m app.Message) error {
	var r struct {
		Success bool `json:"success"`
	}
	if err := c.call(ctx, "PushMessage", message{Recipient: m.Recipient, Sender: m.Sender, Data: m.Data}, &r); err != nil {
		return err
	}
	if !r.Success {
		return errors.New("client: PushMessage answered success false")
	}
	return nil
}

// SyncChannel resends the wallet's latest states of a channel to its peers
// (as MessageQueued notifications); the API returns nothing else.
func (c *Client) SyncChannel(ctx context.Context, id nitro.Bytes32) error {
	var r json.RawMessage
	return c.call(ctx, "SyncChannel", channelID{id}, &r)
}

// GetWalletInformation returns the wallet's signing address and version.
func (c *Client) GetWalletInformation(ctx context.Context) (WalletInformation, error) {
	var r WalletInformation
	err := c.call(ctx, "GetWalletInformation", struct{}{}, &r)
	return r, err
}

// RegisterAppDefinition registers the app deployed at addr (extension).
func (c *Client) RegisterAppDefinition(ctx context.Context, addr nitro.Address) error {
	var r json.RawMessage
	return c.call(ctx, "RegisterAppDefinition", map[string]nitro.Address{"appDefinition": addr}, &r)
}

// RegisterAppBytecode registers code as the app at addr (extension).
func (c *Client) RegisterAppBytecode(ctx context.Context, addr nitro.Address, code []byte) error {
	var r json.RawMessage
	return c.call(ctx, "RegisterAppBytecode", bytecode{AppDefinition: addr, Bytecode: code}, &r)
}

type bytecode struct {
	AppDefinition nitro.Address `json:"appDefinition"`
	Bytecode      hexutil.Bytes `json:"bytecode"`
}

func (c *Client) onChannel(ctx context.Context, method string, id nitro.Bytes32) (app.ChannelResult, error) {
	var r app.ChannelResult
	err := c.call(ctx, method, channelID{id}, &r)
	return r, err
}

func nonNil[S ~[]E, E any](s S) S {
	if s == nil {
		return S{}
	}
	return s
}
