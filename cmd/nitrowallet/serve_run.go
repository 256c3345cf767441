package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/adapters/keys"
	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/server"
	"github.com/nitrowallet/nitrowallet/server/metrics"
)

// devFunds is what --dev gives the wallet's key on the simulated chain:
// 1000 ether.
var devFunds = new(big.Int).Mul(big.NewInt(1000), big.NewInt(1e18))

// readyTimeout bounds each of /readyz's two checks.
const readyTimeout = 3 * time.Second

// serveCommand runs `nitrowallet serve` until ctx ends (SIGTERM or SIGINT).
func serveCommand(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseServe(args, out)
	if err != nil {
		return err
	}
	return runServe(ctx, o, out, slog.New(slog.NewJSONHandler(os.Stderr, nil)))
}

// serveParts are what the wallet runs on, and how to close them.
type serveParts struct {
	store  ports.Store
	chain  ports.Chain
	closer []func()
	// metrics, once set, counts the fee bumps of the mined transactions
	// (the chain is built before the wallet and its metrics).
	metrics atomic.Pointer[metrics.Metrics]
}

// tx is the chain's Config.OnTx: it logs each of the wallet's
// transactions once, when it is mined or given up.
func (p *serveParts) tx(log *slog.Logger) func(ethereum.TxInfo) {
	return func(i ethereum.TxInfo) {
		attrs := []any{"kind", i.Kind, "hash", i.Hash.Hex(), "nonce", i.Nonce, "block", i.Block, "gasUsed", i.GasUsed, "resubmissions", i.Resubmissions}
		if m := p.metrics.Load(); m != nil {
			m.TxReplaced(i.Resubmissions)
		}
		if i.Err != nil {
			log.Warn("transaction failed", append(attrs, "err", i.Err)...)
		} else {
			log.Info("transaction mined", attrs...)
		}
	}
}

// close closes the parts, the last opened first.
func (p *serveParts) close() {
	for i := len(p.closer) - 1; i >= 0; i-- {
		p.closer[i]()
	}
}

// ready is /readyz's check: one cheap read from the store and one from the
// chain. Its errors are short and name no host or URL (the page is not
// authenticated); the cause goes to the log.
func (p *serveParts) ready(log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		if _, err := p.store.ChainCursor(ctx); err != nil {
			log.Warn("readyz: store unreachable", "err", err)
			return errors.New("store unreachable")
		}
		if _, err := p.chain.BlockTime(ctx); err != nil {
			log.Warn("readyz: chain unreachable", "err", err)
			return errors.New("chain unreachable")
		}
		return nil
	}
}

// runServe opens the store, the chain and the wallet, serves the API until
// ctx ends, then shuts down in order: the API server (calls in flight over
// POST and WebSocket finish, up to o.shutdown), the HTTP server, the
// wallet, the chain, the store.
func runServe(ctx context.Context, o serveOptions, out io.Writer, log *slog.Logger) error {
	key, err := serveKey(o)
	if err != nil {
		return fmt.Errorf("serve: signing key: %w", err)
	}
	token, created, err := loadToken(os.Getenv(tokenEnv), o.tokenFile)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// Printed at once: a start that fails later must not lose a token
	// that the file keeps for the next one.
	switch {
	case created:
		fmt.Fprintf(out, "token: %s (new, saved in %s; it is printed only this once)\n", token, o.tokenFile)
	case o.dev:
		fmt.Fprintf(out, "token: %s\n", token)
	}
	var tlsConfig *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("serve: %w: TLS certificate: %w", errServeConfig, err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	p := &serveParts{}
	defer p.close()
	if o.dev {
		err = openDevParts(ctx, p, key, out, log)
	} else {
		err = openServeParts(ctx, p, o, key, log)
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	w, err := app.New(ctx, app.Config{Signer: keys.NewSigner(key), Store: p.store, Chain: p.chain, Logger: log, ChannelCache: o.cache})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer w.Close()
	m := metrics.New(w)
	p.metrics.Store(m)
	srv, err := server.New(w, server.Config{Token: token, Ready: p.ready(log), Metrics: m, Logger: log, Destination: o.destination, HeldBytes: o.heldMiB << 20})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
		go func() { served <- hs.ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- hs.Serve(ln) }()
	}
	fmt.Fprintf(out, "listening on %s://%s\n", scheme, ln.Addr())
	log.Info("serving", "addr", ln.Addr().String(), "tls", tlsConfig != nil, "signingAddress", w.Address().Hex(), "dev", o.dev)
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tlsConfig == nil && !tcp.IP.IsLoopback() {
		log.Warn("serving plain HTTP beyond loopback: the token crosses the network in clear text; use --tls-cert and --tls-key, or a TLS proxy")
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing calls in flight", "timeout", o.shutdown.String())
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdown)
	defer cancel()
	// The API server first: it refuses new calls, lets those in flight over
	// POST and WebSocket finish and writes out what they queued; then the
	// HTTP server, which does not track WebSocket connections.
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown: API calls still in flight; closing their sessions", "err", err)
	}
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("shutdown: calls still in flight; closing their connections", "err", err)
		_ = hs.Close()
	}
	// The deferred closes run now: API server, wallet, chain, store.
	defer log.Info("shut down")
	return nil
}

