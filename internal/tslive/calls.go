package tslive

import (
	"context"
	"encoding/json"
)

// Participant is a client API Participant as the TS wallet spells it.
type Participant struct {
	ParticipantID  string `json:"participantId"`
	SigningAddress string `json:"signingAddress"`
	Destination    string `json:"destination"`
}

// AllocationItem pays Amount (hex) to Destination (32-byte hex).
type AllocationItem struct {
	Destination string `json:"destination"`
	Amount      string `json:"amount"`
}

// Allocation is one asset holder's allocation.
type Allocation struct {
	AssetHolderAddress string           `json:"assetHolderAddress"`
	AllocationItems    []AllocationItem `json:"allocationItems"`
}

// ChannelResult is a client API ChannelResult as the TS wallet returns it.
type ChannelResult struct {
	ChannelID     string        `json:"channelId"`
	Status        string        `json:"status"`
	TurnNum       uint64        `json:"turnNum"`
	Participants  []Participant `json:"participants"`
	Allocations   []Allocation  `json:"allocations"`
	AppDefinition string        `json:"appDefinition"`
	AppData       string        `json:"appData"`
	FundingStatus string        `json:"fundingStatus"`
}

// Outgoing is one outbox item's params: Data is the wire Payload
// ({walletVersion, signedStates, objectives, requests}) for Recipient.
type Outgoing struct {
	Recipient string          `json:"recipient"`
	Sender    string          `json:"sender"`
	Data      json.RawMessage `json:"data"`
}

// Output is what a call returns: the channel results it touched and its
// outbox (the driver reports a single channelResult as a one-item list).
type Output struct {
	ChannelResults []ChannelResult
	Outbox         []Outgoing
}

// UnmarshalJSON reads both {channelResult, outbox} and {channelResults, outbox}.
func (o *Output) UnmarshalJSON(b []byte) error {
	var raw struct {
		ChannelResult  *ChannelResult  `json:"channelResult"`
		ChannelResults []ChannelResult `json:"channelResults"`
		Outbox         []struct {
			Method string   `json:"method"`
			Params Outgoing `json:"params"`
		} `json:"outbox"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	o.ChannelResults = raw.ChannelResults
	if raw.ChannelResult != nil {
		o.ChannelResults = append(o.ChannelResults, *raw.ChannelResult)
	}
	o.Outbox = o.Outbox[:0]
	for _, m := range raw.Outbox {
		o.Outbox = append(o.Outbox, m.Params)
	}
	return nil
}

// Channel returns the result for channel id (0x hex, any case), if present.
func (o Output) Channel(id string) (ChannelResult, bool) {
	for _, c := range o.ChannelResults {
		if equalHex(c.ChannelID, id) {
			return c, true
		}
	}
	return ChannelResult{}, false
}

func equalHex(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// CreateChannelParams are the client API's createChannel params.
type CreateChannelParams struct {
	Participants    []Participant `json:"participants"`
	Allocations     []Allocation  `json:"allocations"`
	AppDefinition   string        `json:"appDefinition"`
	AppData         string        `json:"appData"`
	FundingStrategy string        `json:"fundingStrategy"`
}

// UpdateChannelParams are the client API's updateChannel params.
type UpdateChannelParams struct {
	ChannelID   string       `json:"channelId"`
	Allocations []Allocation `json:"allocations"`
	AppData     string       `json:"appData"`
}

// FundingUpdate sets a channel's total holdings at an asset holder.
type FundingUpdate struct {
	ChannelID          string `json:"channelId"`
	AssetHolderAddress string `json:"assetHolderAddress"`
	Amount             string `json:"amount"` // 32-byte hex
}

func (w *Wallet) out(ctx context.Context, call string, params any) (Output, error) {
	var o Output
	err := w.Call(ctx, call, params, &o)
	return o, err
}

type idParam struct {
	ChannelID string `json:"channelId"`
}

// CreateChannel is createChannel.
func (w *Wallet) CreateChannel(ctx context.Context, p CreateChannelParams) (Output, error) {
	return w.out(ctx, "createChannel", p)
}

// CreateChannels is createChannels(p, n).
func (w *Wallet) CreateChannels(ctx context.Context, p CreateChannelParams, n int) (Output, error) {
	return w.out(ctx, "createChannels", map[string]any{"params": p, "n": n})
}

// JoinChannel is joinChannel.
func (w *Wallet) JoinChannel(ctx context.Context, id string) (Output, error) {
	return w.out(ctx, "joinChannel", idParam{id})
}

// JoinChannels is joinChannels(ids).
func (w *Wallet) JoinChannels(ctx context.Context, ids []string) (Output, error) {
	return w.out(ctx, "joinChannels", map[string]any{"channelIds": ids})
}

// UpdateChannel is updateChannel.
func (w *Wallet) UpdateChannel(ctx context.Context, p UpdateChannelParams) (Output, error) {
	return w.out(ctx, "updateChannel", p)
}

// CloseChannel is closeChannel.
func (w *Wallet) CloseChannel(ctx context.Context, id string) (Output, error) {
	return w.out(ctx, "closeChannel", idParam{id})
}

// CloseChannels is closeChannels(ids).
func (w *Wallet) CloseChannels(ctx context.Context, ids []string) (Output, error) {
	return w.out(ctx, "closeChannels", map[string]any{"channelIds": ids})
}

// GetState is getState.
func (w *Wallet) GetState(ctx context.Context, id string) (ChannelResult, error) {
	o, err := w.out(ctx, "getState", idParam{id})
	if err != nil || len(o.ChannelResults) == 0 {
		return ChannelResult{}, err
	}
	return o.ChannelResults[0], nil
}

// SyncChannel is syncChannel.
func (w *Wallet) SyncChannel(ctx context.Context, id string) (Output, error) {
	return w.out(ctx, "syncChannel", idParam{id})
}

// PushMessage is pushMessage(payload): payload is the wire Payload.
func (w *Wallet) PushMessage(ctx context.Context, payload json.RawMessage) (Output, error) {
	return w.out(ctx, "pushMessage", payload)
}

// UpdateFundingForChannels is updateFundingForChannels(updates).
func (w *Wallet) UpdateFundingForChannels(ctx context.Context, us []FundingUpdate) (Output, error) {
	return w.out(ctx, "updateFundingForChannels", map[string]any{"updates": us})
}

// SignedStates returns the signed states the TS wallet holds for channel
// id, read from its database as it stores them (the jsonb vars of its
// channels row: each with stateHash and signatures [{signer, signature}]).
func (w *Wallet) SignedStates(ctx context.Context, id string) ([]StoredState, error) {
	var out []StoredState
	err := w.Call(ctx, "storedStates", idParam{id}, &out)
	return out, err
}

// StoredState is one state as the TS wallet stores it.
type StoredState struct {
	TurnNum    uint64 `json:"turnNum"`
	IsFinal    bool   `json:"isFinal"`
	StateHash  string `json:"stateHash"`
	Signatures []struct {
		Signer    string `json:"signer"`
		Signature string `json:"signature"`
	} `json:"signatures"`
}
