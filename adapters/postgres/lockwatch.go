package postgres

// The schema's lock. Open takes a session advisory lock on a connection of
// its own; a watcher checks it every Options.LockCheck with a cheap query
// on that connection. When the session is gone (the backend was killed,
// the server restarted), the lock went with it: the watcher connects again
// and takes it again, and then checks that no one opened the schema in
// between (the owner token is still this store's). If another process
// holds the lock now, or took the schema over meanwhile, the store stops
// writing: every write fails with ErrLocked, and it says so in the log.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
	"time"
)

// DefaultLockCheck is how often a store checks its schema lock when
// Options.LockCheck is zero.
const DefaultLockCheck = time.Second

// lockMatch matches the pg_locks row of the advisory lock key $1.
const lockMatch = `((classid::bigint << 32) | objid::bigint) = $1`

// lockGuard is the state of the lock's watcher.
type lockGuard struct {
	fence    atomic.Pointer[error] // set once the store must stop writing
	stop     chan struct{}
	done     chan struct{}
	verified bool  // the lock is held and the owner token checked
	pid      int64 // the lock session's backend, while it is known to hold the lock
}

// fenced returns the error writes fail with once the store lost its schema.
func (s *Store) fenced() error {
	if p := s.guard.fence.Load(); p != nil {
		return *p
	}
	return nil
}

// setFenced makes every later write fail with err, and logs it once.
func (s *Store) setFenced(err error) {
	if s.guard.fence.CompareAndSwap(nil, &err) {
		s.log.Error("postgres store: schema taken over by another process; this store stops writing", "schema", s.schema, "err", err)
	}
}

// startGuard starts the watcher; the lock is held and its owner token written.
func (s *Store) startGuard(ctx context.Context) {
	s.guard.stop, s.guard.done = make(chan struct{}), make(chan struct{})
	s.guard.verified = true
	_ = s.lock.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&s.guard.pid)
	go s.watchLock()
}

// stopGuard stops the watcher and waits for it.
func (s *Store) stopGuard() {
	if s.guard.stop == nil {
		return
	}
	close(s.guard.stop)
	<-s.guard.done
}

func (s *Store) watchLock() {
	defer close(s.guard.done)
	every := s.opt.LockCheck
	if every <= 0 {
		every = DefaultLockCheck
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.guard.stop:
			return
		case <-t.C:
		}
		if s.fenced() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(s.ctx, max(2*every, 5*time.Second))
		s.keepLock(ctx)
		cancel()
	}
}

// keepLock checks the lock and takes it again if it was lost.
func (s *Store) keepLock(ctx context.Context) {
	var held bool
	var pid, holder int64
	err := s.lock.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND pid = pg_backend_pid() AND `+lockMatch+`), pg_backend_pid()`, lockKey(s.schema)).Scan(&held, &pid)
	if err == nil && held && s.guard.verified {
		return
	}
	if err != nil || !held {
		if s.guard.verified {
			s.log.Warn("postgres store: lost the schema's lock (its session ended); taking it again", "schema", s.schema, "err", err)
		}
		s.guard.verified = false
		// Pooled connections may have died with the lock's session: try a
		// few until one answers.
		for try := 0; ; try++ {
			if err != nil {
				// End the session for good (a session returned to the
				// pool would keep the lock), then connect again.
				_ = s.lock.Raw(func(any) error { return driver.ErrBadConn })
				_ = s.lock.Close()
				conn, cerr := s.db.Conn(ctx)
				if cerr != nil {
					return // the server is away: try again on the next check
				}
				s.lock = conn
			}
			err = s.lock.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1), pg_backend_pid(),
				coalesce((SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND `+lockMatch+` LIMIT 1), 0)`,
				lockKey(s.schema)).Scan(&held, &pid, &holder)
			if err == nil {
				break
			}
			if try == 3 || classify(err) != failUnavailable {
				return // try again on the next check
			}
		}
		if !held {
			if holder != 0 && holder == s.guard.pid {
				return // this store's old session, not gone yet
			}
			s.setFenced(fmt.Errorf("%w: another process holds schema %s's lock, taken while this store had lost it", ErrLocked, s.schema))
			return
		}
	}
	s.guard.pid = pid
	// Held again: unless another process opened the schema in between, the
	// owner token is still ours.
	var owner string
	if err := s.lock.QueryRowContext(ctx, "SELECT owner FROM wallet WHERE id = 1").Scan(&owner); err != nil {
		if err == sql.ErrNoRows {
			owner = ""
		} else {
			return // check again next time, holding the lock
		}
	}
	if owner != s.token {
		// That process must have lost the lock since: let it take it again.
		_, _ = s.lock.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", lockKey(s.schema))
		s.setFenced(fmt.Errorf("%w: another process opened schema %s while this store had lost its lock", ErrLocked, s.schema))
		return
	}
	s.guard.verified = true
	s.log.Info("postgres store: took the schema's lock again", "schema", s.schema)
}
