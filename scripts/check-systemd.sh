#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions called through wait_for and traps
# make check-systemd: scripts/connectorfs.service under a real systemd (Debian 12, systemd 252,
# booted in systemd-nspawn by ../shared/tools/systemd-container.sh), with four readers
# (scripts/systemd_load.py) reading the mount in tight loops through every event:
#
#   1  systemctl start: active, a token read
#   2  kill -9 of the server: no failure, stall < 1 s, same mount, same MainPID, takeovers +1
#   3  kill -9 of the main process (the keeper): systemd restarts it, it takes the connection
#      back from the descriptor store: same mount, no failure, stall < 1 s, same bytes served
#      from the restored cache (no new API request)
#   4  systemctl reload: active throughout, same mount, no failure, stall < 1 s, new server
#   5  systemctl stop: the mount is gone (no dead mount left), readers get ENOENT/ENOTCONN
#      (a request in flight at the stop may get ECONNABORTED or EINTR, as the README says) and
#      do not hang; systemctl start makes a fresh mount
#   6  systemctl restart: what readers see is printed (not a pass/fail item)
#
# Needs root (systemd-nspawn). Not part of make check / CI. It builds fs/connectorfs, stages
# `make install DESTDIR=... PREFIX=/usr/local` and copies the staged tree into the container.
# Scratch and logs: /tmp/cfs-systemd-test-XXXXXX (journal.txt, emulator.txt, p*.summary.json).
# CFS_SYSTEMD_KEEP=1 leaves the container running afterwards (stop it with the tool's `stop`).
# CFS_SYSTEMD_LOAD_OPTS adds options to the readers (diagnosis only: --no-listdir leaves out
# opendir/readdir, so that no folder is open across an event).
# A mount is named MOUNTINFO_ID/UNIQUE_ID: mountinfo's ids are reused by the kernel (a fresh
# mount often shows the old number), statx's STATX_MNT_ID_UNIQUE (Linux 6.8+) never is.
set -u
cd "$(dirname "$0")/.." || exit 2

TOOL=${CFS_SYSTEMD_TOOL:-$(cd .. && pwd)/shared/tools/systemd-container.sh}
STATE=${CFS_SYSTEMD_STATE:-/tmp/cfs-systemd}
ROOT=$STATE/root
UNIT=connectorfs
M=/run/connectorfs/connectors
W=/var/lib/cfs-test                # in the container (not its /tmp, a tmpfs the host cannot see)
APP=cfs-systemd-app
PORT=8044
STALL_MS=1000
S=$(mktemp -d /tmp/cfs-systemd-test-XXXXXX)
PASSED=0
FIGURES=
FAILED=0
LOAD_PID=
POLL_PID=

