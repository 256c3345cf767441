package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// demoOptions selects what the demo runs on and what it prints.
type demoOptions struct {
	updates int
	chain   string
	store   string
	verbose bool
	mermaid string
}

// demoParty is one server application and its wallet.
type demoParty struct {
	name   string
	w      *app.Wallet
	notes  <-chan app.Notification
	dest   nitro.Address
	chain  *stagedChain
	cursor *cursorStore
}

// demoRun is the state of one run of the demo.
type demoRun struct {
	story   *story
	stage   *stage
	parties []*demoParty
	byName  map[string]*demoParty
	id      nitro.Bytes32
	app     nitro.Address // the channel's appDefinition (setUpApp)
}

// demo runs the founding document's happy path between A and B and tells
// it in the document's order: each call, its result, then the effects it
// caused; every message on one line (its JSON too with verbose); and the
// run as a Mermaid sequence diagram in opt.mermaid.
func demo(ctx context.Context, out io.Writer, opt demoOptions) error {
	st := newStory(out, opt.verbose)
	chain, err := newChainBackend(ctx, opt.chain, out, opt.verbose)
	if err != nil {
		return err
	}
	defer chain.Close()
	d := &demoRun{story: st, stage: newStage(st, chain), byName: map[string]*demoParty{}}
	var ps []app.Participant
	for _, name := range []string{"A", "B"} {
		s := memory.SignerFromSeed("nitrowallet-demo-" + name)
		acct, err := chain.Account(ctx, s)
		if err != nil {
			return err
		}
		store, closeStore, err := newStore(ctx, opt.store, name)
		if err != nil {
			return err
		}
		defer closeStore()
		p := &demoParty{name: name, chain: d.stage.chain(name, acct), cursor: &cursorStore{Store: store}}
		// Parallelism 1: a wallet carries out an event's effects before it
		// saves the cursor past it, which the story waits for (as the sim).
		// The story says what the wallets do: their log shows warnings only.
		if p.w, err = app.New(ctx, app.Config{Signer: s, Store: p.cursor, Chain: p.chain, Parallelism: 1, Logger: quietLog}); err != nil {
			return err
		}
		defer p.w.Close()
		notes, stop := p.w.Subscribe()
		defer stop()
		p.notes = notes
		p.dest = nitro.Address(crypto.Keccak256Hash([]byte("nitrowallet-demo-destination-" + name)).Bytes()[12:])
		d.parties = append(d.parties, p)
		d.byName[name] = p
		ps = append(ps, app.Participant{ParticipantID: name, SigningAddress: s.Address(), Destination: nitro.AddressToDestination(p.dest)})
		fmt.Fprintf(out, "wallet %s: signing address %s, payout destination %s\n", name, s.Address(), p.dest)
	}
	if d.app, err = d.setUpApp(ctx, chain); err != nil {
		return err
	}
	if err := d.tell(ctx, ps, chain.ETHAssetHolder(), opt.updates); err != nil {
		return err
	}
	A, B := d.parties[0], d.parties[1]
	balA, errA := chain.Balance(ctx, A.dest)
	balB, errB := chain.Balance(ctx, B.dest)
	held, errH := chain.Holdings(ctx, d.id)
	if err := errors.Join(errA, errB, errH); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nfinal balances: A's destination %v wei, B's destination %v wei; channel holds %v\n", balA, balB, held)
	return st.writeDiagram(opt.mermaid)
}

// tell runs the founding document's story: open, m update rounds, close.
func (d *demoRun) tell(ctx context.Context, ps []app.Participant, asset nitro.Address, m int) error {
	A, B := d.parties[0], d.parties[1]
	alloc := func(a, b int64) []app.Allocation {
		return []app.Allocation{{AssetHolderAddress: asset, AllocationItems: []app.AllocationItem{
			{Destination: ps[0].Destination, Amount: big.NewInt(a)},
			{Destination: ps[1].Destination, Amount: big.NewInt(b)},
		}}}
	}
	d.story.begin("rect rgba(0, 0, 255, .1)", "Opening a channel")
	comment := "participants A, B; A 5 wei, B 3 wei"
	if d.app != (nitro.Address{}) {
		comment += "; app " + demoAppName
	}
	r, err := d.call(ctx, A, "createChannel()", comment, func(ctx context.Context) (app.Result, error) {
		return A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: ps, Allocations: alloc(5, 3), AppDefinition: d.app})
	})
	if err != nil {
		return err
	}
	if r, err = d.deliver(ctx, r.Outbox); err != nil { // msg0
		return err
	}
	if r, err = d.call(ctx, B, fmt.Sprintf("joinChannel('%s')", short(d.id)), "", func(ctx context.Context) (app.Result, error) { return B.w.JoinChannel(ctx, d.id) }); err != nil {
		return err
	}
	if _, err = d.deliver(ctx, r.Outbox); err != nil { // msg1: A deposits
		return err
	}
	// Both wallets see A's deposit (B deposits), then B's.
	for range 2 {
		if err := d.stage.deliver(ctx, d.id, core.EventDeposited, d.parties); err != nil {
			return err
		}
	}
	msg2, err := d.queued(ctx, A) // A's postfund follows the chain event
	if err != nil {
		return err
	}
	if r, err = d.deliver(ctx, msg2); err != nil {
		return err
	}
	msg3 := r.Outbox
	if len(msg3) == 0 { // B had not handled its Deposited event yet
		if msg3, err = d.queued(ctx, B); err != nil {
			return err
		}
	}
	if _, err = d.deliver(ctx, msg3); err != nil {
		return err
	}
	d.story.end()
	if m > 0 {
		d.story.begin(fmt.Sprintf("loop i=0...%d", m-1), "Running a channel")
		// A, the first mover, first tries to take B's money (5/3 → 6/2).
		if err := d.refuse(ctx, alloc); err != nil {
			return err
		}
		a := int64(5)
		for i := range m {
			for k, p := range d.parties {
				a += int64(2*k - 1) // A gives B one wei, B gives it back
				state := fmt.Sprintf("state%d", 4+2*i+k)
				r, err := d.call(ctx, p, "updateChannel("+state+")", fmt.Sprintf("A %d wei, B %d wei", a, 8-a), func(ctx context.Context) (app.Result, error) {
					return p.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: d.id, Allocations: alloc(a, 8-a)})
				})
				if err != nil {
					return err
				}
				if _, err = d.deliver(ctx, r.Outbox); err != nil {
					return err
				}
			}
		}
		d.story.end()
	}
	d.story.begin("rect rgba(0, 0, 255, .1)", "Closing a channel")
	if r, err = d.call(ctx, A, "closeChannel()", "", func(ctx context.Context) (app.Result, error) { return A.w.CloseChannel(ctx, d.id) }); err != nil {
		return err
	}
	if r, err = d.deliver(ctx, r.Outbox); err != nil { // isFinalA
		return err
	}
	if _, err = d.deliver(ctx, r.Outbox); err != nil { // isFinalB: A concludes
		return err
	}
	for _, k := range []core.EventKind{core.EventConcluded, core.EventAllocationUpdated} {
		if err := d.stage.deliver(ctx, d.id, k, d.parties); err != nil {
			return err
		}
	}
	d.story.end()
	return nil
}

