package postgres

// LockKey exposes the advisory lock key of a schema to the tests.
var LockKey = lockKey
