package postgres

import (
	"bufio"
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
	if os.Getenv("NITROWALLET_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(goldenPath, []byte(strings.Join(want, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d records to %s", len(want), goldenPath)
	}
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	var got []string
	kinds := map[string]bool{}
	for sc.Scan() {
		line := sc.Text()
		got = append(got, line)
		checkGoldenRecord(t, corpus, line, kinds)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"state", kindSignState, kindSend, kindDeposit, kindConclude, kindWatch} {
		if !kinds[k] {
			t.Fatalf("the golden file holds no %s record", k)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("golden file has %d records, the corpus encodes to %d (a changed corpus? see goldenPath)", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("record %d: the corpus encodes to other bytes than the golden file:\n got  %.160s…\n want %.160s…\n(the stored format changed: see goldenPath)", i, want[i], got[i])
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
	switch {
	case len(f) == 3 && f[0] == "channel":
		var i int
		if _, err := fmt.Sscan(f[1], &i); err != nil || i < 0 || i >= len(corpus) {
			t.Fatalf("bad golden record %.40q", line)
		}
		data, err := hex.DecodeString(f[2])
		if err != nil {
			t.Fatal(err)
		}
		c, err := decodeChannel(data)
		if err != nil {
			t.Fatalf("channel %d (%s): a stored row no longer decodes: %v", i, corpus[i].Stage, err)
		}
		if d := storetest.Diff(corpus[i].Channel, c); d != "" {
			t.Fatalf("channel %d (%s): a stored row decodes to another channel: %s", i, corpus[i].Stage, d)
		}
		if again := appendChannel(nil, &c); !slices.Equal(again, data) {
			t.Fatalf("channel %d (%s): a stored row encodes back to other bytes", i, corpus[i].Stage)
		}
	case len(f) == 3 && f[0] == "state":
		var i, k int
		if _, err := fmt.Sscanf(f[1], "%d.%d", &i, &k); err != nil || i < 0 || i >= len(corpus) || k < 0 || k >= len(evidenceStates(&corpus[i].Channel)) {
			t.Fatalf("bad golden record %.40q", line)
		}
		data, err := hex.DecodeString(f[2])
		if err != nil {
			t.Fatal(err)
		}
		st, err := decodeState(data)
		if err != nil {
			t.Fatalf("state %d.%d (%s): a stored row no longer decodes: %v", i, k, corpus[i].Stage, err)
		}
		if d := storetest.Diff(*evidenceStates(&corpus[i].Channel)[k], st); d != "" {
			t.Fatalf("state %d.%d (%s): a stored row decodes to another state: %s", i, k, corpus[i].Stage, d)
		}
		if again := appendState(nil, &st); !slices.Equal(again, data) {
			t.Fatalf("state %d.%d (%s): a stored row encodes back to other bytes", i, k, corpus[i].Stage)
		}
		kinds["state"] = true
	case len(f) == 4 && f[0] == "effect":
		var i, j int
		if _, err := fmt.Sscanf(f[1], "%d.%d", &i, &j); err != nil || i < 0 || i >= len(corpus) || j < 0 || j >= len(corpus[i].Effects) {
			t.Fatalf("bad golden record %.40q", line)
		}
		data, err := hex.DecodeString(f[3])
		if err != nil {
			t.Fatal(err)
		}
		e, err := decodeEffect(f[2], data)
		if err != nil {
			t.Fatalf("effect %d.%d (%s): a stored row no longer decodes: %v", i, j, corpus[i].Stage, err)
		}
		if d := storetest.Diff(corpus[i].Effects[j], e); d != "" {
			t.Fatalf("effect %d.%d (%s): a stored row decodes to another effect: %s", i, j, corpus[i].Stage, d)
		}
		kind, again, err := appendEffect(nil, e)
		if err != nil || kind != f[2] || !slices.Equal(again, data) {
			t.Fatalf("effect %d.%d (%s): a stored row encodes back to other bytes (%s, %v)", i, j, corpus[i].Stage, kind, err)
		}
		kinds[kind] = true
	default:
		t.Fatalf("bad golden record %.40q", line)
	}
}
