package nitro_test

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

func benchState() nitro.State {
	a, b := nitro.Address{1}, nitro.Address{2}
	return nitro.State{
		ChainID: big.NewInt(1337), Participants: []nitro.Address{a, b}, ChannelNonce: 1, ChallengeDuration: 86400,
		AppData: []byte{1, 2, 3}, TurnNum: 10,
		Outcome: nitro.Outcome{{AssetHolder: nitro.Address{9}, Allocation: []nitro.AllocationItem{
			{Destination: nitro.AddressToDestination(a), Amount: big.NewInt(5)},
			{Destination: nitro.AddressToDestination(b), Amount: big.NewInt(3)},
		}}},
	}
}

func BenchmarkStateHash(b *testing.B) {
	s := benchState()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.Hash(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOutcomeEncode(b *testing.B) {
	o := benchState().Outcome
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := o.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignRecover is the signature ceiling: one sign and one recover,
// the least an off-chain update costs.
func BenchmarkSignRecover(b *testing.B) {
	key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("bench")))
	h, _ := benchState().Hash()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		raw, err := crypto.Sign(nitro.SignatureDigest(h), key)
		if err != nil {
			b.Fatal(err)
		}
		raw[64] += 27
		sig, _ := nitro.SignatureFromBytes(raw)
		if _, err := nitro.RecoverSigner(h, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStateHash0101 is BenchmarkStateHash under the 0.10.1 profile
// (the outcome bytes hashed once more, wrapped in abi.encode(bytes)).
func BenchmarkStateHash0101(b *testing.B) {
	s := benchState()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.HashFor(nitro.Protocol0101); err != nil {
			b.Fatal(err)
		}
	}
}
