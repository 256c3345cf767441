package ethereum_test

import (
	"context"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
)

// TestCodeWaitsForConfirmations: with a confirmation depth, Code does not
// see an app until its deployment is that deep (a reorg could still undo
// it), then returns the code the node holds.
func TestCodeWaitsForConfirmations(t *testing.T) {
	ctx := context.Background()
	d := newDevChain(t, ethereum.DevOptions{})
	env := &devEnv{d: d, t: t}
	c, err := d.NewChain(ctx, newKey(t), ethereum.Config{Confirmations: 2})
	if err != nil {
		t.Fatal(err)
	}
	addr, want, err := env.DeployApp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		got, err := c.Code(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if confirmed := i == 2; confirmed != (len(got) == len(want)) || !confirmed && len(got) != 0 {
			t.Fatalf("after %d more blocks: %d bytes of code, want %d", i, len(got), map[bool]int{true: len(want)}[confirmed])
		}
		d.Commit()
	}
}