say() { printf '%s\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); say "PASS  $*"; }
fail() { FAILED=$((FAILED + 1)); say "FAIL  $*"; }
# verdict NAME TEST-EXIT-STATUS DETAIL
verdict() { if [ "$2" -eq 0 ]; then pass "$1: ${*:3}"; else fail "$1: ${*:3}"; fi; }
info() { say "      $*"; }
info_verdict() { say "INFO  $1: ${*:3}"; }       # like verdict, never a failure
c() { "$TOOL" run "$@"; }                        # a command in the container
load() { c python3 "$W/systemd_load.py" "$@"; }  # the helper, in the container
host_py() { python3 scripts/systemd_load.py "$@"; }
now() { date +%s.%N; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

[ "$(id -u)" = 0 ] || { say "check-systemd: needs root (systemd-nspawn)"; exit 2; }
[ -x "$TOOL" ] || { say "check-systemd: no $TOOL"; exit 2; }

cleanup() {
	[ -n "$POLL_PID" ] && kill "$POLL_PID" 2>/dev/null
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
	if [ -d "$ROOT$W" ]; then touch "$ROOT$W"/stop-p2 "$ROOT$W"/stop-p3 "$ROOT$W"/stop-p4 \
		"$ROOT$W"/stop-p5 "$ROOT$W"/stop-p6 "$ROOT$W"/stop-poll 2>/dev/null; fi
	if [ "${CFS_SYSTEMD_KEEP:-0}" != 1 ]; then "$TOOL" stop >/dev/null 2>&1; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS CMD...: until CMD succeeds (every 50 ms); its status.
wait_for() {
	local end
	end=$(awk -v t="$1" -v n="$(now)" 'BEGIN { printf "%.3f", n + t }')
	shift
	while :; do
		"$@" && return 0
		lt "$(now)" "$end" || return 1
		sleep 0.05
	done
}

active() { c systemctl is-active --quiet "$UNIT"; }
mainpid() { c systemctl show -p MainPID --value "$UNIT"; }
mountid() { load mountid --mount "$M"; }        # reads /proc/self/mountinfo only
status() { c timeout 10 python3 "$W/systemd_load.py" status --mount "$M"; } # "pid supervisor_pid takeovers"
sctl() { c timeout 150 systemctl "$@"; }          # a verb; never waits forever
# at CMD...: CMD in the container; T_AT is when it started there (the host's clock too), not
# counting nsenter's own start-up. Events are timed from T_AT.
at() {
	local rc
	rm -f "$ROOT$W/t-at"
	c sh -c 'date +%s.%N >'"$W/t-at"'; exec "$@"' sh "$@"
	rc=$?
	T_AT=$(cat "$ROOT$W/t-at" 2>/dev/null || now)
	return $rc
}
# journal PHASE T0 LABEL: the unit's journal since T0 (ms from T0) into $S/PHASE.journal.txt, shown
# (the first 40 lines); then a FAIL when a server crashed (other than KILLED, the pid we killed).
journal() {
	local f=$S/$1.journal.txt n crashes
	c journalctl -u "$UNIT" --since "@${2%.*}" -o short-unix --no-pager -q |
		awk -v t="$2" '$1 + 0 >= t - 0.2 || $1 !~ /^[0-9.]+$/' | host_py journal --t0 "$2" >"$f"
	n=$(wc -l <"$f")
	head -40 "$f" | sed 's/^/      /'
	[ "$n" -le 40 ] || info "... $((n - 40)) more lines in $f"
	crashes=$(grep -E 'server [0-9]+ (was killed by signal|exited with status|could not be)|before serving|free\(\)|AddressSanitizer|Segmentation' "$f" |
		grep -vE "server ${KILLED:-none} was killed by signal 9;")
	${4:-verdict} "$3 servers" "$([ -z "$crashes" ]; echo $?)" "$(if [ -z "$crashes" ]; then
		echo "no server crashed or failed to start (journal)"; else
		printf '%s servers crashed or failed (%s "killed by signal 11", %s "free(): invalid pointer"); first: %s' \
			"$(printf '%s\n' "$crashes" | grep -c .)" \
			"$(printf '%s\n' "$crashes" | grep -c 'signal 11')" \
			"$(printf '%s\n' "$crashes" | grep -c 'free()')" \
			"$(printf '%s\n' "$crashes" | head -1 | sed 's/^ *//')"; fi)"
	KILLED=
}

# figure ITEM: the readers' figures of the last load, for the closing summary.
figure() {
	FIGURES="$FIGURES  $1: $L_FAILURES failures in $L_OPS ops ($L_ERRNOS), longest op $L_MAX_MS ms"
	FIGURES="$FIGURES ($L_MAX_OP), hung readers $L_HUNG${2:+; $2}
"
}
# at_ms FILE PATTERN: the offset (ms) of the first journal line matching PATTERN, or "-".
at_ms() { grep -m1 -E "$2" "$1" | awk '{ print $1 }' | grep . || echo -; }

# recover: when the unit or its mount does not answer after an item, a fresh start (stop +
# start) so that the next item is tested on its own.
# (status.json is rendered by the server for every read: never from the kernel's cache)
healthy() { c timeout 5 cat "$M/.connectorfs/status.json" >/dev/null 2>&1 && active; }
recover() {
	healthy && return 0
	info "the mount does not answer (or the unit is not active): systemctl stop; systemctl start"
	sctl stop "$UNIT"; sctl start "$UNIT"
	c timeout 10 cat "$M/slack/access_token" >/dev/null 2>&1     # listed at the root from now on
	if healthy; then info "recovered: a fresh mount, id $(mountid)"; return 0; fi
	fail "cannot recover the unit for the next item"
	finish
}

finish() {
	c journalctl -u "$UNIT" -o short-precise --no-pager >"$S/journal.txt" 2>&1
	c journalctl -u cfs-emulator -o short-precise --no-pager >"$S/emulator.txt" 2>&1
	[ -z "$FIGURES" ] || printf 'figures:\n%s' "$FIGURES"
	say "check-systemd: $PASSED passed, $FAILED failed (logs: $S)"
	[ "$FAILED" = 0 ]
	exit
}

# load_start PHASE COLD_RANGE: four readers in the container, until load_stop.
load_start() {
	PHASE=$1
	rm -f "$ROOT$W/stop-$PHASE"
	# shellcheck disable=SC2086
	load run --mount "$M" --out "$W/$PHASE" --stop-file "$W/stop-$PHASE" \
		--cold-range "$2" ${CFS_SYSTEMD_LOAD_OPTS:-} >"$S/$PHASE.load.log" 2>&1 &
	LOAD_PID=$!
	if ! wait_for 15 test -e "$ROOT$W/$PHASE/ready"; then
		fail "$PHASE: the readers did not start (see $S/$PHASE.load.log)"
		return 1
	fi
	sleep 1                                          # a second of load before the event
}

# load_stop: stop the readers; 1 if they do not end (then they are reported hung).
load_stop() {
	touch "$ROOT$W/stop-$PHASE"
	if ! wait_for 30 test -e "$ROOT$W/$PHASE/summary.json"; then
		kill "$LOAD_PID" 2>/dev/null
		LOAD_PID=
		return 1
	fi
	wait "$LOAD_PID" 2>/dev/null
	LOAD_PID=
	cp "$ROOT$W/$PHASE/summary.json" "$S/$PHASE.summary.json"
}

# analyze SINCE [TIMELINE-FROM TIMELINE-TO]: sets the L_* figures of the last load.
analyze() {
	local out
	out=$(host_py analyze "$S/$PHASE.summary.json" --since "$1" \
		${2:+--timeline "$2" "$3"} 2>"$S/$PHASE.analysis.txt") || {
		fail "$PHASE: cannot analyze $S/$PHASE.summary.json"; return 1; }
	eval "$out"
	printf '%s\n' "$out" >>"$S/$PHASE.analysis.txt"
	sed 's/^/      /' "$S/$PHASE.analysis.txt" | grep -v '^      L_'
}

say "check-systemd: scratch and logs in $S"

# ---- build, stage, boot ------------------------------------------------------------------------
if ! ${MAKE:-make} --no-print-directory install DESTDIR="$S/stage" PREFIX=/usr/local \
	>"$S/install.log" 2>&1; then
	cat "$S/install.log"; fail "make install DESTDIR=$S/stage"; exit 1
fi
"$TOOL" stop >/dev/null 2>&1
if ! "$TOOL" start >"$S/container.log" 2>&1; then
	cat "$S/container.log"; fail "systemd container did not boot"; exit 1
fi
info "$(c systemctl --version | head -1); kernel $(uname -r)"

"$TOOL" copy "$S/stage/usr/local/bin/connectorfs" /usr/local/bin/connectorfs
"$TOOL" copy "$S/stage/usr/local/lib/systemd/system/connectorfs.service" \
	/usr/local/lib/systemd/system/connectorfs.service
"$TOOL" copy scripts/emulator.py "$W/emulator.py"
"$TOOL" copy scripts/systemd_load.py "$W/systemd_load.py"
mkdir -p "$ROOT/etc/connectorfs" "$ROOT/etc/systemd/system/connectorfs.service.d"
chmod 0700 "$ROOT/etc/connectorfs"
install -m 0600 /dev/null "$ROOT/etc/connectorfs/service-token"
printf 'cfs-systemd-%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" \
	>"$ROOT/etc/connectorfs/service-token"
# The test's only change to the unit: where the API is, and the app.
cat >"$ROOT/etc/systemd/system/connectorfs.service.d/test.conf" <<EOF
[Unit]
Wants=cfs-emulator.service
After=cfs-emulator.service
[Service]
Environment=BASE44_API_URL=http://127.0.0.1:$PORT
Environment=BASE44_APP_ID=$APP
EOF
c systemctl daemon-reload
c systemd-run --quiet --unit=cfs-emulator -p Restart=no python3 "$W/emulator.py" --port "$PORT" \
	--app-id "$APP" --service-token-file /etc/connectorfs/service-token
if ! wait_for 10 c python3 -c "import urllib.request as u; \
u.urlopen('http://127.0.0.1:$PORT/_control/health', timeout=1)" 2>/dev/null; then
	fail "the emulator did not start"; c journalctl -u cfs-emulator --no-pager | tail; exit 1
fi
load seed --count 1000 --keep 10 >"$S/seed.log" 2>&1 || {
	cat "$S/seed.log"; fail "seeding the emulator"; exit 1; }
info "unit: $(c systemctl show -p FragmentPath --value $UNIT) + drop-in test.conf" \
	"(BASE44_API_URL, BASE44_APP_ID); emulator with 1016 connections"

# ---- 1. start ----------------------------------------------------------------------------------
say "== 1. systemctl start $UNIT"
t=$(now)
sctl start "$UNIT"; rc=$?
start_ms=$(ms_since "$t")
state=$(c systemctl is-active "$UNIT")
verdict "1a start" "$([ $rc = 0 ] && [ "$state" = active ]; echo $?)" \
	"systemctl start exit $rc in $start_ms ms, is-active $state"
val=$(c timeout 10 cat "$M/slack/access_token" 2>&1)
verdict "1b read" "$([ "$val" = xoxb-demo-slack-token-0001 ]; echo $?)" \
	"$M/slack/access_token read ($(printf %s "$val" | wc -c) bytes)"
nfd=$(c systemctl show -p NFileDescriptorStore --value "$UNIT")
verdict "1c fd store" "$([ "$nfd" = 2 ]; echo $?)" \
	"NFileDescriptorStore=$nfd (fuse + state)"
mid1=$(mountid)
info "mount id $mid1, MainPID $(mainpid), status: pid supervisor_pid takeovers = $(status)"
if [ "$rc" != 0 ] || [ "$val" != xoxb-demo-slack-token-0001 ]; then
	c journalctl -u "$UNIT" --no-pager | tail -20
	say "check-systemd: the unit does not start; stopping here"; exit 1
fi

# ---- 2. kill -9 of the server ------------------------------------------------------------------
say "== 2. kill -9 of the server, under load"
read -r spid _ stk <<<"$(status)"
main0=$(mainpid)
mid0=$(mountid)
load_start p2 0:200
at kill -9 "$spid"; t=$T_AT
new_server() { read -r p _ k <<<"$(status)"; [ "$p" != "$spid" ] && [ "$k" = $((stk + 1)) ]; }
wait_for 15 new_server; took=$?
sleep 2
load_stop; lrc=$?
read -r spid2 _ stk2 <<<"$(status)"
analyze "$t" -0.5 1.5
KILLED=$spid journal p2 "$t" "2f"
verdict "2a readers" "$([ $lrc = 0 ] && [ "$L_FAILURES" = 0 ] && [ "$L_HUNG" = 0 ]; echo $?)" \
	"$L_FAILURES failures in $L_OPS ops ($L_ERRNOS), $L_COLD cold reads, hung $L_HUNG"
verdict "2b stall" "$(lt "$L_MAX_MS" $STALL_MS; echo $?)" \
	"longest op $L_MAX_MS ms ($L_MAX_OP, started at ${L_MAX_AT_MS} ms from the kill)"
mid=$(mountid)
verdict "2c mount" "$([ "$mid" = "$mid0" ]; echo $?)" "mount id $mid0 -> $mid"
m=$(mainpid); st=$(c systemctl is-active "$UNIT")
verdict "2d unit" "$([ "$st" = active ] && [ "$m" = "$main0" ]; echo $?)" \
	"is-active $st, MainPID $main0 -> $m"
figure "2 kill -9 server"
verdict "2e takeover" "$([ $took = 0 ] && [ "$stk2" = $((stk + 1)) ] && [ "$spid2" != "$spid" ]; \
	echo $?)" "server $spid -> ${spid2:-?}, takeovers $stk -> ${stk2:-?}"
recover

# ---- 3. kill -9 of the main process ------------------------------------------------------------
say "== 3. kill -9 of the main process (the keeper), under load"
KEEP="k00/access_token k01/access_token k02/connectionConfig/region k03/connection.json"
KEEP="$KEEP share_point/connectionConfig/subdomain"
# shellcheck disable=SC2086
c timeout 20 python3 "$W/systemd_load.py" snapshot --mount "$M" $KEEP >"$S/p3.before.json" || fail "3: snapshot before"
main0=$(mainpid)
mid0=$(mountid)
nr0=$(c systemctl show -p NRestarts --value "$UNIT")
read -r spid _ stk <<<"$(status)"
load_start p3 200:400
at kill -9 "$main0"; t=$T_AT
restarted() {
	local m
	m=$(mainpid)
	[ -n "$m" ] && [ "$m" != 0 ] && [ "$m" != "$main0" ] && active &&
		[ "$(status | cut -d' ' -f2)" = "$m" ]
}
wait_for 30 restarted; took=$?
back_ms=$(ms_since "$t")
sleep 2
load_stop; lrc=$?
analyze "$t" -0.5 1.5
journal p3 "$t" "3f"
m=$(mainpid); nr=$(c systemctl show -p NRestarts --value "$UNIT"); st=$(c systemctl is-active "$UNIT")
verdict "3a restart" "$([ $took = 0 ] && [ "$m" != "$main0" ] && [ "$st" = active ] && \
	[ "$nr" = $((nr0 + 1)) ]; echo $?)" \
	"MainPID $main0 -> $m, NRestarts $nr0 -> $nr, is-active $st (back within $back_ms ms)"
mid=$(mountid)
verdict "3b mount" "$([ "$mid" = "$mid0" ]; echo $?)" "mount id $mid0 -> $mid"
verdict "3c readers" "$([ $lrc = 0 ] && [ "$L_FAILURES" = 0 ] && [ "$L_HUNG" = 0 ]; echo $?)" \
	"$L_FAILURES failures in $L_OPS ops ($L_ERRNOS), $L_COLD cold reads, hung $L_HUNG"
over=$(awk -v a="$L_MAX_MS" -v b=$STALL_MS 'BEGIN { printf "%.0f", a - b }')
verdict "3d stall" "$(lt "$L_MAX_MS" $STALL_MS; echo $?)" \
	"longest op $L_MAX_MS ms ($L_MAX_OP, started at ${L_MAX_AT_MS} ms from the kill)$(
	lt "$L_MAX_MS" $STALL_MS || printf ', %s ms over %s ms' "$over" "$STALL_MS")"
# shellcheck disable=SC2086
c timeout 20 python3 "$W/systemd_load.py" snapshot --mount "$M" $KEEP >"$S/p3.after.json" || fail "3: snapshot after"
same=$(python3 - "$S/p3.before.json" "$S/p3.after.json" <<'EOF'
import json, sys
try:
    b, a = (json.load(open(p)) for p in sys.argv[1:3])
except ValueError:
    print("(a snapshot could not be read: see above)")
    sys.exit(1)
diff = [f for f in b["files"] if a["files"].get(f) != b["files"][f]]
req = {n: a["counts"].get(n, 0) - c for n, c in b["counts"].items() if a["counts"].get(n, 0) != c}
print("%d files, %d differ%s; new API requests for them: %s"
      % (len(b["files"]), len(diff), (" (" + " ".join(diff) + ")") if diff else "",
         req or "none"))
sys.exit(1 if diff or req else 0)
EOF
); rc=$?
verdict "3e values" "$rc" "the values read before the kill, read after it: $same"
J=$S/p3.journal.txt
tl="main exited $(at_ms "$J" 'Main process exited') ms, restart scheduled $(at_ms "$J" \
'Scheduled restart job') ms, Starting $(at_ms "$J" 'Starting connectorfs') ms, store taken back $(
at_ms "$J" 'back from systemd') ms, server replaying INIT $(at_ms "$J" 'replaying its INIT') ms,"
tl="$tl Started $(at_ms "$J" 'Started connectorfs') ms (from the kill)"
info "3 timeline: $tl"
figure "3 kill -9 MainPID" "$tl"
recover

