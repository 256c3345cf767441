package wire

import (
	"math/big"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// benchMessage is what one off-chain update of a two-party channel sends:
// one signed state with one signature.
func benchMessage() core.Message {
	ps := participants("alice", "bob")
	ss := signedState(ps, nitro.State{
		ChainID: big.NewInt(1337), ChannelNonce: 7, ChallengeDuration: 86400, TurnNum: 12,
		Outcome: nitro.Outcome{{AssetHolder: addr("eth"), Allocation: []nitro.AllocationItem{
			{Destination: ps[0].Destination, Amount: big.NewInt(4)},
			{Destination: ps[1].Destination, Amount: big.NewInt(4)},
		}}},
	}, sig("a", 27))
	return core.Message{Recipient: "bob", Sender: "alice", Payload: core.Payload{WalletVersion: WalletVersion, SignedStates: []core.SignedState{ss}}}
}

func BenchmarkEncodeMessage(b *testing.B) {
	m := benchMessage()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeMessage(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMessage(b *testing.B) {
	raw, err := EncodeMessage(benchMessage())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMessage(raw, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}
