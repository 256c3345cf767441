package ethereum_test

import (
	"context"
	"log"
	"math/big"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
)

// A wallet on the real contracts in an in-process chain (needs the npm
// artifacts: `make oracle`).
func ExampleNewDevChain() {
	ctx := context.Background()
	d, err := ethereum.NewDevChain(ctx, ethereum.DevOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	key, _ := crypto.GenerateKey()
	if err := d.Fund(ctx, crypto.PubkeyToAddress(key.PublicKey), big.NewInt(1e18)); err != nil {
		log.Fatal(err)
	}
	chain, err := d.NewChain(ctx, key, ethereum.Config{})
	if err != nil {
		log.Fatal(err)
	}
	w, err := app.New(ctx, app.Config{Signer: memory.NewSigner(key), Store: memory.NewStore(), Chain: chain})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	// Channels whose allocations use d.Deployment.ETHAssetHolder are now
	// funded and paid out by the NitroAdjudicator and ETHAssetHolder.
}

// A wallet on a node over JSON-RPC, following events DefaultConfirmations
// (12) blocks behind the head; Confirmations sets another depth.
func ExampleNew() {
	ctx := context.Background()
	client, err := ethclient.Dial("http://127.0.0.1:8545")
	if err != nil {
		log.Fatal(err)
	}
	key, _ := crypto.GenerateKey() // the wallet's funded account in practice
	deployment := ethereum.Contracts{ /* Adjudicator, ETHAssetHolder, StartBlock of your deployment */ }
	chain, err := ethereum.New(ctx, ethereum.Config{
		Client: client, Signer: ethereum.KeySigner(key), Contracts: deployment,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer chain.Close()
}