# ---- 4. systemctl reload -----------------------------------------------------------------------
say "== 4. systemctl reload, under load"
read -r spid _ stk <<<"$(status)"
main0=$(mainpid)
mid0=$(mountid)
rm -f "$ROOT$W/stop-poll"
c bash -c "while [ ! -e $W/stop-poll ]; do systemctl is-active $UNIT; done" \
	>"$S/p4.poll.txt" 2>&1 &
POLL_PID=$!
load_start p4 400:600
at timeout 150 systemctl reload "$UNIT" >"$S/p4.reload.txt" 2>&1; rrc=$?; t=$T_AT
reload_ms=$(ms_since "$t")
sleep 2
touch "$ROOT$W/stop-poll"
load_stop; lrc=$?
wait "$POLL_PID" 2>/dev/null; POLL_PID=
read -r spid2 _ stk2 <<<"$(status)"
analyze "$t" -0.5 1.5
journal p4 "$t" "4g"
polls=$(sort "$S/p4.poll.txt" | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }')
bad=$(grep -cvxE 'active|reloading' "$S/p4.poll.txt")
verdict "4a reload" "$([ $rrc = 0 ]; echo $?)" \
	"systemctl reload exit $rrc in $reload_ms ms ($(tr '\n' ' ' <"$S/p4.reload.txt"))"
