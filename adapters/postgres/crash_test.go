//go:build unix

package postgres_test

// The crash test: wallet A runs in a child process (this test binary run
// again) on PostgreSQL and kills itself with SIGKILL at the N-th crash
// point; crash points are counted by decorators around its store (before
// and after every Commit, Done, NextNonce and SetChainCursor, and inside the
// commit transaction before COMMIT), its signer, its chain calls and its
// message sends and receives. The parent holds wallet B (also on
// PostgreSQL), the in-memory chain and the mailboxes, served to the child
// over loopback HTTP. After a kill the child is restarted on the same
// database until it finishes. Every run must end with both channels closed
// and paid out exactly, nothing pending, and no key having signed two
// different states for one channel and turn — checked from both stores and
// from a journal of every signature the child's key ever made. Channel 2
// ends by A's challenge (crash_dispute_test.go), so crash points fall in
// every dispute phase too.

import (
	"fmt"
	"math/big"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
)

// Environment of the child process.
const (
	envChild  = "NITROWALLET_CRASH_CHILD"
	envURL    = "NITROWALLET_CRASH_URL"
	envSchema = "NITROWALLET_CRASH_SCHEMA"
	envServer = "NITROWALLET_CRASH_SERVER"
	envKillAt = "NITROWALLET_CRASH_KILL_AT"
	// envKillPhase, when set, makes KILL_AT count only the points of that
	// phase, or with that label (crashTarget).
	envKillPhase = "NITROWALLET_CRASH_KILL_PHASE"
	envTrace     = "NITROWALLET_CRASH_TRACE"
	envJournal   = "NITROWALLET_CRASH_JOURNAL"
	// envRuns overrides how many kill points TestCrashRecovery tries.
	envRuns = "NITROWALLET_CRASH_RUNS"
)

// The scenario: A opens two channels with B (5/3 and 7/2 wei), both fund
// them, A and B each update once (A's amounts differ on every restart, so a
// state signed before a crash and re-signed differently after it would
// show), A closes and concludes channel 1 and challenges on channel 2,
// whose challenge finalizes and is pushed (crash_dispute_test.go).
const (
	crashUpdates  = 1
	crashLastTurn = 3 + 2*crashUpdates // B's last update; A closes after it
	crashFunds    = 1_000_000
)

var crashAllocs = map[int64][2]int64{8: {5, 3}, 9: {7, 2}}

// Time-driven work (ticks, resending after a quiet spell) adds crash points
// in proportion to how slow the machine is; keep it rare so runs have about
// the same number of points. The child resends at once when it starts.
const (
	crashTick       = 500 * time.Millisecond
	crashIdleResync = time.Second
)

func crashSigner(name string) *memory.Signer {
	return memory.SignerFromSeed("nitrowallet-crash-" + name)
}

func crashDest(name string) nitro.Address {
	return nitro.Address(crypto.Keccak256Hash([]byte("nitrowallet-crash-dest-" + name)).Bytes()[12:])
}

func crashParticipants() []app.Participant {
	var ps []app.Participant
	for _, n := range []string{"A", "B"} {
		ps = append(ps, app.Participant{ParticipantID: n, SigningAddress: crashSigner(n).Address(), Destination: nitro.AddressToDestination(crashDest(n))})
	}
	return ps
}

func crashAllocation(asset nitro.Address, a, b int64) []app.Allocation {
	ps := crashParticipants()
	return []app.Allocation{{AssetHolderAddress: asset, AllocationItems: []app.AllocationItem{
		{Destination: ps[0].Destination, Amount: big.NewInt(a)},
		{Destination: ps[1].Destination, Amount: big.NewInt(b)},
	}}}
}

func total(c app.ChannelResult) int64 {
	var t int64
	for _, a := range c.Allocations {
		for _, it := range a.AllocationItems {
			t += it.Amount.Int64()
		}
	}
	return t
}

