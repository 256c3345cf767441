package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// WalletVersion is the walletVersion EncodeMessage sends when the payload
// does not carry one.
const WalletVersion = "nitrowallet@0.1.0"

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
	// The JSON is written by hand, in the key order and with the escaping
	// encoding/json gives the wire shapes (encode_ref_test.go keeps that
	// encoder and compares): this is on every update's path.
	e := encoder{b: make([]byte, 0, messageSize(m))}
	e.str(`{"recipient":`, m.Recipient)
	if m.Sender != "" {
		e.str(`,"sender":`, m.Sender)
	}
	p := m.Payload
	v := p.WalletVersion
	if v == "" {
		v = WalletVersion
	}
	e.str(`,"data":{"walletVersion":`, v)
	for i, ss := range p.SignedStates {
		e.raw(`,"signedStates":[`, `,`, i)
		if err := e.signedState(ss, "data.signedStates["+strconv.Itoa(i)+"]"); err != nil {
			return nil, err
		}
		e.end(']', i, len(p.SignedStates))
	}
	for i, o := range p.Objectives {
		e.raw(`,"objectives":[`, `,`, i)
		if err := e.objective(o, "data.objectives["+strconv.Itoa(i)+"]"); err != nil {
			return nil, err
		}
		e.end(']', i, len(p.Objectives))
	}
	for i, r := range p.Requests {
		if r.Type != core.RequestGetChannel {
			return nil, errAt(ErrUnsupported, "data.requests["+strconv.Itoa(i)+"].type", "unknown request type %q", truncate(r.Type))
		}
		e.raw(`,"requests":[`, `,`, i)
		e.str(`{"type":`, r.Type)
		e.bytes32(`,"channelId":`, r.ChannelID)
		e.b = append(e.b, '}')
		e.end(']', i, len(p.Requests))
	}
	e.b = append(e.b, "}}"...)
	return e.b, nil
}

// messageSize estimates the length of m's encoding, for the buffer.
func messageSize(m core.Message) int {
	n := 128 + len(m.Recipient) + len(m.Sender) + len(m.Payload.WalletVersion)
	for _, ss := range m.Payload.SignedStates {
		n += 380 + 185*len(ss.Participants) + 136*len(ss.Signatures) + 2*len(ss.State.AppData)
		for _, a := range ss.State.Outcome {
			n += 80 + 185*len(a.Allocation)
			if a.Guarantee != nil {
				n += 180 + 100*len(a.Guarantee.Destinations)
			}
		}
		for _, p := range ss.Participants {
			n += len(p.ParticipantID)
		}
	}
	for _, o := range m.Payload.Objectives {
		n += 260 + 185*len(o.Participants)
	}
	n += 120 * len(m.Payload.Requests)
	return n
}

// encoder appends JSON to b.
type encoder struct{ b []byte }

// raw appends first before element 0 of a list, sep before the others.
func (e *encoder) raw(first, sep string, i int) {
	if i == 0 {
		e.b = append(e.b, first...)
	} else {
		e.b = append(e.b, sep...)
	}
}

// end closes a list after its last element.
func (e *encoder) end(c byte, i, n int) {
	if i == n-1 {
		e.b = append(e.b, c)
	}
}

// str appends key (the raw text before the value) and s as a JSON string.
func (e *encoder) str(key, s string) {
	e.b = append(e.b, key...)
	e.b = appendString(e.b, s)
}

// appendString appends s quoted as encoding/json quotes it without HTML
// escaping.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// uint appends key and x as a JSON number.
func (e *encoder) uint(key string, x uint64) {
	e.b = append(e.b, key...)
	e.b = strconv.AppendUint(e.b, x, 10)
}

// hexStr appends key and "0x" followed by the lowercase hex of d.
func (e *encoder) hexStr(key string, d []byte) {
	e.b = append(e.b, key...)
	e.b = append(e.b, '"', '0', 'x')
	e.b = hex.AppendEncode(e.b, d)
	e.b = append(e.b, '"')
}

func (e *encoder) bytes32(key string, x nitro.Bytes32) { e.hexStr(key, x[:]) }

func (e *encoder) address(key string, a nitro.Address) {
	e.b = append(e.b, key...)
	e.b = append(e.b, '"', '0', 'x')
	e.b = appendChecksummed(e.b, a)
	e.b = append(e.b, '"')
}

