package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
)

// servePollInterval is the serve processes' chain poll interval in the
// process test (the default, 1 s, would make funding and closing slow).
const servePollInterval = "50ms"

// TestServeProcessesSeedPath runs the seed's whole path between two
// `nitrowallet serve` processes on PostgreSQL and one geth --dev: create,
// join, fund, two rounds of updates, close, until both report the channel
// closed and the chain paid each destination exactly. The test is the two
// operators' transport: it delivers each MessageQueued notification to the
// other server with PushMessage. Then SIGTERM stops both (exit status 0), a
// restart of A on its store and token file (no new token printed) shows the
// closed channel, and calls without the token are refused.
func TestServeProcessesSeedPath(t *testing.T) {
	geth := startGethDev(t)
	dep := deployContracts(t, geth.url, serveEnv(), "--token=true")
	if len(dep.ERC20AssetHolders) != 1 || dep.Token == nil {
		t.Fatalf("deploy from the node's account: %+v, want an ERC20 asset holder and its token", dep)
	}
	// From a key of the operator's, without the token: another deployment.
	deployer, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	geth.fund(t, crypto.PubkeyToAddress(deployer.PublicKey), big.NewInt(1e18))
	own := deployContracts(t, geth.url, serveEnv("NITROWALLET_KEY="+hex.EncodeToString(crypto.FromECDSA(deployer))), "--token=false")
	if own.Adjudicator == dep.Adjudicator || len(own.ERC20AssetHolders) != 0 || own.Token != nil {
		t.Fatalf("deploy with a key and --token=false: %+v", own)
	}

	type party struct {
		name  string
		key   *ecdsa.PrivateKey
		dest  common.Address // where the chain pays this party: a fresh, empty account
		store string
		data  string
		env   []string
		proc  *serveProc
		token string
		c     *client.Client
	}
	tokenB := hex.EncodeToString(crypto.Keccak256([]byte(t.Name())))
	var ps []*party
	for _, name := range []string{"A", "B"} {
		key, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		dest, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		url, schema := pgtest.Schema(t, "nwserve_"+strings.ToLower(name))
		p := &party{name: name, key: key, dest: crypto.PubkeyToAddress(dest.PublicKey), store: withSearchPath(t, url, schema), data: t.TempDir()}
		p.env = serveEnv("NITROWALLET_KEY=" + hex.EncodeToString(crypto.FromECDSA(key)))
		if name == "B" { // B's token from the environment, A's from its token file
			p.env, p.token = append(p.env, "NITROWALLET_TOKEN="+tokenB), tokenB
		}
		geth.fund(t, crypto.PubkeyToAddress(key.PublicKey), big.NewInt(1e18))
		ps = append(ps, p)
	}
	A, B := ps[0], ps[1]
	args := func(p *party) []string {
		return []string{"--listen", "127.0.0.1:0", "--store", p.store, "--chain", geth.url, "--dev-chain",
			"--adjudicator", dep.Adjudicator.Hex(), "--eth-asset-holder", dep.ETHAssetHolder.Hex(),
			"--erc20-asset-holder", dep.ERC20AssetHolders[0].Hex(), "--start-block", strconv.FormatUint(dep.StartBlock, 10),
			"--poll-interval", servePollInterval, "--data-dir", p.data}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, p := range ps {
		p.proc = startServe(t, p.name, p.env, args(p)...)
	}

	// A's token was made on its first start: printed once, kept 0600.
	A.token = printedToken(t, A.proc.Stdout())
	st, err := os.Stat(filepath.Join(A.data, "token"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("A's token file: %v, %v; want mode 0600", st, err)
	}
	if b, _ := os.ReadFile(filepath.Join(A.data, "token")); strings.TrimSpace(string(b)) != A.token {
		t.Fatal("A's token file does not hold the printed token")
	}
	if strings.Contains(B.proc.Stdout(), "token:") {
		t.Fatalf("B printed a token though it has $NITROWALLET_TOKEN:\n%s", B.proc.Stdout())
	}
	refusesWithoutToken(t, A.proc.addr)
	var refused *client.Error
	if c, err := client.Dial(ctx, "ws://"+A.proc.addr+"/api", B.token); !errors.As(err, &refused) || refused.Code != -32001 {
		if c != nil {
			c.Close()
		}
		t.Fatalf("WebSocket with another server's token: %v, want code -32001", err)
	}

	for _, p := range ps {
		if p.c, err = client.Dial(ctx, "ws://"+p.proc.addr+"/api", p.token); err != nil {
			t.Fatalf("dial %s: %v", p.name, err)
		}
	}
	rctx, stopRelay := context.WithCancel(ctx)
	relayed := []<-chan struct{}{relay(rctx, t, A.c, B.c), relay(rctx, t, B.c, A.c)}

	part := func(p *party) app.Participant {
		addr := crypto.PubkeyToAddress(p.key.PublicKey)
		return app.Participant{ParticipantID: addr.Hex(), SigningAddress: addr, Destination: nitro.AddressToDestination(p.dest)}
	}
	alloc := func(a, b int64) []app.Allocation {
		return []app.Allocation{{AssetHolderAddress: dep.ETHAssetHolder, AllocationItems: []app.AllocationItem{
			{Destination: part(A).Destination, Amount: big.NewInt(a)}, {Destination: part(B).Destination, Amount: big.NewInt(b)}}}}
	}
	start := time.Now()
	created, err := A.c.CreateChannel(ctx, app.CreateChannelParams{Participants: []app.Participant{part(A), part(B)}, Allocations: alloc(5, 3)})
	if err != nil {
		t.Fatalf("CreateChannel: %v", err)
	}
	id := created.ChannelID
	waitStatus(ctx, t, B.c, "B", id, core.StatusProposed)
	if _, err := B.c.JoinChannel(ctx, id); err != nil {
		t.Fatalf("JoinChannel: %v", err)
	}
	waitStatus(ctx, t, A.c, "A", id, core.StatusRunning)
	waitStatus(ctx, t, B.c, "B", id, core.StatusRunning)

	// Two rounds, A then B, each move waiting until the other has it.
	a := int64(5)
	for round := range 2 {
		for k, p := range ps {
			a += int64(2*k-1) * int64(round+1) // A gives B round+1 wei, B gives it back
			turn := uint64(4 + 2*round + k)
			if _, err := p.c.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: alloc(a, 8-a)}); err != nil {
				t.Fatalf("%s's UpdateChannel to turn %d: %v", p.name, turn, err)
			}
			waitTurn(ctx, t, ps[1-k].c, ps[1-k].name, id, turn)
		}
	}
	a -= 3 // the final split: A gives three more wei
	if _, err := A.c.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: alloc(a, 8-a)}); err != nil {
		t.Fatalf("A's last UpdateChannel: %v", err)
	}
	waitTurn(ctx, t, B.c, "B", id, 8)
	if _, err := B.c.CloseChannel(ctx, id); err != nil {
		t.Fatalf("CloseChannel: %v", err)
	}
	waitStatus(ctx, t, A.c, "A", id, core.StatusClosed)
	waitStatus(ctx, t, B.c, "B", id, core.StatusClosed)
	// The chain pays out in the conclude transaction: wait until the asset
	// holder is empty, then each destination holds exactly its share.
	for {
		bal, err := geth.client.BalanceAt(ctx, dep.ETHAssetHolder, nil)
		if err == nil && bal.Sign() == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the ETH asset holder still holds %v wei (%v) after both closed", bal, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	for _, want := range []struct {
		who  common.Address
		name string
		wei  int64
	}{{A.dest, "A's destination", a}, {B.dest, "B's destination", 8 - a}} {
		bal, err := geth.client.BalanceAt(ctx, want.who, nil)
		if err != nil || bal.Cmp(big.NewInt(want.wei)) != 0 {
			t.Errorf("%s holds %v wei (%v), want %d", want.name, bal, err, want.wei)
		}
	}
	t.Logf("seed path, CreateChannel to the chain's payout: %v", time.Since(start).Round(time.Millisecond))
	stopRelay()
	for _, done := range relayed {
		<-done
	}

	// SIGTERM: both exit 0, within the shutdown timeout (10 s) and a margin.
	for _, p := range ps {
		p.c.Close()
		d := p.proc.stop(30 * time.Second)
		t.Logf("%s exited %v after SIGTERM", p.name, d.Round(time.Millisecond))
	}
	// A again on the same store and token file: no new token, the channel closed.
	firstA := A.proc
	A.proc = startServe(t, "A again", A.env, args(A)...)
	if strings.Contains(A.proc.Stdout(), "token:") {
		t.Fatalf("A printed a token on its second start:\n%s", A.proc.Stdout())
	}
	if A.c, err = client.Dial(ctx, "ws://"+A.proc.addr+"/api", A.token); err != nil {
		t.Fatalf("dial A again with its first token: %v", err)
	}
	got, err := A.c.GetState(ctx, id)
	if err != nil || got.Status != core.StatusClosed {
		t.Fatalf("A after its restart: %s, %v; want closed", got.Status, err)
	}
	// /readyz follows the chain: ready, then 503 once the node is gone.
	if code, body := getReadyz(t, A.proc.addr); code != http.StatusOK {
		t.Fatalf("/readyz with the node up: %d %s", code, body)
	}
	geth.stop()
	if code, body := getReadyz(t, A.proc.addr); code != http.StatusServiceUnavailable || !strings.Contains(body, "chain unreachable") {
		t.Fatalf("/readyz with the node gone: %d %q, want 503 chain unreachable", code, body)
	}
	A.c.Close()
	A.proc.stop(30 * time.Second)

	// The tokens and the keys never reach the logs.
	for _, proc := range []*serveProc{firstA, B.proc, A.proc} {
		for _, p := range ps {
			for _, secret := range []string{p.token, hex.EncodeToString(crypto.FromECDSA(p.key))} {
				if strings.Contains(proc.Stderr(), secret) {
					t.Errorf("%s's log shows %s's token or key", proc.name, p.name)
				}
			}
		}
	}
}

