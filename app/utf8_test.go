package app_test

import (
	"bytes"
	"errors"
	"reflect"
	"regexp"
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/wire"
)

// rawString replaces the first value of the JSON string field key in msg by
// the raw bytes of s, which may be invalid UTF-8 (json.Marshal, and so edit,
// would replace each bad byte with U+FFFD).
func rawString(t testing.TB, msg []byte, key, s string) []byte {
	t.Helper()
	re := regexp.MustCompile(`"` + regexp.QuoteMeta(key) + `":"[^"]*"`)
	loc := re.FindIndex(msg)
	if loc == nil {
		t.Fatalf("no string field %q in %s", key, msg)
	}
	return bytes.Join([][]byte{msg[:loc[0]], []byte(`"` + key + `":"` + s + `"`), msg[loc[1]:]}, nil)
}

// TestPushMessageInvalidUTF8 pushes messages whose strings are not valid
// UTF-8, on both stores: each is refused as malformed, with the field's
// path, and changes nothing stored.
func TestPushMessageInvalidUTF8(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, id := openRunningWith(t, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		good := encode(t, e.forged(id, 4, false, []int64{4, 4}, A))
		for _, tc := range []struct{ key, value, where string }{
			{"walletVersion", "\xff", "message.data.walletVersion"},
			{"recipient", "B\xc3", "message.recipient"},
			{"sender", "\xc0\xaf", "message.sender"},
			{"participantId", "A\xed\xa0\x80", "message.data.signedStates[0].participants[0].participantId"},
			{"appData", "0x\xfe", "message.data.signedStates[0].appData"},
		} {
			t.Run(tc.key, func(t *testing.T) {
				before := e.snap(B)
				_, err := B.w.PushMessage(e.ctx, rawString(t, good, tc.key, tc.value))
				if !errors.Is(err, wire.ErrMalformed) || !errors.Is(err, app.ErrInvalidMessage) {
					t.Fatalf("err %v, want wire.ErrMalformed (app.ErrInvalidMessage)", err)
				}
				if !bytes.Contains([]byte(err.Error()), []byte(tc.where+": string is not valid UTF-8")) {
					t.Fatalf("error %q does not name %s", err, tc.where)
				}
				if c := app.Code(err); c != app.CodeWalletError {
					t.Fatalf("code %d, want %d", c, app.CodeWalletError)
				}
				if after := e.snap(B); !reflect.DeepEqual(before, after) {
					t.Fatal("stored state changed")
				}
			})
		}
		// The same message with valid UTF-8 there is applied.
		if _, err := B.w.PushMessage(e.ctx, rawString(t, good, "walletVersion", "nitrowallet é")); err != nil {
			t.Fatal(err)
		}
	})
}
