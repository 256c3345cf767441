package propertytests

import (
	"math/rand"
	"testing"

	"github.com/nitrowallet/nitrowallet/sim"
)

// TestRunsAreReproducible runs random sequences twice each and compares
// the whole worlds afterwards: the wallets' goroutines and the app's
// locks must not make a run depend on scheduling, or seeds would not
// replay.
func TestRunsAreReproducible(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewSource(99))
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	for k := 0; k < 12; k++ {
		cfg := randomConfig(r)
		var cmds []cmd
		for i := 0; i < 80; i++ {
			x := r.Intn(total)
			o := ops[0]
			for _, oo := range ops {
				if x < oo.weight {
					o = oo
					break
				}
				x -= oo.weight
			}
			c := cmd{op: o.name}
			for j := 0; j < o.args; j++ {
				c.args = append(c.args, r.Intn(argRange(o.name, cfg)+1))
			}
			cmds = append(cmds, c)
		}
		run := func() string {
			w, err := sim.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			for _, c := range cmds {
				c.apply(w)
			}
			if err := w.Stabilize(true); err != nil {
				t.Fatalf("case %d: %v\n%s", k, err, formatCase(failure{cfg: cfg, cmds: cmds}))
			}
			return w.Digest()
		}
		if a, b := run(), run(); a != b {
			t.Fatalf("case %d: two runs differ\n%s", k, formatCase(failure{cfg: cfg, cmds: cmds}))
		}
	}
}
