package repocheck

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the repository's top directory, seen from this package.
const root = "../.."

var (
	fuzzFunc = regexp.MustCompile(`(?m)^func (Fuzz\w+)\(\w+ \*testing\.F\)`)
	// fuzzLine is one command of the Makefile's fuzz target, e.g.
	// $(GO) test -run '^$$' -fuzz '^FuzzStep$$' -fuzztime $(FUZZTIME) ... ./core/
	fuzzLine = regexp.MustCompile(`-fuzz '\^(Fuzz\w+)\$\$'.* \./(\S*)$`)
)

// TestMakeFuzzRunsEveryFuzzTarget: every fuzz function in the tree is run
// by `make fuzz`, in its own package, and `make fuzz` names none that is
// gone. (FuzzLexer was once left out of the list.)
func TestMakeFuzzRunsEveryFuzzTarget(t *testing.T) {
	want := map[string]string{} // "pkg/dir FuzzName" -> file
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dir, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, m := range fuzzFunc.FindAllSubmatch(b, -1) {
			want[filepath.ToSlash(dir)+" "+string(m[1])] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("no fuzz function found under the repository: the walk is broken")
	}
	got := makeFuzzTargets(t)
	for k, file := range want {
		if !got[k] {
			t.Errorf("%s (in %s) is not run by `make fuzz`: add a line for it to the Makefile's fuzz target", k, file)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("`make fuzz` runs %s, which no test file defines", k)
		}
	}
}

// makeFuzzTargets reads the commands of the Makefile's fuzz target, as
// "pkg/dir FuzzName".
func makeFuzzTargets(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]bool{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "fuzz:":
			in = true
		case in && strings.HasPrefix(line, "\t"):
			m := fuzzLine.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("a command of the fuzz target this test cannot read: %q", line)
			}
			got[strings.TrimSuffix(m[2], "/")+" "+m[1]] = true
		case in:
			in = false
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("the Makefile has no fuzz target with commands")
	}
	return got
}
