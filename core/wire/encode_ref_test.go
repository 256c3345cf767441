package wire

// The encoder as it was with encoding/json: the reference the hand-written
// EncodeMessage is compared with.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Wire shapes, with the server wallet's key order.
type (
	refWireMessage struct {
		Recipient string         `json:"recipient"`
		Sender    string         `json:"sender,omitempty"`
		Data      refWirePayload `json:"data"`
	}
	refWirePayload struct {
		WalletVersion string               `json:"walletVersion"`
		SignedStates  []refWireSignedState `json:"signedStates,omitempty"`
		Objectives    []refWireObjective   `json:"objectives,omitempty"`
		Requests      []refWireRequest     `json:"requests,omitempty"`
	}
	refWireSignedState struct {
		ChainID           string               `json:"chainId"`
		Participants      []refWireParticipant `json:"participants"`
		ChannelNonce      uint64               `json:"channelNonce"`
		AppDefinition     string               `json:"appDefinition"`
		ChallengeDuration uint64               `json:"challengeDuration"`
		TurnNum           uint64               `json:"turnNum"`
		AppData           string               `json:"appData"`
		IsFinal           bool                 `json:"isFinal"`
		Outcome           []any                `json:"outcome"`
		ChannelID         string               `json:"channelId"`
		Signatures        []string             `json:"signatures"`
	}
	refWireParticipant struct {
		ParticipantID  string `json:"participantId"`
		SigningAddress string `json:"signingAddress"`
		Destination    string `json:"destination"`
	}
	refWireAllocation struct {
		AssetHolderAddress string                  `json:"assetHolderAddress"`
		AllocationItems    []refWireAllocationItem `json:"allocationItems"`
	}
	refWireAllocationItem struct {
		Destination string `json:"destination"`
		Amount      string `json:"amount"`
	}
	refWireGuarantee struct {
		AssetHolderAddress string   `json:"assetHolderAddress"`
		TargetChannelID    string   `json:"targetChannelId"`
		Destinations       []string `json:"destinations"`
	}
	refWireObjective struct {
		Type         string               `json:"type"`
		Participants []refWireParticipant `json:"participants"`
		Data         any                  `json:"data"`
	}
	refOpenChannelData struct {
		TargetChannelID        string `json:"targetChannelId"`
		FundingStrategy        string `json:"fundingStrategy"`
		Role                   string `json:"role,omitempty"`
		FundingLedgerChannelID string `json:"fundingLedgerChannelId,omitempty"`
	}
	refCloseChannelData struct {
		TargetChannelID string `json:"targetChannelId"`
		FundingStrategy string `json:"fundingStrategy"`
	}
	refVirtuallyFundData struct {
		TargetChannelID string `json:"targetChannelId"`
		JointChannelID  string `json:"jointChannelId"`
	}
	refFundGuarantorData struct {
		JointChannelID string `json:"jointChannelId"`
		LedgerID       string `json:"ledgerId"`
		GuarantorID    string `json:"guarantorId"`
	}
	refLedgerData struct {
		LedgerID string `json:"ledgerId"`
	}
	refWireRequest struct {
		Type      string `json:"type"`
		ChannelID string `json:"channelId"`
	}
)

