package watchtower

import "github.com/nitrowallet/nitrowallet/ports"

// verdict is what the watcher does about one alarm.
type verdict uint8

const (
	// keep: the challenge runs on a turn the watcher holds no newer proof
	// for; it acts only if a newer proof comes before it finalizes.
	keep verdict = iota
	// checkpoint: the challenge is stale: submit checkpoint with the proof.
	checkpoint
	// drop: nothing left to do (no challenge runs, or it finalized, or
	// the watcher holds no proof at all).
	drop
)

// String names the verdict for logs.
func (v verdict) String() string {
	switch v {
	case keep:
		return "keep"
	case checkpoint:
		return "checkpoint"
	}
	return "drop"
}

// decide is the watcher's whole decision, pure: given the proof it holds
// (held false when none), the adjudicator's record at the head and the
// head's block time, whether to checkpoint. A challenge is running while
// finalizesAt is in the future; it is stale when its turn is older than
// the proof's.
func decide(p ports.WatchProof, held bool, rec ports.ChannelRecord, now uint64) verdict {
	switch {
	case !held:
		return drop
	case rec.FinalizesAt == 0 || rec.FinalizesAt <= now:
		return drop
	case rec.TurnNumRecord >= p.Turn():
		return keep
	}
	return checkpoint
}
