package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nitrowallet/nitrowallet/sim"
)

// simCommand runs `nitrowallet sim`: a deterministic simulation of wallets
// on the memory adapters over a faulty network, checked for the wallet's
// safety and liveness properties.
func simCommand(_ context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(out)
	var o sim.RunOptions
	fs.IntVar(&o.Wallets, "wallets", 2, "number of wallets (2 to 26)")
	fs.IntVar(&o.Channels, "channels", 1, "number of channels, each between 2 to 4 of the wallets")
	fs.IntVar(&o.Updates, "updates", 3, "updates per channel before it is closed")
	fs.Float64Var(&o.Drop, "drop", 0, "probability that a message is lost")
	fs.Float64Var(&o.Dup, "dup", 0, "probability that a message is duplicated")
	fs.Float64Var(&o.Crash, "crash", 0, "probability, at each step, that a wallet crashes and restarts from its store")
	fs.Float64Var(&o.Apps, "apps", 0, "share of channels whose app is SingleAssetPayments (run in a local EVM); the others have none")
	fs.Float64Var(&o.Invalid, "invalid", 0, "probability, at each step, that a peer proposes a state its channel's app refuses")
	fs.Int64Var(&o.Seed, "seed", 1, "random seed: the same flags give the same run")
	mermaid := fs.String("mermaid", "nitrowallet-sim.mmd", `file for the run's Mermaid sequence diagram ("-" for standard output, "" for none)`)
	maxLines := fs.Int("mermaid-max", 600, "write the diagram only if it has at most this many lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Apps < 0 || o.Apps > 1 {
		return fmt.Errorf("sim: the share of app channels must be in [0, 1]")
	}
	for _, p := range []float64{o.Drop, o.Dup, o.Crash, o.Invalid} {
		if p < 0 || p >= 1 {
			return fmt.Errorf("sim: probabilities must be in [0, 1)")
		}
	}
	if o.Drop+o.Dup >= 1 {
		return fmt.Errorf("sim: drop + dup must be below 1")
	}
	o.Trace = *mermaid != ""
	fmt.Fprintf(out, "nitrowallet sim: %d wallets, %d channels, %d updates each, drop %g, dup %g, crash %g, seed %d\n",
		o.Wallets, o.Channels, o.Updates, o.Drop, o.Dup, o.Crash, o.Seed)
	if o.Apps > 0 || o.Invalid > 0 {
		fmt.Fprintf(out, "apps: %g of the channels run %s; invalid proposals %g\n", o.Apps, sim.AppName, o.Invalid)
	}
	rep, runErr := sim.Run(o)
	printReport(out, rep)
	if *mermaid != "" {
		switch {
		case rep.DiagLine == 0:
		case rep.DiagLine > *maxLines:
			fmt.Fprintf(out, "diagram: %d lines, more than -mermaid-max %d: not written\n", rep.DiagLine, *maxLines)
		case *mermaid == "-":
			fmt.Fprint(out, rep.Diagram)
		default:
			if err := os.WriteFile(*mermaid, []byte(rep.Diagram), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(out, "diagram: %s (%d lines, Mermaid sequence diagram)\n", *mermaid, rep.DiagLine)
		}
	}
	if runErr != nil {
		return fmt.Errorf("sim: %w", runErr)
	}
	fmt.Fprintln(out, "all safety and liveness checks passed")
	return nil
}

func printReport(out io.Writer, r sim.Report) {
	s := r.Stats
	fmt.Fprintf(out, "steps: %d; simulated time %v; wall time %v\n", r.Steps, time.Duration(s.Seconds)*time.Second, r.Wall.Round(time.Millisecond))
	fmt.Fprintf(out, "messages: %d sent, %d delivered, %d dropped, %d duplicated, %d rejected%s\n",
		s.Sent, s.Delivered, s.Dropped, s.Duplicated, s.Rejected, reasons(s.Rejections))
	fmt.Fprintf(out, "retries: %d stalls broken by syncing, %d syncs in all; crashes: %d\n", r.Retries, s.Syncs, s.Crashes)
	fmt.Fprintf(out, "calls: %d (%d failed); chain: %d blocks, %d deposits, %d concludes, %d events delivered\n",
		s.Calls, s.CallErrors, s.Blocks, s.Deposits, s.Concludes, s.ChainEvents)
	if s.InvalidProposals > 0 {
		fmt.Fprintf(out, "app-invalid proposals: %d made, %d refused by honest wallets\n", s.InvalidProposals, s.InvalidRefused)
	}
	names := make([]string, 0, len(r.Payouts))
	for n := range r.Payouts {
		names = append(names, n)
	}
	sort.Strings(names)
	var pays []string
	for _, n := range names {
		pays = append(pays, fmt.Sprintf("%s %v", n, r.Payouts[n]))
	}
	fmt.Fprintf(out, "channels closed and paid out: %d; payouts (wei): %s\n", r.Closed, strings.Join(pays, ", "))
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
