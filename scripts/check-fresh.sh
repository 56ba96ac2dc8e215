#!/bin/sh
# make check-fresh: the README's first commands, each on a fresh Debian 12 root, as a newcomer
# on a new machine runs them: `make demo` (then `cat mnt/slack/access_token` must print a token,
# then `make demo-stop`) in one root, `make check` in another. Each root is a minbase debootstrap
# of bookworm plus git, ca-certificates and make (cached as a tarball in /tmp, so only the first
# run downloads it), the project is cloned inside from this repository's committed HEAD, and the
# command runs in a chroot with an empty environment, so nothing installed here leaks in.
# Binds and copies are always removed; only processes started in a copy are ever stopped.
#
# Usage (as root): scripts/check-fresh.sh [demo] [check]        (default: both)
#   CHECK_FRESH_CACHE=FILE   the cached root (default /tmp/connectorfs-fresh-bookworm.tar)
#   CHECK_FRESH_REBUILD=1    debootstrap again even when the cache exists
# Logs: /tmp/connectorfs-fresh-debootstrap.log, /tmp/connectorfs-fresh-{demo,check}.log
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${CHECK_FRESH_CACHE:-/tmp/connectorfs-fresh-bookworm.tar}
suite=bookworm
path_in_root=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
proj_in_root=/root/connectorfs
tests=${*:-demo check}

say() { echo "check-fresh: $*"; }
die() { echo "check-fresh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and bind mounts)"
for t in $tests; do
	case $t in demo | check) ;; *) die "unknown test '$t' (demo, check)" ;; esac
done
[ -d "$top/.git" ] || die "$top is not the main checkout of a git repository"
rev=$(git -C "$top" rev-parse --short HEAD)
if [ -n "$(git -C "$top" status --porcelain --untracked-files=no)" ]; then
	say "note: uncommitted changes in $top are not tested (the clone is of HEAD, $rev)"
fi

