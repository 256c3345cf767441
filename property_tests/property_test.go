package propertytests

import (
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"

	"github.com/nitrowallet/nitrowallet/sim"
)

// Settings, from the environment:
//
//	NITROWALLET_PROP_SEQUENCES  random sequences to run (default 2000, 200 with -short)
//	NITROWALLET_PROP_COMMANDS   longest sequence (default 100)
//	NITROWALLET_PROP_MIN        shortest sequence (default 0; lengths grow
//	                            from it to the longest over the run)
//	NITROWALLET_PROP_SEED       base seed (default: the time); worker i uses seed+i
//	NITROWALLET_PROP_WORKERS    parallel workers (default GOMAXPROCS)
//	NITROWALLET_PROP_SAVE       directory to save shrunk failures in
//	                            (default testdata/regressions; "-" not to save)
//	NITROWALLET_PROP_SKIP       operations to leave out, comma-separated
//	                            (to look past a known failure)
func envInt(t *testing.T, name string, def int64) int64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return v
}

// TestRandomCommandSequences runs random command sequences on worlds of 2 to
// 4 wallets sharing up to 3 channels, checks every invariant after every
// command and liveness after a stabilize phase, and shrinks any failure to
// a short case saved as a regression file.
func TestRandomCommandSequences(t *testing.T) {
	t.Parallel()
	def := int64(2000)
	if testing.Short() {
		def = 200
	}
	total := envInt(t, "NITROWALLET_PROP_SEQUENCES", def)
	maxCmds := envInt(t, "NITROWALLET_PROP_COMMANDS", 100)
	minCmds := envInt(t, "NITROWALLET_PROP_MIN", 0)
	seed := envInt(t, "NITROWALLET_PROP_SEED", time.Now().UnixNano())
	workers := envInt(t, "NITROWALLET_PROP_WORKERS", int64(runtime.GOMAXPROCS(0)))
	saveDir := os.Getenv("NITROWALLET_PROP_SAVE")
	if saveDir == "" {
		saveDir = filepath.Join("testdata", "regressions")
	}
	workers = max(1, min(workers, total))
	replay := fmt.Sprintf("NITROWALLET_PROP_SEED=%d NITROWALLET_PROP_SEQUENCES=%d NITROWALLET_PROP_COMMANDS=%d NITROWALLET_PROP_MIN=%d NITROWALLET_PROP_WORKERS=%d go test -run TestRandomCommandSequences ./property_tests/",
		seed, total, maxCmds, minCmds, workers)
	t.Logf("seed %d: %d sequences of up to %d commands on %d workers (replay: %s)", seed, total, maxCmds, workers, replay)

	start := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	ran, cmdsRun := 0, 0
	var totals sim.Stats
	var disp sim.DisputeStats
	for i := int64(0); i < workers; i++ {
		n := total / workers
		if i < total%workers {
			n++
		}
		wg.Add(1)
		go func(wseed int64, n int) {
			defer wg.Done()
			// The first failing run is the one found; the last is the
			// shrunk one (gopter ends on the smallest failing case).
			var first, last *failure
			var lastMu sync.Mutex
			onFailure := func(f failure) {
				lastMu.Lock()
				if first == nil {
					first = &f
				}
				last = &f
				lastMu.Unlock()
			}
			params := gopter.DefaultTestParametersWithSeed(wseed)
			params.MinSuccessfulTests = n
			params.MaxSize = int(maxCmds) + 1
			params.MinSize = int(min(minCmds, maxCmds))
			params.MaxShrinkCount = 2000
			counter := &countingCommands{ProtoCommands: walletCommands(onFailure)}
			res := commands.Prop(counter).Check(params)
			mu.Lock()
			defer mu.Unlock()
			ran += res.Succeeded
			cmdsRun += counter.commands()
			counter.mu.Lock()
			disp.Challenges += counter.disp.Challenges
			disp.StaleChallenges += counter.disp.StaleChallenges
			disp.Reverted += counter.disp.Reverted
			disp.Cleared += counter.disp.Cleared
			disp.TimeJumps += counter.disp.TimeJumps
			disp.Finalized += counter.disp.Finalized
			disp.LostOffline += counter.disp.LostOffline
			disp.LostLate += counter.disp.LostLate
			counter.mu.Unlock()
			for _, f := range []struct{ sum, add *int }{
				{&totals.Delivered, &counter.stats.Delivered}, {&totals.Dropped, &counter.stats.Dropped}, {&totals.Duplicated, &counter.stats.Duplicated},
				{&totals.Rejected, &counter.stats.Rejected}, {&totals.Forged, &counter.stats.Forged}, {&totals.Syncs, &counter.stats.Syncs},
				{&totals.Blocks, &counter.stats.Blocks}, {&totals.Reorgs, &counter.stats.Reorgs}, {&totals.Crashes, &counter.stats.Crashes},
				{&totals.Concludes, &counter.stats.Concludes}, {&totals.StepChecks, &counter.stats.StepChecks},
				{&totals.InvalidProposals, &counter.stats.InvalidProposals}, {&totals.InvalidRefused, &counter.stats.InvalidRefused},
			} {
				*f.sum += *f.add
			}
			if res.Passed() {
				return
			}
			msg := fmt.Sprintf("worker seed %d: %s after %d passing sequences", wseed, res.Status, res.Succeeded)
			shrinks := 0
			for _, a := range res.Args {
				shrinks += a.Shrinks
			}
			if res.Error != nil {
				msg += ": " + res.Error.Error()
			}
			if last == nil {
				t.Errorf("%s (no failing run recorded)\n%s", msg, replay)
				return
			}
			text := formatCase(*last,
				"A shrunk failure of TestRandomCommandSequences.",
				fmt.Sprintf("Found with worker seed %d (%s),", wseed, replay),
				fmt.Sprintf("a sequence of %d commands (failing after %d) shrunk to %d in %d steps.", first.total, len(first.cmds), len(last.cmds), shrinks),
				"Error: "+last.err.Error(),
				"Once fixed, TestRegressions replays this file on every run.")
			path := "(not saved)"
			if saveDir != "-" {
				if err := os.MkdirAll(saveDir, 0o755); err == nil {
					path = filepath.Join(saveDir, fmt.Sprintf("seed%d-%08x.txt", wseed, crc32.ChecksumIEEE([]byte(text))))
					if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
						path = "(save failed: " + err.Error() + ")"
					}
				}
			}
			t.Errorf("%s\na sequence of %d commands (failing after %d) shrunk to %d in %d steps, saved as %s:\n%s", msg, first.total, len(first.cmds), len(last.cmds), shrinks, path, text)
		}(seed+i, int(n))
	}
	wg.Wait()
	t.Logf("%d sequences passed, %d commands run (with shrinking), in %v", ran, cmdsRun, time.Since(start).Round(time.Millisecond))
	t.Logf("with the stabilize phases: %d messages delivered, %d dropped, %d duplicated, %d rejected (%d forged); %d syncs; %d blocks, %d reorgs, %d concludes; %d crashes; %d Step checks",
		totals.Delivered, totals.Dropped, totals.Duplicated, totals.Rejected, totals.Forged, totals.Syncs, totals.Blocks, totals.Reorgs, totals.Concludes, totals.Crashes, totals.StepChecks)
	t.Logf("app-invalid proposals: %d made, %d refusals by honest wallets", totals.InvalidProposals, totals.InvalidRefused)
	t.Logf("disputes: %d challenges, %d stale challenges (%d reverted, %d cleared in their window); %d chain time jumps, %d challenges finalized (%d against the newer support of an offline participant, %d of one that got it or came back too late to answer)",
		disp.Challenges, disp.StaleChallenges, disp.Reverted, disp.Cleared, disp.TimeJumps, disp.Finalized, disp.LostOffline, disp.LostLate)
	// The new property is only as good as its reach: a default run must
	// have made hostile peers propose app-invalid states and honest
	// wallets refuse them.
	if ran >= 200 && !skippedOps()["invalid"] && (totals.InvalidProposals == 0 || totals.InvalidRefused == 0) {
		t.Errorf("%d sequences made %d app-invalid proposals, %d refused: the property was never exercised", ran, totals.InvalidProposals, totals.InvalidRefused)
	}
	// Likewise the dispute properties: stale challenges registered, and
	// challenges run to their finalization.
	if skip := skippedOps(); ran >= 200 && !skip["stale"] && !skip["challenge"] && !skip["chaintime"] && (disp.StaleChallenges-disp.Reverted == 0 || disp.Finalized == 0) {
		t.Errorf("%d sequences: disputes never exercised: %+v", ran, disp)
	}
}

