package wire

import (
	"errors"
	"strings"
	"testing"
)

// sentinels are the specific errors a rejection must match (one of them).
var sentinels = []error{
	ErrMalformed, ErrUnknownField, ErrMissingField, ErrBadHex, ErrOutOfRange,
	ErrTooLarge, ErrChannelIDMismatch, ErrUnsupported,
}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// TestPublishedSamples decodes the wire-format package's own good and bad
// sample messages (loaded with node) and checks that our verdict on each
// equals the JSON schema's verdict.
func TestPublishedSamples(t *testing.T) {
	s := loadSamples(t)
	if len(s.Good) < 3 || len(s.Bad) < 5 {
		t.Fatalf("expected at least 3 good and 5 bad samples, got %d and %d", len(s.Good), len(s.Bad))
	}
	// The good sample carries a made-up channel id and a signature with
	// v = 0x28, so format checking alone is compared with the schema; the
	// strict checks are exercised separately below.
	formatOnly := DefaultLimits()
	formatOnly.FormatOnly = true
	for name, raw := range s.Good {
		t.Run("good/"+name, func(t *testing.T) {
			if err := schemaCheck(t, raw); err != nil {
				t.Fatalf("schema rejects a good sample: %v", err)
			}
			m, err := DecodeMessage(raw, formatOnly)
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, raw)
			}
			// Re-encoding yields a schema-valid message that decodes the same.
			b, err := EncodeMessage(m)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			mustSchemaValid(t, b)
			m2, err := DecodeMessage(b, formatOnly)
			if err != nil {
				t.Fatalf("decode re-encoded: %v\n%s", err, b)
			}
			if d := diff(m, m2); d != "" {
				t.Fatalf("re-encoded sample differs at %s", d)
			}
			// With the default limits the made-up parts are caught.
			_, err = DecodeMessage(raw, DefaultLimits())
			if len(m.Payload.SignedStates) > 0 {
				if !errors.Is(err, ErrChannelIDMismatch) && !errors.Is(err, ErrOutOfRange) {
					t.Fatalf("strict decode of a sample with fake ids/signatures: got %v", err)
				}
				t.Logf("strict decode: %v", err)
			} else if err != nil {
				t.Fatalf("decode with defaults: %v", err)
			}
		})
	}
	for name, raw := range s.Bad {
		t.Run("bad/"+name, func(t *testing.T) {
			if err := schemaCheck(t, raw); err == nil {
				t.Fatal("schema accepts a bad sample")
			}
			_, err := DecodeMessage(raw, formatOnly)
			if err == nil {
				t.Fatalf("bad sample decoded:\n%s", raw)
			}
			if !isSentinel(err) || !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error %v matches no sentinel", err)
			}
			t.Logf("rejected: %v", err)
		})
	}
}

// TestGoodSampleFields spot-checks the decoded good sample, so a decoder that
// accepted everything and returned nothing would fail.
func TestGoodSampleFields(t *testing.T) {
	raw, ok := loadSamples(t).Good["goodMessage"]
	if !ok {
		t.Fatal("goodMessage sample missing")
	}
	lim := DefaultLimits()
	lim.FormatOnly = true
	m, err := DecodeMessage(raw, lim)
	if err != nil {
		t.Fatal(err)
	}
	if m.Recipient != "Alice" || m.Sender != "Bob" || m.Payload.WalletVersion != "someWalletVersion" || len(m.Payload.SignedStates) != 1 {
		t.Fatalf("unexpected message %+v", m)
	}
	st := m.Payload.SignedStates[0]
	if st.State.ChainID.Int64() != 9001 || st.State.ChannelNonce != 123 || st.State.ChallengeDuration != 1184 || st.State.TurnNum != 1 {
		t.Fatalf("unexpected state %+v", st.State)
	}
	// The sample's 20-byte participant destination is left-padded.
	if got, want := fmtDestination(st.Participants[0].Destination), "0x00000000000000000000000063E3Fb11830c01ac7C9C64091c14Bb6CbAaC9Ac7"; !equalFold(got, want) {
		t.Fatalf("destination %s, want %s", got, want)
	}
	if len(st.Signatures) != 1 || st.Signatures[0].V != 0x28 {
		t.Fatalf("signatures %+v", st.Signatures)
	}
	if got := st.State.Outcome[0].Allocation[1].Amount.String(); got != "500000000000000000" {
		t.Fatalf("amount %s", got)
	}
	// Strictly, v = 0x28 is rejected, and so (once the signature is fixed)
	// is the made-up channel id.
	if _, err := DecodeMessage(raw, DefaultLimits()); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("strict decode: got %v, want ErrOutOfRange for v = 0x28", err)
	}
	fixed := []byte(strings.Replace(string(raw), "d50728\"", "d5071c\"", 1))
	if _, err := DecodeMessage(fixed, DefaultLimits()); !errors.Is(err, ErrChannelIDMismatch) {
		t.Fatalf("strict decode with v fixed: got %v, want ErrChannelIDMismatch", err)
	}
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

func isErr(err, target error) bool {
	return errors.Is(err, target) && errors.Is(err, ErrInvalidMessage)
}
