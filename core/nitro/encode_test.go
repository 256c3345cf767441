package nitro_test

import (
	"bytes"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

var (
	two256     = new(big.Int).Lsh(big.NewInt(1), 256)
	maxUint256 = new(big.Int).Sub(two256, big.NewInt(1))
	alice      = common.HexToAddress("0x00000000000000000000000000000000000A11CE")
	bob        = common.HexToAddress("0x0000000000000000000000000000000000000B0B")
	holder     = common.HexToAddress("0x4ad3F07BEFDC54511449A1f553E36A653c82eA57")
)

func baseState() nitro.State {
	return nitro.State{
		ChainID:           big.NewInt(1337),
		Participants:      []common.Address{alice, bob},
		ChannelNonce:      7,
		AppDefinition:     common.HexToAddress("0x5409ED021D9299bf6814279A6A1411A7e866A631"),
		ChallengeDuration: 86400,
		AppData:           []byte{1, 2, 3},
		TurnNum:           5,
		Outcome:           sampleOutcome(),
	}
}

func sampleOutcome() nitro.Outcome {
	return nitro.Outcome{
		{AssetHolder: holder, Allocation: []nitro.AllocationItem{
			{Destination: nitro.AddressToDestination(alice), Amount: big.NewInt(5)},
			{Destination: crypto.Keccak256Hash([]byte("some channel")), Amount: new(big.Int).Set(maxUint256)},
		}},
		{AssetHolder: common.Address{}, Guarantee: &nitro.Guarantee{
			TargetChannelID: crypto.Keccak256Hash([]byte("target")),
			Destinations:    []nitro.Bytes32{nitro.AddressToDestination(bob), crypto.Keccak256Hash([]byte("x"))},
		}},
	}
}

func mustEncode(t *testing.T, o nitro.Outcome) []byte {
	t.Helper()
	b, err := o.Encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

func TestAmountOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		name string
		amt  *big.Int
		want error
	}{
		{"zero", big.NewInt(0), nil},
		{"max", new(big.Int).Set(maxUint256), nil},
		{"2^256", new(big.Int).Set(two256), nitro.ErrAmountOutOfRange},
		{"2^300", new(big.Int).Lsh(big.NewInt(1), 300), nitro.ErrAmountOutOfRange},
		{"-1", big.NewInt(-1), nitro.ErrAmountOutOfRange},
		{"-2^256", new(big.Int).Neg(two256), nitro.ErrAmountOutOfRange},
		{"nil", nil, nitro.ErrAmountOutOfRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := nitro.CheckAmount(tc.amt); !errors.Is(err, tc.want) {
				t.Errorf("CheckAmount: got %v, want %v", err, tc.want)
			}
			items := []nitro.AllocationItem{{Destination: nitro.AddressToDestination(alice), Amount: big.NewInt(1)}, {Amount: tc.amt}}
			if _, err := nitro.EncodeAllocation(items); !errors.Is(err, tc.want) {
				t.Errorf("EncodeAllocation: got %v, want %v", err, tc.want)
			}
			o := sampleOutcome()
			o[0].Allocation[1].Amount = tc.amt
			if _, err := o.Encode(); !errors.Is(err, tc.want) {
				t.Errorf("Outcome.Encode: got %v, want %v", err, tc.want)
			}
			if _, err := o.Hash(); !errors.Is(err, tc.want) {
				t.Errorf("Outcome.Hash: got %v, want %v", err, tc.want)
			}
			s := baseState()
			s.Outcome = o
			if _, err := s.Hash(); !errors.Is(err, tc.want) {
				t.Errorf("State.Hash: got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestUint48OutOfRange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mut      func(*nitro.State)
		wantID   error // ChannelID
		wantApp  error // AppPartHash
		wantHash error // Hash
	}{
		{"all at max", func(s *nitro.State) {
			s.TurnNum, s.ChannelNonce, s.ChallengeDuration = nitro.MaxUint48, nitro.MaxUint48, nitro.MaxUint48
		}, nil, nil, nil},
		{"turnNum 2^48", func(s *nitro.State) { s.TurnNum = nitro.MaxUint48 + 1 }, nil, nil, nitro.ErrUint48OutOfRange},
		{"turnNum max uint64", func(s *nitro.State) { s.TurnNum = ^uint64(0) }, nil, nil, nitro.ErrUint48OutOfRange},
		{"channelNonce 2^48", func(s *nitro.State) { s.ChannelNonce = nitro.MaxUint48 + 1 }, nitro.ErrUint48OutOfRange, nil, nitro.ErrUint48OutOfRange},
		{"challengeDuration 2^48", func(s *nitro.State) { s.ChallengeDuration = nitro.MaxUint48 + 1 }, nitro.ErrUint48OutOfRange, nitro.ErrUint48OutOfRange, nitro.ErrUint48OutOfRange},
		{"challengeDuration max uint64", func(s *nitro.State) { s.ChallengeDuration = ^uint64(0) }, nitro.ErrUint48OutOfRange, nitro.ErrUint48OutOfRange, nitro.ErrUint48OutOfRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := baseState()
			tc.mut(&s)
			if _, err := s.ChannelID(); !errors.Is(err, tc.wantID) {
				t.Errorf("ChannelID: got %v, want %v", err, tc.wantID)
			}
			if _, err := s.FixedPart().ChannelID(); !errors.Is(err, tc.wantID) {
				t.Errorf("FixedPart.ChannelID: got %v, want %v", err, tc.wantID)
			}
			if _, err := s.AppPartHash(); !errors.Is(err, tc.wantApp) {
				t.Errorf("AppPartHash: got %v, want %v", err, tc.wantApp)
			}
			if _, err := s.Hash(); !errors.Is(err, tc.wantHash) {
				t.Errorf("Hash: got %v, want %v", err, tc.wantHash)
			}
		})
	}
}

func TestTooManyParticipants(t *testing.T) {
	for _, n := range []int{0, 1, 2, 255, 256, 1000} {
		f := nitro.FixedPart{ChainID: big.NewInt(1), ChannelNonce: 1}
		for i := 0; i < n; i++ {
			f.Participants = append(f.Participants, common.BigToAddress(big.NewInt(int64(i+1))))
		}
		_, err := f.ChannelID()
		var want error
		if n > nitro.MaxParticipants {
			want = nitro.ErrTooManyParticipants
		}
		if !errors.Is(err, want) {
			t.Errorf("%d participants: got %v, want %v", n, err, want)
		}
	}
}

func TestBadChainID(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chain *big.Int
		want  error
	}{
		{"nil", nil, nitro.ErrBadChainID},
		{"-1", big.NewInt(-1), nitro.ErrBadChainID},
		{"2^256", new(big.Int).Set(two256), nitro.ErrBadChainID},
		{"0", big.NewInt(0), nil},
		{"max", new(big.Int).Set(maxUint256), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := baseState()
			s.ChainID = tc.chain
			if _, err := s.ChannelID(); !errors.Is(err, tc.want) {
				t.Errorf("ChannelID: got %v, want %v", err, tc.want)
			}
			if _, err := s.Hash(); !errors.Is(err, tc.want) {
				t.Errorf("Hash: got %v, want %v", err, tc.want)
			}
		})
	}
}

