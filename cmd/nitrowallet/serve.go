package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
)

// errServeConfig marks a bad flag or environment variable of serve or
// deploy: the command starts nothing.
var errServeConfig = errors.New("bad configuration")

// Environment variables serve reads besides its flags' fallbacks.
const (
	keyEnv        = "NITROWALLET_KEY"
	passphraseEnv = "NITROWALLET_KEYSTORE_PASSPHRASE"
	tokenEnv      = "NITROWALLET_TOKEN"
)

const serveUsage = `usage: nitrowallet serve --dev
       nitrowallet serve --store postgres://… --chain URL --adjudicator A --eth-asset-holder A [flags]

Serves one wallet's client API (JSON-RPC 2.0 over HTTP POST and WebSocket at
/api, /metrics, /healthz, /readyz and the operator's page at /); see
docs/serve.md. It prints "listening on http://ADDR" (https with TLS) once it
serves, logs JSON to standard error, and on SIGTERM or SIGINT stops
accepting, finishes the calls in flight and closes the wallet and its store.

--dev runs everything in process: go-ethereum's simulated chain with the
Nitro 0.17.0 contracts (from ` + "`make oracle`" + `), a memory store (lost on exit)
and a funded key; it prints the key's address and the API token.

Signing key: --keystore FILE with the passphrase in $` + passphraseEnv + `,
or a hex private key in $` + keyEnv + `. The key signs states and pays the
wallet's transactions, so its address needs ether on the chain.

API token: $` + tokenEnv + `, else the --token-file's content, else a new
random token written to --token-file (mode 0600) and printed once.

Every flag also reads the environment variable named in its text.

Flags:
`

// serveOptions are serve's settings.
type serveOptions struct {
	listen    string
	dev       bool
	store     string
	chain     string
	contracts ethereum.Contracts
	devChain  bool
	confirms  uint64
	poll      time.Duration
	keystore  string
	tokenFile string
	tlsCert   string
	tlsKey    string
	dataDir   string
	shutdown  time.Duration
	cache     int // app.Config.ChannelCache
	heldMiB   int // server.Config.HeldBytes, in MiB
	// destination is GetWalletInformation's destinationAddress (zero: the
	// server's default).
	destination common.Address
}

// serveFlag is one of serve's flags: its name, the environment variable it
// falls back to, its default and its text.
type serveFlag struct {
	name, env, def, usage string
	isBool                bool
}

// serveFlags lists serve's flags; -h and docs/serve.md document each one
// (serve_test.go checks both).
var serveFlags = []serveFlag{
	{name: "listen", env: "NITROWALLET_LISTEN", def: "127.0.0.1:7777", usage: "address to serve on (port 0: any free port)"},
	{name: "dev", env: "NITROWALLET_DEV", def: "false", isBool: true, usage: "run on the in-process simulated chain and a memory store, with a funded key (for trying it out)"},
	{name: "store", env: "NITROWALLET_STORE", usage: "postgres://… URL (its search_path parameter names the schema, default nitrowallet), or memory (lost on exit)"},
	{name: "chain", env: "NITROWALLET_CHAIN", usage: "the node's http(s):// or ws(s):// JSON-RPC URL"},
	{name: "adjudicator", env: "NITROWALLET_ADJUDICATOR", usage: "NitroAdjudicator address (nitrowallet deploy prints it)"},
	{name: "eth-asset-holder", env: "NITROWALLET_ETH_ASSET_HOLDER", usage: "ETHAssetHolder address"},
	{name: "erc20-asset-holder", env: "NITROWALLET_ERC20_ASSET_HOLDER", usage: "ERC20AssetHolder addresses, comma-separated (optional)"},
	{name: "start-block", env: "NITROWALLET_START_BLOCK", def: "0", usage: "the deployment's block: chain events are never read below it"},
	{name: "dev-chain", env: "NITROWALLET_DEV_CHAIN", def: "false", isBool: true, usage: "the node is a development chain (chain id 1337 or 31337, e.g. geth --dev) nobody reorgs: no confirmation depth"},
	{name: "confirmations", env: "NITROWALLET_CONFIRMATIONS", def: "0", usage: "blocks a chain event waits below the head (0: 12, or 0 with --dev-chain)"},
	{name: "poll-interval", env: "NITROWALLET_POLL_INTERVAL", def: "1s", usage: "how often the chain is asked for new events and receipts"},
	{name: "destination", env: "NITROWALLET_DESTINATION", usage: "the address GetWalletInformation reports as destinationAddress (default: none)"},
	{name: "keystore", env: "NITROWALLET_KEYSTORE", usage: "Ethereum keystore (v3) file of the signing key; passphrase in $" + passphraseEnv},
	{name: "token-file", env: "NITROWALLET_TOKEN_FILE", usage: "file holding the API token (default DATA-DIR/token; used when $" + tokenEnv + " is unset)"},
	{name: "tls-cert", env: "NITROWALLET_TLS_CERT", usage: "PEM certificate (chain) file: serve HTTPS and WSS (with --tls-key)"},
	{name: "tls-key", env: "NITROWALLET_TLS_KEY", usage: "PEM private key file of --tls-cert"},
	{name: "data-dir", env: "NITROWALLET_DATA_DIR", def: "~/.nitrowallet", usage: "folder for the token file"},
	{name: "shutdown-timeout", env: "NITROWALLET_SHUTDOWN_TIMEOUT", def: "10s", usage: "how long SIGTERM waits for calls in flight before closing connections"},
	{name: "channel-cache", env: "NITROWALLET_CHANNEL_CACHE", def: "4096", usage: "channels kept in memory after use (about 3 kB each); raise it above the channels active at once"},
	{name: "held-mib", env: "NITROWALLET_HELD_MIB", def: "64", usage: "MiB of messages for peers held while no API session takes notifications (the oldest dropped beyond it)"},
}

