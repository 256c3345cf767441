package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// story prints the demo as the founding document draws it, one Mermaid
// statement a line (with a short comment after it), and keeps the
// statements for the run's sequence diagram. Lines that effects report
// (transactions sent, from the chain ports) while a call or a chain event
// is being handled are held until the demo has printed that call's result,
// so every call reads: the call, its result, then the effects it caused.
type story struct {
	out     io.Writer
	verbose bool

	mu      sync.Mutex
	holding bool
	held    []storyLine
	diagram []string
	depth   int
}

// storyLine is one statement of the story: stmt is its Mermaid statement
// ("" for a line that only the standard output shows), comment what the
// output adds after it, and more what -v prints below it. An aside is
// printed but not drawn: what the demo adds to the document's story.
type storyLine struct {
	stmt, comment, more string
	aside               bool
}

// commentColumn is where comments start, so the statements read as a column.
const commentColumn = 54

func newStory(out io.Writer, verbose bool) *story {
	return &story{out: out, verbose: verbose, diagram: []string{
		"sequenceDiagram",
		"participant WalletA", "participant A", "participant B", "participant WalletB", "participant Chain",
	}}
}

// say prints a line at once: the demo's own calls, results and deliveries.
func (s *story) say(stmt, comment string) { s.sayMore(stmt, comment, "") }

// sayMore is say with the text -v prints below the line.
func (s *story) sayMore(stmt, comment, more string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.print(storyLine{stmt: stmt, comment: comment, more: more})
}

// aside prints a line at once that the diagram leaves out (the refused
// update, which the founding document does not have).
func (s *story) aside(stmt, comment string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.print(storyLine{stmt: stmt, comment: comment, aside: true})
}

// effect prints a line an effect reports, or holds it while a call or a
// chain event is being handled.
func (s *story) effect(stmt, comment string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holding {
		s.held = append(s.held, storyLine{stmt: stmt, comment: comment})
		return
	}
	s.print(storyLine{stmt: stmt, comment: comment})
}

// hold starts holding effects' lines (a call or a delivery begins).
func (s *story) hold() {
	s.mu.Lock()
	s.holding = true
	s.mu.Unlock()
}

// release prints the lines held since hold, in the order they came.
func (s *story) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.held {
		s.print(l)
	}
	s.held, s.holding = nil, false
}

// begin opens a block of the diagram (rect or loop) with its note.
func (s *story) begin(block, note string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.out, "\n# %s\n", note)
	s.mermaid(block)
	s.depth++
	s.mermaid("note left of WalletB: " + note)
}

// end closes the block begin opened.
func (s *story) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.depth--
	s.mermaid("end")
}

func (s *story) mermaid(stmt string) {
	s.diagram = append(s.diagram, strings.Repeat("    ", s.depth)+stmt)
}

// print writes a line with s.mu held.
func (s *story) print(l storyLine) {
	switch {
	case l.stmt == "":
		fmt.Fprintln(s.out, l.comment)
	case l.comment == "":
		fmt.Fprintln(s.out, l.stmt)
	default:
		fmt.Fprintf(s.out, "%-*s %s\n", commentColumn-1, l.stmt, l.comment)
	}
	if s.verbose && l.more != "" {
		fmt.Fprintf(s.out, "    %s\n", l.more)
	}
	if l.stmt != "" && !l.aside {
		s.mermaid(l.stmt)
	}
}

// writeDiagram writes the diagram to path ("-" for the story's output, ""
// for nowhere).
func (s *story) writeDiagram(path string) error {
	s.mu.Lock()
	text := strings.Join(s.diagram, "\n") + "\n"
	s.mu.Unlock()
	switch path {
	case "":
		return nil
	case "-":
		_, err := io.WriteString(s.out, text)
		return err
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("demo: write the diagram: %w", err)
	}
	fmt.Fprintf(s.out, "sequence diagram: %s (Mermaid; lay it beside the founding document)\n", path)
	return nil
}
