#!/usr/bin/env bash
# Entrypoint of the backendops redis image: the official redis image's contract on Debian's
# redis-server. `docker run IMAGE --appendonly yes` and `IMAGE /path/redis.conf` mean redis-server
# with these arguments; the server runs as the redis user with its data in /data.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ] || [[ "$1" == *.conf ]]; then
	set -- redis-server "$@"
fi

if [ "$1" = redis-server ]; then
	if [ "$(id -u)" = 0 ]; then
		# Volumes and bind mounts may arrive owned by root: hand them to redis, then drop root.
		find . \! -user redis -exec chown redis '{}' +
		exec setpriv --reuid=redis --regid=redis --init-groups "${BASH_SOURCE[0]}" "$@"
	fi
	# Protected mode refuses every client but localhost while no password is set; in a container the
	# network is the boundary, so it is off unless the command line or a config file given first decides.
	config=${2:-}
	if { [ -z "$config" ] || [ "${config:0:1}" = '-' ]; } && [[ " $* " != *" --protected-mode "* ]]; then
		set -- "$1" --protected-mode no "${@:2}"
	fi
	umask 0077
fi

# exec: the server becomes PID 1 and receives docker stop's SIGTERM itself (it saves and exits).
exec "$@"
