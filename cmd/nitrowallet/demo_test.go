package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// demoOutput is one run of the demo: its standard output and its diagram.
type demoOutput struct {
	out     string
	diagram string
}

func runDemo(t *testing.T, args ...string) demoOutput {
	t.Helper()
	path := filepath.Join(t.TempDir(), "demo.mmd")
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"demo", "-mermaid", path}, args...), &out); err != nil {
		t.Fatalf("demo %v: %v\n%s", args, err, out.String())
	}
	d, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("demo %v wrote no diagram: %v\n%s", args, err, out.String())
	}
	return demoOutput{out: out.String(), diagram: string(d)}
}

// TestDemoDiagramFollowsTheFoundingDocument: for the document's m = 1 (two
// update rounds, i = 0 and 1: `-m 2`), demo.mmd has the founding
// document's statements in its order, on the in-memory chain and on the
// real contracts, with the channel id and message names substituted and
// the differences docs/demo.md lists (expectDemo); the output also tells
// the app's registration and one refused update (checkApp).
func TestDemoDiagramFollowsTheFoundingDocument(t *testing.T) {
	doc := foundingStatements(t)
	for _, chain := range []string{"memory", "sim"} {
		t.Run(chain, func(t *testing.T) {
			r := runDemo(t, "-m", "2", "-chain", chain)
			got := diagramLines(r.diagram)
			id := regexp.MustCompile(`0x[0-9a-f]{8}`).FindString(r.diagram)
			if id == "" {
				t.Fatalf("no channel id in the diagram:\n%s", r.diagram)
			}
			want := expectDemo(doc, 1, id)
			for i := 0; i < max(len(got), len(want)); i++ {
				var g, w string
				if i < len(got) {
					g = got[i]
				}
				if i < len(want) {
					w = want[i]
				}
				if g != w {
					t.Fatalf("diagram line %d is %q, the document (as the demo must draw it) has %q\ndiagram:\n%s\nwant:\n%s", i+1, g, w, r.diagram, strings.Join(want, "\n"))
				}
			}
			checkStory(t, r, id)
			checkApp(t, r, id)
		})
	}
}

// checkStory checks the standard output against the diagram: it reads line
// by line like it (each statement starts a line, in order), each call comes
// before its result and its result before the effects it caused, and every
// message takes one short line.
func checkStory(t *testing.T, r demoOutput, id string) {
	t.Helper()
	lines := strings.Split(r.out, "\n")
	k := 0
	for _, stmt := range diagramLines(r.diagram) {
		if !isArrow(stmt) {
			continue
		}
		for k < len(lines) && !strings.HasPrefix(lines[k], stmt) {
			k++
		}
		if k == len(lines) {
			t.Fatalf("the output lacks a line %q after the previous statement (in the diagram's order):\n%s", stmt, r.out)
		}
		k++
	}
	at := func(prefix string, from int) int {
		for i := from; i < len(lines); i++ {
			if strings.HasPrefix(lines[i], prefix) {
				return i
			}
		}
		t.Fatalf("the output lacks a line %q after line %d:\n%s", prefix, from+1, r.out)
		return -1
	}
	push := at("A->>WalletA: pushMessage(msg1)", 0)
	funding := at("WalletA-->>A: "+id+": funding", push)
	at("WalletA->>Chain: deposit()", funding)
	final := at("A->>WalletA: pushMessage(isFinalB)", 0)
	closed := at("WalletA-->>A: "+id+": closed", final)
	at("WalletA->>Chain: concludePushOutcomeAndTransferAll()", closed)
	if strings.Contains(r.out, "chain: tx ") {
		// On the EVM, the mined transactions come after the call that sent them.
		if i := at("chain: tx ", push); i < funding {
			t.Fatalf("a transaction is reported before the result of the call that sent it:\n%s", r.out)
		}
	}
	for i, l := range lines {
		if len(l) > 160 || strings.Contains(l, `"signedStates"`) {
			t.Fatalf("output line %d is %d characters (a message takes one short line without -v):\n%s", i+1, len(l), l)
		}
	}
	msg0 := lines[at("A->>B: msg0", 0)]
	for _, want := range []string{"A → B", id, "turn 0", "signed by A", "OpenChannel"} {
		if !strings.Contains(msg0, want) {
			t.Fatalf("the line of msg0 lacks %q: %s", want, msg0)
		}
	}
	fin := lines[at("B->>A: isFinalB", 0)]
	for _, want := range []string{"B → A", "final", "signed by A, B"} {
		if !strings.Contains(fin, want) {
			t.Fatalf("the line of isFinalB lacks %q: %s", want, fin)
		}
	}
}

// TestDemoVerbosePrintsMessages: with -v each message's whole JSON follows
// its line.
func TestDemoVerbosePrintsMessages(t *testing.T) {
	r := runDemo(t, "-m", "1", "-chain", "memory", "-v")
	i := strings.Index(r.out, "A->>B: msg0")
	if i < 0 || !strings.Contains(r.out[i:], `"signedStates"`) {
		t.Fatalf("-v: no message JSON after msg0:\n%s", r.out)
	}
}

