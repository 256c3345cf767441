package ports

import (
	"context"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// WatchProof is what a wallet hands a watchtower for one channel: the
// support proof of its latest supported state, with the channel's id and
// fixed part (so that the watchtower can check every signature without
// knowing the channel).
type WatchProof struct {
	ChannelID nitro.Bytes32
	Fixed     nitro.FixedPart
	Proof     SupportProof
}

// Turn is the proof's supported turn (its last state's), 0 for an empty
// proof.
func (p WatchProof) Turn() uint64 {
	if n := len(p.Proof.States); n > 0 {
		return p.Proof.States[n-1].TurnNum
	}
	return 0
}

// Watchtower is a keyless watcher a wallet hands its supported states to,
// so that a stale challenge registered while the wallet is offline is
// cleared by a checkpoint (package watchtower). Watch never needs the
// wallet's key: the proof carries every participant's signature.
type Watchtower interface {
	// Watch hands the watchtower p. A proof no newer than the one it holds
	// for the channel is accepted and ignored; an invalid one is refused.
	Watch(ctx context.Context, p WatchProof) error
}
