package wire

import (
	"bytes"
	"github.com/nitrowallet/nitrowallet/core"
	"os"
	"testing"
)

// FuzzDecodeMessage checks that decoding never panics and that whatever
// decodes is stable: it re-encodes, the encoding decodes to the same message
// and re-encodes to the same bytes, and both the input and the encoding pass
// the published schema (the decoder is never looser than the schema).
func FuzzDecodeMessage(f *testing.F) {
	// Seeds are kept small: the engine minimises every new input it finds,
	// and minimising a message of several KB would take the whole fuzzing budget.
	// Large cases are also added split into their parts.
	const maxSeed = 4 << 10
	for _, c := range roundTripCases() {
		parts := []core.Message{c.msg}
		for _, ss := range c.msg.Payload.SignedStates {
			parts = append(parts, core.Message{Recipient: c.msg.Recipient, Payload: core.Payload{SignedStates: []core.SignedState{ss}}})
		}
		if len(c.msg.Payload.Objectives)+len(c.msg.Payload.Requests) > 0 {
			parts = append(parts, core.Message{Recipient: c.msg.Recipient, Sender: c.msg.Sender, Payload: core.Payload{
				Objectives: c.msg.Payload.Objectives, Requests: c.msg.Payload.Requests}})
		}
		for _, m := range parts {
			b, err := EncodeMessage(m)
			if err != nil {
				f.Fatal(err)
			}
			if len(b) <= maxSeed {
				f.Add(b)
			}
		}
	}
	s := loadSamples(f)
	for _, set := range []map[string][]byte{rawMap(s.Good), rawMap(s.Bad)} {
		for _, b := range set {
			f.Add(b)
		}
	}
	if b, err := os.ReadFile(serverWalletExample); err == nil {
		f.Add(b)
	} else {
		f.Fatal(err)
	}
	f.Add([]byte(`{"recipient":"r","data":{"walletVersion":""}}`))
	f.Add([]byte(`{"recipient":"r","data":{"walletVersion":"v","objectives":[{"type":"FundGuarantor","data":{"jointChannelId":"0x0000000000000000000000000000000000000000000000000000000000000001","ledgerId":"0x0000000000000000000000000000000000000000000000000000000000000002","guarantorId":"0x0000000000000000000000000000000000000000000000000000000000000003"}}]}}`))
	messageSchema(f) // fail early, not inside the fuzz function, if the schema is missing

	f.Fuzz(func(t *testing.T, in []byte) {
		m1, err := DecodeMessage(in, DefaultLimits())
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			return
		}
		if err := schemaCheck(t, in); err != nil {
			t.Fatalf("decoder accepted what the schema rejects: %v\n%q", err, in)
		}
		b2, err := EncodeMessage(m1)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v\n%q", err, in)
		}
		if err := schemaCheck(t, b2); err != nil {
			t.Fatalf("encoding fails the schema: %v\n%s", err, b2)
		}
		m2, err := DecodeMessage(b2, DefaultLimits())
		if err != nil {
			t.Fatalf("encoding does not decode: %v\n%s", err, b2)
		}
		// The only normalisation: an empty walletVersion becomes ours.
		if m1.Payload.WalletVersion == "" {
			m1.Payload.WalletVersion = WalletVersion
		}
		if d := diff(m1, m2); d != "" {
			t.Fatalf("decode(encode(m)) differs at %s\n in %q\nout %s", d, in, b2)
		}
		b3, err := EncodeMessage(m2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b2, b3) {
			t.Fatalf("encoding is not a fixed point:\n%s\n%s", b2, b3)
		}
	})
}

func rawMap[T ~[]byte](m map[string]T) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}
