package core_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
)

func TestBackupConcludeAfterDelay(t *testing.T) {
	w := openTwoParty(t)
	w.step(0, core.Close{})
	w.deliverAll()
	if len(w.concl) != 1 {
		t.Fatalf("closer concluded %d times", len(w.concl))
	}
	w.concl = nil
	// B sees no Concluded event: it backs up only after the delay.
	w.step(1, core.Tick{Now: 1000})
	w.step(1, core.Tick{Now: 1000 + core.BackupConcludeDelay - 1})
	if len(w.concl) != 0 {
		t.Fatal("backup too early")
	}
	w.step(1, core.Tick{Now: 1000 + core.BackupConcludeDelay})
	if len(w.concl) != 1 {
		t.Fatal("no backup conclude")
	}
	// Once concluded, nobody submits again.
	w.broadcastEvent(core.ChainEvent{Kind: core.EventConcluded, ChannelID: w.nodes[0].ID})
	w.step(1, core.Tick{Now: 5000})
	w.step(0, core.Tick{Now: 5000})
	if len(w.concl) != 1 {
		t.Fatal("conclude repeated after Concluded")
	}
}
