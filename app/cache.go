package app

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// channelCache keeps the channels the wallet committed or read last, so
// that a call on a busy channel does not read back from the store what the
// previous call wrote (a store read is a deep copy in memory, a query and
// a JSON decoding in PostgreSQL). It is exact because the wallet is its
// store's only writer and every write and read of a channel happens under
// that channel's lock: entries are replaced after each successful commit
// and dropped after a failed one, whose outcome is unknown. Channels are
// values that nothing modifies in place, so an entry is shared, not copied.
// It holds at most Config.ChannelCache channels (cacheDefault when zero);
// when a shard is full it forgets one of its channels at random.
type channelCache struct {
	shards   [cacheShards]cacheShard
	perShard int // capacity of each shard
}

const (
	cacheShards  = 64
	cacheDefault = 4096
)

type cacheShard struct {
	mu sync.Mutex
	m  map[nitro.Bytes32]core.Channel
}

func newChannelCache(size int) *channelCache {
	if size <= 0 {
		size = cacheDefault
	}
	c := &channelCache{perShard: max(1, (size+cacheShards-1)/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = map[nitro.Bytes32]core.Channel{}
	}
	return c
}

func (c *channelCache) shard(id nitro.Bytes32) *cacheShard {
	return &c.shards[(uint(id[0])<<8|uint(id[31]))%cacheShards]
}

func (c *channelCache) get(id nitro.Bytes32) (core.Channel, bool) {
	s := c.shard(id)
	s.mu.Lock()
	ch, ok := s.m[id]
	s.mu.Unlock()
	return ch, ok
}

func (c *channelCache) put(ch core.Channel) {
	s := c.shard(ch.ID)
	s.mu.Lock()
	if _, ok := s.m[ch.ID]; !ok && len(s.m) >= c.perShard {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[ch.ID] = ch
	s.mu.Unlock()
}

func (c *channelCache) drop(id nitro.Bytes32) {
	s := c.shard(id)
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// tickSet tracks the channels that wait on time (core.Channel.NeedsTick)
// so that Tick visits them without reading every channel. Every commit
// notes its channels; until Tick has listed the store once, and again
// after a commit failed (its outcome is unknown), Tick lists them all.
// Running channels never wait on time, so on the update path note takes
// no lock while the set is empty.
type tickSet struct {
	mu       sync.Mutex
	ids      map[nitro.Bytes32]struct{}
	complete bool   // ids holds every channel that waits on time
	gen      uint64 // counts the changes noted
	size     atomic.Int64
	sure     atomic.Bool // complete, readable without the lock
	// auto: Config.AutoChallengeAfter is on, so a channel awaiting a peer
	// waits on time too.
	auto bool
}

func newTickSet(auto bool) *tickSet { return &tickSet{ids: map[nitro.Bytes32]struct{}{}, auto: auto} }

// needs reports whether c waits on time (Tick): with the liveness exit
// on, also while it awaits a peer or keeps a wait a Tick must clear.
func (t *tickSet) needs(c *core.Channel) bool {
	return c.NeedsTick() || t.auto && (c.AwaitingPeer() || c.ReplyWaitSince != 0)
}

// note records a committed channel.
func (t *tickSet) note(c *core.Channel) {
	need := t.needs(c)
	if !need && t.sure.Load() && t.size.Load() == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	_, had := t.ids[c.ID]
	switch {
	case need && !had:
		t.ids[c.ID] = struct{}{}
	case !need && had:
		delete(t.ids, c.ID)
	}
	t.size.Store(int64(len(t.ids)))
}

// unsure makes the next Tick list the store.
func (t *tickSet) unsure() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.complete = false
	t.sure.Store(false)
}

// list returns the channels to tick, or false if the store must be listed.
func (t *tickSet) list() ([]nitro.Bytes32, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.complete {
		return nil, false
	}
	ids := make([]nitro.Bytes32, 0, len(t.ids))
	for id := range t.ids {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b nitro.Bytes32) int { return bytes.Compare(a[:], b[:]) })
	return ids, true
}

func (t *tickSet) generation() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gen
}

// listed installs the channels a listing found to wait on time, unless a
// commit noted a change since the listing began (the next Tick lists again).
func (t *tickSet) listed(ids []nitro.Bytes32, gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen != gen {
		return
	}
	t.ids = make(map[nitro.Bytes32]struct{}, len(ids))
	for _, id := range ids {
		t.ids[id] = struct{}{}
	}
	t.size.Store(int64(len(t.ids)))
	t.complete = true
	t.sure.Store(true)
}
