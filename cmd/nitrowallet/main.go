// Command nitrowallet runs the Nitro state-channel wallet's programs:
//
//	nitrowallet demo [-m N] [-chain C] [-store S] [-v] [-mermaid FILE]
//	    the founding document's happy path between two wallets, told in the
//	    document's order and drawn as a Mermaid sequence diagram
//	nitrowallet sim [flags]
//	    a seeded simulation of several wallets over a faulty network
//	nitrowallet bench [flags]
//	    the benchmark table of docs/benchmarks.md
//	nitrowallet address [-keystore FILE] [-passphrase-env V] [-key-env V]
//	    the signing address of a key loaded as a deployment would load it
//	nitrowallet watch -db URL -rpc URL -adjudicator A -eth-asset-holder A [flags]
//	    a keyless watchtower that clears stale challenges (docs/watchtower.md)
//	nitrowallet serve --dev | --store URL --chain URL --adjudicator A --eth-asset-holder A [flags]
//	    one wallet's client API over JSON-RPC and WebSocket (docs/serve.md)
//	nitrowallet deploy --chain URL [--key HEX]
//	    deploys the Nitro contracts and prints their addresses as JSON
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "nitrowallet:", err)
		os.Exit(1)
	}
}

// usage is what nitrowallet -h prints.
const usage = `usage: nitrowallet demo|sim|bench|address|watch|serve|deploy [flags]

  demo     the founding document's happy path between two wallets
  sim      a seeded simulation of several wallets over a faulty network
  bench    the benchmark table of docs/benchmarks.md
  address  the signing address of a key
  watch    a keyless watchtower that clears stale challenges
  serve    one wallet's client API over JSON-RPC and WebSocket
  deploy   deploy the Nitro contracts to a chain and print their addresses

nitrowallet COMMAND -h lists a command's flags.
`

// run runs the command args name; -h (of nitrowallet or of a command)
// prints usage and is no error.
func run(ctx context.Context, args []string, out io.Writer) error {
	err := run1(ctx, args, out)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func run1(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		_, err := io.WriteString(out, usage)
		return err
	case "demo":
		return demoCommand(ctx, args[1:], out)
	case "bench":
		return benchCommand(ctx, args[1:], out)
	case "sim":
		return simCommand(ctx, args[1:], out)
	case "address":
		return addressCommand(args[1:], out)
	case "watch":
		return watchCommand(ctx, args[1:], out)
	case "serve":
		return serveCommand(ctx, args[1:], out)
	case "deploy":
		return deployCommand(ctx, args[1:], out)
	default:
		return fmt.Errorf("unknown command %q (try: demo, sim, bench, address, watch, serve, deploy, or -h)", args[0])
	}
}

// demoCommand runs `nitrowallet demo`.
func demoCommand(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `usage: nitrowallet demo [-m N] [-chain C] [-store S] [-v] [-mermaid FILE]

Runs the founding document's happy path (make-wallet-api-calls) between two
wallets, A and B, and tells it in the document's order: each call, its
result, then the effects it caused; one line per message. It writes the run
as a Mermaid sequence diagram in the document's notation. The channel runs
the SingleAssetPayments app; one update it refuses is printed, not drawn.

`)
		fs.PrintDefaults()
	}
	m := fs.Int("m", 3, "number of update rounds, A then B, while running (the document's loop i=0...m with m = N-1)")
	chain := fs.String("chain", "sim", "chain to run on: sim (the real contracts, simulated in process), memory (the in-memory model), or a dev node's URL")
	store := fs.String("store", "memory", "store for both wallets: memory, or a PostgreSQL URL (postgres://…; each wallet gets its own schema)")
	verbose := fs.Bool("v", false, "also print each message's whole JSON and every transaction")
	mermaid := fs.String("mermaid", "demo.mmd", `file for the run's Mermaid sequence diagram ("-" for standard output, "" for none)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *m < 0 || fs.NArg() > 0 {
		return fmt.Errorf("demo: -m must be 0 or more, and no arguments follow the flags")
	}
	return demo(ctx, out, demoOptions{updates: *m, chain: *chain, store: *store, verbose: *verbose, mermaid: *mermaid})
}
