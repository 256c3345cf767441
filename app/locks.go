package app

import (
	"bytes"
	"slices"
	"sync"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// channelLocks serializes work per channel. The locks live in shards (no
// lock is shared by all channels); a shard forgets unused locks beyond
// keptLocks, so idle channels cost nothing.
type channelLocks struct {
	shards [lockShards]lockShard
}

const lockShards = 64

type lockShard struct {
	mu    sync.Mutex
	locks map[nitro.Bytes32]*channelLock
}

type channelLock struct {
	mu   sync.Mutex
	refs int // holders and waiters, under the shard's mutex
}

func newChannelLocks() *channelLocks {
	l := &channelLocks{}
	for i := range l.shards {
		l.shards[i].locks = map[nitro.Bytes32]*channelLock{}
	}
	return l
}

func (l *channelLocks) shard(id nitro.Bytes32) *lockShard {
	return &l.shards[(uint(id[0])<<8|uint(id[31]))%lockShards]
}

// acquire returns id's lock, counting the caller as a holder.
func (l *channelLocks) acquire(id nitro.Bytes32) *channelLock {
	sh := l.shard(id)
	sh.mu.Lock()
	m, ok := sh.locks[id]
	if !ok {
		m = &channelLock{}
		sh.locks[id] = m
	}
	m.refs++
	sh.mu.Unlock()
	return m
}

// release drops the caller's count. An unused lock is forgotten once its
// shard holds many: busy channels keep theirs, idle ones cost nothing.
func (l *channelLocks) release(id nitro.Bytes32, m *channelLock) {
	sh := l.shard(id)
	sh.mu.Lock()
	if m.refs--; m.refs == 0 && len(sh.locks) > keptLocks {
		delete(sh.locks, id)
	}
	sh.mu.Unlock()
}

// keptLocks is how many unused locks a shard keeps.
const keptLocks = 64

// lockOne takes one channel's lock; unlockOne releases it.
func (l *channelLocks) lockOne(id nitro.Bytes32) *channelLock {
	m := l.acquire(id)
	m.mu.Lock()
	return m
}

func (l *channelLocks) unlockOne(id nitro.Bytes32, m *channelLock) {
	m.mu.Unlock()
	l.release(id, m)
}

// lock takes the locks of the ids in a fixed order and returns the unlock.
func (l *channelLocks) lock(ids []nitro.Bytes32) func() {
	if len(ids) == 1 {
		id := ids[0]
		m := l.acquire(id)
		m.mu.Lock()
		return func() {
			m.mu.Unlock()
			l.release(id, m)
		}
	}
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b nitro.Bytes32) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	ms := make([]*channelLock, len(ids))
	for i, id := range ids {
		ms[i] = l.acquire(id)
	}
	for _, m := range ms {
		m.mu.Lock()
	}
	return func() {
		for i := len(ms) - 1; i >= 0; i-- {
			ms[i].mu.Unlock()
			l.release(ids[i], ms[i])
		}
	}
}
