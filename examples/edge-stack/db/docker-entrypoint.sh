#!/usr/bin/env bash
# docker-entrypoint.sh: start PostgreSQL the way the official postgres image does, where it matters.
#
#   - Started as root, it makes $PGDATA and the socket directory postgres's own and runs itself again
#     as postgres (setpriv, from util-linux, which the base image has: no gosu download).
#   - On first start with an empty $PGDATA: initdb with POSTGRES_USER (default postgres) and
#     POSTGRES_PASSWORD (scram-sha-256 for connections from other hosts; required unless
#     POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_INITDB_ARGS, then a server on the Unix socket only
#     creates POSTGRES_DB and runs /docker-entrypoint-initdb.d/*.sql and *.sh in name order.
#     A failed init leaves nothing the next start would mistake for a finished one.
#   - Then it execs postgres, so the signals berth sends reach it: SIGTERM is a smart shutdown,
#     SIGINT (the image's STOPSIGNAL) a fast one.
#
# Any other command (psql, bash) runs as given, as the user it was started as.
set -Eeuo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:=}"
: "${POSTGRES_HOST_AUTH_METHOD:=}"
: "${POSTGRES_INITDB_ARGS:=}"
export PGDATA POSTGRES_USER POSTGRES_DB

log() { printf '%s entrypoint: %s\n' "$(date -u +%FT%TZ)" "$*"; }
die() { log "error: $*" >&2; exit 1; }

if [ $# -eq 0 ] || [ "${1:0:1}" = - ]; then # no command, or flags only: they are postgres's
	set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
	exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	chmod 3777 /var/run/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

# sql runs psql on the temporary server's socket, stopping at the first error.
sql() { psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --no-password "$@"; }

init_database() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		die "the database is not initialized and POSTGRES_PASSWORD is empty: set it (or POSTGRES_HOST_AUTH_METHOD=trust to allow connections without a password)"
	fi
	log "initializing a database cluster in $PGDATA for user $POSTGRES_USER"
	# Local (Unix socket) logins are trusted, as in the official image: `berth exec db psql` works.
	# Over TCP, even from 127.0.0.1, a password is needed unless POSTGRES_HOST_AUTH_METHOD says not.
	local method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
	# POSTGRES_INITDB_ARGS is word-split on purpose, as upstream does.
	# shellcheck disable=SC2086
	set -- --username="$POSTGRES_USER" --auth-local=trust --auth-host="$method" $POSTGRES_INITDB_ARGS
	if [ -n "$POSTGRES_PASSWORD" ]; then # read from a pipe: never in a command line or a file
		initdb "$@" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") >/dev/null
	else
		initdb "$@" >/dev/null
	fi
	printf '\n# Added by docker-entrypoint.sh: other hosts log in with %s.\nhost all all all %s\n' "$method" "$method" >>"$PGDATA/pg_hba.conf"

	# Only the Unix socket while initializing: a healthcheck over TCP is not fooled into passing.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >/dev/null
	if [ "$POSTGRES_DB" != postgres ]; then
		sql --dbname postgres --set db="$POSTGRES_DB" <<-'SQL'
			CREATE DATABASE :"db";
		SQL
		log "created database $POSTGRES_DB"
	fi
	local f
	shopt -s nullglob
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
		*.sh)
			log "running $f"
			if [ -x "$f" ]; then "$f"; else . "$f"; fi
			;;
		*.sql)
			log "running $f"
			sql --dbname "$POSTGRES_DB" -f "$f"
			;;
		*) log "ignoring $f" ;;
		esac
	done
	shopt -u nullglob
	pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	log "initialization done; starting postgres"
}

init_failed() {
	trap - ERR
	pg_ctl -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
	find "$PGDATA" -mindepth 1 -delete
	log "initialization failed: $PGDATA is empty again" >&2
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -n "$(ls -A "$PGDATA")" ]; then
		die "$PGDATA is neither empty nor a database cluster (no PG_VERSION): refusing to initialize it"
	fi
	# A failure half-way empties $PGDATA again, so the next start retries from scratch instead of
	# finding a half-made cluster.
	trap init_failed ERR
	init_database
	trap - ERR
fi
exec "$@"
