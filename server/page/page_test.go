package page_test

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/server/page"
)

func get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	page.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	res := rec.Result()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// TestServesOneDocument checks that / is the page with its script and style
// sheet inlined, and that the policy admits exactly those two by hash.
func TestServesOneDocument(t *testing.T) {
	res, body := get(t, "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if csp != page.CSP() {
		t.Fatalf("header %q, CSP() %q", csp, page.CSP())
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("no nosniff")
	}

	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(body, -1)
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(body, -1)
	if len(scripts) != 1 || len(styles) != 1 {
		t.Fatalf("%d inline scripts and %d style sheets, want one each", len(scripts), len(styles))
	}
	js, _ := os.ReadFile("page.js")
	css, _ := os.ReadFile("page.css")
	if scripts[0][1] != string(js) || styles[0][1] != string(css) {
		t.Fatal("the inlined script or style sheet differs from page.js or page.css")
	}
	for _, want := range []string{
		"default-src 'none'", "script-src " + sha(scripts[0][1]) + ";", "style-src " + sha(styles[0][1]) + ";",
		"connect-src 'self' ws: wss:", "frame-ancestors 'none'", "base-uri 'none'",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("policy %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", `src="page.js"`, `href="page.css"`} {
		if strings.Contains(csp+body, bad) {
			t.Errorf("served page or policy has %q", bad)
		}
	}
	// The script never parses data as HTML.
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(string(js), bad) {
			t.Errorf("page.js uses %s", bad)
		}
	}
}

// TestOtherPathsAreNotFound: the handler answers / only.
func TestOtherPathsAreNotFound(t *testing.T) {
	for _, p := range []string{"/page.js", "/page.css", "/index.html", "/x"} {
		if res, _ := get(t, p); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, res.StatusCode)
		}
	}
}
