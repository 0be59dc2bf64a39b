#!/usr/bin/env bash
# Peak memory (VmHWM) of the console after walking every view, in tmux (issue 8, benchmark 4).
#
#   scripts/peak-rss.sh DATABASE_URL      # e.g. the 1M-row database of `opsdeck bench refresh`
#
# The console (release build, read-only) runs at COLS x ROWS (default 240x70). The script visits
# each of the nine views (keys 1…9), waits for its data, scrolls to the end of the loaded page
# (which loads the next page), opens the first row's detail where there is one, then reads
# VmHWM and VmRSS from /proc/PID/status. Target (issue 8): ≤ 30 MB on the 1M-row database.
set -euo pipefail
cd "$(dirname "$0")/.."
url=${1:?usage: scripts/peak-rss.sh DATABASE_URL}
cols=${COLS:-240}
rows=${ROWS:-70}
bin=${BIN:-$PWD/target/release/opsdeck}
[[ -x $bin ]] || cargo build --release -q --bin opsdeck
sock=opsdeck-rss-$$
trap 'tmux -L "$sock" kill-server 2>/dev/null || true' EXIT
tmux -L "$sock" new-session -d -s m -x "$cols" -y "$rows" \
  "exec env -u DATABASE_URL TERM=xterm-256color $bin --read-only --database-url '$url'"
pid=$(tmux -L "$sock" display -p -t m '#{pane_pid}')
settle() { # until the status bar says "updated" without the busy mark
  for _ in $(seq 600); do
    s=$(tmux -L "$sock" capture-pane -p -t m 2>/dev/null || true)
    if [[ $s == *"updated "* && $s != *"⟳"* ]]; then return 0; fi
    sleep 0.1
  done
  echo "a view did not finish loading within 60 s" >&2
}
keys() { tmux -L "$sock" send-keys -t m "$@"; }
settle
hwm() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }
echo "start: VmHWM $(hwm) kB"
for v in 1 2 3 4 5 6 7 8 9; do
  keys "$v"; sleep 0.3; settle
  keys G; sleep 0.5; settle   # the end of the page: loads the next one
  keys g; sleep 0.2
  keys Enter; sleep 0.5; settle
  keys Escape; sleep 0.2
  echo "view $v: VmHWM $(hwm) kB"
done
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
peak=$(hwm)
keys q
echo "peak_rss_kb=$peak rss_kb=$rss (${cols}x${rows})"
