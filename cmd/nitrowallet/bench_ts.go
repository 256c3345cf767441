package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/internal/tslive"
)

// benchTSPair is two TypeScript server wallets 1.13.1 (tools/tswallet, one
// node process and one PostgreSQL database each) with channels between
// them, Fake funded: the baseline the durable rows are compared with.
type benchTSPair struct {
	ws    map[string]*tslive.Wallet // by participant id, "A" and "B"
	ids   []string
	turn  []uint64 // the supported turn of each channel
	alloc []tslive.Allocation
}

// newBenchTSPair starts the two TS wallets on the PostgreSQL of pgURL and
// runs n channels between them to the running stage.
func newBenchTSPair(ctx context.Context, pgURL string, n int) (*benchTSPair, error) {
	u, err := neturl.Parse(pgURL)
	if err != nil {
		return nil, err
	}
	base := tslive.Config{Host: u.Hostname(), User: u.User.Username()}
	base.Password, _ = u.User.Password()
	if p := u.Port(); p != "" {
		if base.Port, err = strconv.Atoi(p); err != nil {
			return nil, err
		}
	}
	p := &benchTSPair{ws: map[string]*tslive.Wallet{}}
	var parts []tslive.Participant
	for _, name := range []string{"A", "B"} {
		k, err := crypto.ToECDSA(crypto.Keccak256([]byte("nitrowallet-bench-ts-" + name)))
		if err != nil {
			return nil, err
		}
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg := base
		cfg.DBName = fmt.Sprintf("nitrowallet_bench_ts_%s_%x", strings.ToLower(name), b)
		cfg.PrivateKey = "0x" + hex.EncodeToString(crypto.FromECDSA(k))
		cfg.ChainNetworkID = 1337
		w, err := tslive.Start(ctx, cfg)
		if err != nil {
			p.close()
			return nil, err
		}
		p.ws[name] = w
		parts = append(parts, tslive.Participant{ParticipantID: name, SigningAddress: w.Address, Destination: "0x000000000000000000000000" + w.Address[2:]})
	}
	amt := fmt.Sprintf("0x%064x", 1_000_000)
	// The outcome stays as it is: the TS wallet runs with
	// skipEvmValidation, so an update need not move funds.
	p.alloc = []tslive.Allocation{{AssetHolderAddress: "0x4ad3F07BEFDC54511449A1f553E36A653c82eA57", AllocationItems: []tslive.AllocationItem{
		{Destination: parts[0].Destination, Amount: amt}, {Destination: parts[1].Destination, Amount: amt},
	}}}
	out, err := p.ws["A"].CreateChannels(ctx, tslive.CreateChannelParams{
		Participants:  parts,
		Allocations:   p.alloc,
		AppDefinition: "0x0000000000000000000000000000000000000000", AppData: "0x00", FundingStrategy: "Fake",
	}, n)
	if err == nil {
		err = p.relay(ctx, out.Outbox)
	}
	for _, c := range out.ChannelResults {
		p.ids = append(p.ids, c.ChannelID)
	}
	if err == nil {
		out, err = p.ws["B"].JoinChannels(ctx, p.ids)
	}
	if err == nil {
		err = p.relay(ctx, out.Outbox)
	}
	if err != nil {
		p.close()
		return nil, err
	}
	p.turn = make([]uint64, len(p.ids))
	for i := range p.turn {
		p.turn[i] = 3
	}
	return p, nil
}

// relay pushes each message to its recipient, and the replies on.
func (p *benchTSPair) relay(ctx context.Context, q []tslive.Outgoing) error {
	for len(q) > 0 {
		m := q[0]
		q = q[1:]
		w := p.ws[m.Recipient]
		if w == nil {
			return fmt.Errorf("bench ts: message for unknown recipient %q", m.Recipient)
		}
		out, err := w.PushMessage(ctx, m.Data)
		if err != nil {
			return err
		}
		q = append(q, out.Outbox...)
	}
	return nil
}

// update makes one update of channel i: the mover's updateChannel and the
// receiver's pushMessage of its message (the same operation as the
// nitrowallet rows').
func (p *benchTSPair) update(ctx context.Context, i int) error {
	mover := "A"
	if (p.turn[i]+1)%2 == 1 {
		mover = "B"
	}
	out, err := p.ws[mover].UpdateChannel(ctx, tslive.UpdateChannelParams{ChannelID: p.ids[i], Allocations: p.alloc, AppData: "0x00"})
	if err != nil {
		return err
	}
	if err := p.relay(ctx, out.Outbox); err != nil {
		return err
	}
	p.turn[i]++
	return nil
}

func (p *benchTSPair) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, w := range p.ws {
		_ = w.Stop(ctx)
	}
}

// benchTSUpdates measures updates on n channels between two TS wallets,
// one goroutine per channel.
func benchTSUpdates(ctx context.Context, o benchOptions, n int) ([]benchSample, error) {
	p, err := newBenchTSPair(ctx, o.postgres, n)
	if err != nil {
		return nil, err
	}
	defer p.close()
	w := func(stop *atomic.Bool, rec *benchRecorder) error {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range p.ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := rec.worker()
				defer l.done()
				for !stop.Load() {
					t0 := time.Now()
					if err := p.update(ctx, i); err != nil {
						errs <- err
						return
					}
					l.add(time.Since(t0))
				}
			}()
		}
		wg.Wait()
		select {
		case err := <-errs:
			return err
		default:
			return nil
		}
	}
	ss, _, err := benchMeasure(ctx, o, w, nil)
	return ss, err
}
