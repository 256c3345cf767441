package wire

import (
	"bytes"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

var serverWalletExample = filepath.Join("..", "..", "testdata", "wire", "server-wallet-example.json")

// TestServerWalletExample decodes a real message produced by the
// @statechannels wallet (wallet-core serializeMessage, chainId 1337) and
// re-encodes it byte for byte.
func TestServerWalletExample(t *testing.T) {
	raw, err := os.ReadFile(serverWalletExample)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMessage(raw, DefaultLimits()) // includes the channel id check
	if err != nil {
		t.Fatal(err)
	}
	if m.Recipient != "bob" || m.Sender != "alice" || m.Payload.WalletVersion != "@statechannels/server-wallet@1.13.1" {
		t.Fatalf("header %q %q %q", m.Recipient, m.Sender, m.Payload.WalletVersion)
	}
	if len(m.Payload.SignedStates) != 1 || len(m.Payload.Objectives) != 1 || len(m.Payload.Requests) != 0 {
		t.Fatalf("payload shape %+v", m.Payload)
	}
	ss := m.Payload.SignedStates[0]
	st := ss.State

	// The keys of the wallet-core fixtures give the signing addresses.
	keyAddr := func(hexKey string) nitro.Address {
		k, err := crypto.HexToECDSA(hexKey)
		if err != nil {
			t.Fatal(err)
		}
		return crypto.PubkeyToAddress(k.PublicKey)
	}
	alice := keyAddr("95942b296854c97024ca3145abef8930bf329501b718c0f66d57dba596ff1318")
	bob := keyAddr("b3ab7b031311fe1764b657a6ae7133f19bac97acd1d7edca9409daa35892e727")
	wantParts := []core.Participant{
		{ParticipantID: "alice", SigningAddress: alice, Destination: nitro.AddressToDestination(alice)},
		{ParticipantID: "bob", SigningAddress: bob, Destination: nitro.AddressToDestination(bob)},
	}
	if d := diff(wantParts, ss.Participants); d != "" {
		t.Fatalf("participants differ at %s", d)
	}
	if d := diff([]nitro.Address{alice, bob}, st.Participants); d != "" {
		t.Fatalf("state participants differ at %s", d)
	}
	wantState := nitro.State{
		ChainID: big.NewInt(1337), Participants: []nitro.Address{alice, bob}, ChannelNonce: 1,
		AppDefinition: nitro.Address{}, ChallengeDuration: 9001, AppData: []byte{0}, TurnNum: 0, IsFinal: false,
		Outcome: nitro.Outcome{{
			AssetHolder: common.HexToAddress("0x4ad3F07BEFDC54511449A1f553E36A653c82eA57"),
			Allocation: []nitro.AllocationItem{
				{Destination: nitro.AddressToDestination(alice), Amount: big.NewInt(5)},
				{Destination: nitro.AddressToDestination(bob), Amount: big.NewInt(3)},
			},
		}},
	}
	if d := diff(wantState, st); d != "" {
		t.Fatalf("state differs at %s", d)
	}
	id, err := st.ChannelID()
	if err != nil {
		t.Fatal(err)
	}
	const wantID = "0x7dcb6c48ec24e86e03f90df0cb26253279ab975c79fb6d008cf51af0e4a4573f"
	if fmtBytes32(id) != wantID {
		t.Fatalf("channel id %s, want %s", fmtBytes32(id), wantID)
	}
	if len(ss.Signatures) != 1 || ss.Signatures[0].V != 28 ||
		fmtBytes32(ss.Signatures[0].R) != "0xad953a2c4d022670a7a2ba00c7ff71d38eb43c65e9b119d24b41646caffd6416" {
		t.Fatalf("signature %+v", ss.Signatures)
	}
	wantObj := core.Objective{Type: core.ObjectiveOpenChannel, TargetChannelID: common.HexToHash(wantID), FundingStrategy: core.FundingDirect, Role: "app"}
	if d := diff(wantObj, m.Payload.Objectives[0]); d != "" {
		t.Fatalf("objective differs at %s", d)
	}

	// Re-encoding reproduces the server wallet's bytes exactly and validates.
	b, err := EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	mustSchemaValid(t, b)
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, compact.Bytes()) {
		t.Fatalf("re-encoding differs from the server wallet's\n got %s\nwant %s", b, compact.Bytes())
	}

	// A tampered channel id is caught.
	bad := bytes.Replace(raw, []byte(`"channelId":"0x7dcb`), []byte(`"channelId":"0x7dcc`), 1)
	if bytes.Equal(bad, raw) {
		t.Fatal("tamper did not apply")
	}
	if _, err := DecodeMessage(bad, DefaultLimits()); !isErr(err, ErrChannelIDMismatch) {
		t.Fatalf("tampered id: got %v", err)
	}
}