# The first URI apt on this machine uses for SUITE of the Debian archive (a "deb" source with
# the component main), from sources.list and sources.list.d in one-line or deb822 form.
host_uri() {
	set -- /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
	files=""
	for f; do [ -f "$f" ] && files="$files $f"; done
	[ -n "$files" ] || return 0
	# shellcheck disable=SC2086
	awk -v want="$suite_wanted" '
	function has(list, word,   n, i, w) {
		n = split(list, w, " ")
		for (i = 1; i <= n; i++) if (w[i] == word) return 1
		return 0
	}
	function flush(   u) {
		if (!found && has(types, "deb") && has(suites, want) && has(comps, "main") &&
		    enabled != "no") {
			split(uris, u, " "); print u[1]; found = 1
		}
		types = uris = suites = comps = enabled = ""
	}
	FNR == 1 { flush() }
	found { next }
	FILENAME ~ /\.sources$/ {
		if ($0 ~ /^[ \t]*$/) { flush(); next }
		if ($0 ~ /^[ \t#]/ || index($0, ":") == 0) next
		key = tolower(substr($0, 1, index($0, ":") - 1))
		val = substr($0, index($0, ":") + 1)
		if (key == "types") types = val; else if (key == "uris") uris = val
		else if (key == "suites") suites = val; else if (key == "components") comps = val
		else if (key == "enabled") enabled = tolower(val)
		next
	}
	{
		line = $0; sub(/#.*/, "", line); gsub(/\[[^]]*\]/, "", line)
		n = split(line, f, " ")
		if (n >= 4 && f[1] == "deb" && f[3] == want) {
			for (i = 4; i <= n; i++) if (f[i] == "main") { print f[2]; found = 1; next }
		}
	}
	END { flush() }' $files
}
suite_wanted=$suite; mirror=$(host_uri)
suite_wanted=$suite-updates; updates=$(host_uri)
suite_wanted=$suite-security; security=$(host_uri)
[ -n "$mirror" ] || die "no 'deb ... $suite main' source in /etc/apt/sources.list(.d) to debootstrap from"

fmt_time() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# Unmounts everything below $1 (deepest first), then deletes it, and only when nothing is
# mounted there any more: a bind still in place would delete this machine's /dev or /sys.
remove_root() {
	r=$1
	[ -d "$r" ] || return 0
	# Processes still running in the copy (an emulator, a daemon) were started by this script.
	for sig in TERM KILL; do
		left=""
		for p in /proc/[0-9]*; do
			if [ "$(readlink "$p/root" 2>/dev/null)" = "$r" ]; then
				kill -s "$sig" "${p#/proc/}" 2>/dev/null || true
				left=1
			fi
		done
		[ -z "$left" ] || sleep 1
	done
	mounts_below "$r" | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" || true
	done
	if [ -n "$(mounts_below "$r")" ]; then
		echo "check-fresh: still mounted below $r, not deleting it:" >&2
		mounts_below "$r" >&2
		return 1
	fi
	rm -rf --one-file-system "$r"
}
mounts_below() {
	awk -v r="$1" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo
}

roots=""
cleanup() {
	for r in $roots; do remove_root "$r" || true; done
	roots=""
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The cached root: debootstrap once, then a tarball. Its apt sources are those a Debian 12
# installation writes (the release, -updates and -security), from this machine's mirrors.
build_cache() {
	if ! command -v debootstrap >/dev/null 2>&1; then
		say "installing debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1 || {
			apt-get update -qq &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
		} || die "could not install debootstrap"
	fi
	base=$(mktemp -d /tmp/connectorfs-fresh-base.XXXXXX)
	roots="$roots $base"
	say "debootstrap $suite (minbase + git, ca-certificates, make) from $mirror"
	log=/tmp/connectorfs-fresh-debootstrap.log
	if ! debootstrap --variant=minbase --include=git,ca-certificates,make \
		"$suite" "$base" "$mirror" >"$log" 2>&1; then
		tail -n 15 "$log" >&2
		die "debootstrap failed (log $log)"
	fi
	{
		echo "deb $mirror $suite main"
		[ -z "$updates" ] || echo "deb $updates $suite-updates main"
		[ -z "$security" ] || echo "deb $security $suite-security main"
	} >"$base/etc/apt/sources.list"
	rm -rf "$base/var/cache/apt/archives/"*.deb
	tar -C "$base" --numeric-owner -cpf "$cache.tmp" .
	mv "$cache.tmp" "$cache"
	echo "$mirror" >"$cache.mirror"
	remove_root "$base"
	roots=""
}

start=$(date +%s)
if [ "${CHECK_FRESH_REBUILD:-0}" = 1 ] || [ ! -s "$cache" ] ||
	[ "$(cat "$cache.mirror" 2>/dev/null)" != "$mirror" ]; then
	build_cache
	say "cached the root in $cache ($(fmt_time $(($(date +%s) - start))))"
else
	say "using the cached root $cache (CHECK_FRESH_REBUILD=1 makes it again)"
fi

# prepare_root DIR: a fresh copy of the root in DIR with /dev, /dev/pts, /proc and /sys
# bound in and the project cloned at $proj_in_root. DIR is a mount point of its own, as /
# is on a real machine (tests that make a mount namespace need it); its mounts are private,
# so nothing mounted in the copy shows up outside, nor the reverse.
prepare_root() {
	r=$1
	tar -C "$r" --numeric-owner -xpf "$cache" || return 1
	# / as on a real machine (mktemp made it 0700): users such as _apt must get through.
	chmod 0755 "$r"
	mount --bind "$r" "$r" && mount --make-private "$r" || return 1
	for d in dev dev/pts proc sys; do
		mount --bind "/$d" "$r/$d" || return 1
	done
	mount --make-rprivate "$r" || return 1
	cp /etc/resolv.conf "$r/etc/resolv.conf" || return 1
	# The repository, read-only, at its own path, for `git clone PATH`; removed after.
	made=""
	d=$top
	while [ ! -e "$r$d" ]; do made=$d; d=$(dirname "$d"); done
	mkdir -p "$r$top" && mount --bind -o ro "$top" "$r$top" && mount --make-private "$r$top" ||
		return 1
	# git refuses to read a repository its user does not own, unless a global config says so.
	gitconfig=/dev/null
	if [ "$(stat -c %u "$top")" != 0 ]; then
		printf '[safe]\n\tdirectory = %s\n' "$top" >"$r/tmp/clone.gitconfig"
		gitconfig=/tmp/clone.gitconfig
	fi
	ok=1
	in_root "$r" / "GIT_CONFIG_GLOBAL=$gitconfig git clone -q --no-hardlinks $top $proj_in_root" ||
		ok=0
	rm -f "$r/tmp/clone.gitconfig"
	umount "$r$top"
	d=$top
	while [ -n "$made" ]; do
		rmdir "$r$d"
		[ "$d" != "$made" ] || break
		d=$(dirname "$d")
	done
	[ "$ok" = 1 ] || return 1
	got=$(in_root "$r" "$proj_in_root" "git rev-parse --short HEAD")
	[ "$got" = "$rev" ] || { echo "check-fresh: the clone is at $got, not $rev" >&2; return 1; }
}

# in_root ROOT DIR COMMAND: COMMAND in the root, in DIR, with an empty environment.
in_root() {
	env -i PATH="$path_in_root" HOME=/root chroot "$1" /bin/sh -c "cd $2 && $3"
}

# run_logged ROOT COMMAND LOG: COMMAND in the project, its output shown as it comes and kept.
# The output is followed in the log, not through a pipe, so that a daemon the command leaves
# running with the pipe open cannot hang this script; and the script waits with `wait`, which
# a signal interrupts (its trap then stops what runs in the copy), not on a foreground pipeline.
run_logged() {
	echo "### $2" >>"$3"
	in_root "$1" "$proj_in_root" "$2" >>"$3" 2>&1 &
	pid=$!
	tail -n +1 -f --pid="$pid" "$3" 2>/dev/null | sed -u 's/^/  | /' &
	follower=$!
	rc=0
	wait "$pid" || rc=$?
	wait "$follower" || true
	return "$rc"
}

summary=""
failed=0
add() { summary="$summary$(printf '  %-11s %-6s %8s  %s' "$1" "$2" "$3" "$4")
"; }

for t in $tests; do
	log=/tmp/connectorfs-fresh-$t.log
	: >"$log"
	t0=$(date +%s)
	say "[$t] a fresh copy of the root, the project cloned in it"
	r=$(mktemp -d /tmp/connectorfs-fresh.XXXXXX)
	roots="$roots $r"
	if ! prepare_root "$r"; then
		add "make $t" FAILED - "could not prepare the root"
		failed=1
		cleanup
		continue
	fi
	ready=$(($(date +%s) - t0))
	say "[$t] root ready in $(fmt_time $ready); running as in the README (log $log)"
	t1=$(date +%s)
	case $t in
	demo)
		if run_logged "$r" "make demo" "$log"; then
			took=$(($(date +%s) - t1))
			token=$(in_root "$r" "$proj_in_root" "cat mnt/slack/access_token" 2>>"$log") || token=""
			if [ -n "$token" ]; then
				note="mnt/slack/access_token: $(printf %.12s "$token")... (${#token} bytes)"
				status=ok
			else
				note="cat mnt/slack/access_token printed no token"
				status=FAILED
			fi
			if run_logged "$r" "make demo-stop" "$log"; then
				if [ -n "$(mounts_below "$r$proj_in_root/mnt")" ]; then
					note="$note; mnt still mounted after make demo-stop"
					status=FAILED
				else
					note="$note; make demo-stop ok"
				fi
			else
				note="$note; make demo-stop FAILED"
				status=FAILED
			fi
		else
			took=$(($(date +%s) - t1))
			status=FAILED
			note="make demo failed, see $log"
		fi
		;;
	check)
		if run_logged "$r" "make check" "$log"; then
			status=ok
		else
			status=FAILED
		fi
		took=$(($(date +%s) - t1))
		note=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
		[ -n "$note" ] || note="no test summary, see $log"
		;;
	esac
	[ "$status" = ok ] || failed=1
	add "make $t" "$status" "$(fmt_time "$took")" "$note (root ready in $(fmt_time "$ready"))"
	cleanup
done

echo
say "summary (Debian $suite minbase from $mirror, connectorfs $rev; root copy and clone not timed)"
printf '%s' "$summary"
if [ "$failed" -ne 0 ]; then
	say "FAILED"
	exit 1
fi
say "all passed in $(fmt_time $(($(date +%s) - start)))"
