package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/creachadair/jrpc2"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// decodeParams decodes a call's params object into v strictly: params must
// be an object, every key in required must be present (and not null), and
// a key v has no field for is refused. Any failure is -32602.
func decodeParams(req *jrpc2.Request, v any, required ...string) error {
	raw := bytes.TrimSpace([]byte(req.ParamString()))
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil || keys == nil {
		return invalidParams("params must be an object")
	}
	for _, k := range required {
		if b, ok := keys[k]; !ok || string(b) == "null" {
			return invalidParams("missing field %q", k)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidParams("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func invalidParams(format string, args ...any) error {
	return &jrpc2.Error{Code: jrpc2.InvalidParams, Message: "Invalid params: " + fmt.Sprintf(format, args...)}
}

// destination reads a destination as the client API gives it: an address
// (20 bytes, as the schema types it) or a 32-byte Nitro destination.
type destination nitro.Bytes32

func (d *destination) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	raw, err := hexutil.Decode(s)
	if err != nil {
		return fmt.Errorf("destination %q: %w", s, err)
	}
	switch len(raw) {
	case 20:
		*d = destination(nitro.AddressToDestination(nitro.Address(raw)))
	case 32:
		*d = destination(nitro.Bytes32(raw))
	default:
		return fmt.Errorf("destination %q: %d bytes, want 20 or 32", s, len(raw))
	}
	return nil
}

type participantParams struct {
	ParticipantID  string        `json:"participantId"`
	SigningAddress nitro.Address `json:"signingAddress"`
	Destination    destination   `json:"destination"`
}

type allocationItemParams struct {
	Destination destination `json:"destination"`
	Amount      string      `json:"amount"`
}

type allocationParams struct {
	AssetHolderAddress nitro.Address          `json:"assetHolderAddress"`
	AllocationItems    []allocationItemParams `json:"allocationItems"`
}

func toParticipants(ps []participantParams) []app.Participant {
	out := make([]app.Participant, len(ps))
	for i, p := range ps {
		out[i] = app.Participant{ParticipantID: p.ParticipantID, SigningAddress: p.SigningAddress, Destination: nitro.Bytes32(p.Destination)}
	}
	return out
}

// toAllocations converts allocations, reading amounts as hex (the schema's
// Uint256) or decimal.
func toAllocations(as []allocationParams) ([]app.Allocation, error) {
	out := make([]app.Allocation, len(as))
	for i, a := range as {
		out[i].AssetHolderAddress = a.AssetHolderAddress
		out[i].AllocationItems = make([]app.AllocationItem, len(a.AllocationItems))
		for j, it := range a.AllocationItems {
			amt, ok := new(big.Int).SetString(it.Amount, 0)
			if !ok || amt.Sign() < 0 {
				return nil, invalidParams("allocations[%d].allocationItems[%d].amount %q", i, j, it.Amount)
			}
			out[i].AllocationItems[j] = app.AllocationItem{Destination: nitro.Bytes32(it.Destination), Amount: amt}
		}
	}
	return out, nil
}

// createParams are CreateChannel's params; challengeDuration (seconds) is
// an extension the schema lacks (absent: app.DefaultChallengeDuration).
type createParams struct {
	Participants           []participantParams `json:"participants"`
	Allocations            []allocationParams  `json:"allocations"`
	AppDefinition          nitro.Address       `json:"appDefinition"`
	AppData                hexutil.Bytes       `json:"appData"`
	FundingStrategy        string              `json:"fundingStrategy"`
	FundingLedgerChannelID *string             `json:"fundingLedgerChannelId"`
	ChallengeDuration      *uint64             `json:"challengeDuration"`
}

type updateParams struct {
	ChannelID   nitro.Bytes32      `json:"channelId"`
	Allocations []allocationParams `json:"allocations"`
	AppData     hexutil.Bytes      `json:"appData"`
}

type channelIDParams struct {
	ChannelID nitro.Bytes32 `json:"channelId"`
}

type getChannelsParams struct {
	IncludeClosed *bool `json:"includeClosed"`
}

type registerParams struct {
	AppDefinition nitro.Address `json:"appDefinition"`
}

type bytecodeParams struct {
	AppDefinition nitro.Address `json:"appDefinition"`
	Bytecode      hexutil.Bytes `json:"bytecode"`
}

// Message is the client API's Message: PushMessage's params and the
// MessageQueued and MessageReceived notifications' params.
type Message struct {
	Recipient string          `json:"recipient"`
	Sender    string          `json:"sender,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// MessageOf gives an app.Message its client API form.
func MessageOf(m app.Message) Message {
	return Message{Recipient: m.Recipient, Sender: m.Sender, Data: m.Data}
}

// Success is the result of PushMessage and the Register calls.
type Success struct {
	Success bool `json:"success"`
}

// WalletInformation is GetWalletInformation's result.
type WalletInformation struct {
	SigningAddress     nitro.Address  `json:"signingAddress"`
	DestinationAddress *nitro.Address `json:"destinationAddress,omitempty"`
	WalletVersion      string         `json:"walletVersion"`
}

// Dropped is the params of the NotificationsDropped extension
// notification: this server's feed from the wallet overflowed, Dropped
// notifications were lost; resynchronize (GetChannels, SyncChannel).
type Dropped struct {
	Dropped uint64 `json:"dropped"`
}