// kill is one crash point a child killed itself at.
type kill struct {
	point int
	label string
	phase string
}

type runResult struct {
	kills    []kill
	points   []kill // every point of the last, uncrashed child run
	restarts int
	dur      time.Duration
}

func TestCrashRecovery(t *testing.T) {
	pgtest.Open(t) // fail now, with instructions, if there is no database
	runs := 60
	if v, err := strconv.Atoi(os.Getenv(envRuns)); err == nil && v > 0 {
		runs = v
	}
	start := time.Now()
	dry := crashScenario(t, crashTarget{}, 0)
	total := len(dry.points)
	t.Logf("dry run: %d crash points in %v; by phase: %s", total, dry.dur.Round(time.Millisecond), countPhases(dry.points))
	if total < 50 {
		t.Fatalf("only %d crash points in a run: the decorators miss something", total)
	}
	points := crashPoints(dry.points, runs)
	var mu sync.Mutex
	results := map[crashTarget]runResult{}
	sem := make(chan struct{}, 4)
	t.Run("kills", func(t *testing.T) {
		for i, at := range points {
			// Every fifth run is also killed again while recovering.
			second := 0
			if i%5 == 4 {
				second = 2 + (i*7)%30
			}
			t.Run(at.String(), func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				r := crashScenario(t, at, second)
				if len(r.kills) == 0 && len(r.points) > 0 && at.phase == "" {
					// This run was shorter than the dry run and ended
					// before the point: kill at the same place relative
					// to its length instead.
					r = crashScenario(t, crashTarget{at: 1 + (at.at-1)*len(r.points)/total}, second)
				} else if len(r.kills) == 0 && at.at > 1 {
					// This run's phase had fewer points: its first.
					r = crashScenario(t, crashTarget{phase: at.phase, at: 1}, second)
				}
				mu.Lock()
				results[at] = r
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	// The closing note: which points were tried, where they fell, results.
	var all []kill
	labels := map[string]int{}
	distinct := map[int]bool{}
	var lines []string
	for _, at := range points {
		r := results[at]
		var ks []string
		for i, k := range r.kills {
			all = append(all, k)
			labels[k.label+"/"+k.phase]++
			if i == 0 {
				distinct[k.point] = true
			}
			ks = append(ks, fmt.Sprintf("#%d %s (%s)", k.point, k.label, k.phase))
		}
		if len(ks) == 0 {
			ks = []string{"run finished before this point"}
		}
		lines = append(lines, fmt.Sprintf("%-26s killed at %s; %d restart(s), %v: ok", at.String()+":", strings.Join(ks, ", then "), r.restarts, r.dur.Round(time.Millisecond)))
	}
	var ls []string
	for l, n := range labels {
		ls = append(ls, fmt.Sprintf("%s×%d", l, n))
	}
	sort.Strings(ls)
	t.Logf("crash runs:\n%s", strings.Join(lines, "\n"))
	t.Logf("%d runs, %d kills at %d distinct points, by phase: %s; %v in all", len(points), len(all), len(distinct), countPhases(all), time.Since(start).Round(time.Millisecond))
	t.Logf("kill sites: %s", strings.Join(ls, ", "))
	if len(distinct) < 50 {
		t.Errorf("only %d distinct points killed, want 50 or more", len(distinct))
	}
	phases := map[string]int{}
	for _, k := range all {
		phases[k.phase]++
	}
	for _, p := range append([]string{"open", "funding", "running", "closing"}, crashDisputePhases...) {
		if phases[p] == 0 {
			t.Errorf("no kill during %s", p)
		}
	}
}

func countPhases(ks []kill) string {
	n := map[string]int{}
	for _, k := range ks {
		n[k.phase]++
	}
	var out []string
	for _, p := range crashPhases {
		out = append(out, fmt.Sprintf("%s %d", p, n[p]))
	}
	return strings.Join(out, ", ")
}
