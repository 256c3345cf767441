package ports_test

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// proofWorld is a two-party channel with keys that sign its states.
type proofWorld struct {
	t    *testing.T
	keys []*ecdsaKey
}

type ecdsaKey struct {
	sign func(h nitro.Bytes32) nitro.Signature
	addr nitro.Address
}

func newProofWorld(t *testing.T) proofWorld {
	w := proofWorld{t: t}
	for _, name := range []string{"alice", "bob"} {
		k, err := crypto.ToECDSA(crypto.Keccak256([]byte("ports/proof_test/" + name)))
		if err != nil {
			t.Fatal(err)
		}
		w.keys = append(w.keys, &ecdsaKey{addr: crypto.PubkeyToAddress(k.PublicKey), sign: func(h nitro.Bytes32) nitro.Signature {
			raw, err := crypto.Sign(nitro.SignatureDigest(h), k)
			if err != nil {
				t.Fatal(err)
			}
			raw[64] += 27
			s, err := nitro.SignatureFromBytes(raw)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}})
	}
	return w
}

func (w proofWorld) state(turn uint64, final bool) nitro.State {
	return nitro.State{
		ChainID: big.NewInt(1337), Participants: []nitro.Address{w.keys[0].addr, w.keys[1].addr},
		ChannelNonce: 7, AppDefinition: nitro.Address{0xaa}, ChallengeDuration: 100,
		AppData: []byte{byte(turn)}, TurnNum: turn, IsFinal: final,
		Outcome: nitro.Outcome{{AssetHolder: nitro.Address{0xee}, Allocation: []nitro.AllocationItem{
			{Destination: nitro.AddressToDestination(w.keys[0].addr), Amount: big.NewInt(5)}}}},
	}
}

// proof has participant i sign states[who[i]].
func (w proofWorld) proof(states []nitro.State, who ...uint8) ports.SupportProof {
	p := ports.SupportProof{States: states, WhoSignedWhat: who}
	for i, k := range w.keys {
		h, err := states[who[i]].Hash()
		if err != nil {
			w.t.Fatal(err)
		}
		p.Signatures = append(p.Signatures, k.sign(h))
	}
	return p
}

// rebuild passes p through what a ChallengeRegistered event keeps of it.
func rebuild(p ports.SupportProof) *ports.SupportProof {
	last := p.States[len(p.States)-1]
	parts := make([]ports.RegisteredPart, len(p.States))
	for i, st := range p.States {
		parts[i] = ports.RegisteredPart{Outcome: st.Outcome, AppData: st.AppData}
	}
	return ports.RegisteredProof(last.FixedPart(), last.TurnNum, last.IsFinal, parts, p.Signatures, p.WhoSignedWhat)
}

func finals(p *ports.SupportProof) []bool {
	var out []bool
	for _, st := range p.States {
		out = append(out, st.IsFinal)
	}
	return out
}

// TestRegisteredProof: the event's proof is rebuilt with the turns ending
// at the record and the final states the signatures support, or only the
// last final when no signature tells.
func TestRegisteredProof(t *testing.T) {
	w := newProofWorld(t)
	cases := []struct {
		name  string
		proof ports.SupportProof
		want  []bool
	}{
		{"none final", w.proof([]nitro.State{w.state(4, false), w.state(5, false)}, 0, 1), []bool{false, false}},
		{"last final", w.proof([]nitro.State{w.state(4, false), w.state(5, true)}, 0, 1), []bool{false, true}},
		{"two final, both signed", w.proof([]nitro.State{w.state(8, true), w.state(9, true)}, 0, 1), []bool{true, true}},
		{"two final, only the last signed", w.proof([]nitro.State{w.state(8, true), w.state(9, true)}, 1, 1), []bool{false, true}},
	}
	for _, tc := range cases {
		got := rebuild(tc.proof)
		if len(got.States) != len(tc.proof.States) {
			t.Fatalf("%s: %d states", tc.name, len(got.States))
		}
		for i, f := range finals(got) {
			if f != tc.want[i] {
				t.Fatalf("%s: finals %v, want %v", tc.name, finals(got), tc.want)
			}
		}
		for i, st := range got.States {
			if st.TurnNum != tc.proof.States[i].TurnNum || string(st.AppData) != string(tc.proof.States[i].AppData) || !st.Outcome.Equal(tc.proof.States[i].Outcome) {
				t.Fatalf("%s: state %d = %+v, want %+v", tc.name, i, st, tc.proof.States[i])
			}
		}
	}
	// A signature nobody can check (a bad one) falls back to the last
	// state alone being final.
	p := w.proof([]nitro.State{w.state(8, true), w.state(9, true)}, 0, 1)
	p.Signatures[0] = nitro.Signature{V: 27}
	if got := finals(rebuild(p)); got[0] || !got[1] {
		t.Fatalf("unverifiable proof rebuilt with finals %v, want [false true]", got)
	}
}

// TestProofShape: what the adjudicator's calldata can carry, and the
// isFinalCount it gets.
func TestProofShape(t *testing.T) {
	w := newProofWorld(t)
	other := w.state(5, false)
	other.ChannelNonce++
	tooBig := w.state(nitro.MaxUint48+1, false)
	for _, tc := range []struct {
		name   string
		states []nitro.State
		count  uint8
		err    bool
	}{
		{"one state", []nitro.State{w.state(5, false)}, 0, false},
		{"final suffix", []nitro.State{w.state(4, false), w.state(5, true), w.state(6, true)}, 2, false},
		{"no states", nil, 0, true},
		{"gap", []nitro.State{w.state(4, false), w.state(6, false)}, 0, true},
		{"final then not", []nitro.State{w.state(4, true), w.state(5, false)}, 0, true},
		{"other channel", []nitro.State{w.state(4, false), other}, 0, true},
		{"turn beyond uint48", []nitro.State{tooBig}, 0, true},
	} {
		n, err := ports.ProofShape(ports.SupportProof{States: tc.states})
		if tc.err != (err != nil) || (err != nil && !errors.Is(err, ports.ErrBadProof)) || (err == nil && n != tc.count) {
			t.Fatalf("%s: isFinalCount %d, %v; want %d, error %v", tc.name, n, err, tc.count, tc.err)
		}
	}
}
