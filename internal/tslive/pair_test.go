package tslive_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/internal/tslive"
	"github.com/nitrowallet/nitrowallet/ports"
)

// The participant ids of the two wallets of a pair: messages are routed by them.
const (
	goID = "go"
	tsID = "ts"
)

// pair is a nitrowallet app.Wallet and a TS wallet on one (memory) chain id.
type pair struct {
	t     testing.TB
	goW   *app.Wallet
	store ports.Store
	ts    *tslive.Wallet
	chain *memory.Chain
	goP   app.Participant
	tsP   tslive.Participant
	notes <-chan app.Notification
	// bare: TS messages reach our wallet as the bare Payload (outbox
	// params.data), else in the envelope with the TS outbox's recipient and
	// sender. A CloseChannel objective counts only with a sender (core,
	// closeRequested), so a bare one is ignored: the tests where the TS
	// wallet closes on our turn use the envelope.
	bare bool
	// sent counts the messages relayed each way.
	sentToTS, sentToGo int
}

// storeKinds are the stores our wallet runs on in the live tests.
var storeKinds = []struct {
	name string
	open func(t testing.TB) ports.Store
}{
	{"memory", func(testing.TB) ports.Store { return memory.NewStore() }},
	{"postgres", openPostgres},
}

func openPostgres(t testing.TB) ports.Store {
	t.Helper()
	url, schema := pgtest.Schema(t, "tslive")
	s, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatalf("open PostgreSQL store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// pairSeq numbers the pairs of a test process.
var pairSeq atomic.Int64

// newPair starts both wallets; cfg is our wallet's config without Signer,
// Store and Chain.
func newPair(t testing.TB, store ports.Store, cfg app.Config) *pair {
	t.Helper()
	ctx := context.Background()
	p := &pair{t: t, store: store, chain: memory.NewChain(big.NewInt(1337), memory.WithProtocol(cfg.Protocol))}
	// A key of its own: the TS wallet outlives the pairs (one per package
	// run), and a key it saw before would give the same channel ids again
	// (our nonces restart with each store). A pair's address was reused
	// after the garbage collector freed an earlier pair.
	signer := memory.SignerFromSeed(fmt.Sprintf("tslive-%d", pairSeq.Add(1)))
	// Directly funded channels: our wallet deposits on the memory chain
	// itself (and is told the holdings too); the TS wallet is told them.
	p.chain.Fund(signer.Address(), big.NewInt(1_000_000))
	cfg.Signer, cfg.Store, cfg.Chain = signer, store, p.chain.Account(signer.Address())
	if cfg.TickInterval == 0 {
		cfg.TickInterval = -1
	}
	w, err := app.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	p.goW = w
	var unsub func()
	p.notes, unsub = w.Subscribe()
	t.Cleanup(unsub)
	p.ts = sharedTS(t)
	p.goP = app.Participant{ParticipantID: goID, SigningAddress: signer.Address(), Destination: nitro.AddressToDestination(signer.Address())}
	p.tsP = tsParticipant(tsID, p.ts.Address)
	return p
}

var shared struct {
	once sync.Once
	w    *tslive.Wallet
	err  error
}

// sharedTS is the TS wallet every pair of the package talks to (started
// once: a node start costs seconds), stopped by TestMain. Each pair's
// wallet of ours has its own key, so their channels never mix.
func sharedTS(t testing.TB) *tslive.Wallet {
	t.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		key, _ := newKey(t)
		cfg := pgConfig(t)
		cfg.DBName, cfg.PrivateKey = dbName(t, "peer"), key
		shared.w, shared.err = tslive.Start(ctx, cfg)
	})
	if shared.err != nil {
		t.Fatalf("start the TS wallet: %v", shared.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("TS driver stderr so far:\n%s", shared.w.Stderr())
		}
	})
	return shared.w
}

// stopShared stops the shared TS wallet, dropping its database.
func stopShared() error {
	if shared.w == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return shared.w.Stop(ctx)
}

// goAlloc is the allocation in our wallet's types: go's item then ts's, or
// the other way round when tsFirst.
func (p *pair) goAlloc(goAmt, tsAmt int64, tsFirst bool) []app.Allocation {
	items := []app.AllocationItem{
		{Destination: p.goP.Destination, Amount: big.NewInt(goAmt)},
		{Destination: nitro.AddressToDestination(common(p.tsP.SigningAddress)), Amount: big.NewInt(tsAmt)},
	}
	if tsFirst {
		items[0], items[1] = items[1], items[0]
	}
	return []app.Allocation{{AssetHolderAddress: p.chain.ETHAssetHolder(), AllocationItems: items}}
}

