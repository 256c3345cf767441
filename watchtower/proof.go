package watchtower

import (
	"errors"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// ErrInvalidProof: a proof handed in that does not prove its channel's
// state: a fixed part that does not give the channel id, states of another
// channel or not consecutive, or a signature that does not recover to its
// participant over the state whoSignedWhat names. It is refused.
var ErrInvalidProof = errors.New("watchtower: invalid support proof")

// Check verifies p as the adjudicator's checkpoint would: the fixed part
// gives the channel id, every state has that fixed part, turns are
// consecutive (ports.ProofShape), and participant i's signature recovers
// to the fixed part's participant i over States[WhoSignedWhat[i]]. It
// checks no app rule (the adjudicator judges those).
func Check(p ports.WatchProof) error {
	id, err := p.Fixed.ChannelID()
	if err != nil {
		return fmt.Errorf("%w: fixed part: %w", ErrInvalidProof, err)
	}
	if id != p.ChannelID {
		return fmt.Errorf("%w: fixed part gives channel %s, not %s", ErrInvalidProof, id, p.ChannelID)
	}
	if _, err := ports.ProofShape(p.Proof); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if !ports.SameFixedPart(p.Fixed, p.Proof.States[0].FixedPart()) {
		return fmt.Errorf("%w: states of another channel", ErrInvalidProof)
	}
	n := len(p.Fixed.Participants)
	if len(p.Proof.Signatures) != n || len(p.Proof.WhoSignedWhat) != n {
		return fmt.Errorf("%w: %d signatures and %d whoSignedWhat for %d participants",
			ErrInvalidProof, len(p.Proof.Signatures), len(p.Proof.WhoSignedWhat), n)
	}
	hashes := make([]nitro.Bytes32, len(p.Proof.States))
	for i, st := range p.Proof.States {
		if hashes[i], err = st.Hash(); err != nil {
			return fmt.Errorf("%w: state %d: %w", ErrInvalidProof, i, err)
		}
	}
	for i, who := range p.Proof.WhoSignedWhat {
		if int(who) >= len(hashes) {
			return fmt.Errorf("%w: participant %d signed state %d of %d", ErrInvalidProof, i, who, len(hashes))
		}
		signer, err := nitro.RecoverSigner(hashes[who], p.Proof.Signatures[i])
		if err != nil {
			return fmt.Errorf("%w: participant %d: %w", ErrInvalidProof, i, err)
		}
		if signer != p.Fixed.Participants[i] {
			return fmt.Errorf("%w: participant %d's signature recovers to %s", ErrInvalidProof, i, signer)
		}
	}
	return nil
}
