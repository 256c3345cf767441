package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	neturl "net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/internal/pgtest"
)

// TestDemoOnPostgres runs the demo with both wallets on PostgreSQL, twice
// (the second run starts from emptied schemas).
func TestDemoOnPostgres(t *testing.T) {
	pgtest.Open(t)
	var b [5]byte
	_, _ = rand.Read(b[:])
	base := "nwdemo_" + hex.EncodeToString(b[:])
	for _, w := range []string{"a", "b"} {
		t.Cleanup(func() { pgtest.Drop(t, base+"_"+w) })
	}
	u, err := neturl.Parse(pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", base)
	u.RawQuery = q.Encode()
	for run := 0; run < 2; run++ {
		var out bytes.Buffer
		if err := run0(t, u.String(), &out); err != nil {
			t.Fatalf("demo run %d on %s: %v\n%s", run, u, err, out.String())
		}
		if !strings.Contains(out.String(), "final balances: A's destination 5 wei, B's destination 3 wei; channel holds 0") {
			t.Fatalf("demo run %d output:\n%s", run, out.String())
		}
		if run == 0 { // the same story as on the memory store
			r := runDemo(t, "-m", "1", "-chain", "memory", "--store", u.String())
			id := regexp.MustCompile(`0x[0-9a-f]{8}`).FindString(r.diagram)
			if got, want := strings.Join(diagramLines(r.diagram), "\n"), strings.Join(expectDemo(foundingStatements(t), 0, id), "\n"); got != want {
				t.Fatalf("diagram on PostgreSQL:\n%s\nwant:\n%s", got, want)
			}
		}
	}
	if _, _, err := newStore(context.Background(), "mysql://x", "A"); err == nil {
		t.Fatal("unknown store accepted")
	}
}

func run0(t *testing.T, url string, out *bytes.Buffer) error {
	t.Helper()
	return run(context.Background(), []string{"demo", "-m", "1", "--store", url, "-mermaid", ""}, out)
}