// parseServe reads serve's flags, with each flag's environment variable as
// its default.
func parseServe(args []string, out io.Writer) (serveOptions, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, serveUsage)
		fs.PrintDefaults()
	}
	vals := map[string]*string{}
	bools := map[string]*bool{}
	for _, f := range serveFlags {
		def := f.def
		if v, ok := os.LookupEnv(f.env); ok && v != "" {
			def = v
		}
		usage := f.usage + " ($" + f.env + ")"
		if f.isBool {
			b, err := strconv.ParseBool(def)
			if err != nil {
				return serveOptions{}, fmt.Errorf("%w: $%s=%q is not a boolean", errServeConfig, f.env, def)
			}
			bools[f.name] = fs.Bool(f.name, b, usage)
			continue
		}
		vals[f.name] = new(string)
		fs.StringVar(vals[f.name], f.name, def, usage)
	}
	if err := fs.Parse(args); err != nil {
		return serveOptions{}, err
	}
	if fs.NArg() > 0 {
		return serveOptions{}, fmt.Errorf("%w: serve takes no arguments, got %q", errServeConfig, fs.Args())
	}
	o := serveOptions{listen: *vals["listen"], dev: *bools["dev"], store: *vals["store"], chain: *vals["chain"],
		devChain: *bools["dev-chain"], keystore: *vals["keystore"], tokenFile: *vals["token-file"],
		tlsCert: *vals["tls-cert"], tlsKey: *vals["tls-key"], dataDir: *vals["data-dir"]}
	return o, o.check(vals)
}

// check converts and validates the options that are not plain strings.
func (o *serveOptions) check(vals map[string]*string) error {
	var err error
	bad := func(name, why string) error { return fmt.Errorf("%w: --%s %s", errServeConfig, name, why) }
	if o.poll, err = time.ParseDuration(*vals["poll-interval"]); err != nil || o.poll <= 0 {
		return bad("poll-interval", "must be a positive duration such as 1s")
	}
	if o.shutdown, err = time.ParseDuration(*vals["shutdown-timeout"]); err != nil || o.shutdown <= 0 {
		return bad("shutdown-timeout", "must be a positive duration such as 10s")
	}
	if o.cache, err = strconv.Atoi(*vals["channel-cache"]); err != nil || o.cache < 1 {
		return bad("channel-cache", "must be a positive number of channels")
	}
	if o.heldMiB, err = strconv.Atoi(*vals["held-mib"]); err != nil || o.heldMiB < 1 || o.heldMiB > maxHeldMiB {
		return bad("held-mib", fmt.Sprintf("must be a number of MiB from 1 to %d", maxHeldMiB))
	}
	if o.confirms, err = strconv.ParseUint(*vals["confirmations"], 10, 64); err != nil {
		return bad("confirmations", "must be a whole number")
	}
	if o.contracts.StartBlock, err = strconv.ParseUint(*vals["start-block"], 10, 64); err != nil {
		return bad("start-block", "must be a block number")
	}
	if d := *vals["destination"]; d != "" {
		if o.destination, err = flagAddress("destination", d); err != nil {
			return err
		}
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return bad("tls-cert", "and --tls-key go together")
	}
	if o.dataDir == "~/.nitrowallet" || strings.HasPrefix(o.dataDir, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return bad("data-dir", "is under ~, but the home folder is unknown: "+err.Error())
		}
		o.dataDir = filepath.Join(home, strings.TrimPrefix(o.dataDir, "~/"))
	}
	if o.tokenFile == "" {
		o.tokenFile = filepath.Join(o.dataDir, "token")
	}
	if o.dev {
		if o.chain != "" || (o.store != "" && o.store != "memory") {
			return bad("dev", "runs its own chain and memory store: drop --chain and --store")
		}
		return nil
	}
	switch {
	case o.store == "":
		return bad("store", "is required: a postgres:// URL (or memory, explicitly; or --dev to try it out)")
	case o.store != "memory" && !isPostgresURL(o.store):
		return bad("store", "must be a postgres:// URL or memory")
	case o.chain == "":
		return bad("chain", "is required: the node's JSON-RPC URL (or --dev to try it out)")
	}
	if o.contracts.Adjudicator, err = flagAddress("adjudicator", *vals["adjudicator"]); err != nil {
		return err
	}
	if o.contracts.ETHAssetHolder, err = flagAddress("eth-asset-holder", *vals["eth-asset-holder"]); err != nil {
		return err
	}
	for _, a := range strings.Split(*vals["erc20-asset-holder"], ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		h, err := flagAddress("erc20-asset-holder", a)
		if err != nil {
			return err
		}
		o.contracts.ERC20AssetHolders = append(o.contracts.ERC20AssetHolders, h)
	}
	return nil
}

// maxHeldMiB bounds --held-mib: the held messages live in the server's
// memory.
const maxHeldMiB = 1 << 14

// flagAddress parses an address flag.
func flagAddress(name, s string) (common.Address, error) {
	if !common.IsHexAddress(s) {
		return common.Address{}, fmt.Errorf("%w: --%s %q is not an address", errServeConfig, name, s)
	}
	return common.HexToAddress(s), nil
}
