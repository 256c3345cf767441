package postgres

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports/storetest"
)

// goldenPath holds the stored bytes of the store suite's corpus in the
// current record format: one record a line, "channel <i> <hex>",
// "state <i>.<k> <hex>" (a row of the states table: the channel's k-th
// state, counting its States then its Held ones; each distinct row once,
// where the corpus first holds it) or
// "effect <i>.<j> <kind> <hex>", where i is the snapshot's index in
// storetest.Corpus() and j the effect's.
//
// NITROWALLET_UPDATE_GOLDEN=1 rewrites it from the current encoder: do that
// only for a deliberate change of the corpus or of the format (with a new
// format version byte and a decoder for the old one), and read the diff.
var goldenPath = filepath.Join("testdata", "codec-format2.golden")

// TestCodecGolden pins the bytes the store writes. Rows written by an
// earlier binary must stay readable, so every golden record must decode,
// and encode back to the same bytes; the decoded channel or effect must be
// the corpus's (a change that moves a field in both the encoder and the
// decoder passes the round trip but not this); and the corpus must encode
// to exactly the golden bytes.
func TestCodecGolden(t *testing.T) {
	corpus := storetest.Corpus()
	want := goldenLines(t, corpus)
	got := readGolden(t, goldenPath, want)
	kinds := map[string]bool{}
	for _, line := range got {
		checkGoldenRecord(t, corpus, line, kinds)
	}
	for _, k := range []string{"state", kindSignState, kindSend, kindDeposit, kindConclude, kindWatch} {
		if !kinds[k] {
			t.Fatalf("the golden file holds no %s record", k)
		}
	}
	compareGolden(t, goldenPath, got, want)
}

// readGolden returns the lines of the golden file at path, after writing
// current to it if NITROWALLET_UPDATE_GOLDEN=1.
func readGolden(t *testing.T, path string, current []string) []string {
	t.Helper()
	if os.Getenv("NITROWALLET_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, []byte(strings.Join(current, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d records to %s", len(current), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// compareGolden fails unless the records the code writes now (current)
// are the golden file's, byte for byte.
func compareGolden(t *testing.T, path string, golden, current []string) {
	t.Helper()
	if len(golden) != len(current) {
		t.Fatalf("%s has %d records, the fixtures encode to %d (changed fixtures? see its test's comment)", path, len(golden), len(current))
	}
	for i := range current {
		if golden[i] != current[i] {
			t.Fatalf("record %d: the fixtures encode to other bytes than %s:\n got  %.200s…\n want %.200s…\n(a stored format changed: see its test's comment)", i, path, current[i], golden[i])
		}
	}
}

// goldenLines encodes the corpus as the golden file's records.
func goldenLines(t *testing.T, corpus []storetest.Snapshot) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for i, snap := range corpus {
		out = append(out, fmt.Sprintf("channel %d %x", i, appendChannel(nil, &snap.Channel)))
		for k, st := range evidenceStates(&snap.Channel) {
			if row := fmt.Sprintf("%x", appendState(nil, st)); !seen[row] {
				seen[row] = true
				out = append(out, fmt.Sprintf("state %d.%d %s", i, k, row))
			}
		}
		for j, e := range snap.Effects {
			kind, data, err := appendEffect(nil, e)
			if err != nil {
				t.Fatalf("%s: effect %d: %v", snap.Stage, j, err)
			}
			out = append(out, fmt.Sprintf("effect %d.%d %s %x", i, j, kind, data))
		}
	}
	return out
}

// evidenceStates lists the states of c that the states table keeps (see
// prepareEvidence): its States, then its Held ones.
func evidenceStates(c *core.Channel) []*nitro.State {
	var out []*nitro.State
	for i := range c.States {
		out = append(out, &c.States[i].State)
	}
	for i := range c.Held {
		out = append(out, &c.Held[i].State)
	}
	return out
}

// checkGoldenRecord decodes one golden record, encodes it again and
// compares both with the corpus.
func checkGoldenRecord(t *testing.T, corpus []storetest.Snapshot, line string, kinds map[string]bool) {
	t.Helper()
	f := strings.Fields(line)
	var i, k int
	// index parses "<i>" or "<i>.<k>" and reports whether i is a snapshot
	// and k below the number of items n(snapshot) holds.
	index := func(n func(*storetest.Snapshot) int) bool {
		if len(f) < 3 {
			return false
		}
		var err error
		if f[0] == "channel" {
			_, err = fmt.Sscanf(f[1], "%d", &i)
		} else {
			_, err = fmt.Sscanf(f[1], "%d.%d", &i, &k)
		}
		return err == nil && i >= 0 && i < len(corpus) && k >= 0 && k < n(&corpus[i])
	}
	switch {
	case len(f) == 3 && f[0] == "channel" && index(func(*storetest.Snapshot) int { return 1 }):
		checkRecord(t, fmt.Sprintf("channel %d (%s)", i, corpus[i].Stage), f[2], corpus[i].Channel, decodeChannel,
			func(c core.Channel) ([]byte, error) { return appendChannel(nil, &c), nil })
	case len(f) == 3 && f[0] == "state" && index(func(s *storetest.Snapshot) int { return len(evidenceStates(&s.Channel)) }):
		checkRecord(t, fmt.Sprintf("state %d.%d (%s)", i, k, corpus[i].Stage), f[2], *evidenceStates(&corpus[i].Channel)[k], decodeState,
			func(s nitro.State) ([]byte, error) { return appendState(nil, &s), nil })
		kinds["state"] = true
	case len(f) == 4 && f[0] == "effect" && index(func(s *storetest.Snapshot) int { return len(s.Effects) }):
		checkRecord(t, fmt.Sprintf("effect %d.%d (%s)", i, k, corpus[i].Stage), f[3], corpus[i].Effects[k],
			func(data []byte) (core.Effect, error) { return decodeEffect(f[2], data) },
			func(e core.Effect) ([]byte, error) {
				kind, data, err := appendEffect(nil, e)
				if err == nil && kind != f[2] {
					err = fmt.Errorf("kind %s", kind)
				}
				return data, err
			})
		kinds[f[2]] = true
	default:
		t.Fatalf("bad golden record %.40q", line)
	}
}

// checkRecord checks one golden record's bytes (hex): they decode to want
// and encode back to themselves.
func checkRecord[T any](t *testing.T, what, hexData string, want T, decode func([]byte) (T, error), encode func(T) ([]byte, error)) {
	t.Helper()
	data, err := hex.DecodeString(hexData)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	got, err := decode(data)
	if err != nil {
		t.Fatalf("%s: a stored row no longer decodes: %v", what, err)
	}
	if d := storetest.Diff(want, got); d != "" {
		t.Fatalf("%s: a stored row decodes to another value: %s", what, d)
	}
	if again, err := encode(got); err != nil || !slices.Equal(again, data) {
		t.Fatalf("%s: a stored row encodes back to other bytes (%v)", what, err)
	}
}
