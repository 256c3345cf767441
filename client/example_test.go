package client_test

import (
	"context"
	"log"

	"github.com/nitrowallet/nitrowallet/client"
)

// Two wallets' servers, each operated by its own program, exchange the
// messages their wallets queue: whatever one server pushes as
// MessageQueued is given to the other with PushMessage.
func Example() {
	ctx := context.Background()
	a, err := client.Dial(ctx, "ws://127.0.0.1:7777/api", "token-of-a")
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := client.Dial(ctx, "ws://127.0.0.1:7778/api", "token-of-b")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	for n := range a.Notifications() {
		switch n.Method {
		case "MessageQueued":
			if err := b.PushMessage(ctx, n.Message); err != nil {
				log.Print(err)
			}
		case "ChannelUpdated":
			log.Printf("channel %s: %s, turn %d", n.Channel.ChannelID, n.Channel.Status, n.Channel.TurnNum)
		}
	}
}
