package ethereum_test

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// sendRaw sends data to `to` from key through the dev chain and returns
// the mined receipt, failing the test unless it succeeded.
func sendRaw(t *testing.T, d *ethereum.DevChain, key *ecdsa.PrivateKey, to common.Address, data []byte) *types.Receipt {
	t.Helper()
	ctx := context.Background()
	cl := d.Client()
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := cl.PendingNonceAt(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	head, err := cl.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := cl.ChainID(ctx)
	tip := big.NewInt(1e9)
	tx, err := types.SignTx(types.NewTx(&types.DynamicFeeTx{
		ChainID: id, Nonce: nonce, GasTipCap: tip, GasFeeCap: new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2))),
		Gas: 3_000_000, To: &to, Data: data,
	}), types.LatestSignerForChainID(id), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	r, err := cl.TransactionReceipt(ctx, tx.Hash())
	if err != nil || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("tx %s: receipt %+v, %v", tx.Hash(), r, err)
	}
	return r
}

// TestChallengeEvents: ChallengeRegistered and ChallengeCleared, emitted
// by challenge and checkpoint calls made directly on the adjudicator, are
// streamed with their turn numbers and the challenge's expiry.
func TestChallengeEvents(t *testing.T) {
	d := newDevChain(t, ethereum.DevOptions{})
	ctx := context.Background()
	art := loadArtifacts(t)
	alice, bob := newKey(t), newKey(t)
	for _, k := range []*ecdsa.PrivateKey{alice, bob} {
		if err := d.Fund(ctx, crypto.PubkeyToAddress(k.PublicKey), milli(1000)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := d.NewChain(ctx, alice, ethereum.Config{})
	if err != nil {
		t.Fatal(err)
	}
	outcome := nitro.Outcome{{AssetHolder: d.Deployment.ETHAssetHolder, Allocation: []nitro.AllocationItem{
		{Destination: nitro.AddressToDestination(crypto.PubkeyToAddress(alice.PublicKey)), Amount: big.NewInt(1)}}}}
	state := func(turn uint64) nitro.State {
		return nitro.State{
			ChainID: c.ChainID(), Participants: []nitro.Address{crypto.PubkeyToAddress(alice.PublicKey), crypto.PubkeyToAddress(bob.PublicKey)},
			ChannelNonce: 3, AppDefinition: common.Address{0xaa}, ChallengeDuration: 1000, AppData: []byte{1}, Outcome: outcome, TurnNum: turn,
		}
	}
	type sig struct {
		V    uint8
		R, S [32]byte
	}
	sign := func(h nitro.Bytes32, k *ecdsa.PrivateKey) sig {
		raw, err := crypto.Sign(nitro.SignatureDigest(h), k)
		if err != nil {
			t.Fatal(err)
		}
		return sig{V: raw[64] + 27, R: [32]byte(raw[:32]), S: [32]byte(raw[32:64])}
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
	st5 := state(5)
	fp := fixedPart{st5.ChainID, st5.Participants, big.NewInt(3), st5.AppDefinition, big.NewInt(1000)}
	ob, err := outcome.Encode()
	if err != nil {
		t.Fatal(err)
	}
	vp := []variablePart{{Outcome: ob, AppData: []byte{1}}}
	h5, err := st5.Hash()
	if err != nil {
		t.Fatal(err)
	}
	adj := art.NitroAdjudicator.ABI
	data, err := adj.Pack("challenge", fp, big.NewInt(5), vp, uint8(0), []sig{sign(h5, alice), sign(h5, bob)}, []uint8{0, 0}, sign(nitro.ChallengeHash(h5), bob))
	if err != nil {
		t.Fatal(err)
	}
	r1 := sendRaw(t, d, bob, d.Deployment.Adjudicator, data)
	h6, err := state(6).Hash()
	if err != nil {
		t.Fatal(err)
	}
	data, err = adj.Pack("checkpoint", fp, big.NewInt(6), vp, uint8(0), []sig{sign(h6, alice), sign(h6, bob)}, []uint8{0, 0})
	if err != nil {
		t.Fatal(err)
	}
	r2 := sendRaw(t, d, alice, d.Deployment.Adjudicator, data)

	id, err := st5.ChannelID()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Events(ctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	reg, cleared := <-stream, <-stream
	if reg.Kind != core.EventChallengeRegistered || reg.ChannelID != id || reg.TurnNumRecord != 5 || reg.TxHash != r1.TxHash ||
		reg.FinalizesAt != reg.BlockTime+1000 {
		t.Fatalf("ChallengeRegistered event %+v", reg)
	}
	if cleared.Kind != core.EventChallengeCleared || cleared.ChannelID != id || cleared.TurnNumRecord != 6 || cleared.TxHash != r2.TxHash {
		t.Fatalf("ChallengeCleared event %+v", cleared)
	}
}
