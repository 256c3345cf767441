package wire

// The decoder's JSON primitives: tokens, objects with their required
// keys, bounded arrays, and the scalar values the schema uses.

import (
	"io"
	"strings"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// token reads the next JSON token; a string that is not valid UTF-8 is
// refused here, with its path.
func (d *decoder) token(path pth) (token, error) {
	t, err := d.lx.next()
	if err != nil {
		if err == io.EOF || err == errUnexpectedEnd {
			return t, errAt(ErrMalformed, path.String(), "unexpected end of input")
		}
		return t, errAt(ErrMalformed, path.String(), "%v", err)
	}
	if d.lx.badUTF8 {
		return t, errAt(ErrMalformed, path.String(), "string is not valid UTF-8")
	}
	return t, nil
}

// kind names a token's JSON type for error messages.
func kind(t token) string {
	switch t.kind {
	case tokDelim:
		switch t.delim {
		case '{':
			return "object"
		case '[':
			return "array"
		}
		return "'" + string(t.delim) + "'"
	case tokString:
		return "string"
	case tokNumber:
		return "number"
	case tokBool:
		return "boolean"
	}
	return "null"
}

func wrongType(path pth, want string, t token) error {
	return errAt(ErrMalformed, path.String(), "should be %s, got %s", want, kind(t))
}

// object reads a JSON object, calling field for each key with the key's path;
// field must consume the value. Duplicate keys are rejected. After the object
// it checks the required keys in order.
func (d *decoder) object(path pth, required []string, field func(key string, path pth) error) error {
	t, err := d.token(path)
	if err != nil {
		return err
	}
	if t.kind != tokDelim || t.delim != '{' {
		return wrongType(path, "object", t)
	}
	// The keys seen so far (views of the input, used only here). Objects
	// have few keys, and an unknown one ends the decoding.
	var buf [16]string
	seen := buf[:0]
	for d.lx.more() {
		t, err := d.token(path)
		if err != nil {
			return err
		}
		if t.kind != tokString { // the tokenizer only yields string keys; be safe anyway
			return wrongType(path, "object key", t)
		}
		key := t.s
		for _, k := range seen {
			if k == key {
				return errAt(ErrMalformed, path.String(), "duplicate key %q", truncate(key))
			}
		}
		seen = append(seen, key)
		if err := field(key, path.child(pathSeg{key: key})); err != nil {
			return err
		}
	}
	if _, err := d.token(path); err != nil { // the closing brace
		return err
	}
	for _, k := range required {
		found := false
		for _, s := range seen {
			found = found || s == k
		}
		if !found {
			return errAt(ErrMissingField, path.String(), "missing required property %q", k)
		}
	}
	return nil
}

func unknownField(path pth) error {
	return errAt(ErrUnknownField, path.String(), "not allowed by the schema")
}

// array reads a JSON array of at most max elements, calling elem for each.
func (d *decoder) array(path pth, max int, elem func(i int, path pth) error) error {
	t, err := d.token(path)
	if err != nil {
		return err
	}
	if t.kind != tokDelim || t.delim != '[' {
		return wrongType(path, "array", t)
	}
	for i := 0; d.lx.more(); i++ {
		if i >= max {
			return errAt(ErrTooLarge, path.String(), "more than %d elements", max)
		}
		if err := elem(i, path.child(pathSeg{index: i, isIdx: true})); err != nil {
			return err
		}
	}
	_, err = d.token(path) // the closing bracket
	return err
}

// arrayOf reads a JSON array of at most max elements with read, appending
// each to *out (an empty array appends nothing). read is a method
// expression, (*decoder).x: a method value d.x would be called through a
// wrapper that copies each element once more.
func arrayOf[T any](d *decoder, path pth, max int, read func(d *decoder, path pth) (T, error), out *[]T) error {
	return d.array(path, max, func(_ int, path pth) error {
		v, err := read(d, path)
		*out = append(*out, v)
		return err
	})
}

// str reads a string the decoded message keeps (a copy).
func (d *decoder) str(path pth) (string, error) {
	s, err := d.view(path)
	return strings.Clone(s), err
}

// view reads a string that is only parsed: it may view the input.
func (d *decoder) view(path pth) (string, error) {
	t, err := d.token(path)
	if err != nil {
		return "", err
	}
	if t.kind != tokString {
		return "", wrongType(path, "string", t)
	}
	return t.s, nil
}

func (d *decoder) boolean(path pth) (bool, error) {
	t, err := d.token(path)
	if err != nil {
		return false, err
	}
	if t.kind != tokBool {
		return false, wrongType(path, "boolean", t)
	}
	return t.b, nil
}

func (d *decoder) uint48(path pth) (uint64, error) {
	t, err := d.token(path)
	if err != nil {
		return 0, err
	}
	if t.kind != tokNumber {
		return 0, wrongType(path, "number", t)
	}
	return parseAt(path, func(p string) (uint64, error) { return parseUint48(t.s, p) })
}

// parsed reads a string that parse turns into a value (see parseAt: the
// path is rendered only for an error).
func parsed[T any](d *decoder, path pth, parse func(s, path string) (T, error)) (T, error) {
	s, err := d.view(path)
	if err != nil {
		var zero T
		return zero, err
	}
	return parseAt(path, func(p string) (T, error) { return parse(s, p) })
}

func (d *decoder) bytes32(path pth) (nitro.Bytes32, error) { return parsed(d, path, parseBytes32) }
func (d *decoder) address(path pth) (nitro.Address, error) { return parsed(d, path, parseAddress) }
