package propertytests

import (
	"fmt"
	"math/big"
	"testing"
)

func TestScratchExplore(t *testing.T) {
	x := newExplorer(2, 1)
	x.run()
	t.Log(x.failure, x.states, x.edges)
	// recount by status
	counts := map[string]int{}
	var walk func(s *xstate, seen map[[32]byte]bool)
	walk = func(s *xstate, seen map[[32]byte]bool) {
		counts[fmt.Sprintf("%s/%s u%d c%v net%d", s.Nodes[0].Status(), s.Nodes[1].Status(), s.Updates, s.Closed, len(s.Net))]++
		for _, mv := range x.moves(s) {
			t2 := s.clone()
			if err := mv.apply(t2); err != nil {
				t.Log(mv.label, err)
				continue
			}
			k := t2.key()
			if seen[k] {
				continue
			}
			seen[k] = true
			walk(t2, seen)
		}
	}
	walk(&xstate{Holdings: new(big.Int), Deposited: new(big.Int), Paid: [2]*big.Int{new(big.Int), new(big.Int)}}, map[[32]byte]bool{})
	for k, v := range counts {
		t.Log(k, v)
	}
}