// tsAlloc is the same allocation in the TS wallet's types.
func (p *pair) tsAlloc(goAmt, tsAmt int64, tsFirst bool) []tslive.Allocation {
	goD := tslive.Participant{Destination: "0x000000000000000000000000" + p.goP.SigningAddress.Hex()[2:]}
	items := []tslive.AllocationItem{
		{Destination: goD.Destination, Amount: fmt.Sprintf("0x%064x", goAmt)},
		{Destination: p.tsP.Destination, Amount: fmt.Sprintf("0x%064x", tsAmt)},
	}
	if tsFirst {
		items[0], items[1] = items[1], items[0]
	}
	return []tslive.Allocation{{AssetHolderAddress: p.chain.ETHAssetHolder().Hex(), AllocationItems: items}}
}

func common(hexAddr string) nitro.Address {
	var a nitro.Address
	if err := a.UnmarshalText([]byte(hexAddr)); err != nil {
		panic(err)
	}
	return a
}

// goParticipantTS is our participant as the TS wallet is told it (EIP-55).
func (p *pair) goParticipantTS() tslive.Participant {
	return tsParticipant(goID, p.goP.SigningAddress.Hex())
}

// payloadOf is the wire Payload inside our wallet's message envelope.
func payloadOf(t testing.TB, m app.Message) json.RawMessage {
	t.Helper()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(m.Data, &env); err != nil || len(env.Data) == 0 {
		t.Fatalf("our message is no envelope with data: %v\n%s", err, m.Data)
	}
	return env.Data
}

// envelope wraps a TS outbox item into our wallet's message envelope
// (PushMessage takes both forms).
func envelope(t testing.TB, m tslive.Outgoing) []byte {
	t.Helper()
	b, err := json.Marshal(struct {
		Recipient string          `json:"recipient"`
		Sender    string          `json:"sender"`
		Data      json.RawMessage `json:"data"`
	}{m.Recipient, m.Sender, m.Data})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// relay carries messages between the two wallets, and the replies they
// cause, until none is left: goOut from our wallet, tsOut from the TS
// wallet, then any message our wallet queued on its own.
func (p *pair) relay(ctx context.Context, goOut []app.Message, tsOut []tslive.Outgoing) {
	p.t.Helper()
	for round := 0; len(goOut)+len(tsOut) > 0 || round == 0; round++ {
		if round > 100 {
			p.t.Fatal("relay: messages still flowing after 100 rounds")
		}
		var nextGo []app.Message
		var nextTS []tslive.Outgoing
		for _, m := range goOut {
			if m.Recipient != tsID {
				p.t.Fatalf("our wallet sent a message to %q, want %q", m.Recipient, tsID)
			}
			p.sentToTS++
			out, err := p.ts.PushMessage(ctx, payloadOf(p.t, m))
			if err != nil {
				p.t.Fatalf("TS wallet refused our message: %v\n%s", err, m.Data)
			}
			nextTS = append(nextTS, out.Outbox...)
		}
		for _, m := range tsOut {
			if m.Recipient != goID {
				p.t.Fatalf("TS wallet sent a message to %q, want %q", m.Recipient, goID)
			}
			p.sentToGo++
			data := envelope(p.t, m)
			if p.bare {
				data = m.Data // the bare Payload, as TS peers take it
			}
			res, err := p.goW.PushMessage(ctx, data)
			if err != nil {
				p.t.Fatalf("our wallet refused the TS message: %v\n%s", err, m.Data)
			}
			nextGo = append(nextGo, res.Outbox...)
		}
		nextGo = append(nextGo, p.queued()...)
		goOut, tsOut = nextGo, nextTS
	}
}

// queued takes the MessageQueued notifications our wallet has published.
func (p *pair) queued() []app.Message {
	var ms []app.Message
	for {
		select {
		case n := <-p.notes:
			if n.Type == app.MessageQueued {
				ms = append(ms, n.Message)
			}
		default:
			return ms
		}
	}
}

// durable is what our store holds, as text (two equal dumps: nothing changed).
func durable(t testing.TB, s ports.Store) string {
	t.Helper()
	if pg, ok := s.(*postgres.Store); ok {
		return pgtest.Dump(t, pg.DB().DB, pg.Schema())
	}
	ctx := context.Background()
	cs, err1 := s.List(ctx)
	pend, err2 := s.Pending(ctx)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("dump store: %v", err)
	}
	return fmt.Sprintf("%+v\n%+v", cs, pend)
}

// tsHasNoChannel fails t unless the TS wallet holds no channel id.
func (p *pair) tsHasNoChannel(ctx context.Context, id nitro.Bytes32) {
	p.t.Helper()
	var o tslive.Output
	if err := p.ts.Call(ctx, "getChannels", nil, &o); err != nil {
		p.t.Fatal(err)
	}
	if c, ok := o.Channel(id.Hex()); ok {
		p.t.Fatalf("the TS wallet stored channel %s: %+v", id, c)
	}
	if _, err := p.ts.SignedStates(ctx, id.Hex()); !errors.Is(err, tslive.ErrCall) {
		p.t.Fatalf("the TS wallet's database has channel %s (%v)", id, err)
	}
}

func common32(hexWord string) nitro.Bytes32 {
	var b nitro.Bytes32
	if err := b.UnmarshalText([]byte(hexWord)); err != nil {
		panic(err)
	}
	return b
}
