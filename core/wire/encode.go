package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// WalletVersion is the walletVersion EncodeMessage sends when the payload
// does not carry one.
const WalletVersion = "nitrowallet@0.1.0"

// Wire shapes, with the server wallet's key order.
type (
	wireMessage struct {
		Recipient string      `json:"recipient"`
		Sender    string      `json:"sender,omitempty"`
		Data      wirePayload `json:"data"`
	}
	wirePayload struct {
		WalletVersion string            `json:"walletVersion"`
		SignedStates  []wireSignedState `json:"signedStates,omitempty"`
		Objectives    []wireObjective   `json:"objectives,omitempty"`
		Requests      []wireRequest     `json:"requests,omitempty"`
	}
	wireSignedState struct {
		ChainID           string            `json:"chainId"`
		Participants      []wireParticipant `json:"participants"`
		ChannelNonce      uint64            `json:"channelNonce"`
		AppDefinition     string            `json:"appDefinition"`
		ChallengeDuration uint64            `json:"challengeDuration"`
		TurnNum           uint64            `json:"turnNum"`
		AppData           string            `json:"appData"`
		IsFinal           bool              `json:"isFinal"`
		Outcome           []any             `json:"outcome"`
		ChannelID         string            `json:"channelId"`
		Signatures        []string          `json:"signatures"`
	}
	wireParticipant struct {
		ParticipantID  string `json:"participantId"`
		SigningAddress string `json:"signingAddress"`
		Destination    string `json:"destination"`
	}
	wireAllocation struct {
		AssetHolderAddress string               `json:"assetHolderAddress"`
		AllocationItems    []wireAllocationItem `json:"allocationItems"`
	}
	wireAllocationItem struct {
		Destination string `json:"destination"`
		Amount      string `json:"amount"`
	}
	wireGuarantee struct {
		AssetHolderAddress string   `json:"assetHolderAddress"`
		TargetChannelID    string   `json:"targetChannelId"`
		Destinations       []string `json:"destinations"`
	}
	wireObjective struct {
		Type         string            `json:"type"`
		Participants []wireParticipant `json:"participants"`
		Data         any               `json:"data"`
	}
	openChannelData struct {
		TargetChannelID        string `json:"targetChannelId"`
		FundingStrategy        string `json:"fundingStrategy"`
		Role                   string `json:"role,omitempty"`
		FundingLedgerChannelID string `json:"fundingLedgerChannelId,omitempty"`
	}
	closeChannelData struct {
		TargetChannelID string `json:"targetChannelId"`
		FundingStrategy string `json:"fundingStrategy"`
	}
	virtuallyFundData struct {
		TargetChannelID string `json:"targetChannelId"`
		JointChannelID  string `json:"jointChannelId"`
	}
	fundGuarantorData struct {
		JointChannelID string `json:"jointChannelId"`
		LedgerID       string `json:"ledgerId"`
		GuarantorID    string `json:"guarantorId"`
	}
	ledgerData struct {
		LedgerID string `json:"ledgerId"`
	}
	wireRequest struct {
		Type      string `json:"type"`
		ChannelID string `json:"channelId"`
	}
)