// getReadyz returns /readyz's status and body.
func getReadyz(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// deployContracts runs `nitrowallet deploy` on the node and parses its JSON.
func deployContracts(t *testing.T, url string, env []string, args ...string) deployment {
	t.Helper()
	cmd := nitrowalletCommand(t, env, append([]string{"deploy", "--chain", url, "--poll-interval", "50ms"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nitrowallet deploy: %v\n%s%s", err, out, stderr.String())
	}
	var d deployment
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("nitrowallet deploy printed %q: %v", out, err)
	}
	if d.ChainID != 1337 || d.Adjudicator == (common.Address{}) || d.ETHAssetHolder == (common.Address{}) || d.StartBlock == 0 {
		t.Fatalf("nitrowallet deploy printed %s", out)
	}
	return d
}

// withSearchPath sets the URL's search_path parameter (serve's schema).
func withSearchPath(t *testing.T, url, schema string) string {
	t.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// printedToken is the token serve printed on its first start.
func printedToken(t *testing.T, stdout string) string {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "token: "); ok {
			tok, _, _ := strings.Cut(rest, " ")
			return tok
		}
	}
	t.Fatalf("serve printed no token on its first start:\n%s", stdout)
	return ""
}

// refusesWithoutToken checks that /api and /metrics refuse calls without
// the token, or with a wrong one, with 401 and JSON-RPC error -32001.
func refusesWithoutToken(t *testing.T, addr string) {
	t.Helper()
	for _, auth := range []string{"", "Bearer wrong-token-wrong-token"} {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"GetChannels","params":{}}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		var rpcErr struct {
			Error struct{ Code int } `json:"error"`
		}
		if resp.StatusCode != http.StatusUnauthorized || json.Unmarshal(body, &rpcErr) != nil || rpcErr.Error.Code != -32001 {
			t.Errorf("POST /api with %q: HTTP %d %s; want 401 and code -32001", auth, resp.StatusCode, body)
		}
		req, _ = http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if resp, err = http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /metrics with %q: HTTP %d, want 401", auth, resp.StatusCode)
		}
	}
}

