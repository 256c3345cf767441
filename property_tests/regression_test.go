package propertytests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leanovate/gopter/commands"
)

// TestRegressions replays every case saved under testdata/regressions: the
// shrunk failures TestRandomCommandSequences found (which must pass once
// fixed), and cases marked "expect fail" that show what the checks catch.
func TestRegressions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "regressions", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c, err := parseCase(string(data))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if os.Getenv("NITROWALLET_PROP_TRACE") != "" {
				c.cfg.Trace = true
			}
			err = replayCase(c, t)
			switch {
			case c.expectFail && err == nil:
				t.Fatalf("%s: expected a violation, found none", f)
			case c.expectFail:
				t.Logf("caught as expected: %v", err)
			case err != nil:
				t.Fatalf("%s: %v", f, err)
			}
		})
	}
}

// replayCase runs a case's commands with gopter's commands.Replay, checking
// after each, then the stabilize phase. With c.cfg.Trace (set by
// NITROWALLET_PROP_TRACE=1) it logs the run's sequence diagram.
func replayCase(c caseFile, t *testing.T) error {
	s, err := newSystem(c.cfg, nil)
	if err != nil {
		return err
	}
	cmds := make([]commands.Command, len(c.cmds))
	for i, x := range c.cmds {
		cmds[i] = x
	}
	commands.Replay(s, c.cfg, cmds...)
	err = s.finish()
	if c.cfg.Trace {
		t.Logf("sequence diagram:\n%s", s.w.Diagram())
	}
	return err
}
