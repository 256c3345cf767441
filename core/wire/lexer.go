package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
	"unsafe"
)

// lexer is the decoder's JSON tokenizer. It yields the token stream
// encoding/json's Decoder.Token yields with UseNumber (the same grammar, the
// same strings, numbers as literals, io.EOF after the last value), and fails
// where it fails, without its cost: no interface boxing, no per-token
// allocation, no reflection. Lexer tests compare the two on every input.
//
// badUTF8 is set once a string whose raw bytes are not valid UTF-8 has
// been read: the lexer still yields encoding/json's token (with U+FFFD for
// each bad byte), and the decoder refuses it (see decoder.token).
type lexer struct {
	b       []byte
	i       int
	state   lexState
	stack   []lexState
	badUTF8 bool
}

type lexState uint8

// The states of encoding/json's token reader.
const (
	lexTopValue lexState = iota
	lexArrayStart
	lexArrayValue
	lexArrayComma
	lexObjectStart
	lexObjectKey
	lexObjectColon
	lexObjectValue
	lexObjectComma
)

type tokKind uint8

const (
	tokDelim tokKind = iota + 1
	tokString
	tokNumber
	tokBool
	tokNull
)

// token is one JSON token. For strings and numbers, s views the input when
// the string needs no unescaping: it is valid only while the input is, so
// callers that keep a string copy it (see decoder.str).
type token struct {
	kind  tokKind
	delim byte   // '[', ']', '{' or '}'
	s     string // a string's value or a number's literal
	b     bool
}

func newLexer(b []byte) *lexer { return &lexer{b: b, stack: make([]lexState, 0, 8)} }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// peek returns the next non-space byte, or false at the end of the input.
func (l *lexer) peek() (byte, bool) {
	for l.i < len(l.b) {
		if c := l.b[l.i]; !isSpace(c) {
			return c, true
		}
		l.i++
	}
	return 0, false
}

// more reports whether the current array or object has another element,
// like Decoder.More.
func (l *lexer) more() bool {
	c, ok := l.peek()
	return ok && c != ']' && c != '}'
}

func (l *lexer) valueAllowed() bool {
	switch l.state {
	case lexTopValue, lexArrayStart, lexArrayValue, lexObjectValue:
		return true
	}
	return false
}

func (l *lexer) valueEnd() {
	switch l.state {
	case lexArrayStart, lexArrayValue:
		l.state = lexArrayComma
	case lexObjectValue:
		l.state = lexObjectComma
	}
}

func (l *lexer) syntax(c byte, context string) error {
	return fmt.Errorf("invalid character %q %s (offset %d)", c, context, l.i)
}

func (l *lexer) tokenError(c byte) (token, error) {
	var context string
	switch l.state {
	case lexTopValue:
		context = "looking for beginning of value"
	case lexArrayStart, lexArrayValue, lexObjectValue:
		context = "looking for beginning of value"
	case lexArrayComma:
		context = "after array element"
	case lexObjectKey:
		context = "looking for beginning of object key string"
	case lexObjectColon:
		context = "after object key"
	case lexObjectComma:
		context = "after object key:value pair"
	}
	return token{}, l.syntax(c, context)
}

var errUnexpectedEnd = errors.New("unexpected end of JSON input")

