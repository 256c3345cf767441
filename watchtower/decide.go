package watchtower

import "github.com/nitrowallet/nitrowallet/ports"

// verdict is what the watcher does about one alarm.
type verdict uint8

const (
	// keep: the challenge runs on a turn the watcher holds no newer proof
	// for (it acts only if a newer proof comes before it finalizes), or it
	// was cleared before its finalizesAt (a reorg may bring it back).
	keep verdict = iota
	// checkpoint: the challenge is stale: submit checkpoint with the proof.
	checkpoint
	// drop: nothing left to do (the challenge finalized or its time
	// passed, or the watcher holds no proof at all).
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

// decide is the watcher's whole decision, pure: given the alarm, the
// proof it holds (held false when none), the adjudicator's record at the
// head and the head's block time, whether to checkpoint. A challenge runs
// while the record's finalizesAt is in the future; it is stale when its
// turn is older than the proof's. An alarm whose challenge is cleared is
// kept until the challenge's own finalizesAt has passed: a reorg that
// takes the clearing checkpoint away brings the challenge back without
// its event coming again (it stays in a block the reorg kept).
func decide(a Alarm, p ports.WatchProof, held bool, rec ports.ChannelRecord, now uint64) verdict {
	switch {
	case !held:
		return drop
	case rec.FinalizesAt != 0 && rec.FinalizesAt <= now:
		return drop // finalized, or concluded
	case rec.FinalizesAt == 0 && a.FinalizesAt <= now:
		return drop // cleared, and it can no longer come back unanswered
	case rec.FinalizesAt == 0 || rec.TurnNumRecord >= p.Turn():
		return keep
	}
	return checkpoint
}
