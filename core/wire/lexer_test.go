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

// lexStream renders the token stream of the lexer, with More before each
// token, until the end or the first error.
func lexStream(b []byte) []string {
	l := newLexer(b)
	var out []string
	for {
		more := l.more()
		t, err := l.next()
		switch {
		case err == io.EOF:
			return append(out, fmt.Sprintf("more=%v EOF", more))
		case err != nil:
			return append(out, fmt.Sprintf("more=%v error", more))
		}
		var s string
		switch t.kind {
		case tokDelim:
			s = "delim " + string(t.delim)
		case tokString:
			s = fmt.Sprintf("string %q", t.s)
		case tokNumber:
			s = "number " + t.s
		case tokBool:
			s = fmt.Sprintf("bool %v", t.b)
		case tokNull:
			s = "null"
		}
		out = append(out, fmt.Sprintf("more=%v %s", more, s))
	}
}

// jsonStream renders encoding/json's Decoder.Token stream the same way.
func jsonStream(b []byte) []string {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out []string
	for {
		more := d.More()
		t, err := d.Token()
		switch {
		case err == io.EOF:
			return append(out, fmt.Sprintf("more=%v EOF", more))
		case err != nil:
			return append(out, fmt.Sprintf("more=%v error", more))
		}
		var s string
		switch v := t.(type) {
		case json.Delim:
			s = "delim " + v.String()
		case string:
			s = fmt.Sprintf("string %q", v)
		case json.Number:
			s = "number " + string(v)
		case bool:
			s = fmt.Sprintf("bool %v", v)
		case nil:
			s = "null"
		}
		out = append(out, fmt.Sprintf("more=%v %s", more, s))
	}
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
