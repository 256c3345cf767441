#!/usr/bin/env bash
# with-postgres.sh CMD [ARGS...]: run CMD with NITROWALLET_TEST_DATABASE_URL
# pointing at a PostgreSQL the tests may use:
#   1. NITROWALLET_TEST_DATABASE_URL if it is set;
#   2. else the server on 127.0.0.1:5432 (user postgres, database test, trust
#      auth) if it answers;
#   3. else a throwaway cluster started from PostgreSQL's binaries (found on
#      PATH or under /usr/lib/postgresql/*/bin) in a temporary folder, on a
#      free port, stopped and removed when CMD ends;
#   4. else fail, saying what to install.
# For testing this script: WITH_POSTGRES_SKIP_LOCAL=1 skips step 2 and
# WITH_POSTGRES_BINDIR=DIR looks for the binaries in DIR only.
# WITH_POSTGRES_STATEMENTS=1 starts the throwaway cluster with
# pg_stat_statements loaded (planning tracked too), for
# `make bench-pg-profile`; it fails if the module is not installed.
set -euo pipefail

if [ "$#" -eq 0 ]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

if [ -n "${NITROWALLET_TEST_DATABASE_URL:-}" ]; then
	exec "$@"
fi

local_url="postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

# answers URL HOST PORT: whether a usable server answers there.
answers() {
	if command -v psql >/dev/null; then
		PGCONNECT_TIMEOUT=3 psql "$1" -Atqc 'SELECT 1' >/dev/null 2>&1
	elif command -v pg_isready >/dev/null; then
		pg_isready -q -h "$2" -p "$3" -t 3
	else
		(exec 3<>"/dev/tcp/$2/$3") 2>/dev/null
	fi
}

if [ -z "${WITH_POSTGRES_SKIP_LOCAL:-}" ] && answers "$local_url" 127.0.0.1 5432; then
	export NITROWALLET_TEST_DATABASE_URL="$local_url"
	exec "$@"
fi

# Find initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/*/bin.
bindir=""
if [ -n "${WITH_POSTGRES_BINDIR:-}" ]; then
	[ -x "$WITH_POSTGRES_BINDIR/initdb" ] && [ -x "$WITH_POSTGRES_BINDIR/pg_ctl" ] && bindir="$WITH_POSTGRES_BINDIR"
elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
	bindir="$(dirname "$(readlink -f "$(command -v initdb)")")"
else
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			bindir="$d"
			break
		fi
	done
fi
if [ -z "$bindir" ]; then
	cat >&2 <<-EOF
	with-postgres: the tests need PostgreSQL, and none is available:
	  - NITROWALLET_TEST_DATABASE_URL is not set,
	  - nothing usable answers at $local_url,
	  - PostgreSQL's binaries (initdb, pg_ctl) are not installed, so no throwaway cluster can be started.
	Install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or set
	NITROWALLET_TEST_DATABASE_URL=postgres://user@host:port/db?sslmode=disable
	EOF
	exit 1
fi

extra=""
if [ -n "${WITH_POSTGRES_STATEMENTS:-}" ]; then
	libdir="$(dirname "$bindir")/lib"
	if [ -x "$bindir/pg_config" ]; then
		libdir="$("$bindir/pg_config" --pkglibdir)"
	fi
	if [ ! -e "$libdir/pg_stat_statements.so" ]; then
		echo "with-postgres: WITH_POSTGRES_STATEMENTS is set but $libdir/pg_stat_statements.so is missing (Debian: it ships with postgresql-<version>)" >&2
		exit 1
	fi
	extra="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on"
fi

# PostgreSQL refuses to run as root: run the cluster as postgres (or nobody).
as_user=()
owner=""
if [ "$(id -u)" -eq 0 ]; then
	owner=postgres
	id -u "$owner" >/dev/null 2>&1 || owner=nobody
	if command -v runuser >/dev/null; then
		as_user=(runuser -u "$owner" --)
	else
		as_user=(su -s /bin/sh "$owner" -c '"$0" "$@"')
	fi
fi

# As root, use /tmp: the cluster's user must be able to reach the folder.
tmpbase="${TMPDIR:-/tmp}"
[ -n "$owner" ] && tmpbase=/tmp
tmp="$(mktemp -d "$tmpbase/nitrowallet-pg.XXXXXX")"
[ -n "$owner" ] && chown "$owner" "$tmp"
chmod 700 "$tmp"
log="$tmp/server.log"

cleanup() {
	"${as_user[@]}" "$bindir/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as_user[@]}" "$bindir/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 --no-sync >"$tmp/initdb.log" 2>&1 || {
	cat "$tmp/initdb.log" >&2
	echo "with-postgres: initdb failed" >&2
	exit 1
}

free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

started=""
for _ in 1 2 3 4 5; do
	port="$(free_port)"
	if "${as_user[@]}" "$bindir/pg_ctl" -D "$tmp/data" -l "$log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $tmp -c max_connections=200 $extra" start >/dev/null 2>&1; then
		started=1
		break
	fi
done
if [ -z "$started" ]; then
	cat "$log" >&2 || true
	echo "with-postgres: could not start a throwaway PostgreSQL from $bindir" >&2
	exit 1
fi
# createdb needs no psql; both ship next to initdb.
psql="$bindir/psql"
[ -x "$psql" ] || psql="$(command -v psql || true)"
if [ -x "$bindir/createdb" ]; then
	"${as_user[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres test
elif [ -n "$psql" ]; then
	"${as_user[@]}" "$psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc 'CREATE DATABASE test' >/dev/null
else
	echo "with-postgres: neither createdb nor psql found to create the test database" >&2
	exit 1
fi

export NITROWALLET_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/test?sslmode=disable"
echo "with-postgres: throwaway PostgreSQL ($bindir) on port $port" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
