package wire

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestDecodePushedIDs: the server wallet's own message decodes the same
// as an envelope and as its bare payload, told apart by their keys; keys
// of both forms, or neither, are refused with typed errors.
func TestDecodePushedIDs(t *testing.T) {
	raw, err := os.ReadFile(serverWalletExample)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	lim := DefaultLimits()
	want, wantIDs, err := DecodeMessageIDs(raw, lim)
	if err != nil {
		t.Fatal(err)
	}

	m, ids, bare, err := DecodePushedIDs(raw, lim)
	if err != nil || bare {
		t.Fatalf("envelope: bare %v, err %v", bare, err)
	}
	if d := diff(m, want); d != "" {
		t.Fatalf("envelope decodes differently: %s", d)
	}
	if d := diff(ids, wantIDs); d != "" {
		t.Fatalf("envelope ids: %s", d)
	}

	m, ids, bare, err = DecodePushedIDs(env.Data, lim)
	if err != nil || !bare {
		t.Fatalf("payload: bare %v, err %v", bare, err)
	}
	if m.Recipient != "" || m.Sender != "" {
		t.Fatalf("payload got recipient %q sender %q", m.Recipient, m.Sender)
	}
	if d := diff(m.Payload, want.Payload); d != "" {
		t.Fatalf("payload decodes differently: %s", d)
	}
	if d := diff(ids, wantIDs); d != "" {
		t.Fatalf("payload ids: %s", d)
	}

	payload := string(env.Data)
	bad := []struct {
		name, in string
		want     error
		path     string
	}{
		{"envelope key after payload keys", payload[:len(payload)-1] + `,"recipient":"bob"}`, ErrUnknownField, "data.recipient"},
		{"payload key after envelope keys", `{"recipient":"bob","walletVersion":"x"}`, ErrUnknownField, "message.walletVersion"},
		{"unknown key", `{"walletVersion":"x","nope":1}`, ErrUnknownField, "data.nope"},
		{"empty object", `{}`, ErrMissingField, `"recipient"`},
		{"payload without walletVersion", `{"objectives":[]}`, ErrMissingField, `"walletVersion"`},
		{"envelope without data", `{"recipient":"bob"}`, ErrMissingField, `"data"`},
		{"bad state in a payload", `{"walletVersion":"x","signedStates":[{"turnNum":-1}]}`, ErrInvalidMessage, "data.signedStates[0]"},
		{"trailing data", payload + `{}`, ErrMalformed, ""},
		{"not an object", `"x"`, ErrInvalidMessage, ""},
	}
	for _, c := range bad {
		_, _, _, err := DecodePushedIDs([]byte(c.in), lim)
		if !errors.Is(err, c.want) {
			t.Fatalf("%s: err %v, want %v", c.name, err, c.want)
		}
		if !strings.Contains(err.Error(), c.path) {
			t.Fatalf("%s: error %q does not name %s", c.name, err, c.path)
		}
	}
	small := lim
	small.MaxStates = 0
	small.MaxMessageBytes = len(env.Data) - 1
	if _, _, _, err := DecodePushedIDs(env.Data, small); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("payload over MaxMessageBytes: err %v, want ErrTooLarge", err)
	}
}
