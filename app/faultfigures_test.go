package app_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
)

// errorKinds are the sentinels a fault run counts failed calls by
// (errors.Is). One error may match several: a store call cut short by the
// caller's deadline is ErrContextDone and ErrStoreTimeout, an abandoned
// commit inside an update's effects ErrIncomplete and ErrOutcomeUnknown;
// it is counted under each, and as "other" when it matches none.
var errorKinds = []struct {
	name string
	err  error
}{
	{"ErrOutcomeUnknown", app.ErrOutcomeUnknown},
	{"ErrIncomplete", app.ErrIncomplete},
	{"ErrContextDone", app.ErrContextDone},
	{"ErrStoreTimeout", app.ErrStoreTimeout},
	{"ErrStoreUnavailable", app.ErrStoreUnavailable},
}

// kindsOf names the sentinels err matches (["other"] if none).
func kindsOf(err error) []string {
	var ks []string
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			ks = append(ks, k.name)
		}
	}
	if ks == nil {
		ks = []string{"other"}
	}
	return ks
}

// figures are what a fault run counts, safe for its workers to update at
// once.
type figures struct {
	mu        sync.Mutex
	calls     map[string]int // per call kind: update, push, close
	failed    int            // calls that returned an error
	errs      map[string]int // per sentinel matched (see errorKinds)
	others    []string       // the first "other" errors, for the log
	acked     int            // updates that returned their result
	overdue   int            // calls that returned later than deadline + slack
	late      []string       // the first of them, for the log
	slowest   time.Duration  // the longest call
	faults    []*faultMark
	openFault *faultMark // the last fault ended, waiting for a successful call
}

// faultMark is one injected fault: when it ended and how long until a call
// succeeded again.
type faultMark struct {
	name       string
	errsDuring int // failed calls from its start to its recovery
	start, end time.Time
	recovery   time.Duration // -1 until a call succeeds after end
}

func newFigures() *figures {
	return &figures{calls: map[string]int{}, errs: map[string]int{}}
}

// call records one call of kind that took d and returned err.
func (f *figures) call(kind string, d, limit time.Duration, err error) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[kind]++
	if d > f.slowest {
		f.slowest = d
	}
	if d > limit {
		f.overdue++
		if len(f.late) < 5 {
			f.late = append(f.late, fmt.Sprintf("%s took %v: %v", kind, d.Round(time.Millisecond), err))
		}
	}
	if err != nil {
		f.failed++
		ks := kindsOf(err)
		for _, k := range ks {
			f.errs[k]++
		}
		if ks[0] == "other" && len(f.others) < 5 {
			f.others = append(f.others, fmt.Sprintf("%s: %v (code %d)", kind, err, app.Code(err)))
		}
		if n := len(f.faults); n > 0 && f.faults[n-1].recovery < 0 {
			f.faults[n-1].errsDuring++
		}
		return
	}
	if kind == "update" {
		f.acked++
	}
	if o := f.openFault; o != nil && now.After(o.end) {
		o.recovery = now.Sub(o.end)
		f.openFault = nil
	}
}

// begin records that a fault starts; end that it is over (the server
// answers again, the lock is released).
func (f *figures) begin(name string) *faultMark {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := &faultMark{name: name, start: time.Now(), recovery: -1}
	f.faults = append(f.faults, m)
	return m
}

func (f *figures) end(m *faultMark) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m.end = time.Now()
	f.openFault = m
}

// report is the figures as the lines a test logs.
func (f *figures) report(lost, equivocations, leaked int, wall time.Duration) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	total := 0
	var calls, errs []string
	for _, k := range []string{"update", "push", "close"} {
		total += f.calls[k]
		calls = append(calls, fmt.Sprintf("%s %d", k, f.calls[k]))
	}
	for _, k := range errorKinds {
		errs = append(errs, fmt.Sprintf("%s %d", k.name, f.errs[k.name]))
	}
	errs = append(errs, fmt.Sprintf("other %d", f.errs["other"]))
	lines := []string{
		fmt.Sprintf("wall time %v", wall.Round(time.Millisecond)),
		fmt.Sprintf("calls %d (%s); acknowledged updates %d", total, strings.Join(calls, ", "), f.acked),
		fmt.Sprintf("errors %d, by sentinel matched (errors.Is; one error may match several): %s", f.failed, strings.Join(errs, ", ")),
		fmt.Sprintf("slowest call %v; calls past deadline + 1 s: %d", f.slowest.Round(time.Millisecond), f.overdue),
	}
	for _, m := range f.faults {
		rec := "never"
		if m.recovery >= 0 {
			rec = m.recovery.Round(10 * time.Microsecond).String()
		}
		lines = append(lines, fmt.Sprintf("fault %-28s lasted %-8v failed calls %-5d recovery (fault end → first successful call) %s",
			m.name, m.end.Sub(m.start).Round(time.Millisecond), m.errsDuring, rec))
	}
	lines = append(lines, fmt.Sprintf("lost acknowledged updates %d; equivocations %d; goroutines left after Close %d", lost, equivocations, leaked))
	for _, l := range f.late {
		lines = append(lines, "late call: "+l)
	}
	sort.Strings(f.others)
	for _, o := range f.others {
		lines = append(lines, "other error: "+o)
	}
	return lines
}
