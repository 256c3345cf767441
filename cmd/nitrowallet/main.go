// Command nitrowallet runs the Nitro state-channel wallet's programs:
//
//	nitrowallet demo [-m N] [-chain C] [-store S]
//	    the founding document's happy path between two wallets
//	nitrowallet sim [flags]
//	    a seeded simulation of several wallets over a faulty network
//	nitrowallet bench [flags]
//	    the benchmark table of docs/benchmarks.md
//	nitrowallet address [-keystore FILE] [-passphrase-env V] [-key-env V]
//	    the signing address of a key loaded as a deployment would load it
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "nitrowallet:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: nitrowallet demo|sim|bench|address [flags]")
	}
	switch args[0] {
	case "demo":
		fs := flag.NewFlagSet("demo", flag.ContinueOnError)
		m := fs.Int("m", 3, "number of update rounds (A then B) while running")
		chain := fs.String("chain", "sim", "chain to run on: sim (the real contracts, simulated in process), memory (the in-memory model), or a dev node's URL")
		store := fs.String("store", "memory", "store for both wallets: memory, or a PostgreSQL URL (postgres://…; each wallet gets its own schema)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return demo(ctx, out, demoOptions{updates: *m, chain: *chain, store: *store})
	case "bench":
		return benchCommand(ctx, args[1:], out)
	case "sim":
		return simCommand(ctx, args[1:], out)
	case "address":
		return addressCommand(args[1:], out)
	default:
		return fmt.Errorf("unknown command %q (try: demo, sim, bench, address)", args[0])
	}
}
