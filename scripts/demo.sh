#!/bin/sh
# make demo / make demo-stop: start the bundled Base44 emulator, mount it on
# ./mnt, show a short tour, and leave everything running to explore.
# State (emulator PID, port, logs) lives in ./.demo so demo-stop finds it.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
state="$top/.demo"
mnt="$top/mnt"
bin="$top/fs/connectorfs"
ctl="$top/scripts/emulatorctl"

is_mounted() {
	awk -v m="$1" '$5 == m && / - fuse\.connectorfs / { found = 1 }
		END { exit !found }' /proc/self/mountinfo
}

stop() {
	if is_mounted "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null ||
			fusermount3 -uz "$mnt"
		echo "unmounted $mnt"
	fi
	if [ -f "$state/emulator.pid" ]; then
		pid=$(cat "$state/emulator.pid")
		if kill "$pid" 2>/dev/null; then
			echo "stopped the emulator (pid $pid)"
		fi
		rm -f "$state/emulator.pid"
	fi
}

step() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	sh -c "$*"
}

start() {
	stop >/dev/null
	mkdir -p "$state" "$mnt"
	rm -f "$state/port"
	python3 "$top/scripts/emulator.py" --port 0 --port-file "$state/port" \
		--pid-file "$state/emulator.pid" >"$state/emulator.log" 2>&1 &
	i=0
	while [ ! -s "$state/port" ]; do
		i=$((i + 1))
		if [ "$i" -gt 100 ]; then
			echo "demo: the emulator did not start; see $state/emulator.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	port=$(cat "$state/port")
	url="http://127.0.0.1:$port"
	echo "emulator listening on $url (pid $(cat "$state/emulator.pid"))"

	# The demo service token is the emulator's; a real one belongs in a
	# token file or the environment, never on the command line.
	BASE44_APP_ID=demo-app BASE44_SERVICE_TOKEN=demo-service-token \
	BASE44_API_URL="$url" \
		"$bin" "$mnt" -o ttl=30,connectors=slack:share_point
	echo "mounted $mnt"

	export EMULATOR_URL="$url"
	cd "$top"
	step "ls mnt"
	step "ls -l mnt/slack mnt/share_point/connectionConfig"
	step "cat mnt/slack/access_token; echo"
	step "cat mnt/share_point/connectionConfig/subdomain; echo"
	step "cat mnt/share_point/env"
	step "cat mnt/notion/connection.json"
	step "ls mnt    # notion is listed now that it has been read"
	step "scripts/emulatorctl rotate slack    # Base44 rotates the token"
	step "cat mnt/.connectorfs/refresh/slack    # or wait for ttl=30 to pass"
	step "cat mnt/slack/access_token; echo"
	step "cat mnt/nonexistent/access_token || true"
	step "grep -o '\"slack\":{[^}]*}' mnt/.connectorfs/status.json"
	cat <<MSG

The mount stays up: explore $mnt, drive the emulator with
  EMULATOR_URL=$url scripts/emulatorctl --help
Stop everything with:
  make demo-stop
MSG
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
*) echo "usage: demo.sh start|stop" >&2; exit 2 ;;
esac
