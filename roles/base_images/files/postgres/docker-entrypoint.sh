#!/usr/bin/env bash
# Entrypoint of the backendops postgres image: the official postgres image's environment contract on
# Debian's postgresql-15. The first start initialises $PGDATA (POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB, POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD, *_FILE variants) and runs
# /docker-entrypoint-initdb.d; later starts only run the server. Never prints a password.
set -Eeuo pipefail

# VAR or VAR_FILE (Docker/Compose secrets); setting both is ambiguous.
file_env() {
	local var=$1 default=${2:-}
	local file_var="${var}_FILE"
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		echo >&2 "error: both $var and $file_var are set; set only one of them"
		exit 1
	fi
	local value=$default
	if [ -n "${!var:-}" ]; then
		value=${!var}
	elif [ -n "${!file_var:-}" ]; then
		value=$(<"${!file_var}")
	fi
	export "$var=$value"
	unset "$file_var"
}

psql_init() {
	psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER" "$@"
}

init_database() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		cat >&2 <<-'MSG'
			error: the database is not initialised and no superuser password is set.
			       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE); POSTGRES_HOST_AUTH_METHOD=trust would
			       instead let anyone on the network connect without a password (not recommended).
		MSG
		exit 1
	fi
	trap 'echo >&2 "error: initialisation of $PGDATA failed; fix the cause, empty the volume and start again"' ERR

	local initdb_args=(--username="$POSTGRES_USER" --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD")
	# POSTGRES_INITDB_ARGS is a command line fragment, split like the official image does.
	# shellcheck disable=SC2086
	if [ -n "$POSTGRES_PASSWORD" ]; then
		initdb "${initdb_args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
	else
		initdb "${initdb_args[@]}" $POSTGRES_INITDB_ARGS
	fi

	# Local socket: trust (only processes inside the container reach it). Network: the auth method.
	printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
	printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

	# No TCP while initialising: clients (and pg_isready -h) see the server only once it is ready.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
	if [ "$POSTGRES_DB" != postgres ]; then
		psql_init --dbname postgres --set db="$POSTGRES_DB" <<-'SQL'
			CREATE DATABASE :"db";
		SQL
	fi
	export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
	local script
	shopt -s nullglob
	for script in /docker-entrypoint-initdb.d/*; do
		case "$script" in
			*.sh)
				echo "running $script"
				if [ -x "$script" ]; then
					"$script"
				else
					# shellcheck disable=SC1090
					. "$script"
				fi
				;;
			*.sql) echo "running $script"; psql_init --dbname "$POSTGRES_DB" -f "$script" ;;
			*.sql.gz) echo "running $script"; gunzip -c "$script" | psql_init --dbname "$POSTGRES_DB" ;;
			*) echo "ignoring $script" ;;
		esac
	done
	shopt -u nullglob
	unset PGPASSWORD
	pg_ctl -D "$PGDATA" -m fast -w stop
	trap - ERR
	echo 'PostgreSQL init process complete; ready for start up.'
}

# `docker run IMAGE -c shared_buffers=256MB` means the server with these options.
if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

if [ "$1" = postgres ]; then
	if [ "$(id -u)" = 0 ]; then
		# Volumes and bind mounts may arrive owned by root: hand them to postgres, then drop root.
		install -d -m 0700 "$PGDATA"
		find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
		chmod 0700 "$PGDATA"
		install -d -o postgres -g postgres -m 3777 /var/run/postgresql
		exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
	fi
	if [ ! -s "$PGDATA/PG_VERSION" ]; then
		init_database
	fi
fi

# exec: the server becomes PID 1 and receives docker stop's signal itself.
exec "$@"
