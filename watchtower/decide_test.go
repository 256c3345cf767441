package watchtower

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// TestWatchDecide walks the watcher's decision: it checkpoints only a
// running challenge on a turn older than the proof it holds.
func TestWatchDecide(t *testing.T) {
	p5 := ports.WatchProof{Proof: ports.SupportProof{States: []nitro.State{{TurnNum: 5}}}}
	a := Alarm{TurnNumRecord: 3, FinalizesAt: 100}
	for _, c := range []struct {
		name string
		held bool
		rec  ports.ChannelRecord
		now  uint64
		want verdict
	}{
		{"stale challenge running", true, ports.ChannelRecord{TurnNumRecord: 3, FinalizesAt: 100}, 50, checkpoint},
		{"no proof held", false, ports.ChannelRecord{TurnNumRecord: 3, FinalizesAt: 100}, 50, drop},
		{"challenge on the proof's turn", true, ports.ChannelRecord{TurnNumRecord: 5, FinalizesAt: 100}, 50, keep},
		{"challenge on a later turn", true, ports.ChannelRecord{TurnNumRecord: 6, FinalizesAt: 100}, 50, keep},
		{"finalized", true, ports.ChannelRecord{TurnNumRecord: 3, FinalizesAt: 100}, 100, drop},
		{"cleared, may come back", true, ports.ChannelRecord{TurnNumRecord: 5}, 50, keep},
		{"cleared, past its time", true, ports.ChannelRecord{TurnNumRecord: 5}, 100, drop},
	} {
		if got := decide(a, p5, c.held, c.rec, c.now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
