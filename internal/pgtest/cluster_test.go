package pgtest_test

import (
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/internal/pgtest"
)

// TestCluster: a throwaway cluster starts, counts sessions it kills,
// restarts, and is removed.
func TestCluster(t *testing.T) {
	start := time.Now()
	c := pgtest.StartCluster(t)
	t.Logf("started in %v on %s", time.Since(start), c.URL())
	if n := c.KillBackends(); n != 0 {
		t.Fatalf("killed %d sessions in a new cluster", n)
	}
	start = time.Now()
	c.Restart()
	t.Logf("restarted in %v", time.Since(start))
	if n := c.AdvisoryLocks(); n != 0 {
		t.Fatalf("%d advisory locks in a new cluster", n)
	}
}
