package watchtower

import (
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// proofJSON is a WatchProof as JSON (docs/watchtower.md): hex strings for
// bytes, the chain id as a decimal string, the outcome ABI-encoded as the
// adjudicator hashes it, and each signature as r || s || v.
type proofJSON struct {
	ChannelID     nitro.Bytes32 `json:"channelId"`
	FixedPart     fixedJSON     `json:"fixedPart"`
	States        []stateJSON   `json:"states"`
	Signatures    []string      `json:"signatures"`
	WhoSignedWhat []int         `json:"whoSignedWhat"`
}

type fixedJSON struct {
	ChainID           string          `json:"chainId"`
	Participants      []nitro.Address `json:"participants"`
	ChannelNonce      uint64          `json:"channelNonce"`
	AppDefinition     nitro.Address   `json:"appDefinition"`
	ChallengeDuration uint64          `json:"challengeDuration"`
}

type stateJSON struct {
	TurnNum uint64        `json:"turnNum"`
	IsFinal bool          `json:"isFinal"`
	AppData hexutil.Bytes `json:"appData"`
	Outcome hexutil.Bytes `json:"outcome"`
}

// EncodeProof returns p as JSON in the format of docs/watchtower.md.
func EncodeProof(p ports.WatchProof) ([]byte, error) {
	f := p.Fixed
	if f.ChainID == nil {
		return nil, fmt.Errorf("%w: no chain id", ErrInvalidProof)
	}
	out := proofJSON{
		ChannelID: p.ChannelID,
		FixedPart: fixedJSON{ChainID: f.ChainID.String(), Participants: f.Participants, ChannelNonce: f.ChannelNonce,
			AppDefinition: f.AppDefinition, ChallengeDuration: f.ChallengeDuration},
	}
	for _, w := range p.Proof.WhoSignedWhat {
		out.WhoSignedWhat = append(out.WhoSignedWhat, int(w))
	}
	for i, st := range p.Proof.States {
		o, err := st.Outcome.Encode()
		if err != nil {
			return nil, fmt.Errorf("%w: state %d outcome: %w", ErrInvalidProof, i, err)
		}
		out.States = append(out.States, stateJSON{TurnNum: st.TurnNum, IsFinal: st.IsFinal, AppData: st.AppData, Outcome: o})
	}
	for _, s := range p.Proof.Signatures {
		b := make([]byte, 0, 65)
		b = append(append(append(b, s.R[:]...), s.S[:]...), s.V)
		out.Signatures = append(out.Signatures, hexutil.Encode(b))
	}
	return json.Marshal(out)
}

// DecodeProof parses a proof in the format of docs/watchtower.md. It
// checks the encoding only: Check judges the proof.
func DecodeProof(b []byte) (ports.WatchProof, error) {
	var in proofJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return ports.WatchProof{}, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	chainID, ok := new(big.Int).SetString(in.FixedPart.ChainID, 10)
	if !ok || chainID.Sign() < 0 {
		return ports.WatchProof{}, fmt.Errorf("%w: chainId %q", ErrInvalidProof, in.FixedPart.ChainID)
	}
	p := ports.WatchProof{ChannelID: in.ChannelID, Fixed: nitro.FixedPart{
		ChainID: chainID, Participants: in.FixedPart.Participants, ChannelNonce: in.FixedPart.ChannelNonce,
		AppDefinition: in.FixedPart.AppDefinition, ChallengeDuration: in.FixedPart.ChallengeDuration,
	}}
	for i, s := range in.States {
		o, err := nitro.DecodeOutcome(s.Outcome)
		if err != nil {
			return ports.WatchProof{}, fmt.Errorf("%w: state %d outcome: %w", ErrInvalidProof, i, err)
		}
		f := p.Fixed
		p.Proof.States = append(p.Proof.States, nitro.State{
			ChainID: new(big.Int).Set(chainID), Participants: f.Participants, ChannelNonce: f.ChannelNonce,
			AppDefinition: f.AppDefinition, ChallengeDuration: f.ChallengeDuration,
			AppData: s.AppData, Outcome: o, TurnNum: s.TurnNum, IsFinal: s.IsFinal,
		})
	}
	for i, s := range in.Signatures {
		raw, err := hexutil.Decode(s)
		if err != nil {
			return ports.WatchProof{}, fmt.Errorf("%w: signature %d: %w", ErrInvalidProof, i, err)
		}
		sig, err := nitro.SignatureFromBytes(raw)
		if err != nil {
			return ports.WatchProof{}, fmt.Errorf("%w: signature %d: %w", ErrInvalidProof, i, err)
		}
		p.Proof.Signatures = append(p.Proof.Signatures, sig)
	}
	for i, w := range in.WhoSignedWhat {
		if w < 0 || w > 255 {
			return ports.WatchProof{}, fmt.Errorf("%w: whoSignedWhat[%d] = %d", ErrInvalidProof, i, w)
		}
		p.Proof.WhoSignedWhat = append(p.Proof.WhoSignedWhat, uint8(w))
	}
	return p, nil
}