// encodeMessageReference renders m in the wire format, exactly as the server wallet
// would: each signed state carries all eleven fields with channelId computed
// from the state, chainId is even-length 0x hex, amounts are 0x plus 64 hex
// digits, addresses are EIP-55 checksummed and destinations are 32 bytes with
// a checksummed address part when external. walletVersion is
// m.Payload.WalletVersion, or WalletVersion when that is empty. Empty
// signedStates, objectives and requests and an empty sender are omitted;
// objectives always carry a participants array. Objective fields that do not
// belong to the objective's type are ignored.
//
// It fails (with the package's sentinels) rather than emit a message that
// does not match the wire format: for example a nil or oversized chainId, a
// uint48 field above 2^48-1, an amount outside 0..2^256-1, State.Participants
// that disagree with the participants' signing addresses, an outcome mixing
// allocations and guarantees, or an unknown objective type, request type,
// funding strategy or role. Signatures are written verbatim as r||s||v, so a
// signature with a v other than 27/28 (only obtainable with
// Limits.FormatOnly) is emitted as is.
func encodeMessageReference(m core.Message) ([]byte, error) {
	w := refWireMessage{Recipient: m.Recipient, Sender: m.Sender}
	p, err := refEncodePayload(m.Payload)
	if err != nil {
		return nil, err
	}
	w.Data = p
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("%w: message: %w", ErrMalformed, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func refEncodePayload(p core.Payload) (refWirePayload, error) {
	w := refWirePayload{WalletVersion: p.WalletVersion}
	if w.WalletVersion == "" {
		w.WalletVersion = WalletVersion
	}
	for i, ss := range p.SignedStates {
		s, err := refEncodeSignedState(ss, "data.signedStates["+strconv.Itoa(i)+"]")
		if err != nil {
			return w, err
		}
		w.SignedStates = append(w.SignedStates, s)
	}
	for i, o := range p.Objectives {
		s, err := refEncodeObjective(o, "data.objectives["+strconv.Itoa(i)+"]")
		if err != nil {
			return w, err
		}
		w.Objectives = append(w.Objectives, s)
	}
	for i, r := range p.Requests {
		path := "data.requests[" + strconv.Itoa(i) + "]"
		if r.Type != core.RequestGetChannel {
			return w, errAt(ErrUnsupported, path+".type", "unknown request type %q", truncate(r.Type))
		}
		w.Requests = append(w.Requests, refWireRequest{Type: r.Type, ChannelID: fmtBytes32(r.ChannelID)})
	}
	return w, nil
}

func refEncodeParticipants(ps []core.Participant) []refWireParticipant {
	out := make([]refWireParticipant, len(ps))
	for i, p := range ps {
		out[i] = refWireParticipant{
			ParticipantID:  p.ParticipantID,
			SigningAddress: fmtAddress(p.SigningAddress),
			Destination:    fmtDestination(p.Destination),
		}
	}
	return out
}

func refEncodeSignedState(ss core.SignedState, path string) (refWireSignedState, error) {
	st := ss.State
	var w refWireSignedState
	if st.ChainID == nil || st.ChainID.Sign() < 0 || st.ChainID.Cmp(maxUint256) > 0 {
		return w, errAt(ErrOutOfRange, path+".chainId", "chain id must be in 0..2^256-1")
	}
	for _, f := range []struct {
		name string
		v    uint64
	}{{"channelNonce", st.ChannelNonce}, {"challengeDuration", st.ChallengeDuration}, {"turnNum", st.TurnNum}} {
		if f.v > nitro.MaxUint48 {
			return w, errAt(ErrOutOfRange, path+"."+f.name, "%d exceeds 2^48-1", f.v)
		}
	}
	if len(st.Participants) != len(ss.Participants) {
		return w, errAt(ErrMalformed, path+".participants", "state has %d participants, participant list has %d", len(st.Participants), len(ss.Participants))
	}
	for i, p := range ss.Participants {
		if st.Participants[i] != p.SigningAddress {
			return w, errAt(ErrMalformed, path+".participants["+strconv.Itoa(i)+"]", "signing address %s differs from the state's participant %s", fmtAddress(p.SigningAddress), fmtAddress(st.Participants[i]))
		}
	}
	id, err := st.ChannelID()
	if err != nil {
		sentinel := ErrOutOfRange
		if errors.Is(err, nitro.ErrTooManyParticipants) {
			sentinel = ErrTooLarge
		}
		return w, fmt.Errorf("%w: %s.channelId: %w", sentinel, path, err)
	}
	outcome, err := refEncodeOutcome(st.Outcome, path+".outcome")
	if err != nil {
		return w, err
	}
	sigs := make([]string, len(ss.Signatures))
	for i, s := range ss.Signatures {
		sigs[i] = fmt.Sprintf("0x%x", s.Bytes())
	}
	return refWireSignedState{
		ChainID:           fmtChainID(st.ChainID),
		Participants:      refEncodeParticipants(ss.Participants),
		ChannelNonce:      st.ChannelNonce,
		AppDefinition:     fmtAddress(st.AppDefinition),
		ChallengeDuration: st.ChallengeDuration,
		TurnNum:           st.TurnNum,
		AppData:           fmt.Sprintf("0x%x", st.AppData),
		IsFinal:           st.IsFinal,
		Outcome:           outcome,
		ChannelID:         fmtBytes32(id),
		Signatures:        sigs,
	}, nil
}

func refEncodeOutcome(o nitro.Outcome, path string) ([]any, error) {
	out := make([]any, len(o))
	guarantees := 0
	for i, a := range o {
		p := path + "[" + strconv.Itoa(i) + "]"
		if a.Guarantee != nil {
			guarantees++
			if len(a.Allocation) > 0 {
				return nil, errAt(ErrMalformed, p, "asset outcome has both a guarantee and allocation items")
			}
			ds := make([]string, len(a.Guarantee.Destinations))
			for j, d := range a.Guarantee.Destinations {
				ds[j] = fmtDestination(d)
			}
			out[i] = refWireGuarantee{
				AssetHolderAddress: fmtAddress(a.AssetHolder),
				TargetChannelID:    fmtBytes32(a.Guarantee.TargetChannelID),
				Destinations:       ds,
			}
			continue
		}
		items := make([]refWireAllocationItem, len(a.Allocation))
		for j, it := range a.Allocation {
			if err := nitro.CheckAmount(it.Amount); err != nil {
				return nil, fmt.Errorf("%w: %s.allocationItems[%d].amount: %w", ErrOutOfRange, p, j, err)
			}
			items[j] = refWireAllocationItem{Destination: fmtDestination(it.Destination), Amount: fmtUint256(it.Amount)}
		}
		out[i] = refWireAllocation{AssetHolderAddress: fmtAddress(a.AssetHolder), AllocationItems: items}
	}
	if guarantees > 0 && guarantees < len(o) {
		return nil, errAt(ErrMalformed, path, "outcome mixes allocations and guarantees, which the wire schema forbids")
	}
	return out, nil
}

func refEncodeObjective(o core.Objective, path string) (refWireObjective, error) {
	w := refWireObjective{Type: o.Type, Participants: refEncodeParticipants(o.Participants)}
	dpath := path + ".data"
	checkStrategy := func() error {
		if o.FundingStrategy == "" {
			return errAt(ErrMissingField, dpath+".fundingStrategy", "empty funding strategy")
		}
		if !fundingStrategies[o.FundingStrategy] {
			return errAt(ErrUnsupported, dpath+".fundingStrategy", "unknown funding strategy %q", truncate(o.FundingStrategy))
		}
		return nil
	}
	switch o.Type {
	case core.ObjectiveOpenChannel:
		if err := checkStrategy(); err != nil {
			return w, err
		}
		if o.Role != "" && !roles[o.Role] {
			return w, errAt(ErrUnsupported, dpath+".role", "unknown role %q", truncate(o.Role))
		}
		if o.FundingLedgerChannelID != "" {
			if err := checkLedgerRef(o.FundingLedgerChannelID, dpath+".fundingLedgerChannelId"); err != nil {
				return w, err
			}
		}
		w.Data = refOpenChannelData{
			TargetChannelID:        fmtBytes32(o.TargetChannelID),
			FundingStrategy:        o.FundingStrategy,
			Role:                   o.Role,
			FundingLedgerChannelID: o.FundingLedgerChannelID,
		}
	case core.ObjectiveCloseChannel:
		if err := checkStrategy(); err != nil {
			return w, err
		}
		w.Data = refCloseChannelData{TargetChannelID: fmtBytes32(o.TargetChannelID), FundingStrategy: o.FundingStrategy}
	case core.ObjectiveVirtuallyFund:
		w.Data = refVirtuallyFundData{TargetChannelID: fmtBytes32(o.TargetChannelID), JointChannelID: fmtBytes32(o.JointChannelID)}
	case core.ObjectiveFundGuarantor:
		w.Data = refFundGuarantorData{
			JointChannelID: fmtBytes32(o.JointChannelID),
			LedgerID:       fmtBytes32(o.LedgerID),
			GuarantorID:    fmtBytes32(o.GuarantorID),
		}
	case core.ObjectiveFundLedger, core.ObjectiveCloseLedger:
		w.Data = refLedgerData{LedgerID: fmtBytes32(o.LedgerID)}
	default:
		return w, errAt(ErrUnsupported, path+".type", "unknown objective type %q", truncate(o.Type))
	}
	return w, nil
}

// TestEncodeMatchesReference: the hand-written encoder emits exactly what
// the encoding/json one did, byte for byte, and fails where it failed, on
// every message the package's tests build, on every decodable sample, and
// on messages with strings that need escaping.
func TestEncodeMatchesReference(t *testing.T) {
	var msgs []core.Message
	for _, c := range roundTripCases() {
		msgs = append(msgs, c.msg)
	}
	for _, b := range lexerCorpus(t) {
		for _, lim := range []Limits{DefaultLimits(), {FormatOnly: true}} {
			if m, err := DecodeMessage(b, lim); err == nil {
				msgs = append(msgs, m)
			}
		}
	}
	odd := []string{"", "plain", "quo\"te", "back\\slash", "tab\there", "nl\n", "\x00\x01\x1f", "\x7f", "é", "\u2028\u2029",
		"\xff\xfe", "<&>", "日本", "\U0001F600"}
	for _, s := range odd {
		m := roundTripCases()[0].msg
		m.Recipient, m.Sender, m.Payload.WalletVersion = s, s, s
		for i := range m.Payload.Objectives {
			m.Payload.Objectives[i].Participants = participants(s, "x")
		}
		msgs = append(msgs, m)
		if len(m.Payload.SignedStates) > 0 {
			ss := m.Payload.SignedStates[0]
			ss.Participants = append([]core.Participant(nil), ss.Participants...)
			ss.Participants[0].ParticipantID = s
			m.Payload.SignedStates = []core.SignedState{ss}
			msgs = append(msgs, m)
		}
	}
	// Messages neither can encode.
	for k := 0; k < 12; k++ {
		m := roundTripCases()[1].msg
		ss := m.Payload.SignedStates[0]
		ss.State = ss.State.Clone()
		ss.Participants = append([]core.Participant(nil), ss.Participants...)
		switch k {
		case 0:
			ss.State.ChainID = nil
		case 1:
			ss.State.TurnNum = nitro.MaxUint48 + 1
		case 2:
			ss.State.Outcome = append(ss.State.Outcome, nitro.AssetOutcome{Guarantee: &nitro.Guarantee{}})
		case 3:
			ss.State.Outcome[0].Allocation[0].Amount = big.NewInt(-1)
		case 4:
			ss.State.Participants = ss.State.Participants[:1]
		case 5:
			ss.State.Participants[0] = nitro.Address{9}
		case 6:
			m.Payload.Objectives = []core.Objective{{Type: "Nope"}}
		case 7:
			m.Payload.Objectives = []core.Objective{{Type: core.ObjectiveOpenChannel, FundingStrategy: "Direct", Role: "boss"}}
		case 8:
			m.Payload.Objectives = []core.Objective{{Type: core.ObjectiveCloseChannel}}
		case 9:
			m.Payload.Requests = []core.Request{{Type: "GetState"}}
		case 10:
			ss.State.Outcome[0].Guarantee = &nitro.Guarantee{}
		case 11:
			ss.State.ChannelNonce = 1 << 50
		}
		m.Payload.SignedStates = []core.SignedState{ss}
		msgs = append(msgs, m)
	}
	for i, m := range msgs {
		got, gerr := EncodeMessage(m)
		want, werr := encodeMessageReference(m)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("message %d: error %v, reference %v", i, gerr, werr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestMessageSizeEstimate: the buffer estimate is close to the encoding of
// an update's message (no regrowth, little waste).
func TestMessageSizeEstimate(t *testing.T) {
	for _, c := range roundTripCases() {
		b, err := EncodeMessage(c.msg)
		if err != nil {
			t.Fatal(err)
		}
		if est := messageSize(c.msg); est < len(b) || est > 2*len(b)+256 {
			t.Errorf("%s: estimate %d for %d bytes", c.name, est, len(b))
		}
	}
}
