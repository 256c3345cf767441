package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
)

// Cluster is a throwaway PostgreSQL cluster a test starts itself (initdb
// and pg_ctl from the installed binaries, in a temporary folder, on a free
// loopback port), so that it can kill its backends, lock its tables, stop
// and restart it without touching the shared test server. As root it runs
// the server as the postgres user (else nobody), as
// scripts/with-postgres.sh does. It is removed when the test ends.
type Cluster struct {
	t        testing.TB
	bin      string
	dir      string
	port     int
	asUser   []string
	settings []string // name=value, given to the server with -c
}

// StartCluster initializes and starts a cluster for t, failing t (never
// skipping) if PostgreSQL's binaries cannot be found or the server does
// not start. It has the database postgres, superuser postgres, trust auth.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	return StartClusterWith(t)
}

// StartClusterWith is StartCluster with the server's settings given
// (name=value each, as postgres -c takes them), e.g.
// "shared_preload_libraries=pg_stat_statements"; they hold across Restart.
func StartClusterWith(t testing.TB, settings ...string) *Cluster {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c := &Cluster{t: t, bin: bin, settings: settings}
	owner := -1
	if os.Geteuid() == 0 {
		name := "postgres"
		u, err := user.Lookup(name)
		if err != nil {
			name = "nobody"
			if u, err = user.Lookup(name); err != nil {
				t.Fatalf("pgtest: running as root, and neither user postgres nor nobody exists to run the server")
			}
		}
		owner, _ = strconv.Atoi(u.Uid)
		c.asUser = []string{"runuser", "-u", name, "--"}
	}
	// As root, /tmp: the server's user must reach the folder.
	base := os.TempDir()
	if owner >= 0 {
		base = "/tmp"
	}
	if c.dir, err = os.MkdirTemp(base, "nitrowallet-cluster-"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(c.remove)
	if owner >= 0 {
		if err := os.Chown(c.dir, owner, -1); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
	if out, err := c.run("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	if c.port, err = freePort(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c.Start()
	return c
}

// binDir finds initdb and pg_ctl: on PATH, else in the newest
// /usr/lib/postgresql/*/bin.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) int { n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d))); return n }
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL's binaries (initdb, pg_ctl) are neither on PATH nor under /usr/lib/postgresql/*/bin: " +
		"install PostgreSQL (Debian: apt-get install postgresql) to run the fault tests")
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// run runs one of PostgreSQL's programs as the server's user.
func (c *Cluster) run(prog string, args ...string) ([]byte, error) {
	argv := append(append(append([]string{}, c.asUser...), filepath.Join(c.bin, prog)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

// URL is the cluster's database URL (database postgres, user postgres).
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", c.port)
}

// Start starts the server (again) and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=60 -c fsync=off -c full_page_writes=off", c.port, c.dir)
	for _, s := range c.settings {
		opts += " -c " + s
	}
	if out, err := c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		c.t.Fatalf("pgtest: start the cluster: %v\n%s\n%s", err, out, c.serverLog())
	}
}

// Stop stops the server (fast shutdown: sessions are ended, their
// transactions rolled back) and waits until it is down.
func (c *Cluster) Stop() {
	c.t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		c.t.Fatalf("pgtest: stop the cluster: %v\n%s", err, out)
	}
}

// Restart stops and starts the server: every session is lost.
func (c *Cluster) Restart() {
	c.t.Helper()
	c.Stop()
	c.Start()
}

// KillBackends terminates every client session (pg_terminate_backend),
// waits until they are gone, and returns how many there were.
func (c *Cluster) KillBackends() int {
	c.t.Helper()
	db := c.open()
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
		c.t.Fatalf("pgtest: kill backends: %v", err)
	}
	return n
}

// AdvisoryLocks counts the advisory locks granted in the cluster.
func (c *Cluster) AdvisoryLocks() int {
	c.t.Helper()
	db := c.open()
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted`).Scan(&n); err != nil {
		c.t.Fatalf("pgtest: count advisory locks: %v", err)
	}
	return n
}

// LockTable takes an ACCESS EXCLUSIVE lock on schema.table in a session of
// its own, so every other session's statement on the table waits, and
// returns the function that releases it (also called when the test ends).
func (c *Cluster) LockTable(schema, table string) (release func()) {
	c.t.Helper()
	db := c.open()
	tx, err := db.Begin()
	if err == nil {
		_, err = tx.Exec("LOCK TABLE " + pq.QuoteIdentifier(schema) + "." + pq.QuoteIdentifier(table) + " IN ACCESS EXCLUSIVE MODE")
	}
	if err != nil {
		db.Close()
		c.t.Fatalf("pgtest: lock %s.%s: %v", schema, table, err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			_ = tx.Rollback()
			_ = db.Close()
		})
	}
	c.t.Cleanup(release)
	return release
}

// open connects to the cluster, failing the test if it does not answer.
func (c *Cluster) open() *sql.DB {
	c.t.Helper()
	db, err := sql.Open("postgres", c.URL())
	if err != nil {
		c.t.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		c.t.Fatalf("pgtest: the cluster does not answer: %v\n%s", err, c.serverLog())
	}
	return db
}

func (c *Cluster) serverLog() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
	if len(b) > 4000 {
		b = append([]byte("..."), b[len(b)-4000:]...)
	}
	return string(b)
}

// remove stops the server, if it runs, and deletes the cluster.
func (c *Cluster) remove() {
	if _, err := os.Stat(filepath.Join(c.data(), "postmaster.pid")); err == nil {
		_, _ = c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
	}
	_ = os.RemoveAll(c.dir)
}

// LockWaiters counts the sessions waiting for a lock.
func (c *Cluster) LockWaiters() int {
	c.t.Helper()
	db := c.open()
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'`).Scan(&n); err != nil {
		c.t.Fatalf("pgtest: count lock waiters: %v", err)
	}
	return n
}

// Hold opens a session and keeps it until release is called (also when
// the test ends): a smart shutdown waits for it.
func (c *Cluster) Hold() (release func()) {
	c.t.Helper()
	db := c.open()
	db.SetMaxOpenConns(1)
	var once sync.Once
	release = func() { once.Do(func() { _ = db.Close() }) }
	c.t.Cleanup(release)
	return release
}

// BeginSmartStop starts a smart shutdown without waiting for it: the server
// refuses new sessions (57P03, "the database system is shutting down")
// until the open ones end, then stops. WaitStopped waits for that.
func (c *Cluster) BeginSmartStop() {
	c.t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data(), "-m", "smart", "-W", "stop"); err != nil {
		c.t.Fatalf("pgtest: smart stop: %v\n%s", err, out)
	}
}

// WaitStopped waits until the server is down.
func (c *Cluster) WaitStopped() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(c.data(), "postmaster.pid")); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("pgtest: the server did not stop\n%s", c.serverLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