// decodeNoPanic decodes b and fails the test on a panic or on an error that
// is not ErrBadOutcome.
func decodeNoPanic(t *testing.T, name string, b []byte) (nitro.Outcome, error) {
	t.Helper()
	var (
		out nitro.Outcome
		err error
	)
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%s: DecodeOutcome panicked: %v", name, r)
			}
		}()
		out, err = nitro.DecodeOutcome(b)
	}()
	if err != nil && !errors.Is(err, nitro.ErrBadOutcome) {
		t.Errorf("%s: error %v is not ErrBadOutcome", name, err)
	}
	return out, err
}

func word(x *big.Int) []byte { return common.LeftPadBytes(x.Bytes(), 32) }

func TestDecodeOutcomeMalformed(t *testing.T) {
	good := mustEncode(t, sampleOutcome())
	if dec, err := decodeNoPanic(t, "good", good); err != nil || !dec.Equal(sampleOutcome()) {
		t.Fatalf("good outcome: %v", err)
	}

	// Every proper prefix is malformed.
	for n := 0; n < len(good); n++ {
		if _, err := decodeNoPanic(t, "truncated", good[:n]); !errors.Is(err, nitro.ErrBadOutcome) {
			t.Errorf("truncated to %d of %d bytes: got %v, want ErrBadOutcome", n, len(good), err)
		}
	}

	// Overwrite each word with huge values: never a panic; the top-level
	// offset, length and element-offset words must be rejected.
	huge := []*big.Int{maxUint256, new(big.Int).Lsh(big.NewInt(1), 63), new(big.Int).Lsh(big.NewInt(1), 32), big.NewInt(1 << 20)}
	for w := 0; w*32 < len(good); w++ {
		for _, h := range huge {
			b := bytes.Clone(good)
			copy(b[w*32:], word(h))
			_, err := decodeNoPanic(t, "huge word", b)
			if w <= 3 && err == nil {
				t.Errorf("word %d set to %s: decoded without error", w, h)
			}
		}
	}

	// Structural garbage.
	empty := mustEncode(t, nitro.Outcome{})
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"one byte", []byte{0}},
		{"31 zero bytes", make([]byte, 31)},
		{"offset only", word(big.NewInt(32))},
		{"offset past end", append(word(big.NewInt(64)), word(big.NewInt(0))...)},
		{"all ff", bytes.Repeat([]byte{0xff}, 160)},
		{"length 1 no element", append(word(big.NewInt(32)), word(big.NewInt(1))...)},
		{"hash-like garbage", crypto.Keccak256(append(crypto.Keccak256([]byte("a")), crypto.Keccak256([]byte("b"))...))},
	} {
		if _, err := decodeNoPanic(t, tc.name, tc.b); !errors.Is(err, nitro.ErrBadOutcome) {
			t.Errorf("%s: got %v, want ErrBadOutcome", tc.name, err)
		}
	}
	if dec, err := decodeNoPanic(t, "empty outcome", empty); err != nil || len(dec) != 0 {
		t.Errorf("empty outcome: %v, %d items", err, len(dec))
	}

	// Pseudo-random byte flips: never a panic, only ErrBadOutcome.
	seed := crypto.Keccak256([]byte("flip"))
	for i := 0; i < 2000; i++ {
		seed = crypto.Keccak256(seed)
		b := bytes.Clone(good)
		b[(int(seed[0])<<8|int(seed[1]))%len(b)] ^= seed[2] | 1
		decodeNoPanic(t, "flip", b)
	}
}