// appendChecksummed appends the 40 hex digits of a's EIP-55 form (what
// nitro.Address.Hex gives after "0x").
func appendChecksummed(b []byte, a nitro.Address) []byte {
	if v, ok := checksums.Load(a); ok {
		return append(b, v.(*[40]byte)[:]...)
	}
	var digits [40]byte
	hex.Encode(digits[:], a[:])
	h := crypto.Keccak256Hash(digits[:])
	for i, c := range digits {
		if c > '9' {
			n := h[i/2]
			if i%2 == 0 {
				n >>= 4
			}
			if n&0xf > 7 {
				digits[i] = c - ('a' - 'A')
			}
		}
	}
	if checksumsHeld.Add(1) <= maxChecksums {
		checksums.Store(a, &digits)
	}
	return append(b, digits[:]...)
}

// checksums memoizes EIP-55 forms: the addresses a wallet writes are few
// (its channels' participants, asset holders and app definitions) and each
// costs a keccak. The memo is bounded; past the bound forms are computed.
var (
	checksums     sync.Map // nitro.Address → *[40]byte
	checksumsHeld atomic.Int64
)

const maxChecksums = 1 << 14

// destination appends key and d as fmtDestination formats it.
func (e *encoder) destination(key string, d nitro.Bytes32) {
	if !nitro.IsExternalDestination(d) {
		e.bytes32(key, d)
		return
	}
	e.b = append(e.b, key...)
	e.b = append(e.b, `"0x000000000000000000000000`...)
	e.b = appendChecksummed(e.b, nitro.DestinationToAddress(d))
	e.b = append(e.b, '"')
}

// uint256 appends key and x as 0x plus 64 hex digits.
func (e *encoder) uint256(key string, x *big.Int) {
	var w [32]byte
	x.FillBytes(w[:])
	e.hexStr(key, w[:])
}

