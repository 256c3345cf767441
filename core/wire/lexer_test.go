package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"testing"
)

// renderStream renders a token stream, with More before each token, until
// the end or the first error; next renders the next token or returns the
// error that ends the stream.
func renderStream(more func() bool, next func() (string, error)) []string {
	var out []string
	for {
		m := more()
		s, err := next()
		switch {
		case err == io.EOF:
			return append(out, fmt.Sprintf("more=%v EOF", m))
		case err != nil:
			return append(out, fmt.Sprintf("more=%v error", m))
		}
		out = append(out, fmt.Sprintf("more=%v %s", m, s))
	}
}

// lexStream renders the token stream of the lexer.
func lexStream(b []byte) []string {
	l := newLexer(b)
	return renderStream(l.more, func() (string, error) {
		t, err := l.next()
		if err != nil {
			return "", err
		}
		switch t.kind {
		case tokDelim:
			return "delim " + string(t.delim), nil
		case tokString:
			return fmt.Sprintf("string %q", t.s), nil
		case tokNumber:
			return "number " + t.s, nil
		case tokBool:
			return fmt.Sprintf("bool %v", t.b), nil
		case tokNull:
			return "null", nil
		}
		return "", nil
	})
}

// jsonStream renders encoding/json's Decoder.Token stream the same way.
func jsonStream(b []byte) []string {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return renderStream(d.More, func() (string, error) {
		t, err := d.Token()
		if err != nil {
			return "", err
		}
		switch v := t.(type) {
		case json.Delim:
			return "delim " + v.String(), nil
		case string:
			return fmt.Sprintf("string %q", v), nil
		case json.Number:
			return "number " + string(v), nil
		case bool:
			return fmt.Sprintf("bool %v", v), nil
		case nil:
			return "null", nil
		}
		return "", nil
	})
}

func sameStream(t *testing.T, in []byte) {
	t.Helper()
	got, want := lexStream(in), jsonStream(in)
	for i := range max(len(got), len(want)) {
		g, w := "(none)", "(none)"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Fatalf("input %q: token %d: lexer %s, encoding/json %s", in, i, g, w)
		}
	}
}

// lexerCorpus is every message the package's tests use, plus odd JSON.
func lexerCorpus(t testing.TB) [][]byte {
	var out [][]byte
	for _, c := range roundTripCases() {
		b, err := EncodeMessage(c.msg)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	s := loadSamples(t)
	for _, set := range []map[string][]byte{rawMap(s.Good), rawMap(s.Bad)} {
		for _, b := range set {
			out = append(out, b)
		}
	}
	if b, err := os.ReadFile(serverWalletExample); err == nil {
		out = append(out, b)
	}
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `[1,2]`, `{"a":1}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a" 1}`, `{"a":}`, `{:1}`,
		`{"a":1 "b":2}`, `[1 2]`, `{"a":[1,{"b":null}],"c":true,"d":false}`, `tru`, `truex`, `nul`, `nulL`, `falsey`,
		`-`, `-0`, `-01`, `01`, `1.`, `1.5`, `1e`, `1e+`, `1e+5`, `1E-5`, `-1.5e10`, `0.0e0`, `1x`, `[1x]`, `{"a":1x}`,
		`"abc`, `"a\"b"`, `"a\\"`, `"\u00e9"`, `"\ud800"`, `"\ud83d\ude00"`, `"\x"`, `"\u12"`, "\"a\x01b\"", "\"\xff\xfe\"",
		"\"é\"", `{"é":1}`, `{"a\u0062":1}`, `"a" "b"`, `{} {}`, `{}x`, `  {"a" : [ 1 , 2 ] }  `, "\t\r\n[\n]\n",
		`[[[[[]]]]]`, `[{"a":[{"b":[]}]}]`, `]`, `}`, `[}`, `{]`, `{"a":1]`, `[1}`, `{"a"`, `{"a":`, `[`, `{`,
		"\xef\xbb\xbf{}", `{"recipient":"bob",}`, `hello`, `null`, `true`, `"s"`, `1`, `{"a":"\/"}`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

// TestLexerMatchesEncodingJSON: on every corpus input, every truncation of
// it and many random mutations, the lexer yields encoding/json's tokens.
func TestLexerMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []byte("{}[]:,\" \\/ubnrtfe0123456789.-+eE\x00\x1f\x7f\xc3\xa9\xff")
	for _, in := range lexerCorpus(t) {
		sameStream(t, in)
		step := max(1, len(in)/200)
		for n := 0; n < len(in); n += step {
			sameStream(t, in[:n])
		}
		for k := 0; k < 200 && len(in) > 0; k++ {
			m := bytes.Clone(in)
			for j := 0; j <= rng.Intn(3); j++ {
				p := rng.Intn(len(m))
				switch rng.Intn(3) {
				case 0:
					m[p] = alphabet[rng.Intn(len(alphabet))]
				case 1:
					m = append(m[:p], m[p+1:]...)
				default:
					m = append(m[:p], append([]byte{alphabet[rng.Intn(len(alphabet))]}, m[p:]...)...)
				}
				if len(m) == 0 {
					break
				}
			}
			sameStream(t, m)
		}
	}
}

func FuzzLexer(f *testing.F) {
	for _, in := range lexerCorpus(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) { sameStream(t, in) })
}

// TestLexerViews: strings that view the input are copied by the decoder
// wherever a decoded message keeps them, so reusing the input buffer never
// changes a decoded message.
func TestLexerViews(t *testing.T) {
	for _, c := range roundTripCases() {
		b, err := EncodeMessage(c.msg)
		if err != nil {
			t.Fatal(err)
		}
		buf := bytes.Clone(b)
		m, err := DecodeMessage(buf, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for i := range buf {
			buf[i] = 'X'
		}
		want, err := DecodeMessage(b, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(want, m); d != "" {
			t.Fatalf("%s: a decoded message changed with its input buffer at %s", c.name, d)
		}
	}
	if !errors.Is(errAt(ErrMalformed, "x", "y"), ErrInvalidMessage) {
		t.Fatal("sentinels")
	}
}