// assetOutcomeBytes builds abi.encode(tuple(uint8, bytes)) with a raw type
// word, wrapped in a one-item outcome.
func outcomeWithTypeWord(typeWord *big.Int, inner []byte) []byte {
	padded := common.RightPadBytes(inner, (len(inner)+31)/32*32)
	asset := append(append(append(append(word(big.NewInt(32)), word(typeWord)...), word(big.NewInt(64))...), word(big.NewInt(int64(len(inner))))...), padded...)
	assetPadded := common.RightPadBytes(asset, (len(asset)+31)/32*32)
	out := append(append(append(word(big.NewInt(32)), word(big.NewInt(1))...), word(big.NewInt(32))...), common.LeftPadBytes(holder.Bytes(), 32)...)
	out = append(append(out, word(big.NewInt(64))...), word(big.NewInt(int64(len(asset))))...)
	return append(out, assetPadded...)
}

func TestDecodeAssetOutcomeType(t *testing.T) {
	alloc, err := nitro.EncodeAllocation([]nitro.AllocationItem{{Destination: nitro.AddressToDestination(alice), Amount: big.NewInt(3)}})
	if err != nil {
		t.Fatal(err)
	}
	// Sanity: the hand-built layout matches the encoder for type 0.
	want := mustEncode(t, nitro.Outcome{{AssetHolder: holder, Allocation: []nitro.AllocationItem{{Destination: nitro.AddressToDestination(alice), Amount: big.NewInt(3)}}}})
	if got := outcomeWithTypeWord(big.NewInt(0), alloc); !bytes.Equal(got, want) {
		t.Fatalf("hand-built outcome differs from encoder:\n got %x\nwant %x", got, want)
	}
	for _, tc := range []struct {
		name string
		typ  *big.Int
		ok   bool
	}{
		{"allocation", big.NewInt(0), true},
		{"type 2", big.NewInt(2), false},
		{"type 255", big.NewInt(255), false},
		// ethers masks the word to 8 bits and would read 0; Solidity's ABI v2
		// decoder reverts, and so do we.
		{"dirty high bits", big.NewInt(256), false},
		{"guarantee tag over allocation bytes", big.NewInt(1), false},
	} {
		_, err := decodeNoPanic(t, tc.name, outcomeWithTypeWord(tc.typ, alloc))
		if tc.ok != (err == nil) {
			t.Errorf("%s: got %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	for _, b := range [][]byte{nil, {1, 2, 3}, make([]byte, 31)} {
		if _, err := nitro.DecodeAssetOutcome(b); !errors.Is(err, nitro.ErrBadOutcome) {
			t.Errorf("DecodeAssetOutcome(%x): got %v, want ErrBadOutcome", b, err)
		}
		if _, err := nitro.DecodeAllocation(b); !errors.Is(err, nitro.ErrBadOutcome) {
			t.Errorf("DecodeAllocation(%x): got %v, want ErrBadOutcome", b, err)
		}
	}
}

func TestSignatureFromBytes(t *testing.T) {
	valid := make([]byte, 65)
	valid[0], valid[32] = 1, 1
	for _, tc := range []struct {
		name  string
		b     []byte
		wantV uint8
		err   error
	}{
		{"nil", nil, 0, nitro.ErrBadSignature},
		{"64 bytes", make([]byte, 64), 0, nitro.ErrBadSignature},
		{"66 bytes", make([]byte, 66), 0, nitro.ErrBadSignature},
		{"v 27", withV(valid, 27), 27, nil},
		{"v 28", withV(valid, 28), 28, nil},
		{"v 0 normalised", withV(valid, 0), 27, nil},
		{"v 1 normalised", withV(valid, 1), 28, nil},
		{"v 2", withV(valid, 2), 0, nitro.ErrBadSignature},
		{"v 26", withV(valid, 26), 0, nitro.ErrBadSignature},
		{"v 29", withV(valid, 29), 0, nitro.ErrBadSignature},
		{"v 37 (EIP-155)", withV(valid, 37), 0, nitro.ErrBadSignature},
		{"v 255", withV(valid, 255), 0, nitro.ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := nitro.SignatureFromBytes(tc.b)
			if !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
			if err == nil {
				if sig.V != tc.wantV {
					t.Errorf("V = %d, want %d", sig.V, tc.wantV)
				}
				if !bytes.Equal(sig.Bytes()[:64], tc.b[:64]) {
					t.Errorf("r||s not preserved")
				}
			}
		})
	}
}

func withV(b []byte, v byte) []byte {
	c := bytes.Clone(b)
	c[64] = v
	return c
}

func TestRecoverSigner(t *testing.T) {
	key, err := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	if err != nil {
		t.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	h := crypto.Keccak256Hash([]byte("state"))
	raw, err := crypto.Sign(nitro.SignatureDigest(h), key)
	if err != nil {
		t.Fatal(err)
	}
	raw[64] += 27
	sig, err := nitro.SignatureFromBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := nitro.RecoverSigner(h, sig); err != nil || got != addr {
		t.Fatalf("RecoverSigner = %s, %v; want %s", got.Hex(), err, addr.Hex())
	}
	// A different hash recovers someone else (or fails), never the signer.
	if got, err := nitro.RecoverSigner(crypto.Keccak256Hash([]byte("other")), sig); err == nil && got == addr {
		t.Error("signature verified against the wrong hash")
	}
	// Signing the raw hash instead of the eth_sign digest must not verify.
	rawSig, _ := crypto.Sign(h[:], key)
	rawSig[64] += 27
	bad, _ := nitro.SignatureFromBytes(rawSig)
	if got, err := nitro.RecoverSigner(h, bad); err == nil && got == addr {
		t.Error("signature over the unprefixed hash verified")
	}

	for _, tc := range []struct {
		name string
		sig  nitro.Signature
	}{
		{"v 0 in struct", nitro.Signature{V: 0, R: sig.R, S: sig.S}},
		{"v 1 in struct", nitro.Signature{V: 1, R: sig.R, S: sig.S}},
		{"v 29", nitro.Signature{V: 29, R: sig.R, S: sig.S}},
		{"zero r and s", nitro.Signature{V: 27}},
		{"r = n", nitro.Signature{V: 27, R: common.HexToHash("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"), S: sig.S}},
	} {
		if _, err := nitro.RecoverSigner(h, tc.sig); !errors.Is(err, nitro.ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", tc.name, err)
		}
	}
}

func TestOutcomeCloneEqual(t *testing.T) {
	o := sampleOutcome()
	c := o.Clone()
	if !o.Equal(c) || !c.Equal(o) {
		t.Fatal("clone is not equal")
	}
	if nitro.Outcome(nil).Clone() != nil {
		t.Error("nil clone is not nil")
	}
	if !nitro.Outcome(nil).Equal(nitro.Outcome{}) {
		t.Error("nil and empty outcomes differ")
	}

	// The clone is deep.
	c[0].Allocation[0].Amount.SetInt64(999)
	c[1].Guarantee.Destinations[0] = common.Hash{1}
	c[1].Guarantee.TargetChannelID = common.Hash{2}
	if o[0].Allocation[0].Amount.Int64() != 5 || o[1].Guarantee.Destinations[0] != nitro.AddressToDestination(bob) ||
		o[1].Guarantee.TargetChannelID != crypto.Keccak256Hash([]byte("target")) {
		t.Fatal("mutating the clone changed the original")
	}

	for _, tc := range []struct {
		name string
		mut  func(nitro.Outcome) nitro.Outcome
	}{
		{"holder", func(p nitro.Outcome) nitro.Outcome { p[0].AssetHolder = bob; return p }},
		{"amount", func(p nitro.Outcome) nitro.Outcome { p[0].Allocation[1].Amount.SetInt64(1); return p }},
		{"destination", func(p nitro.Outcome) nitro.Outcome { p[0].Allocation[0].Destination = common.Hash{}; return p }},
		{"fewer items", func(p nitro.Outcome) nitro.Outcome { p[0].Allocation = p[0].Allocation[:1]; return p }},
		{"fewer assets", func(p nitro.Outcome) nitro.Outcome { return p[:1] }},
		{"guarantee target", func(p nitro.Outcome) nitro.Outcome { p[1].Guarantee.TargetChannelID = common.Hash{}; return p }},
		{"guarantee destination", func(p nitro.Outcome) nitro.Outcome { p[1].Guarantee.Destinations[1] = common.Hash{}; return p }},
		{"guarantee length", func(p nitro.Outcome) nitro.Outcome {
			p[1].Guarantee.Destinations = p[1].Guarantee.Destinations[:1]
			return p
		}},
		{"guarantee to allocation", func(p nitro.Outcome) nitro.Outcome { p[1].Guarantee = nil; return p }},
	} {
		p := tc.mut(sampleOutcome())
		if p.Equal(sampleOutcome()) || sampleOutcome().Equal(p) {
			t.Errorf("%s: outcomes compare equal", tc.name)
		}
		// Different outcomes must hash differently.
		h1, err1 := p.Hash()
		h2, _ := sampleOutcome().Hash()
		if err1 == nil && h1 == h2 {
			t.Errorf("%s: same hash", tc.name)
		}
	}

	s := baseState()
	sc := s.Clone()
	sc.ChainID.SetInt64(1)
	sc.Participants[0] = bob
	sc.AppData[0] = 9
	sc.Outcome[0].Allocation[0].Amount.SetInt64(0)
	if s.ChainID.Int64() != 1337 || s.Participants[0] != alice || s.AppData[0] != 1 || s.Outcome[0].Allocation[0].Amount.Int64() != 5 {
		t.Error("State.Clone is shallow")
	}
}

func TestIsExternalDestination(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    nitro.Bytes32
		want bool
	}{
		{"left-padded address", nitro.AddressToDestination(holder), true},
		{"zero", nitro.Bytes32{}, true},
		{"max address", nitro.AddressToDestination(common.HexToAddress("0xffffffffffffffffffffffffffffffffffffffff")), true},
		{"byte 11 set", func() nitro.Bytes32 { var d nitro.Bytes32; d[11] = 1; return d }(), false},
		{"byte 0 set", func() nitro.Bytes32 { var d nitro.Bytes32; d[0] = 0x80; return d }(), false},
		{"keccak", crypto.Keccak256Hash([]byte("channel")), false},
	} {
		if got := nitro.IsExternalDestination(tc.d); got != tc.want {
			t.Errorf("%s: IsExternalDestination(%s) = %v, want %v", tc.name, tc.d.Hex(), got, tc.want)
		}
	}
	if got := nitro.DestinationToAddress(nitro.AddressToDestination(holder)); got != holder {
		t.Errorf("DestinationToAddress round trip = %s", got.Hex())
	}
	if d := nitro.AddressToDestination(holder); !bytes.Equal(d[12:], holder.Bytes()) || d[0] != 0 {
		t.Errorf("AddressToDestination is not a left pad: %s", d.Hex())
	}
	id, err := baseState().ChannelID()
	if err != nil || nitro.IsExternalDestination(id) {
		t.Errorf("channel id %s, %v looks external", id.Hex(), err)
	}
}