// call tells a call to p's wallet, makes it, and tells its result (the
// channel's status and the outbox), then the effects it caused.
func (d *demoRun) call(ctx context.Context, p *demoParty, call, comment string, f func(context.Context) (app.Result, error)) (app.Result, error) {
	d.story.say(p.name+"->>Wallet"+p.name+": "+call, comment)
	d.story.hold()
	defer d.story.release()
	r, err := f(ctx)
	if err != nil {
		return r, fmt.Errorf("%s: %s: %w", p.name, call, err)
	}
	if d.id == (nitro.Bytes32{}) && len(r.ChannelResults) > 0 {
		d.id = r.ChannelResults[0].ChannelID
	}
	c, ok := r.Channel(d.id)
	if !ok {
		return r, fmt.Errorf("%s: %s: no result for channel %s", p.name, call, short(d.id))
	}
	status, comment := string(c.Status), fmt.Sprintf("turn %d, funding %s", c.TurnNum, c.FundingStatus)
	if c.Status == core.StatusRunning && c.TurnNum >= uint64(2*len(c.Participants)) {
		// The document names a running state by its turn.
		status, comment = fmt.Sprintf("(state%d)", c.TurnNum), fmt.Sprintf("running, funding %s", c.FundingStatus)
	}
	d.story.say(fmt.Sprintf("Wallet%s-->>%s: %s: %s", p.name, p.name, short(d.id), status), comment)
	if len(r.Outbox) > 0 {
		var ms []demoMessage
		for _, m := range r.Outbox {
			ms = append(ms, describe(m))
		}
		d.story.say(fmt.Sprintf("Wallet%s-->>%s: outbox: %s", p.name, p.name, names(ms)), "")
	}
	return r, nil
}

// deliver carries each message as its application would and pushes it
// into the recipient's wallet; it returns the last push's result.
func (d *demoRun) deliver(ctx context.Context, msgs []app.Message) (app.Result, error) {
	if len(msgs) == 0 {
		return app.Result{}, fmt.Errorf("demo: the story expects a message here and the wallet sent none")
	}
	var r app.Result
	for _, msg := range msgs {
		m := describe(msg)
		to, ok := d.byName[msg.Recipient]
		if !ok {
			return r, fmt.Errorf("demo: message to unknown recipient %q", msg.Recipient)
		}
		d.story.sayMore(msg.Sender+"->>"+msg.Recipient+": "+m.name, m.summary, string(msg.Data))
		var err error
		if r, err = d.call(ctx, to, "pushMessage("+m.name+")", "", func(ctx context.Context) (app.Result, error) { return to.w.PushMessage(ctx, msg.Data) }); err != nil {
			return r, err
		}
	}
	return r, nil
}

// queued waits for a message p's wallet queued on its own (after a chain
// event) and tells it.
func (d *demoRun) queued(ctx context.Context, p *demoParty) ([]app.Message, error) {
	timeout := time.After(stageTimeout)
	for {
		select {
		case n := <-p.notes:
			if n.Type == app.MessageQueued {
				m := describe(n.Message)
				d.story.say(fmt.Sprintf("Wallet%s-->>%s: MessageQueued(%s)", p.name, p.name, m.name), "")
				return []app.Message{n.Message}, nil
			}
		case <-timeout:
			return nil, fmt.Errorf("demo: wallet %s queued no message", p.name)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// quietLog is the demo wallets' logger: warnings and errors, to stderr.
var quietLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func short(id nitro.Bytes32) string { return id.Hex()[:10] }
