package wire

// Decoding of signed states: participants, signatures and the outcome
// (allocations or guarantees).

import (
	"fmt"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

var signedStateRequired = []string{
	"chainId", "participants", "channelNonce", "appDefinition", "challengeDuration",
	"outcome", "turnNum", "appData", "isFinal", "channelId", "signatures",
}

func (d *decoder) signedState(path pth) (core.SignedState, error) {
	var (
		ss      core.SignedState
		st      = &ss.State
		claimed nitro.Bytes32
	)
	err := d.object(path, signedStateRequired, func(key string, path pth) (err error) {
		switch key {
		case "chainId":
			st.ChainID, err = parsed(d, path, parseChainID)
		case "participants":
			// A state's participants are also bounded by Nitro itself.
			ss.Participants, err = d.participants(path, min(d.lim.MaxParticipants, nitro.MaxParticipants))
		case "channelNonce":
			st.ChannelNonce, err = d.uint48(path)
		case "appDefinition":
			st.AppDefinition, err = d.address(path)
		case "challengeDuration":
			st.ChallengeDuration, err = d.uint48(path)
		case "outcome":
			st.Outcome, err = d.outcome(path)
		case "turnNum":
			st.TurnNum, err = d.uint48(path)
		case "appData":
			st.AppData, err = parsed(d, path, func(s, p string) ([]byte, error) { return parseBytes(s, d.lim.MaxAppDataBytes, p) })
		case "isFinal":
			st.IsFinal, err = d.boolean(path)
		case "channelId":
			claimed, err = d.bytes32(path)
		case "signatures":
			err = arrayOf(d, path, d.lim.MaxSignatures, (*decoder).signature, &ss.Signatures)
		default:
			err = unknownField(path)
		}
		return err
	})
	if err != nil {
		return ss, err
	}
	for _, p := range ss.Participants {
		st.Participants = append(st.Participants, p.SigningAddress)
	}
	if !d.lim.FormatOnly {
		id, err := st.ChannelID()
		if err != nil {
			return ss, fmt.Errorf("%w: %s.channelId: cannot compute the channel id: %w", ErrChannelIDMismatch, path.String(), err)
		}
		if id != claimed {
			return ss, errAt(ErrChannelIDMismatch, path.String()+".channelId", "claimed %s, computed %s", fmtBytes32(claimed), fmtBytes32(id))
		}
		if d.wantIDs {
			d.ids = append(d.ids, id)
		}
	} else if d.wantIDs {
		id, _ := st.ChannelID()
		d.ids = append(d.ids, id)
	}
	return ss, nil
}

func (d *decoder) signature(path pth) (nitro.Signature, error) {
	var b [65]byte
	if _, err := parsed(d, path, func(s, p string) (struct{}, error) { return struct{}{}, parseFixedInto(b[:], s, p) }); err != nil {
		return nitro.Signature{}, err
	}
	sig, err := nitro.SignatureFromBytes(b[:])
	if err != nil && d.lim.FormatOnly {
		sig = nitro.Signature{V: b[64], R: nitro.Bytes32(b[:32]), S: nitro.Bytes32(b[32:64])}
		err = nil
	}
	if err != nil {
		return nitro.Signature{}, fmt.Errorf("%w: %s: %w", ErrOutOfRange, path.String(), err)
	}
	return sig, nil
}

func (d *decoder) participants(path pth, max int) ([]core.Participant, error) {
	ps := make([]core.Participant, 0, 2) // most channels have two
	err := arrayOf(d, path, max, (*decoder).participant, &ps)
	if len(ps) == 0 {
		ps = nil // empty arrays decode as nil slices
	}
	return ps, err
}

func (d *decoder) participant(path pth) (core.Participant, error) {
	var p core.Participant
	err := d.object(path, []string{"participantId", "signingAddress", "destination"}, func(key string, path pth) (err error) {
		switch key {
		case "participantId":
			p.ParticipantID, err = d.str(path)
		case "signingAddress":
			p.SigningAddress, err = d.address(path)
		case "destination":
			p.Destination, err = parsed(d, path, parseDestination)
		default:
			err = unknownField(path)
		}
		return err
	})
	return p, err
}

// outcome reads Allocation[] or Guarantee[]; the schema's anyOf forbids
// mixing the two in one outcome.
func (d *decoder) outcome(path pth) (nitro.Outcome, error) {
	var (
		out                   nitro.Outcome
		nAlloc, nGuar         int
		firstAlloc, firstGuar int // element indexes
	)
	arrayPath := path
	err := d.array(path, d.lim.MaxAssets, func(i int, path pth) error {
		a, err := d.assetOutcome(path)
		if err != nil {
			return err
		}
		if a.Guarantee != nil {
			nGuar++
			if nGuar == 1 {
				firstGuar = i
			}
		} else {
			nAlloc++
			if nAlloc == 1 {
				firstAlloc = i
			}
		}
		if nAlloc > 0 && nGuar > 0 {
			at := path.String()
			allocAt := arrayPath.child(pathSeg{index: firstAlloc, isIdx: true}).String()
			guarAt := arrayPath.child(pathSeg{index: firstGuar, isIdx: true}).String()
			return errAt(ErrMalformed, at, "outcome mixes allocations (%s) and guarantees (%s)", allocAt, guarAt)
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// assetOutcome reads an Allocation {assetHolderAddress, allocationItems} or a
// Guarantee {assetHolderAddress, targetChannelId, destinations}.
func (d *decoder) assetOutcome(path pth) (nitro.AssetOutcome, error) {
	var (
		a                             nitro.AssetOutcome
		g                             nitro.Guarantee
		hasItems, hasTarget, hasDests bool
		targetPath, destsPath         string // rendered: later fields reuse the path stack
	)
	err := d.object(path, []string{"assetHolderAddress"}, func(key string, path pth) (err error) {
		switch key {
		case "assetHolderAddress":
			a.AssetHolder, err = d.address(path)
		case "allocationItems":
			hasItems = true
			err = arrayOf(d, path, d.lim.MaxAllocationItems, (*decoder).allocationItem, &a.Allocation)
		case "targetChannelId":
			hasTarget, targetPath = true, path.String()
			g.TargetChannelID, err = d.bytes32(path)
		case "destinations":
			hasDests, destsPath = true, path.String()
			err = arrayOf(d, path, d.lim.MaxAllocationItems, (*decoder).bytes32, &g.Destinations)
		default:
			err = unknownField(path)
		}
		return err
	})
	if err != nil {
		return a, err
	}
	switch {
	case hasItems && hasTarget:
		return a, errAt(ErrUnknownField, targetPath, "not allowed in an allocation")
	case hasItems && hasDests:
		return a, errAt(ErrUnknownField, destsPath, "not allowed in an allocation")
	case hasItems:
		return a, nil
	case hasTarget || hasDests:
		if !hasTarget {
			return a, errAt(ErrMissingField, path.String(), "missing required property %q", "targetChannelId")
		}
		if !hasDests {
			return a, errAt(ErrMissingField, path.String(), "missing required property %q", "destinations")
		}
		gp := g
		a.Guarantee = &gp
		return a, nil
	}
	return a, errAt(ErrMissingField, path.String(), "missing required property %q (or a guarantee's targetChannelId and destinations)", "allocationItems")
}

func (d *decoder) allocationItem(path pth) (nitro.AllocationItem, error) {
	var it nitro.AllocationItem
	err := d.object(path, []string{"destination", "amount"}, func(key string, path pth) (err error) {
		switch key {
		case "destination":
			it.Destination, err = d.bytes32(path)
		case "amount":
			it.Amount, err = parsed(d, path, parseUint256)
		default:
			err = unknownField(path)
		}
		return err
	})
	return it, err
}