// next returns the next token; io.EOF once only white space is left.
func (l *lexer) next() (token, error) {
	for {
		c, ok := l.peek()
		if !ok {
			return token{}, io.EOF
		}
		switch c {
		case '[', '{':
			if !l.valueAllowed() {
				return l.tokenError(c)
			}
			l.i++
			l.stack = append(l.stack, l.state)
			if c == '[' {
				l.state = lexArrayStart
			} else {
				l.state = lexObjectStart
			}
			return token{kind: tokDelim, delim: c}, nil
		case ']', '}':
			if c == ']' && l.state != lexArrayStart && l.state != lexArrayComma ||
				c == '}' && l.state != lexObjectStart && l.state != lexObjectComma {
				return l.tokenError(c)
			}
			l.i++
			l.state = l.stack[len(l.stack)-1]
			l.stack = l.stack[:len(l.stack)-1]
			l.valueEnd()
			return token{kind: tokDelim, delim: c}, nil
		case ':':
			if l.state != lexObjectColon {
				return l.tokenError(c)
			}
			l.i++
			l.state = lexObjectValue
			continue
		case ',':
			switch l.state {
			case lexArrayComma:
				l.i++
				l.state = lexArrayValue
				continue
			case lexObjectComma:
				l.i++
				l.state = lexObjectKey
				continue
			}
			return l.tokenError(c)
		case '"':
			if l.state == lexObjectStart || l.state == lexObjectKey {
				s, err := l.str()
				if err != nil {
					return token{}, err
				}
				l.state = lexObjectColon
				return token{kind: tokString, s: s}, nil
			}
		}
		if !l.valueAllowed() {
			return l.tokenError(c)
		}
		t, err := l.scalar(c)
		if err != nil {
			return token{}, err
		}
		l.valueEnd()
		return t, nil
	}
}

// scalar reads a string, number, true, false or null starting with c.
func (l *lexer) scalar(c byte) (token, error) {
	switch {
	case c == '"':
		s, err := l.str()
		return token{kind: tokString, s: s}, err
	case c == '-' || '0' <= c && c <= '9':
		s, err := l.number()
		return token{kind: tokNumber, s: s}, err
	case c == 't':
		return token{kind: tokBool, b: true}, l.literal("true")
	case c == 'f':
		return token{kind: tokBool}, l.literal("false")
	case c == 'n':
		return token{kind: tokNull}, l.literal("null")
	}
	return token{}, l.syntax(c, "looking for beginning of value")
}

func (l *lexer) literal(want string) error {
	for k := 0; k < len(want); k++ {
		if l.i+k >= len(l.b) {
			return errUnexpectedEnd
		}
		if l.b[l.i+k] != want[k] {
			l.i += k
			return l.syntax(l.b[l.i], "in literal "+want)
		}
	}
	l.i += len(want)
	return nil
}

// number reads a number literal with JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (l *lexer) number() (string, error) {
	b, start := l.b, l.i
	i := l.i
	digits := func() int {
		n := 0
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	need := func(context string) error {
		l.i = i
		if i >= len(b) {
			return errUnexpectedEnd
		}
		return l.syntax(b[i], context)
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		digits()
	default:
		return "", need("in numeric literal")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return "", need("after decimal point in numeric literal")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return "", need("in exponent of numeric literal")
		}
	}
	l.i = i
	return view(b[start:i]), nil
}

// str reads a string literal. Plain ASCII without escapes is returned as a
// view of the input; anything else is unquoted by encoding/json itself, so
// escapes, surrogates and invalid UTF-8 come out exactly as it makes them.
// Only a string with a byte >= 0x80 is checked for UTF-8 (escapes are
// ASCII, so its raw bytes are checked as they are): one that is not valid
// sets l.badUTF8.
func (l *lexer) str() (string, error) {
	b, start := l.b, l.i
	plain, high := true, false
	for i := start + 1; i < len(b); i++ {
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i == len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			l.i = i + 1
			if plain {
				return view(b[start+1 : i]), nil
			}
			if high && !utf8.Valid(b[start+1:i]) {
				l.badUTF8 = true
			}
			var s string
			if err := json.Unmarshal(b[start:i+1], &s); err != nil {
				return "", err
			}
			return s, nil
		case c == '\\':
			plain = false
			i++ // the escaped byte cannot end the string
		case c < 0x20:
			l.i = i
			return "", l.syntax(c, "in string literal")
		case c >= 0x80:
			plain, high = false, true
		}
	}
	l.i = len(b)
	return "", errUnexpectedEnd
}

// plainByte marks the bytes a string literal holds as they are: printable
// ASCII other than the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// view returns the bytes as a string without copying them: the string is
// only valid while the bytes are neither modified nor reused.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
