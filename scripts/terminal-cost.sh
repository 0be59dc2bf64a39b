#!/usr/bin/env bash
# Terminal cost of the console (issue 8, benchmark 3), on a fixed Postgres database, in tmux.
#
#   scripts/terminal-cost.sh [DATABASE_URL]
#
# DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/opsdeck_termcost. If that database
# has no rows it is filled once with `opsdeck bench refresh --rows 10000` (never on real data: the
# script only fills an empty database). Environment: COLS/ROWS (screen size, default 160x48),
# IDLE_S (idle CPU window, default 60), CHANGES (counter changes, default 20), BIN (the binary;
# default target/release/opsdeck, built if missing), PSQL (default psql).
#
# What it reports:
#   1. bytes written to the terminal per refresh when one counter changes: a workflow is paused or
#      resumed every 2 s (the overview's "paused" counter), the console's raw output is captured
#      with tmux pipe-pane, and the idle output rate (measured first, same length) is subtracted;
#   2. the same for `watch -n2 psql -c …` showing that counter at the same screen size;
#   3. idle CPU of the console over IDLE_S seconds (utime+stime from /proc/PID/stat), in % of one
#      core, and the bytes it wrote while idle.
# Targets (issue 8): ≤ 100 bytes per refresh, ≤ 0.5 % of a core idle; (issue 20) idle output
# ≤ 10 bytes/s at 160x48, as quiet as `watch -n2`. The last line is machine-readable:
#   idle_bytes_per_s=… bytes_per_change=… idle_cpu_pct=… watch_idle_bytes_per_s=… …
set -euo pipefail
cd "$(dirname "$0")/.."
url=${1:-postgres://postgres@127.0.0.1:5432/opsdeck_termcost}
cols=${COLS:-160}
rows=${ROWS:-48}
idle_s=${IDLE_S:-60}
changes=${CHANGES:-20}
psql=${PSQL:-psql}
bin=${BIN:-$PWD/target/release/opsdeck}
[[ -x $bin ]] || cargo build --release -q --bin opsdeck

# the fixed database: created and filled once
. scripts/fixed-db.sh
fixed_db
wf=$($psql "$url" -XAtqc "SELECT id FROM workflows ORDER BY name LIMIT 1")
toggle() {
  $psql "$url" -XAtqc "UPDATE workflows SET status = CASE status WHEN 'paused' THEN 'active' ELSE 'paused' END, updated_at = now() WHERE id = '$wf'" >/dev/null
}

work=$(mktemp -d)
sock=opsdeck-termcost-$$
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

size() { stat -c %s "$1"; }
# start CMD in a pane of COLS x ROWS with its raw output going to $work/$2
start() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  : >"$work/$2"
  tmux -L "$sock" new-session -d -s m -x "$cols" -y "$rows" "$1"
  tmux -L "$sock" pipe-pane -o -t m "cat >>'$work/$2'"
}
wait_for() { # text on screen
  for _ in $(seq 300); do
    tmux -L "$sock" capture-pane -p -t m 2>/dev/null | grep -q "$1" && return 0
    sleep 0.1
  done
  echo "timed out waiting for '$1' on screen" >&2
  tmux -L "$sock" capture-pane -p -t m >&2 || true
  return 1
}
# bytes per refresh: idle rate over the same span first, then one change every 2 s
per_refresh() { # $1 = raw file; prints "bytes_per_refresh idle_bytes_per_s"
  local span=$((changes * 2)) a b c
  a=$(size "$1"); sleep "$span"; b=$(size "$1")
  for _ in $(seq "$changes"); do toggle; sleep 2; done
  c=$(size "$1")
  awk -v a="$a" -v b="$b" -v c="$c" -v n="$changes" -v s="$span" \
    'BEGIN { idle = (b - a) / s; printf "%.0f %.1f\n", ((c - b) - idle * s) / n, idle }'
}

# 1. the console
start "exec env -u DATABASE_URL TERM=xterm-256color $bin --read-only --database-url '$url'" console.raw
wait_for "up to date\|updated"
sleep 3
pid=$(tmux -L "$sock" display -p -t m '#{pane_pid}')
read -r console_bpr console_idle_bps < <(per_refresh "$work/console.raw")

# 3. idle CPU (no changes) from /proc/PID/stat: fields 14 and 15 are utime and stime in ticks
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
sleep 3
b0=$(size "$work/console.raw"); c0=$(cpu); t0=$(date +%s%N)
sleep "$idle_s"
c1=$(cpu); t1=$(date +%s%N); b1=$(size "$work/console.raw")
idle_pct=$(awk -v c="$((c1 - c0))" -v hz="$tick" -v ns="$((t1 - t0))" 'BEGIN { printf "%.2f", 100 * (c / hz) / (ns / 1e9) }')
idle_bytes=$((b1 - b0))
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
tmux -L "$sock" send-keys -t m q
sleep 0.5

# 2. watch + psql at the same size
start "exec watch -n2 $psql '$url' -Xc \"SELECT status, count(*) FROM workflows GROUP BY status ORDER BY status\"" watch.raw
wait_for "count"
sleep 3
read -r watch_bpr watch_idle_bps < <(per_refresh "$work/watch.raw")

echo "screen ${cols}x${rows}, $changes changes of one counter, one every 2 s"
echo "console: ${console_bpr} bytes per refresh (idle output ${console_idle_bps} bytes/s)"
echo "watch -n2 psql -c: ${watch_bpr} bytes per refresh (idle output ${watch_idle_bps} bytes/s)"
echo "console idle over ${idle_s} s: ${idle_pct} % of one core, ${idle_bytes} bytes written, peak RSS ${rss_kb} kB"
idle_bps=$(awk -v b="$idle_bytes" -v s="$idle_s" 'BEGIN { printf "%.1f", b / s }')
# the last line, for scripts (issue 20): idle output, bytes per changed counter, idle CPU
echo "idle_bytes_per_s=${idle_bps} bytes_per_change=${console_bpr} idle_cpu_pct=${idle_pct} watch_idle_bytes_per_s=${watch_idle_bps} watch_bytes_per_change=${watch_bpr} cols=${cols} rows=${rows}"
