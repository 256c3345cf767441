package tslive_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/internal/tslive"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := stopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "stop the shared TS wallet:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// need skips t when node is missing outside CI (CI=true fails instead) and
// fails it when the npm packages are not installed.
func need(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is missing (install Node.js 20+ and npm)")
		}
		t.Skip("node is not installed: the live test with the TS wallet needs Node.js 20+ (CI=true fails instead)")
	}
	if err := tslive.Installed(); err != nil {
		t.Fatal(err)
	}
}

// newKey returns a fresh private key (0x hex) and its EIP-55 address.
func newKey(t testing.TB) (string, string) {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return "0x" + hex.EncodeToString(crypto.FromECDSA(k)), crypto.PubkeyToAddress(k.PublicKey).Hex()
}

// dbName is a fresh database name for one TS wallet of t.
func dbName(t testing.TB, who string) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("tslive_%s_%x", who, b)
}

// startTS starts a TS wallet for t on the test's PostgreSQL and stops it
// (dropping its database) when t ends.
func startTS(t testing.TB, who string) *tslive.Wallet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key, addr := newKey(t)
	cfg := pgConfig(t)
	cfg.DBName, cfg.PrivateKey = dbName(t, who), key
	w, err := tslive.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := w.Stop(ctx); err != nil {
			t.Errorf("stop %s: %v", who, err)
		}
		if t.Failed() {
			t.Logf("%s's driver stderr:\n%s", who, w.Stderr())
		}
	})
	if w.Address != addr {
		t.Fatalf("%s signs as %s, want %s (the key given)", who, w.Address, addr)
	}
	return w
}

func TestCallErrors(t *testing.T) {
	need(t)
	ctx := context.Background()
	w := sharedTS(t)
	err := w.Call(ctx, "noSuchCall", nil, nil)
	var ce *tslive.CallError
	if !errors.Is(err, tslive.ErrCall) || !errors.As(err, &ce) || !strings.Contains(ce.Message, "unknown call") {
		t.Fatalf("unknown call: %v, want a CallError saying unknown call", err)
	}
	_, err = w.GetState(ctx, "0x"+strings.Repeat("ab", 32))
	if !errors.Is(err, tslive.ErrCall) {
		t.Fatalf("getState of an unknown channel: %v, want ErrCall", err)
	}
	// An envelope instead of the Payload: the wire schema refuses it.
	_, err = w.PushMessage(ctx, []byte(`{"recipient":"a","sender":"b","data":{"walletVersion":"x"}}`))
	if !errors.As(err, &ce) || ce.Name != "WireFormatValidationError" || !strings.Contains(ce.Cause+ce.Message, "Invalid message") {
		t.Fatalf("pushMessage of an envelope: %v, want a WireFormatValidationError", err)
	}
}

// TestTwoTSWallets runs the harness on its own: two TS wallets, a Fake
// funded channel opened, updated in turn and closed, messages relayed by
// the harness.
func TestTwoTSWallets(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, b := sharedTS(t), startTS(t, "b")
	r := tsRelay{t: t, ws: map[string]*tslive.Wallet{"a": a, "b": b}}
	pa, pb := tsParticipant("a", a.Address), tsParticipant("b", b.Address)
	out, err := a.CreateChannel(ctx, tsParams(pa, pb, 5, 3))
	if err != nil {
		t.Fatal(err)
	}
	id := out.ChannelResults[0].ChannelID
	wantTS(t, ctx, a, id, "opening", 0)
	r.deliver(ctx, out.Outbox)
	wantTS(t, ctx, b, id, "proposed", 0)
	out, err = b.JoinChannel(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r.deliver(ctx, out.Outbox)
	wantTS(t, ctx, a, id, "running", 3)
	wantTS(t, ctx, b, id, "running", 3)
	for i, w := range []*tslive.Wallet{a, b, a} {
		out, err = w.UpdateChannel(ctx, tslive.UpdateChannelParams{ChannelID: id, Allocations: tsAlloc(pa, pb, 5-int64(i)-1, 3+int64(i)+1), AppData: "0x00"})
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		r.deliver(ctx, out.Outbox)
		wantTS(t, ctx, a, id, "running", uint64(4+i))
		wantTS(t, ctx, b, id, "running", uint64(4+i))
	}
	out, err = a.CloseChannel(ctx, id) // b's turn: a sends only the objective
	if err != nil {
		t.Fatal(err)
	}
	r.deliver(ctx, out.Outbox)
	wantTS(t, ctx, a, id, "closed", 7)
	wantTS(t, ctx, b, id, "closed", 7)
	sa, err := a.SignedStates(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(sa) == 0 || !sa[len(sa)-1].IsFinal || len(sa[len(sa)-1].Signatures) != 2 {
		t.Fatalf("a stores %+v, want the final state with both signatures last", sa)
	}
}

// tsRelay carries TS outbox messages to the TS wallet named by recipient,
// and their replies on, until none is left.
type tsRelay struct {
	t  testing.TB
	ws map[string]*tslive.Wallet
}

func (r tsRelay) deliver(ctx context.Context, q []tslive.Outgoing) {
	r.t.Helper()
	for len(q) > 0 {
		m := q[0]
		q = q[1:]
		w := r.ws[m.Recipient]
		if w == nil {
			r.t.Fatalf("message for unknown recipient %q", m.Recipient)
		}
		out, err := w.PushMessage(ctx, m.Data)
		if err != nil {
			r.t.Fatalf("push to %s: %v\n%s", m.Recipient, err, m.Data)
		}
		q = append(q, out.Outbox...)
	}
}

func tsParticipant(id, addr string) tslive.Participant {
	return tslive.Participant{ParticipantID: id, SigningAddress: addr, Destination: "0x000000000000000000000000" + addr[2:]}
}

// assetHolder is the asset holder address the channels allocate at (no chain
// is involved: Fake funding or funding reported by the harness).
const assetHolder = "0x4ad3F07BEFDC54511449A1f553E36A653c82eA57"

func tsAlloc(a, b tslive.Participant, x, y int64) []tslive.Allocation {
	return []tslive.Allocation{{AssetHolderAddress: assetHolder, AllocationItems: []tslive.AllocationItem{
		{Destination: a.Destination, Amount: fmt.Sprintf("0x%064x", x)},
		{Destination: b.Destination, Amount: fmt.Sprintf("0x%064x", y)},
	}}}
}

func tsParams(a, b tslive.Participant, x, y int64) tslive.CreateChannelParams {
	return tslive.CreateChannelParams{
		Participants: []tslive.Participant{a, b}, Allocations: tsAlloc(a, b, x, y),
		AppDefinition: "0x0000000000000000000000000000000000000000", AppData: "0x00", FundingStrategy: "Fake",
	}
}

func wantTS(t testing.TB, ctx context.Context, w *tslive.Wallet, id, status string, turn uint64) {
	t.Helper()
	c, err := w.GetState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != status || c.TurnNum != turn {
		t.Fatalf("TS wallet %s: channel %s is %s at turn %d, want %s at %d", w.Address, id, c.Status, c.TurnNum, status, turn)
	}
}
