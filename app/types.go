package app

import (
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Participant is a channel member (client API Participant).
type Participant struct {
	ParticipantID  string        `json:"participantId"`
	SigningAddress nitro.Address `json:"signingAddress"`
	Destination    nitro.Bytes32 `json:"destination"`
}

// AllocationItem pays Amount to Destination.
type AllocationItem struct {
	Destination nitro.Bytes32 `json:"destination"`
	Amount      *big.Int      `json:"-"`
}

type allocationItemJSON struct {
	Destination nitro.Bytes32 `json:"destination"`
	Amount      string        `json:"amount"`
}

// MarshalJSON writes the amount as a 32-byte hex string, as the client API does.
func (a AllocationItem) MarshalJSON() ([]byte, error) {
	amt := a.Amount
	if amt == nil {
		amt = new(big.Int)
	}
	return json.Marshal(allocationItemJSON{Destination: a.Destination, Amount: fmt.Sprintf("0x%064x", amt)})
}

// UnmarshalJSON reads a hex or decimal amount.
func (a *AllocationItem) UnmarshalJSON(b []byte) error {
	var raw allocationItemJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	amt, ok := new(big.Int).SetString(raw.Amount, 0)
	if !ok {
		return fmt.Errorf("%w: amount %q", ErrInvalidParams, raw.Amount)
	}
	a.Destination, a.Amount = raw.Destination, amt
	return nil
}

// Allocation is one asset holder's allocation (client API Allocation).
type Allocation struct {
	AssetHolderAddress nitro.Address    `json:"assetHolderAddress"`
	AllocationItems    []AllocationItem `json:"allocationItems"`
}

// ChannelResult is the client API's ChannelResult.
type ChannelResult struct {
	ChannelID               nitro.Bytes32      `json:"channelId"`
	Status                  core.Status        `json:"status"`
	TurnNum                 uint64             `json:"turnNum"`
	Participants            []Participant      `json:"participants"`
	Allocations             []Allocation       `json:"allocations"`
	AppDefinition           nitro.Address      `json:"appDefinition"`
	AppData                 hexutil.Bytes      `json:"appData"`
	FundingStatus           core.FundingStatus `json:"fundingStatus"`
	ChallengeExpirationTime *uint64            `json:"challengeExpirationTime,omitempty"`
}

// Message is a wire message queued for delivery: route it to Recipient and
// give Data (the JSON message) to that wallet's PushMessage.
type Message struct {
	Recipient string
	Sender    string
	Data      json.RawMessage
}

// Result is what a call returns: the channels it touched and the outbox.
type Result struct {
	ChannelResults []ChannelResult
	Outbox         []Message
}

// Channel returns the result for one channel id, if present.
func (r Result) Channel(id nitro.Bytes32) (ChannelResult, bool) {
	for _, c := range r.ChannelResults {
		if c.ChannelID == id {
			return c, true
		}
	}
	return ChannelResult{}, false
}

// CreateChannelParams are the client API's CreateChannel parameters.
type CreateChannelParams struct {
	Participants      []Participant
	Allocations       []Allocation
	AppDefinition     nitro.Address
	AppData           []byte
	FundingStrategy   string
	ChallengeDuration uint64
}

// UpdateChannelParams are the client API's UpdateChannel parameters.
type UpdateChannelParams struct {
	ChannelID   nitro.Bytes32
	Allocations []Allocation
	AppData     []byte
}

// NotificationType names a notification of the client API.
type NotificationType string

// Notification types.
const (
	ChannelProposed NotificationType = "ChannelProposed"
	ChannelUpdated  NotificationType = "ChannelUpdated"
	ChannelClosed   NotificationType = "ChannelClosed"
	MessageQueued   NotificationType = "MessageQueued"
	// PeerEquivocated: a peer signed two different states for one turn of
	// a channel; Evidence holds both, and the store keeps them (see
	// Wallet.Equivocations). The state received second was refused.
	PeerEquivocated NotificationType = "PeerEquivocated"
	// ChainRewound: blocks the wallet had read events from left the
	// chain; Rewind says from which block it reads again and which
	// channels lost funding or a payout they had (they are funded, or
	// concluded, again as Nitro allows).
	ChainRewound NotificationType = "ChainRewound"
)

// Notification is published to subscribers: a channel change, or a message
// the wallet produced outside any call.
type Notification struct {
	Type     NotificationType
	Channel  ChannelResult
	Message  Message
	Evidence *core.EquivocationError
	// Rewind is set in a ChainRewound notification.
	Rewind *Rewind
	// Dropped is, in a NotificationsDropped notification, how many
	// notifications were dropped just before it.
	Dropped uint64
}

func toOutcome(as []Allocation) (nitro.Outcome, error) {
	out := make(nitro.Outcome, len(as))
	for i, a := range as {
		out[i].AssetHolder = a.AssetHolderAddress
		out[i].Allocation = make([]nitro.AllocationItem, len(a.AllocationItems))
		for j, it := range a.AllocationItems {
			if err := nitro.CheckAmount(it.Amount); err != nil {
				return nil, fmt.Errorf("%w: allocation %d item %d: %w", ErrInvalidParams, i, j, err)
			}
			out[i].Allocation[j] = nitro.AllocationItem{Destination: it.Destination, Amount: new(big.Int).Set(it.Amount)}
		}
	}
	return out, nil
}

func fromOutcome(o nitro.Outcome) []Allocation {
	out := make([]Allocation, 0, len(o))
	// Every item and amount of the result in three allocations: the items,
	// the big.Ints and their words (each amount's words capacity-limited).
	n, words := 0, 0
	for _, a := range o {
		n += len(a.Allocation)
		for _, it := range a.Allocation {
			words += len(it.Amount.Bits())
		}
	}
	items := make([]AllocationItem, 0, n)
	ints := make([]big.Int, n)
	ws := make([]big.Word, 0, words)
	for _, a := range o {
		k := len(items)
		for _, it := range a.Allocation {
			z := &ints[len(items)]
			if bits := it.Amount.Bits(); len(bits) > 0 {
				i := len(ws)
				ws = append(ws, bits...)
				z.SetBits(ws[i:len(ws):len(ws)])
				if it.Amount.Sign() < 0 {
					z.Neg(z)
				}
			}
			items = append(items, AllocationItem{Destination: it.Destination, Amount: z})
		}
		out = append(out, Allocation{AssetHolderAddress: a.AssetHolder, AllocationItems: items[k:len(items):len(items)]})
	}
	return out
}

func toCoreParticipants(ps []Participant) []core.Participant {
	out := make([]core.Participant, len(ps))
	for i, p := range ps {
		out[i] = core.Participant(p)
	}
	return out
}

// ResultOf builds the ChannelResult of a core channel.
func ResultOf(c core.Channel) ChannelResult {
	r := ChannelResult{
		ChannelID: c.ID, Status: c.Status(), TurnNum: c.TurnNum(), AppDefinition: c.Setup.AppDefinition,
		FundingStatus: c.FundingStatus(),
	}
	if len(c.Participants) > 0 {
		r.Participants = make([]Participant, len(c.Participants))
		for i, p := range c.Participants {
			r.Participants[i] = Participant(p)
		}
	}
	st := c.Setup
	if l, ok := c.Latest(); ok {
		st = l.State
	}
	r.Allocations = fromOutcome(st.Outcome)
	r.AppData = append(hexutil.Bytes{}, st.AppData...)
	if d := c.Dispute; d != nil && d.FinalizesAt > 0 {
		t := d.FinalizesAt
		r.ChallengeExpirationTime = &t
	}
	return r
}
