package postgres

import "context"

// LockKey exposes the advisory lock key of a schema to the tests.
var LockKey = lockKey

// CheckLock runs one check of the lock's watcher now (for a store whose
// Options.LockCheck is too long for the watcher to run during the test).
func CheckLock(s *Store) { s.keepLock(context.Background()) }
