package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/watchtower"
)

// watchTokenEnv holds the bearer token of `nitrowallet watch`'s endpoint.
const watchTokenEnv = "NITROWALLET_WATCH_TOKEN"

const watchUsage = `usage: nitrowallet watch -db URL -rpc URL -adjudicator ADDR -eth-asset-holder ADDR [flags]

Runs a keyless watchtower (docs/watchtower.md): it keeps the newest support
proof wallets hand it for each channel in PostgreSQL, follows the chain, and
answers any challenge on an older turn with checkpoint, paying the gas from
its own account (the key below: no participant's key is needed).

With -listen it takes proofs over HTTP: POST /v1/watch, a proof as JSON,
header "Authorization: Bearer $NITROWALLET_WATCH_TOKEN" (required then;
compared in constant time; bodies over 1 MiB are refused).

Flags (URLs also from the environment, as noted):
`

// watchOptions are `nitrowallet watch`'s settings.
type watchOptions struct {
	db, schema, rpc, listen, token string
	contracts                      ethereum.Contracts
	confirmations                  uint64
	dev                            bool
	keystore, passEnv, keyEnv      string
	check                          time.Duration
	concurrency                    int
}

// parseWatch reads watch's flags and environment.
func parseWatch(args []string, out io.Writer) (watchOptions, error) {
	var o watchOptions
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, watchUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.db, "db", os.Getenv("NITROWALLET_DATABASE_URL"), "PostgreSQL URL (default $NITROWALLET_DATABASE_URL)")
	fs.StringVar(&o.schema, "schema", "nitrowallet_watch", "PostgreSQL schema of the watcher's tables (one watcher per schema)")
	fs.StringVar(&o.rpc, "rpc", os.Getenv("NITROWALLET_RPC_URL"), "the node's http(s):// or ws(s):// URL (default $NITROWALLET_RPC_URL)")
	adj := fs.String("adjudicator", "", "NitroAdjudicator address")
	eth := fs.String("eth-asset-holder", "", "ETHAssetHolder address")
	erc20 := fs.String("erc20-asset-holders", "", "comma-separated ERC20AssetHolder addresses")
	fs.Uint64Var(&o.contracts.StartBlock, "start-block", 0, "the deployment's block: events are never read below it")
	fs.Uint64Var(&o.confirmations, "confirmations", 0, "blocks an event waits below the head (0: the adapter's default, 12, or 0 with -dev)")
	fs.BoolVar(&o.dev, "dev", false, "a development chain (chain id 1337 or 31337) nobody reorgs")
	fs.StringVar(&o.keystore, "keystore", "", "keystore (v3) file of the watcher's gas account")
	fs.StringVar(&o.passEnv, "passphrase-env", "NITROWALLET_PASSPHRASE", "environment variable holding the keystore's passphrase")
	fs.StringVar(&o.keyEnv, "key-env", "NITROWALLET_WATCH_KEY", "environment variable holding the gas account's hex private key (without -keystore)")
	fs.StringVar(&o.listen, "listen", "", "address of the HTTP endpoint, e.g. 127.0.0.1:7400 (none: no endpoint)")
	fs.DurationVar(&o.check, "check-interval", watchtower.DefaultCheckInterval, "how often challenges are checked against the adjudicator's record")
	fs.IntVar(&o.concurrency, "check-concurrency", watchtower.DefaultCheckConcurrency, "challenges checked (and answered) at once, the most urgent first")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("watch: unexpected arguments %q", fs.Args())
	}
	if !isPostgresURL(o.db) {
		return o, errors.New("watch: -db (or $NITROWALLET_DATABASE_URL) must be a postgres:// URL")
	}
	if o.rpc == "" {
		return o, errors.New("watch: -rpc (or $NITROWALLET_RPC_URL) is required")
	}
	var err error
	if o.contracts.Adjudicator, err = parseAddress("adjudicator", *adj); err != nil {
		return o, err
	}
	if o.contracts.ETHAssetHolder, err = parseAddress("eth-asset-holder", *eth); err != nil {
		return o, err
	}
	for _, a := range strings.Split(*erc20, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		h, err := parseAddress("erc20-asset-holders", a)
		if err != nil {
			return o, err
		}
		o.contracts.ERC20AssetHolders = append(o.contracts.ERC20AssetHolders, h)
	}
	if o.concurrency < 1 {
		return o, fmt.Errorf("watch: -check-concurrency %d must be at least 1", o.concurrency)
	}
	if o.listen != "" {
		if o.token = os.Getenv(watchTokenEnv); o.token == "" {
			return o, fmt.Errorf("watch: -listen needs a bearer token in $%s", watchTokenEnv)
		}
	}
	return o, nil
}

func parseAddress(flagName, s string) (common.Address, error) {
	if !common.IsHexAddress(s) {
		return common.Address{}, fmt.Errorf("watch: -%s %q is not an address", flagName, s)
	}
	return common.HexToAddress(s), nil
}

// watchCommand runs `nitrowallet watch` until ctx ends.
func watchCommand(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseWatch(args, out)
	if err != nil {
		return err
	}
	key, err := loadKey(o.keystore, o.passEnv, o.keyEnv)
	if err != nil {
		return fmt.Errorf("watch: gas account key: %w", err)
	}
	client, err := ethclient.DialContext(ctx, o.rpc)
	if err != nil {
		return fmt.Errorf("watch: dial %s: %w", o.rpc, err)
	}
	defer client.Close()
	chain, err := ethereum.New(ctx, ethereum.Config{Client: client, Signer: ethereum.KeySigner(key), Contracts: o.contracts,
		Confirmations: o.confirmations, Dev: o.dev})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer chain.Close()
	s, err := postgres.Open(ctx, o.db, postgres.Options{Schema: o.schema})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer s.Close()
	var ln net.Listener
	if o.listen != "" {
		if ln, err = net.Listen("tcp", o.listen); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
	}
	fmt.Fprintf(out, "watch: gas account %s, schema %s\n", chain.Address(), o.schema)
	return serveWatch(ctx, chain, postgres.NewWatchStore(s), ln, o.token, watchtower.Config{CheckInterval: o.check, CheckConcurrency: o.concurrency}, out)
}

// serveWatch runs a watcher on chain and store, and its HTTP endpoint on ln
// (if not nil), until ctx ends; then it returns nil.
func serveWatch(ctx context.Context, chain ports.Chain, store watchtower.Store, ln net.Listener, token string, tune watchtower.Config, out io.Writer) error {
	out = &lockedWriter{w: out} // the log and this function write from several goroutines
	w, err := watchtower.New(watchtower.Config{Store: store, Chain: chain, CheckInterval: tune.CheckInterval, CheckConcurrency: tune.CheckConcurrency,
		Logger: slog.New(slog.NewTextHandler(out, nil))})
	if err != nil {
		return err
	}
	errs := make(chan error, 1)
	if ln != nil {
		srv := &http.Server{Handler: watchtower.Handler(w, token), ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("watch: serve: %w", err)
			}
		}()
		fmt.Fprintf(out, "watch: listening on http://%s%s\n", ln.Addr(), watchtower.Path)
	}
	go func() { errs <- w.Run(ctx) }()
	err = <-errs
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
