package apischema

import (
	"errors"
	"testing"
)

// TestValidate: the schema accepts a well-formed request and refuses one
// with an unknown param, an error response with the wrong message, and an
// extension method is reported as such.
func TestValidate(t *testing.T) {
	good := `{"jsonrpc":"2.0","id":1,"method":"GetState","params":{"channelId":"0x` + hex64 + `"}}`
	if err := Request([]byte(good)); err != nil {
		t.Fatalf("good request refused: %v", err)
	}
	bad := `{"jsonrpc":"2.0","id":1,"method":"GetState","params":{"channelId":"0x` + hex64 + `","x":1}}`
	if err := Request([]byte(bad)); err == nil {
		t.Fatal("request with an unknown param accepted")
	}
	if err := Request([]byte(`{"jsonrpc":"2.0","id":1,"method":"RegisterAppDefinition","params":{}}`)); !errors.Is(err, ErrNotInSchema) {
		t.Fatalf("extension: %v, want ErrNotInSchema", err)
	}
	if err := Response("GetState", []byte(`{"jsonrpc":"2.0","id":1,"error":{"code":1200,"message":"Could not find channel"}}`)); err != nil {
		t.Fatalf("good error refused: %v", err)
	}
	if err := Response("GetState", []byte(`{"jsonrpc":"2.0","id":1,"error":{"code":1200,"message":"nope"}}`)); err == nil {
		t.Fatal("error with a wrong message accepted")
	}
	if err := CheckEnvelope([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`)); err != nil {
		t.Fatal(err)
	}
	if err := CheckEnvelope([]byte(`{"jsonrpc":"2.0","id":"x","result":1}`)); err == nil {
		t.Fatal("string id accepted")
	}
}

const hex64 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