verdict "4b active" "$([ "$bad" = 0 ] && [ -s "$S/p4.poll.txt" ]; echo $?)" \
	"systemctl is-active polled throughout: $polls"
mid=$(mountid)
verdict "4c mount" "$([ "$mid" = "$mid0" ]; echo $?)" "mount id $mid0 -> $mid"
verdict "4d readers" "$([ $lrc = 0 ] && [ "$L_FAILURES" = 0 ] && [ "$L_HUNG" = 0 ]; echo $?)" \
	"$L_FAILURES failures in $L_OPS ops ($L_ERRNOS), $L_COLD cold reads, hung $L_HUNG"
verdict "4e stall" "$(lt "$L_MAX_MS" $STALL_MS; echo $?)" \
	"longest op $L_MAX_MS ms ($L_MAX_OP, started at ${L_MAX_AT_MS} ms from the reload)"
m=$(mainpid)
figure "4 reload" "systemctl reload took $reload_ms ms"
verdict "4f takeover" "$([ "$spid2" != "$spid" ] && [ "$stk2" = $((stk + 1)) ] && \
	[ "$m" = "$main0" ]; echo $?)" \
	"server $spid -> ${spid2:-?}, takeovers $stk -> ${stk2:-?}, MainPID $main0 -> $m"
recover

