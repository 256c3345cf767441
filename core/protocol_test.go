package core_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// runOpen opens an n-party channel delivering everything in order.
func runOpen(t *testing.T, n int) *world {
	w := newWorld(t, n)
	amounts := make([]int64, n)
	for i := range amounts {
		amounts[i] = int64(10 * (i + 1))
	}
	w.step(0, w.createInput(amounts...))
	w.deliverAll()
	for i := 1; i < n; i++ {
		w.wantStatus(i, core.StatusProposed)
		w.step(i, core.Join{Deployment: w.deployment()})
	}
	w.deliverAll()
	for k := 0; k < n; k++ {
		if len(w.deposits) != 1 {
			t.Fatalf("deposit %d: %d queued, want exactly 1 (ordered deposits)", k, len(w.deposits))
		}
		w.mineDeposit()
		w.deliverAll()
	}
	for i := 0; i < n; i++ {
		w.wantStatus(i, core.StatusRunning)
	}
	return w
}

func TestMultiPartyHappyPath(t *testing.T) {
	for _, n := range []int{3, 5} {
		w := runOpen(t, n)
		total := int64(0)
		for i := 0; i < n; i++ {
			total += int64(10 * (i + 1))
		}
		turn := uint64(2*n - 1)
		for u := 0; u < 2*n; u++ {
			turn++
			mover := int(turn % uint64(n))
			w.step(mover, core.Update{Outcome: w.pays(mover, (mover+1)%n, 1)})
			w.deliverAll()
			for i := 0; i < n; i++ {
				if w.nodes[i].TurnNum() != turn {
					t.Fatalf("n=%d node %d turn %d want %d", n, i, w.nodes[i].TurnNum(), turn)
				}
			}
		}
		closer := int((turn + 1) % uint64(n))
		w.step(closer, core.Close{})
		w.wantStatus(closer, core.StatusClosing)
		w.deliverAll()
		for i := 0; i < n; i++ {
			w.wantStatus(i, core.StatusClosed)
		}
		if len(w.concl) != 1 {
			t.Fatalf("n=%d: %d concludes, want 1 by the closer", n, len(w.concl))
		}
	}
}

// forge builds a received state at turn t signed by the given nodes.
func (w *world) forge(t uint64, final bool, outcome nitro.Outcome, signers ...int) core.SignedState {
	st := w.nodes[0].Setup.Clone()
	st.TurnNum, st.IsFinal, st.Outcome = t, final, outcome
	h, err := st.Hash()
	if err != nil {
		w.t.Fatal(err)
	}
	ss := core.SignedState{State: st, Participants: w.parts}
	for _, i := range signers {
		ss.Signatures = append(ss.Signatures, sign(w.t, w.keys[i], h))
	}
	return ss
}
