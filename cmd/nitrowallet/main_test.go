package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDemoPrintsSeedPathAndBalances(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo", "-m", "2", "-chain", "memory"}, &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"WalletA-->>A: " /* statuses in order: */, ": opening", ": proposed", ": funding", ": running", ": closing", ": closed",
		"MessageQueued", "AllocationUpdated",
		"final balances: A's destination 5 wei, B's destination 3 wei; channel holds 0",
	} {
		if !strings.Contains(s, want) {
			t.Fatalf("demo output lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, ": opening") > strings.Index(s, ": funding") || strings.Index(s, ": funding") > strings.Index(s, ": running") ||
		strings.Index(s, ": running") > strings.Index(s, ": closing") {
		t.Fatal("statuses out of order")
	}
}

func TestUnknownCommand(t *testing.T) {
	if err := run(context.Background(), []string{"nope"}, &bytes.Buffer{}); err == nil {
		t.Fatal("want an error")
	}
	if err := run(context.Background(), nil, &bytes.Buffer{}); err == nil {
		t.Fatal("want usage error")
	}
}