# ---- 5. systemctl stop -------------------------------------------------------------------------
say "== 5. systemctl stop, under load; then start"
mid0=$(mountid)
load_start p5 600:800
at timeout 150 systemctl stop "$UNIT" >"$S/p5.stop.txt" 2>&1; src=$?; t=$T_AT
stop_ms=$(ms_since "$t")
sleep 2
load_stop; lrc=$?
analyze "$t" -0.5 1.5
journal p5 "$t" "5g"
st=$(c systemctl is-active "$UNIT"); nfd=$(c systemctl show -p NFileDescriptorStore --value "$UNIT")
verdict "5a stop" "$([ $src = 0 ] && [ "$st" = inactive ]; echo $?)" \
	"systemctl stop exit $src in $stop_ms ms, is-active $st, NFileDescriptorStore=$nfd"
mid=$(mountid)
ls_out=$(c timeout 10 ls -la "$M" 2>&1); lsrc=$?
verdict "5b unmounted" "$([ "$mid" = none ] && [ $lsrc = 0 ]; echo $?)" \
	"mount id $mid0 -> $mid; ls $M exit $lsrc: $(printf %s "$ls_out" | tail -n +2 | wc -l) entries$(
	printf %s "$ls_out" | grep -i 'not connected' | head -1)"
bad=$(printf %s "$L_ERRNOS" | tr ',' '\n' |
	grep -vE '^(ENOENT|ENOTCONN|ECONNABORTED|EINTR|MISSING_ENTRY):|^none$' | tr '\n' ' ')