// serveKey loads the signing key: from --keystore with its passphrase in
// the environment, or a hex key in the environment; --dev makes a fresh
// one when neither is given.
func serveKey(o serveOptions) (*ecdsa.PrivateKey, error) {
	if o.dev && o.keystore == "" && os.Getenv(keyEnv) == "" {
		return crypto.GenerateKey()
	}
	return loadKey(o.keystore, passphraseEnv, keyEnv)
}

// openServeParts opens the configured store and chain.
func openServeParts(ctx context.Context, p *serveParts, o serveOptions, key *ecdsa.PrivateKey, log *slog.Logger) error {
	if o.store == "memory" {
		p.store = memory.NewStore()
	} else {
		url, schema, err := splitSearchPath(o.store, postgres.DefaultSchema)
		if err != nil {
			return err
		}
		// LockWait: a restart may find the lock still held by the session
		// of a process that was killed and that PostgreSQL has not
		// noticed yet.
		s, err := postgres.Open(ctx, url, postgres.Options{Schema: schema, LockWait: 30 * time.Second, Logger: log})
		if err != nil {
			return err
		}
		p.store = s
		p.closer = append(p.closer, func() { _ = s.Close() })
	}
	client, err := ethclient.DialContext(ctx, o.chain)
	if err != nil {
		return fmt.Errorf("chain: %w", err)
	}
	p.closer = append(p.closer, client.Close)
	c, err := ethereum.New(ctx, ethereum.Config{Client: client, Signer: ethereum.KeySigner(key), Contracts: o.contracts,
		Confirmations: o.confirms, Dev: o.devChain, PollInterval: o.poll, OnTx: p.tx(log)})
	if err != nil {
		return fmt.Errorf("chain: %w", err)
	}
	p.chain = c
	p.closer = append(p.closer, c.Close)
	return nil
}

// openDevParts starts the simulated chain with the Nitro contracts, funds
// key on it, and gives the wallet a memory store.
func openDevParts(ctx context.Context, p *serveParts, key *ecdsa.PrivateKey, out io.Writer, log *slog.Logger) error {
	d, err := ethereum.NewDevChain(ctx, ethereum.DevOptions{MainnetRules: true, PollInterval: 50 * time.Millisecond})
	if err != nil {
		return fmt.Errorf("--dev: %w", err)
	}
	p.closer = append(p.closer, d.Close)
	addr := crypto.PubkeyToAddress(key.PublicKey)
	if err := d.Fund(ctx, addr, devFunds); err != nil {
		return fmt.Errorf("--dev: %w", err)
	}
	c, err := d.NewChain(ctx, key, ethereum.Config{OnTx: p.tx(log)})
	if err != nil {
		return fmt.Errorf("--dev: %w", err)
	}
	p.chain, p.store = c, memory.NewStore()
	dep := d.Deployment
	fmt.Fprintf(out, "dev: simulated chain (chain id 1337): NitroAdjudicator %s, ETHAssetHolder %s, ERC20AssetHolder %s (test token %s)\n",
		dep.Adjudicator.Hex(), dep.ETHAssetHolder.Hex(), dep.ERC20AssetHolder().Hex(), dep.Token.Hex())
	fmt.Fprintf(out, "dev: wallet %s, funded with 1000 ETH; memory store (lost on exit)\n", addr.Hex())
	return nil
}
