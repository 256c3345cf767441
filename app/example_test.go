package app_test

import (
	"context"
	"fmt"
	"math/big"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Example opens a channel between two wallets that share an in-memory chain.
func Example() {
	ctx := context.Background()
	chain := memory.NewChain(big.NewInt(1337))
	alice, bob := memory.SignerFromSeed("example-alice"), memory.SignerFromSeed("example-bob")
	chain.Fund(alice.Address(), big.NewInt(100))
	chain.Fund(bob.Address(), big.NewInt(100))
	wa, _ := app.New(ctx, app.Config{Signer: alice, Store: memory.NewStore(), Chain: chain.Account(alice.Address())})
	defer wa.Close()
	wb, _ := app.New(ctx, app.Config{Signer: bob, Store: memory.NewStore(), Chain: chain.Account(bob.Address())})
	defer wb.Close()

	participants := []app.Participant{
		{ParticipantID: "alice", SigningAddress: alice.Address(), Destination: nitro.AddressToDestination(alice.Address())},
		{ParticipantID: "bob", SigningAddress: bob.Address(), Destination: nitro.AddressToDestination(bob.Address())},
	}
	allocations := []app.Allocation{{AssetHolderAddress: chain.ETHAssetHolder(), AllocationItems: []app.AllocationItem{
		{Destination: participants[0].Destination, Amount: big.NewInt(5)},
		{Destination: participants[1].Destination, Amount: big.NewInt(3)},
	}}}
	res, err := wa.CreateChannel(ctx, app.CreateChannelParams{Participants: participants, Allocations: allocations})
	if err != nil {
		panic(err)
	}
	id := res.ChannelResults[0].ChannelID
	fmt.Println("alice:", res.ChannelResults[0].Status)

	// The application carries res.Outbox to bob's wallet.
	res, _ = wb.PushMessage(ctx, res.Outbox[0].Data)
	fmt.Println("bob:", res.ChannelResults[0].Status)
	res, _ = wb.JoinChannel(ctx, id)
	fmt.Println("bob:", res.ChannelResults[0].Status)
	res, _ = wa.PushMessage(ctx, res.Outbox[0].Data)
	fmt.Println("alice:", res.ChannelResults[0].Status)
	// Output:
	// alice: opening
	// bob: proposed
	// bob: opening
	// alice: funding
}

// Example_createChannel is the README's example: one wallet on an in-memory
// chain and store proposes a channel and gets the message to carry to bob.
func Example_createChannel() {
	ctx := context.Background()
	chain := memory.NewChain(big.NewInt(1337))
	alice, bob := memory.SignerFromSeed("example-alice"), memory.SignerFromSeed("example-bob")
	chain.Fund(alice.Address(), big.NewInt(100))
	w, err := app.New(ctx, app.Config{Signer: alice, Store: memory.NewStore(), Chain: chain.Account(alice.Address())})
	if err != nil {
		panic(err)
	}
	defer w.Close()
	ps := []app.Participant{
		{ParticipantID: "alice", SigningAddress: alice.Address(), Destination: nitro.AddressToDestination(alice.Address())},
		{ParticipantID: "bob", SigningAddress: bob.Address(), Destination: nitro.AddressToDestination(bob.Address())},
	}
	res, err := w.CreateChannel(ctx, app.CreateChannelParams{Participants: ps, Allocations: []app.Allocation{{
		AssetHolderAddress: chain.ETHAssetHolder(), AllocationItems: []app.AllocationItem{
			{Destination: ps[0].Destination, Amount: big.NewInt(5)}, {Destination: ps[1].Destination, Amount: big.NewInt(3)},
		}}}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s, send %s its message\n", res.ChannelResults[0].Status, res.Outbox[0].Recipient) // res.Outbox[0].Data
	// Output: opening, send bob its message
}