// relay delivers every MessageQueued notification from's server pushes to
// to's server with PushMessage, until ctx ends or from closes; the channel
// it returns is closed then.
func relay(ctx context.Context, t *testing.T, from, to *client.Client) <-chan struct{} {
	notes := from.Notifications()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case n, ok := <-notes:
				if !ok {
					return
				}
				if n.Method != "MessageQueued" {
					continue
				}
				if err := to.PushMessage(ctx, n.Message); err != nil && ctx.Err() == nil {
					t.Errorf("PushMessage: %v", err)
				}
			}
		}
	}()
	return done
}

// waitStatus polls GetState until the channel has status want.
func waitStatus(ctx context.Context, t *testing.T, c *client.Client, who string, id nitro.Bytes32, want core.Status) {
	t.Helper()
	waitChannel(ctx, t, c, who, id, string(want), func(r app.ChannelResult) bool { return r.Status == want })
}

// waitTurn polls GetState until the channel is at turn want.
func waitTurn(ctx context.Context, t *testing.T, c *client.Client, who string, id nitro.Bytes32, want uint64) {
	t.Helper()
	waitChannel(ctx, t, c, who, id, "turn "+strconv.FormatUint(want, 10), func(r app.ChannelResult) bool { return r.TurnNum == want })
}

func waitChannel(ctx context.Context, t *testing.T, c *client.Client, who string, id nitro.Bytes32, what string, ok func(app.ChannelResult) bool) {
	t.Helper()
	var last app.ChannelResult
	var err error
	for {
		if last, err = c.GetState(ctx, id); err == nil && ok(last) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s's channel never reached %s: last %s at turn %d (%v)", who, what, last.Status, last.TurnNum, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
