package propertytests

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"
)

// Settings, from the environment:
//
//	NITROWALLET_PROP_SEQUENCES  random sequences to run (default 2000, 200 with -short)
//	NITROWALLET_PROP_COMMANDS   longest sequence (default 100)
//	NITROWALLET_PROP_SEED       base seed (default: the time); worker i uses seed+i
//	NITROWALLET_PROP_WORKERS    parallel workers (default GOMAXPROCS)
//	NITROWALLET_PROP_SAVE       directory to save shrunk failures in
//	                            (default testdata/regressions; "-" not to save)
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
	def := int64(2000)
	if testing.Short() {
		def = 200
	}
	total := envInt(t, "NITROWALLET_PROP_SEQUENCES", def)
	maxCmds := envInt(t, "NITROWALLET_PROP_COMMANDS", 100)
	seed := envInt(t, "NITROWALLET_PROP_SEED", time.Now().UnixNano())
	workers := envInt(t, "NITROWALLET_PROP_WORKERS", int64(runtime.GOMAXPROCS(0)))
	saveDir := os.Getenv("NITROWALLET_PROP_SAVE")
	if saveDir == "" {
		saveDir = filepath.Join("testdata", "regressions")
	}
	workers = max(1, min(workers, total))
	replay := fmt.Sprintf("NITROWALLET_PROP_SEED=%d NITROWALLET_PROP_SEQUENCES=%d NITROWALLET_PROP_COMMANDS=%d NITROWALLET_PROP_WORKERS=%d go test -run TestRandomCommandSequences ./property_tests/",
		seed, total, maxCmds, workers)
	t.Logf("seed %d: %d sequences of up to %d commands on %d workers (replay: %s)", seed, total, maxCmds, workers, replay)

	start := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	ran, cmdsRun := 0, 0
	for i := int64(0); i < workers; i++ {
		n := total / workers
		if i < total%workers {
			n++
		}
		wg.Add(1)
		go func(wseed int64, n int) {
			defer wg.Done()
			var last *failure
			var lastMu sync.Mutex
			onFailure := func(f failure) {
				lastMu.Lock()
				last = &f
				lastMu.Unlock()
			}
			params := gopter.DefaultTestParametersWithSeed(wseed)
			params.MinSuccessfulTests = n
			params.MaxSize = int(maxCmds) + 1
			params.MaxShrinkCount = 2000
			counter := &countingCommands{ProtoCommands: walletCommands(onFailure)}
			res := commands.Prop(counter).Check(params)
			mu.Lock()
			defer mu.Unlock()
			ran += res.Succeeded
			cmdsRun += counter.commands()
			if res.Passed() {
				return
			}
			msg := fmt.Sprintf("worker seed %d: %s after %d passing sequences", wseed, res.Status, res.Succeeded)
			if res.Error != nil {
				msg += ": " + res.Error.Error()
			}
			if last == nil {
				t.Errorf("%s (no failing run recorded)\n%s", msg, replay)
				return
			}
			text := formatCase(*last,
				"A shrunk failure of TestRandomCommandSequences.",
				fmt.Sprintf("Found with worker seed %d (%s).", wseed, replay),
				"Error: "+last.err.Error(),
				"Once fixed, TestRegressions replays this file on every run.")
			path := "(not saved)"
			if saveDir != "-" {
				if err := os.MkdirAll(saveDir, 0o755); err == nil {
					name := fmt.Sprintf("seed%d-%x.txt", wseed, sha256.Sum256([]byte(text)))
					path = filepath.Join(saveDir, name[:len(name)-60]+".txt")
					if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
						path = "(save failed: " + err.Error() + ")"
					}
				}
			}
			t.Errorf("%s\nshrunk to %d commands, saved as %s:\n%s", msg, len(last.cmds), path, text)
		}(seed+i, int(n))
	}
	wg.Wait()
	t.Logf("%d sequences passed, %d commands run (with shrinking), in %v", ran, cmdsRun, time.Since(start).Round(time.Millisecond))
}

// countingCommands counts the commands the sequences run.
type countingCommands struct {
	*commands.ProtoCommands
	mu sync.Mutex
	n  int
}

func (c *countingCommands) DestroySystemUnderTest(sut commands.SystemUnderTest) {
	c.mu.Lock()
	c.n += len(sut.(*system).log)
	c.mu.Unlock()
	c.ProtoCommands.DestroySystemUnderTest(sut)
}

func (c *countingCommands) commands() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
