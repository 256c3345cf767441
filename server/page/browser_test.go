package page_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium (`make browser` installs it).
const chromiumPath = "/usr/bin/chromium"

// screenshotPath is where NITROWALLET_SCREENSHOT=1 writes the docs' picture.
const screenshotPath = "../../docs/serve-page.png"

// waitFor bounds each wait for the page to show a state; the page follows
// notifications within milliseconds, so this is only a hang guard.
const waitFor = 20 * time.Second

// browser is one headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts Chromium with a throwaway profile. Without Chromium the
// test is skipped, except under CI=true where it fails.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (make browser installs it): %v", chromiumPath, err)
		}
		t.Skipf("%s is missing (make browser installs it): %v", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	}
	// chromedp may report from its goroutines while the browser shuts
	// down; nothing is logged once the test's cleanup has stopped it.
	var stopped atomic.Bool
	logf := func(format string, args ...any) {
		if !stopped.Load() {
			t.Logf("chromedp: "+format, args...)
		}
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(logf))
	t.Cleanup(func() { cancelTab(); cancelAlloc(); stopped.Store(true) })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx}
}

// run runs actions with a hang guard.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// until polls the page with expr until ok accepts its value, and fails the
// test with the last value seen when the page does not get there.
func until[T any](b *browser, what, expr string, ok func(T) bool) T {
	b.t.Helper()
	deadline := time.Now().Add(waitFor)
	var v T
	var err error
	for {
		var got T
		if got, err = eval[T](b, expr); err == nil {
			v = got
			if ok(v) {
				return v
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("page never showed %s; last seen %+v (error %v)", what, v, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// rowView is what the page's channel table shows for one channel, read
// from the DOM's text.
type rowView struct {
	Status   string
	Turn     string
	Funding  string
	Balances [][2]string // participant, amount, in the page's order
	Rows     int         // rows in the table
}

// rowJS reads the row of channel id (a 0x hex string) as a rowView.
func rowJS(id string) string {
	return fmt.Sprintf(`(() => {
  const rows = document.querySelectorAll("#channels tbody tr");
  const tr = [...rows].find((r) => r.dataset.channelId.toLowerCase() === %q);
  if (!tr) return {Rows: rows.length};
  const text = (sel) => tr.querySelector(sel).textContent;
  return {
    Status: text("td.status .badge"), Turn: text("td.turn"), Funding: text("td.funding"),
    Balances: [...tr.querySelectorAll(".balance")].map((b) => [b.querySelector(".who").textContent, b.querySelector(".amount").textContent]),
    Rows: rows.length,
  };
})()`, id)
}

// wantRow waits until the page shows want for channel id.
func (b *browser) wantRow(stage, id string, want rowView) {
	b.t.Helper()
	until(b, fmt.Sprintf("%s: %+v", stage, want), rowJS(id), func(v rowView) bool {
		v.Rows = want.Rows
		return reflect.DeepEqual(v, want)
	})
}

// messageView is one entry of the page's message list.
type messageView struct {
	Dir, Route, Summary string
}

const messagesJS = `[...document.querySelectorAll("#messages li")].map((li) => ({
  Dir: li.querySelector(".dir").textContent, Route: li.querySelector(".route").textContent,
  Summary: li.querySelector(".summary").textContent }))`

// screenshot saves the page to the docs when NITROWALLET_SCREENSHOT=1.
func (b *browser) screenshot() {
	b.t.Helper()
	if os.Getenv("NITROWALLET_SCREENSHOT") != "1" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.FromSlash(screenshotPath), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("wrote %s (%d bytes)", screenshotPath, len(png))
}