// TestHelpExitsZero: -h prints usage and is no error (the command exits 0).
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"demo", "-h"}, {"sim", "-h"}, {"address", "-h"}} {
		var out bytes.Buffer
		err := run(context.Background(), args, &out)
		if err != nil {
			t.Fatalf("%v: %v (flag.ErrHelp: %v)", args, err, errors.Is(err, flag.ErrHelp))
		}
		if !strings.Contains(strings.ToLower(out.String()), "usage") {
			t.Fatalf("%v printed no usage:\n%s", args, out.String())
		}
	}
	var out bytes.Buffer
	_ = run(context.Background(), []string{"demo", "-h"}, &out)
	for _, want := range []string{"-m", "-chain", "-store", "-v", "-mermaid"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("demo usage lacks %s:\n%s", want, out.String())
		}
	}
}

// foundingStatements reads the founding document's diagram (one line of
// make-wallet-api-calls.txt in ../shared/seed beside the repository, where
// CI checks the shared folder out) and returns its statements in order.
func foundingStatements(t *testing.T) []string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = filepath.Dir(dir)
	}
	path := filepath.Join(dir, "..", "shared", "seed", "make-wallet-api-calls.txt")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the founding document must be at ../shared/seed beside the repository (%s): %v", path, err)
	}
	var text string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "sequenceDiagram") {
			text = strings.TrimSpace(l)
		}
	}
	if text == "" {
		t.Fatalf("%s has no sequenceDiagram line", path)
	}
	starts := regexp.MustCompile(`sequenceDiagram|participant \w+|rect rgba\([^)]*\)|note (?:left|right) of \w+:|loop |\bend\b|\b(?:WalletA|WalletB|A|B|Chain)--?>?>(?:WalletA|WalletB|A|B|Chain):`).FindAllStringIndex(text, -1)
	var out []string
	for i, s := range starts {
		end := len(text)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		out = append(out, strings.TrimSpace(text[s[0]:end]))
	}
	if len(out) < 60 || out[0] != "sequenceDiagram" || out[len(out)-1] != "end" {
		t.Fatalf("%s: cannot read its diagram (%d statements): %q", path, len(out), out)
	}
	return out
}

// expectDemo is what demo.mmd must hold for the document's m: the document's
// statements with the loop unrolled for i = 0..m, the channel id for 0xabc,
// its notation slips mended, and the wallet's real sequence where it
// differs from the document (docs/demo.md lists them).
func expectDemo(doc []string, m int, id string) []string {
	mend := strings.NewReplacer(
		"B->WalletB:", "B->>WalletB:", // the document's only arrow without a head
		"0xabc opening", "0xabc: opening",
		"pushMessage(isFinal)", "pushMessage(isFinalA)", // the message A sent is isFinalA
	)
	var out []string
	for i := 0; i < len(doc); i++ {
		s := mend.Replace(strings.TrimSuffix(doc[i], ";"))
		if !strings.HasPrefix(s, "loop ") {
			out = append(out, s)
			if s == "participant WalletB" {
				out = append(out, "participant Chain") // the document leaves Chain to Mermaid
			}
			continue
		}
		out = append(out, "loop i=0..."+strconv.Itoa(m), mend.Replace(doc[i+1]))
		j := i + 2
		for ; doc[j] != "end"; j++ {
		}
		for round := 0; round <= m; round++ {
			sub := strings.NewReplacer("-4+2i", strconv.Itoa(4+2*round), "-5+2i", strconv.Itoa(5+2*round))
			for _, s := range doc[i+2 : j] {
				out = append(out, sub.Replace(mend.Replace(strings.TrimSuffix(s, ";"))))
			}
		}
		i = j - 1
	}
	real := map[string][]string{
		// A's postfund follows a chain event, not a call: a notification.
		"WalletA-->>A: outbox: [msg2]": {"WalletA-->>A: MessageQueued(msg2)"},
		// B has seen both deposits when msg2 arrives, so it answers in the call.
		"WalletB-->>B: MessageQueued(msg3)": {"WalletB-->>B: outbox: [msg3]"},
		// The conclude emits Concluded (adjudicator) before AllocationUpdated.
		"Chain-->>WalletA: AllocationUpdated": {"Chain-->>WalletA: Concluded", "Chain-->>WalletB: Concluded", "Chain-->>WalletA: AllocationUpdated"},
	}
	var final []string
	for _, s := range out {
		s = strings.ReplaceAll(s, "0xabc", id)
		if r, ok := real[s]; ok {
			final = append(final, r...)
			continue
		}
		final = append(final, s)
	}
	return final
}

// diagramLines returns a Mermaid file's statements, trimmed, without blank lines.
func diagramLines(d string) []string {
	var out []string
	for _, l := range strings.Split(d, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

var arrow = regexp.MustCompile(`^\w+--?>?>\w+: `)

func isArrow(stmt string) bool { return arrow.MatchString(stmt) }

func TestFoundingStatementsParse(t *testing.T) {
	doc := foundingStatements(t)
	want := expectDemo(doc, 0, "0x12345678")
	got := strings.Join(want, "\n")
	for _, s := range []string{
		"A->>WalletA: createChannel()\nWalletA-->>A: 0x12345678: opening",
		"B->>WalletB: joinChannel('0x12345678')\nWalletB-->>B: 0x12345678: opening",
		"loop i=0...0\nnote left of WalletB: Running a channel\nA->>WalletA: updateChannel(state4)\nWalletA-->>A: 0x12345678: (state4)",
		"B->>A: msg5\nA->>WalletA: pushMessage(msg5)\nWalletA-->>A: 0x12345678: (state5)\nend",
	} {
		if !strings.Contains(got, s) {
			t.Fatalf("the document read as %s\nlacks\n%s", got, s)
		}
	}
}
