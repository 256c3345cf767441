package app

import "sync"

// ownedEntries are the outbox entries a running call committed and is
// carrying out itself, under its channel's lock. The ticker leaves them
// out of what it drives (pendingChannels): a worker sent after them would
// only queue for the channel's lock behind the call, then in front of the
// channel's next call, and read the whole outbox to find them done. Every
// busy channel has such entries at any moment, so with many channels each
// tick used to stall every one of them at once. An entry a call fails to
// carry out is disowned when the call ends, and the next tick drives it.
// The set is sharded: every call adds to it and removes from it.
type ownedEntries struct {
	shards [ownedShards]ownedShard
}

const ownedShards = 16

type ownedShard struct {
	mu sync.Mutex
	m  map[uint64]struct{}
}

func newOwnedEntries() *ownedEntries {
	o := &ownedEntries{}
	for i := range o.shards {
		o.shards[i].m = map[uint64]struct{}{}
	}
	return o
}

func (o *ownedEntries) shard(id uint64) *ownedShard { return &o.shards[id%ownedShards] }

func (o *ownedEntries) add(id uint64) {
	s := o.shard(id)
	s.mu.Lock()
	s.m[id] = struct{}{}
	s.mu.Unlock()
}

func (o *ownedEntries) remove(id uint64) {
	s := o.shard(id)
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

func (o *ownedEntries) has(id uint64) bool {
	s := o.shard(id)
	s.mu.Lock()
	_, ok := s.m[id]
	s.mu.Unlock()
	return ok
}