// EncodeMessage renders m in the wire format, exactly as the server wallet
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
func EncodeMessage(m core.Message) ([]byte, error) {
	w := wireMessage{Recipient: m.Recipient, Sender: m.Sender}
	p, err := encodePayload(m.Payload)
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

func encodePayload(p core.Payload) (wirePayload, error) {
	w := wirePayload{WalletVersion: p.WalletVersion}
	if w.WalletVersion == "" {
		w.WalletVersion = WalletVersion
	}
	for i, ss := range p.SignedStates {
		s, err := encodeSignedState(ss, "data.signedStates["+strconv.Itoa(i)+"]")
		if err != nil {
			return w, err
		}
		w.SignedStates = append(w.SignedStates, s)
	}
	for i, o := range p.Objectives {
		s, err := encodeObjective(o, "data.objectives["+strconv.Itoa(i)+"]")
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
		w.Requests = append(w.Requests, wireRequest{Type: r.Type, ChannelID: fmtBytes32(r.ChannelID)})
	}
	return w, nil
}

func encodeParticipants(ps []core.Participant) []wireParticipant {
	out := make([]wireParticipant, len(ps))
	for i, p := range ps {
		out[i] = wireParticipant{
			ParticipantID:  p.ParticipantID,
			SigningAddress: fmtAddress(p.SigningAddress),
			Destination:    fmtDestination(p.Destination),
		}
	}
	return out
}

func encodeSignedState(ss core.SignedState, path string) (wireSignedState, error) {
	st := ss.State
	var w wireSignedState
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
	outcome, err := encodeOutcome(st.Outcome, path+".outcome")
	if err != nil {
		return w, err
	}
	sigs := make([]string, len(ss.Signatures))
	for i, s := range ss.Signatures {
		sigs[i] = fmt.Sprintf("0x%x", s.Bytes())
	}
	return wireSignedState{
		ChainID:           fmtChainID(st.ChainID),
		Participants:      encodeParticipants(ss.Participants),
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

func encodeOutcome(o nitro.Outcome, path string) ([]any, error) {
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
			out[i] = wireGuarantee{
				AssetHolderAddress: fmtAddress(a.AssetHolder),
				TargetChannelID:    fmtBytes32(a.Guarantee.TargetChannelID),
				Destinations:       ds,
			}
			continue
		}
		items := make([]wireAllocationItem, len(a.Allocation))
		for j, it := range a.Allocation {
			if err := nitro.CheckAmount(it.Amount); err != nil {
				return nil, fmt.Errorf("%w: %s.allocationItems[%d].amount: %w", ErrOutOfRange, p, j, err)
			}
			items[j] = wireAllocationItem{Destination: fmtDestination(it.Destination), Amount: fmtUint256(it.Amount)}
		}
		out[i] = wireAllocation{AssetHolderAddress: fmtAddress(a.AssetHolder), AllocationItems: items}
	}
	if guarantees > 0 && guarantees < len(o) {
		return nil, errAt(ErrMalformed, path, "outcome mixes allocations and guarantees, which the wire schema forbids")
	}
	return out, nil
}

func encodeObjective(o core.Objective, path string) (wireObjective, error) {
	w := wireObjective{Type: o.Type, Participants: encodeParticipants(o.Participants)}
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
		w.Data = openChannelData{
			TargetChannelID:        fmtBytes32(o.TargetChannelID),
			FundingStrategy:        o.FundingStrategy,
			Role:                   o.Role,
			FundingLedgerChannelID: o.FundingLedgerChannelID,
		}
	case core.ObjectiveCloseChannel:
		if err := checkStrategy(); err != nil {
			return w, err
		}
		w.Data = closeChannelData{TargetChannelID: fmtBytes32(o.TargetChannelID), FundingStrategy: o.FundingStrategy}
	case core.ObjectiveVirtuallyFund:
		w.Data = virtuallyFundData{TargetChannelID: fmtBytes32(o.TargetChannelID), JointChannelID: fmtBytes32(o.JointChannelID)}
	case core.ObjectiveFundGuarantor:
		w.Data = fundGuarantorData{
			JointChannelID: fmtBytes32(o.JointChannelID),
			LedgerID:       fmtBytes32(o.LedgerID),
			GuarantorID:    fmtBytes32(o.GuarantorID),
		}
	case core.ObjectiveFundLedger, core.ObjectiveCloseLedger:
		w.Data = ledgerData{LedgerID: fmtBytes32(o.LedgerID)}
	default:
		return w, errAt(ErrUnsupported, path+".type", "unknown objective type %q", truncate(o.Type))
	}
	return w, nil
}
