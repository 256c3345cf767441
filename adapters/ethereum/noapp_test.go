package ethereum_test

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	nwethereum "github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// TestNoAppSupportOnChain checks, on the deployed NitroAdjudicator, the
// premise of core/noapp.go: for a channel whose appDefinition is zero, a
// running state is accepted alone when every participant signed it, but
// not as the end of a chain of states signed by their movers (the
// adjudicator asks the app at the zero address, and that call reverts),
// while a chain of setup states is (no app is asked before turn 2n).
func TestNoAppSupportOnChain(t *testing.T) {
	d := newDevChain(t, nwethereum.DevOptions{})
	ctx := context.Background()
	adj := loadArtifacts(t).NitroAdjudicator.ABI
	alice, bob := newKey(t), newKey(t)
	keys := []*ecdsa.PrivateKey{alice, bob}
	parts := []common.Address{crypto.PubkeyToAddress(alice.PublicKey), crypto.PubkeyToAddress(bob.PublicKey)}
	outcome := nitro.Outcome{{AssetHolder: d.Deployment.ETHAssetHolder, Allocation: []nitro.AllocationItem{
		{Destination: nitro.AddressToDestination(parts[0]), Amount: big.NewInt(5)},
		{Destination: nitro.AddressToDestination(parts[1]), Amount: big.NewInt(3)}}}}
	ob, err := outcome.Encode()
	if err != nil {
		t.Fatal(err)
	}
	chainID, err := d.Client().ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type sig struct {
		V    uint8
		R, S [32]byte
	}
	type fixedPart struct {
		ChainId           *big.Int
		Participants      []common.Address
		ChannelNonce      *big.Int
		AppDefinition     common.Address
		ChallengeDuration *big.Int
	}
	type variablePart struct {
		Outcome []byte
		AppData []byte
	}
	state := func(turn uint64) nitro.State {
		return nitro.State{ChainID: chainID, Participants: parts, ChannelNonce: 9, ChallengeDuration: 1000, AppData: []byte{}, Outcome: outcome, TurnNum: turn}
	}
	signBy := func(turn uint64, k *ecdsa.PrivateKey) sig {
		h, err := state(turn).Hash()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := crypto.Sign(nitro.SignatureDigest(h), k)
		if err != nil {
			t.Fatal(err)
		}
		return sig{V: raw[64] + 27, R: [32]byte(raw[:32]), S: [32]byte(raw[32:64])}
	}
	fp := fixedPart{chainID, parts, big.NewInt(9), common.Address{}, big.NewInt(1000)}
	vp := variablePart{Outcome: ob, AppData: []byte{}}
	// checkpoint runs the adjudicator's support check (eth_call: nothing is
	// mined) for turns, each signed by the participants whoSigned names.
	checkpoint := func(turns []uint64, sigs []sig, whoSignedWhat []uint8) error {
		vps := make([]variablePart, len(turns))
		for i := range vps {
			vps[i] = vp
		}
		data, err := adj.Pack("checkpoint", fp, new(big.Int).SetUint64(turns[len(turns)-1]), vps, uint8(0), sigs, whoSignedWhat)
		if err != nil {
			t.Fatal(err)
		}
		to := d.Deployment.Adjudicator
		_, err = d.Client().CallContract(ctx, ethereum.CallMsg{From: parts[0], To: &to, Data: data}, nil)
		return err
	}
	// Turn 4 signed by both: accepted.
	if err := checkpoint([]uint64{4}, []sig{signBy(4, keys[0]), signBy(4, keys[1])}, []uint8{0, 0}); err != nil {
		t.Fatalf("turn 4 signed by all refused: %v", err)
	}
	// Turns 3 (bob) and 4 (alice), each by its mover: refused.
	err = checkpoint([]uint64{3, 4}, []sig{signBy(4, keys[0]), signBy(3, keys[1])}, []uint8{1, 0})
	if err == nil {
		t.Fatal("turn 4 proven by its movers' signatures alone on an app-less channel: the countersignature would not be needed")
	}
	if strings.Contains(err.Error(), "signature") || strings.Contains(err.Error(), "Unacceptable") {
		t.Fatalf("refused for its signatures, not for the app: %v", err)
	}
	t.Logf("turns 3 and 4 by their movers: %v", err)
	// The same shape at setup turns 2 (alice) and 3 (bob): accepted.
	if err := checkpoint([]uint64{2, 3}, []sig{signBy(2, keys[0]), signBy(3, keys[1])}, []uint8{0, 1}); err != nil {
		t.Fatalf("setup turns 2 and 3 by their movers refused: %v", err)
	}
}
