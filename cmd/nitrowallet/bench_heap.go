package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/ports"
)

// benchIdleChannel returns a typical idle channel as a wallet holds it: a
// running two-party channel after some updates, taken from A's store.
func benchIdleChannel(ctx context.Context) (core.Channel, error) {
	p, err := newBenchPair(ctx, newBenchMemoryChain(), "memory")
	if err != nil {
		return core.Channel{}, err
	}
	defer p.close()
	ids, err := p.open(1)
	if err != nil {
		return core.Channel{}, err
	}
	for i := 0; i < 20; i++ {
		if err := p.update(ids[0]); err != nil {
			return core.Channel{}, err
		}
	}
	return p.parties[0].store.Get(ctx, ids[0])
}

// benchIdleHeap measures the heap a memory store holding n idle channels
// takes per channel: copies of a typical channel with distinct ids,
// committed one by one (so each is stored as the store stores any commit).
func benchIdleHeap(ctx context.Context, n int) (benchRow, error) {
	c, err := benchIdleChannel(ctx)
	if err != nil {
		return benchRow{}, err
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	store := memory.NewStore()
	for i := 0; i < n; i++ {
		c.ID[0], c.ID[1] = 0xbe, 0xec
		binary.BigEndian.PutUint64(c.ID[24:], uint64(i))
		if _, err := store.Commit(ctx, []ports.Change{{Channel: c}}); err != nil {
			return benchRow{}, err
		}
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(store)
	per := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n)
	return benchRow{
		name:   fmt.Sprintf("heap per idle channel, %d channels held", n),
		value:  per,
		unit:   "B/channel",
		allocs: -1,
		note:   fmt.Sprintf("%d states each", len(c.States)),
	}, nil
}