func (e *encoder) participants(key string, ps []core.Participant) {
	e.b = append(e.b, key...)
	e.b = append(e.b, '[')
	for i, p := range ps {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.str(`{"participantId":`, p.ParticipantID)
		e.address(`,"signingAddress":`, p.SigningAddress)
		e.destination(`,"destination":`, p.Destination)
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

// signedState checks a signed state, then appends it; on error nothing of
// it is appended that matters (the message is dropped).
func (e *encoder) signedState(ss core.SignedState, path string) error {
	st := ss.State
	if st.ChainID == nil || st.ChainID.Sign() < 0 || st.ChainID.Cmp(maxUint256) > 0 {
		return errAt(ErrOutOfRange, path+".chainId", "chain id must be in 0..2^256-1")
	}
	for _, f := range []struct {
		name string
		v    uint64
	}{{"channelNonce", st.ChannelNonce}, {"challengeDuration", st.ChallengeDuration}, {"turnNum", st.TurnNum}} {
		if f.v > nitro.MaxUint48 {
			return errAt(ErrOutOfRange, path+"."+f.name, "%d exceeds 2^48-1", f.v)
		}
	}
	if len(st.Participants) != len(ss.Participants) {
		return errAt(ErrMalformed, path+".participants", "state has %d participants, participant list has %d", len(st.Participants), len(ss.Participants))
	}
	for i, p := range ss.Participants {
		if st.Participants[i] != p.SigningAddress {
			return errAt(ErrMalformed, path+".participants["+strconv.Itoa(i)+"]", "signing address %s differs from the state's participant %s", fmtAddress(p.SigningAddress), fmtAddress(st.Participants[i]))
		}
	}
	id, err := st.ChannelID()
	if err != nil {
		sentinel := ErrOutOfRange
		if errors.Is(err, nitro.ErrTooManyParticipants) {
			sentinel = ErrTooLarge
		}
		return fmt.Errorf("%w: %s.channelId: %w", sentinel, path, err)
	}
	if err := checkOutcome(st.Outcome, path+".outcome"); err != nil {
		return err
	}
	e.b = append(e.b, `{"chainId":"`...)
	e.b = append(e.b, fmtChainID(st.ChainID)...)
	e.b = append(e.b, '"')
	e.participants(`,"participants":`, ss.Participants)
	e.uint(`,"channelNonce":`, st.ChannelNonce)
	e.address(`,"appDefinition":`, st.AppDefinition)
	e.uint(`,"challengeDuration":`, st.ChallengeDuration)
	e.uint(`,"turnNum":`, st.TurnNum)
	e.hexStr(`,"appData":`, st.AppData)
	if st.IsFinal {
		e.b = append(e.b, `,"isFinal":true`...)
	} else {
		e.b = append(e.b, `,"isFinal":false`...)
	}
	e.b = append(e.b, `,"outcome":[`...)
	for i, a := range st.Outcome {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.address(`{"assetHolderAddress":`, a.AssetHolder)
		if a.Guarantee != nil {
			e.bytes32(`,"targetChannelId":`, a.Guarantee.TargetChannelID)
			e.b = append(e.b, `,"destinations":[`...)
			for j, d := range a.Guarantee.Destinations {
				sep := `,`
				if j == 0 {
					sep = ``
				}
				e.destination(sep, d)
			}
			e.b = append(e.b, "]}"...)
			continue
		}
		e.b = append(e.b, `,"allocationItems":[`...)
		for j, it := range a.Allocation {
			if j > 0 {
				e.b = append(e.b, ',')
			}
			e.destination(`{"destination":`, it.Destination)
			e.uint256(`,"amount":`, it.Amount)
			e.b = append(e.b, '}')
		}
		e.b = append(e.b, "]}"...)
	}
	e.b = append(e.b, ']')
	e.bytes32(`,"channelId":`, id)
	e.b = append(e.b, `,"signatures":[`...)
	for i, s := range ss.Signatures {
		sep := `,`
		if i == 0 {
			sep = ``
		}
		var raw [65]byte
		copy(raw[:], s.R[:])
		copy(raw[32:], s.S[:])
		raw[64] = s.V
		e.hexStr(sep, raw[:])
	}
	e.b = append(e.b, "]}"...)
	return nil
}

// checkOutcome reports what the wire format cannot carry: an asset outcome
// with both a guarantee and allocation items, an amount outside
// 0..2^256-1, or allocations mixed with guarantees.
func checkOutcome(o nitro.Outcome, path string) error {
	guarantees := 0
	for i, a := range o {
		p := path + "[" + strconv.Itoa(i) + "]"
		if a.Guarantee != nil {
			guarantees++
			if len(a.Allocation) > 0 {
				return errAt(ErrMalformed, p, "asset outcome has both a guarantee and allocation items")
			}
			continue
		}
		for j, it := range a.Allocation {
			if err := nitro.CheckAmount(it.Amount); err != nil {
				return fmt.Errorf("%w: %s.allocationItems[%d].amount: %w", ErrOutOfRange, p, j, err)
			}
		}
	}
	if guarantees > 0 && guarantees < len(o) {
		return errAt(ErrMalformed, path, "outcome mixes allocations and guarantees, which the wire schema forbids")
	}
	return nil
}

// objective checks an objective, then appends it.
func (e *encoder) objective(o core.Objective, path string) error {
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
			return err
		}
		if o.Role != "" && !roles[o.Role] {
			return errAt(ErrUnsupported, dpath+".role", "unknown role %q", truncate(o.Role))
		}
		if o.FundingLedgerChannelID != "" {
			if err := checkLedgerRef(o.FundingLedgerChannelID, dpath+".fundingLedgerChannelId"); err != nil {
				return err
			}
		}
	case core.ObjectiveCloseChannel:
		if err := checkStrategy(); err != nil {
			return err
		}
	case core.ObjectiveVirtuallyFund, core.ObjectiveFundGuarantor, core.ObjectiveFundLedger, core.ObjectiveCloseLedger:
	default:
		return errAt(ErrUnsupported, path+".type", "unknown objective type %q", truncate(o.Type))
	}
	e.str(`{"type":`, o.Type)
	e.participants(`,"participants":`, o.Participants)
	e.b = append(e.b, `,"data":`...)
	switch o.Type {
	case core.ObjectiveOpenChannel:
		e.bytes32(`{"targetChannelId":`, o.TargetChannelID)
		e.str(`,"fundingStrategy":`, o.FundingStrategy)
		if o.Role != "" {
			e.str(`,"role":`, o.Role)
		}
		if o.FundingLedgerChannelID != "" {
			e.str(`,"fundingLedgerChannelId":`, o.FundingLedgerChannelID)
		}
	case core.ObjectiveCloseChannel:
		e.bytes32(`{"targetChannelId":`, o.TargetChannelID)
		e.str(`,"fundingStrategy":`, o.FundingStrategy)
	case core.ObjectiveVirtuallyFund:
		e.bytes32(`{"targetChannelId":`, o.TargetChannelID)
		e.bytes32(`,"jointChannelId":`, o.JointChannelID)
	case core.ObjectiveFundGuarantor:
		e.bytes32(`{"jointChannelId":`, o.JointChannelID)
		e.bytes32(`,"ledgerId":`, o.LedgerID)
		e.bytes32(`,"guarantorId":`, o.GuarantorID)
	case core.ObjectiveFundLedger, core.ObjectiveCloseLedger:
		e.bytes32(`{"ledgerId":`, o.LedgerID)
	}
	e.b = append(e.b, "}}"...)
	return nil
}