verdict "5c errors" "$([ "$L_FAILURES" -gt 0 ] && [ "$L_FAILURES_BEFORE" = 0 ]; echo $?)" \
	"readers saw $L_FAILURES failures, $L_FAILURES_BEFORE before the stop ($L_ERRNOS;" \
	"MISSING_ENTRY: the bare folder listed without slack)"
verdict "5d errnos" "$([ -z "$bad" ]; echo $?)" "$(if [ -z "$bad" ]; then
	echo "every failure is ENOENT or ENOTCONN (or ECONNABORTED/EINTR in flight)"; else
	printf 'not ENOENT/ENOTCONN/ECONNABORTED/EINTR: %s(see %s)' "$bad" "$S/p5.analysis.txt"; fi)"
verdict "5e no hang" "$([ $lrc = 0 ] && [ "$L_HUNG" = 0 ] && lt "$L_MAX_AFTER_MS" $STALL_MS; \
	echo $?)" "hung readers $L_HUNG, longest op from the stop on $L_MAX_AFTER_MS ms" \
	"(0: none over 100 ms), readers ended ${L_EXIT_WAIT_MS} ms after told"
figure "5 stop" "systemctl stop took $stop_ms ms"
t=$(now)
sctl start "$UNIT"; rc=$?
state=$(c systemctl is-active "$UNIT")
mid5=$(mountid)
val=$(c timeout 10 cat "$M/slack/access_token" 2>&1)
verdict "5f start" "$([ $rc = 0 ] && [ "$state" = active ] && [ "$mid5" != none ] && \
	[ "$mid5" != "$mid0" ] && [ "$val" = xoxb-demo-slack-token-0001 ]; echo $?)" \
	"systemctl start exit $rc in $(ms_since "$t") ms, is-active $state, fresh mount id $mid5," \
	"status: pid supervisor_pid takeovers = $(status)"

# ---- 6. systemctl restart (documented, not judged) -------------------------------------------
say "== 6. systemctl restart, under load (what readers see; not a pass/fail item)"
mid0=$(mountid)
main0=$(mainpid)
load_start p6 800:1000
at timeout 150 systemctl restart "$UNIT"; rrc=$?; t=$T_AT
restart_ms=$(ms_since "$t")
sleep 2
load_stop; lrc=$?
analyze "$t" -0.5 2.5
journal p6 "$t" 6 info_verdict
info "RESULT 6: systemctl restart exit $rrc in $restart_ms ms; MainPID $main0 -> $(mainpid);" \
	"is-active $(c systemctl is-active $UNIT); mount id $mid0 -> $(mountid)"
info "RESULT 6: readers: $L_FAILURES failures in $L_OPS ops ($L_FAILKINDS);" \
	"first at $L_FAIL_FIRST_MS ms, last ended at $L_FAIL_LAST_MS ms from the restart;" \
	"longest op $L_MAX_MS ms ($L_MAX_OP); hung $L_HUNG (load exit $lrc)"

figure "6 restart (info)" "mount id $mid0 -> $(mountid)"
finish
