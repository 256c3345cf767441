package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the repository's top folder, seen from this package.
const repoRoot = "../.."

// markdownLink matches an inline Markdown link or image and captures its target.
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocsLinksResolve checks that every relative link in README.md and
// docs/*.md names a file or folder that exists, so moving a page cannot leave
// a dangling link behind.
func TestDocsLinksResolve(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join(repoRoot, "README.md"))
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range markdownLink.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "#") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			if _, err := os.Stat(filepath.Join(filepath.Dir(page), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", page, m[1])
			}
		}
	}
}

// TestReadmeFrontPage checks what users and CI rely on: README.md opens with
// the two commands, links every docs/ page, and its Go example is, line for
// line, Example_createChannel in app/example_test.go (which go test compiles
// and runs).
func TestReadmeFrontPage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	lines := strings.Split(readme, "\n")
	if len(lines) < 5 || lines[2] != "```sh" || !strings.HasPrefix(lines[3], "make demo   # ") || !strings.HasPrefix(lines[4], "make test   # ") {
		t.Errorf("README.md must open with the make demo and make test lines; it opens with:\n%s", strings.Join(lines[:min(len(lines), 5)], "\n"))
	}

	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range pages {
		if link := "](docs/" + filepath.Base(page) + ")"; !strings.Contains(readme, link) {
			t.Errorf("README.md does not link %s", page)
		}
	}

	start := strings.Index(readme, "```go\nfunc Example_createChannel() {\n")
	if start < 0 {
		t.Fatal("README.md has no ```go block holding func Example_createChannel")
	}
	code := readme[start+len("```go\n"):]
	code = code[:strings.Index(code, "```")]
	ex, err := os.ReadFile(filepath.Join(repoRoot, "app", "example_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ex), "\n"+code) {
		t.Errorf("README.md's example differs from Example_createChannel in app/example_test.go; copy it again:\n%s", code)
	}
}
