package apprules_test

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/nitrowallet/nitrowallet/apprules"
)

// envUint reads a positive integer from the environment, or def.
func envUint(t *testing.T, name string, def uint64) uint64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return v
}

// tally counts one app's transitions.
type tally struct {
	valid, invalid, agree int
	reasons               map[string]int // chain revert string → count
}

// compare runs one transition locally and on the deployed adjudicator and
// fails the test unless the verdicts and revert data agree.
func (c *testChain) compare(t *testing.T, tr transition, seed uint64, tl *tally) {
	t.Helper()
	local := apprules.RequireValidTransition(tr.n, tr.isFinal, tr.ab, tr.turnNumB, c.checker(tr.app))
	valid, revert := c.onChain(t, tr)
	if valid {
		tl.valid++
	} else {
		tl.invalid++
		if tl.reasons == nil {
			tl.reasons = map[string]int{}
		}
		tl.reasons[strconv.Quote(revertString(revert))]++
	}
	if local != nil && !errors.Is(local, apprules.ErrInvalidTransition) {
		t.Fatalf("seed %d: %v: local error %v is not ErrInvalidTransition", seed, tr, local)
	}
	if valid != (local == nil) {
		t.Fatalf("seed %d: %v: chain says valid=%v (revert %x), local says %v", seed, tr, valid, revert, local)
	}
	if local != nil {
		var e *apprules.Error
		if !errors.As(local, &e) {
			t.Fatalf("seed %d: %v: local error %T", seed, tr, local)
		}
		if !bytes.Equal(e.RevertData, revert) {
			t.Fatalf("seed %d: %v: chain reverts %x, local %x (%v)", seed, tr, revert, e.RevertData, local)
		}
		if reason, _ := apprules.Reason(local); reason != revertString(revert) {
			t.Fatalf("seed %d: %v: chain reason %q, local %q", seed, tr, revertString(revert), reason)
		}
	}
	tl.agree++
}

// TestCrossCheckWithAdjudicator runs random transitions of the npm
// package's four apps (valid and invalid, setup and running turns, every
// isFinal combination) through the local rule and through the deployed
// NitroAdjudicator 0.17.0's validTransition, and requires the same verdict
// and the same revert data. NITROWALLET_APPRULES_TRANSITIONS sets the
// number per app (default 1000), NITROWALLET_APPRULES_SEED replays a run.
func TestCrossCheckWithAdjudicator(t *testing.T) {
	per := envUint(t, "NITROWALLET_APPRULES_TRANSITIONS", 1000)
	seed := envUint(t, "NITROWALLET_APPRULES_SEED", uint64(time.Now().UnixNano()))
	t.Logf("seed %d, %d transitions per app (NITROWALLET_APPRULES_SEED=%d NITROWALLET_APPRULES_TRANSITIONS=%d to replay)", seed, per, seed, per)
	c := newTestChain(t)
	if !c.local[c.apps["SingleAssetPayments"]].Native() {
		t.Fatal("SingleAssetPayments as read from the chain is not judged natively: the cross-check would not check the native rule")
	}
	g := &gen{r: newRand(seed), holder: c.d.Deployment.ETHAssetHolder}
	makers := map[string]func(common.Address) transition{
		"TrivialApp": g.trivial, "CountingApp": g.counting,
		"SingleAssetPayments": g.payments, "HashLockedSwap": g.swap,
	}
	start := time.Now()
	for _, name := range appNames {
		var tl tally
		for i := uint64(0); i < per; i++ {
			c.compare(t, makers[name](c.apps[name]), seed, &tl)
		}
		t.Logf("%-20s %4d transitions: %4d valid, %4d invalid, %4d agreements; reasons %v", name, per, tl.valid, tl.invalid, tl.agree, tl.reasons)
	}
	// An appDefinition without code: running transitions revert on chain.
	var tl tally
	for i := 0; i < 20; i++ {
		tr := g.trivial(g.addr())
		tr.what = "no code, " + tr.what
		c.compare(t, tr, seed, &tl)
	}
	t.Logf("%-20s %4d transitions: %4d valid, %4d invalid, %4d agreements", "no code", 20, tl.valid, tl.invalid, tl.agree)
	t.Logf("%d transitions in %v", 4*per+20, time.Since(start).Round(time.Millisecond))
}