// countingCommands counts the commands the sequences run and what their
// worlds did.
type countingCommands struct {
	*commands.ProtoCommands
	mu    sync.Mutex
	n     int
	stats sim.Stats
	disp  sim.DisputeStats
}

func (c *countingCommands) DestroySystemUnderTest(sut commands.SystemUnderTest) {
	s := sut.(*system)
	defer func() {
		st := s.w.Stats()
		ds := s.w.DisputeStats()
		c.mu.Lock()
		c.n += len(s.log)
		c.disp.Challenges += ds.Challenges
		c.disp.StaleChallenges += ds.StaleChallenges
		c.disp.Reverted += ds.Reverted
		c.disp.Cleared += ds.Cleared
		c.disp.TimeJumps += ds.TimeJumps
		c.disp.Finalized += ds.Finalized
		c.disp.LostOffline += ds.LostOffline
		c.disp.LostLate += ds.LostLate
		for _, f := range []struct{ sum, add *int }{
			{&c.stats.Delivered, &st.Delivered}, {&c.stats.Dropped, &st.Dropped}, {&c.stats.Duplicated, &st.Duplicated},
			{&c.stats.Rejected, &st.Rejected}, {&c.stats.Forged, &st.Forged}, {&c.stats.Syncs, &st.Syncs},
			{&c.stats.Blocks, &st.Blocks}, {&c.stats.Reorgs, &st.Reorgs}, {&c.stats.Crashes, &st.Crashes},
			{&c.stats.Concludes, &st.Concludes}, {&c.stats.StepChecks, &st.StepChecks},
			{&c.stats.InvalidProposals, &st.InvalidProposals}, {&c.stats.InvalidRefused, &st.InvalidRefused},
		} {
			*f.sum += *f.add
		}
		c.mu.Unlock()
	}()
	c.ProtoCommands.DestroySystemUnderTest(sut)
}

func (c *countingCommands) commands() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
