package wire

// Paths for error messages (data.signedStates[0].turnNum), rendered only
// when an error needs one.

import (
	"strconv"
	"strings"
)

// pth is a field's path for error messages, rendered only when needed: the
// first n segments of the decoder's path stack. An object or an array sets
// the segment below it for each field or element before decoding it, so
// the stack always holds the path of what is being decoded, and rendering
// a path (only for an error, while its value is decoded) costs nothing
// until then.
type pth struct {
	st *pathStack
	n  int
}

// pathStack holds the segments of the current path: a key, or an index.
type pathStack struct {
	segs []pathSeg
	buf  [8]pathSeg
}

type pathSeg struct {
	key   string
	index int
	isIdx bool
}

// root starts a new path stack at a top-level name ("data", "message").
func (d *decoder) root(s string) pth {
	d.path.segs = append(d.path.buf[:0], pathSeg{key: s})
	return pth{st: &d.path, n: 1}
}

// child returns the path of p's key or element: the stack cut at p, with
// the segment pushed.
func (p pth) child(seg pathSeg) pth {
	p.st.segs = append(p.st.segs[:p.n], seg)
	return pth{st: p.st, n: p.n + 1}
}

// String renders the path, like data.signedStates[0].turnNum.
func (p pth) String() string {
	if p.st == nil || p.n == 0 {
		return ""
	}
	var b strings.Builder
	for i, seg := range p.st.segs[:p.n] {
		switch {
		case seg.isIdx:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(seg.index))
			b.WriteByte(']')
		case i > 0:
			b.WriteByte('.')
			b.WriteString(seg.key)
		default:
			b.WriteString(seg.key)
		}
	}
	return b.String()
}

// parseAt runs a parse step without a path, and again with the rendered path
// if it fails, so that a path is only built for an error (parse steps are
// pure and fail the same way twice).
func parseAt[T any](p pth, parse func(path string) (T, error)) (T, error) {
	v, err := parse("")
	if err != nil {
		return parse(p.String())
	}
	return v, nil
}
