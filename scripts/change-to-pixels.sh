#!/usr/bin/env bash
# Change → pixels (issue 20): from a writer's COMMIT to the frame on the terminal, measured
# through a real terminal (tmux), under a burst of background writes.
#
#   scripts/change-to-pixels.sh [DATABASE_URL]
#
# DATABASE_URL defaults to the terminal-cost database (postgres://…/opsdeck_termcost, filled
# once with 10,000 rows by scripts/terminal-cost.sh if it is empty). Environment: CHANGES
# (measured changes per mode, default 40), RATE (background jobs inserted per second by
# pgbench during the measurement, default 500), COLS/ROWS (160x48), BIN (the release binary).
#
# How: the release console runs read-only in tmux on the Overview. A writer (one psql session
# kept open) pauses or resumes one workflow; the time is taken when psql has the COMMIT's
# answer, and again when `tmux capture-pane` first shows the Overview's "paused" counter
# changed (polled every ~5 ms). Meanwhile pgbench inserts RATE completed jobs a second into
# job_queue (type bench.c2p, deleted at the end), so the console refreshes under a burst.
# Two modes: LISTEN/NOTIFY (the default) and polling every 2 s (`?pooler=transaction`, as
# behind a transaction pooler). The last line is machine-readable:
#   notify_p50_ms=… notify_p95_ms=… poll_p50_ms=… poll_p95_ms=… rate=… changes=…
set -euo pipefail
cd "$(dirname "$0")/.."
url=${1:-postgres://postgres@127.0.0.1:5432/opsdeck_termcost}
cols=${COLS:-160}
rows=${ROWS:-48}
changes=${CHANGES:-40}
rate=${RATE:-500}
psql=${PSQL:-psql}
bin=${BIN:-$PWD/target/release/opsdeck}
pgbench=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
[[ -x $bin ]] || cargo build --release -q --bin opsdeck

# the fixed database: created and filled once
. scripts/fixed-db.sh
fixed_db
wf=$($psql "$url" -XAtqc "SELECT id FROM workflows ORDER BY name LIMIT 1")
wf_status=$($psql "$url" -XAtqc "SELECT status FROM workflows WHERE id = '$wf'")

work=$(mktemp -d)
sock=opsdeck-c2p-$$
bench_pid=
cleanup() {
  [[ -n $bench_pid ]] && kill "$bench_pid" 2>/dev/null || true
  tmux -L "$sock" kill-server 2>/dev/null || true
  $psql "$url" -XAtqc "DELETE FROM job_queue WHERE job_type = 'bench.c2p'" >/dev/null 2>&1 || true
  # the toggled workflow as it was (an odd CHANGES leaves it flipped)
  $psql "$url" -XAtqc "UPDATE workflows SET status = '$wf_status' WHERE id = '$wf'" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "INSERT INTO job_queue (job_type, status, completed_at) VALUES ('bench.c2p', 'completed', now());" >"$work/burst.sql"

screen() { tmux -L "$sock" capture-pane -p -t m 2>/dev/null || true; }
# the Overview's paused counter as shown ("1 paused wf"; "none" when not shown)
paused_on_screen() { screen | grep -o '[0-9,]* paused' | head -n1 || true; }

measure() { # $1 = mode name, $2 = URL for the console; appends latencies (ms) to $work/$1
  tmux -L "$sock" kill-server 2>/dev/null || true
  tmux -L "$sock" new-session -d -s m -x "$cols" -y "$rows" \
    "exec env -u DATABASE_URL TERM=xterm-256color $bin --read-only --database-url '$2'"
  for _ in $(seq 300); do screen | grep -q "up to date\|updated" && break; sleep 0.1; done
  sleep 2
  local n0 b0
  n0=$($psql "$url" -XAtqc "SELECT count(*) FROM job_queue WHERE job_type = 'bench.c2p'")
  b0=$(date +%s%N)
  "$pgbench" -n -f "$work/burst.sql" -R "$rate" -T $((changes * 3 + 30)) -c 4 -j 2 "$url" \
    >"$work/pgbench.$1" 2>&1 &
  bench_pid=$!
  sleep 3
  coproc W { $psql "$url" -XAtq 2>&1; }
  : >"$work/$1"
  for _ in $(seq "$changes"); do
    local before after t0 t1 line
    before=$(paused_on_screen)
    echo "UPDATE workflows SET status = CASE status WHEN 'paused' THEN 'active' ELSE 'paused' END, updated_at = now() WHERE id = '$wf'; SELECT 'committed';" >&"${W[1]}"
    while read -r line <&"${W[0]}"; do [[ $line == committed ]] && break; done
    t0=$(date +%s%N)
    while :; do
      after=$(paused_on_screen)
      [[ $after != "$before" ]] && break
      (( ($(date +%s%N) - t0) > 10000000000 )) && { echo "no change on screen in 10 s" >&2; break; }
    done
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000000 )) >>"$work/$1"
    sleep "0.$((RANDOM % 9 + 1))"
    sleep 1
  done
  echo '\q' >&"${W[1]}" || true
  wait "$W_PID" 2>/dev/null || true
  kill "$bench_pid" 2>/dev/null || true
  wait "$bench_pid" 2>/dev/null || true
  bench_pid=
  # the burst as it was: jobs committed per second while the changes were measured
  local n1 b1
  n1=$($psql "$url" -XAtqc "SELECT count(*) FROM job_queue WHERE job_type = 'bench.c2p'")
  b1=$(date +%s%N)
  awk -v n=$((n1 - n0)) -v ns=$((b1 - b0)) 'BEGIN { printf "%.0f\n", n / (ns / 1e9) }' >"$work/rate.$1"
  tmux -L "$sock" send-keys -t m q
  sleep 0.5
}
pct() { # $1 = file, $2 = quantile → nearest rank
  sort -n "$1" | awk -v q="$2" '{ v[NR] = $1 } END { i = int(q * NR + 0.999999); if (i < 1) i = 1; print v[i] }'
}

sep='?'
[[ $url == *\?* ]] && sep='&'
measure notify "$url"
measure poll "${url}${sep}pooler=transaction"
echo "screen ${cols}x${rows}, $changes changes per mode, background burst asked: ${rate} jobs/s; done: $(cat "$work/rate.notify") jobs/s (notify run), $(cat "$work/rate.poll") jobs/s (poll run)"
for m in notify poll; do
  echo "$m: p50 $(pct "$work/$m" 0.5) ms, p95 $(pct "$work/$m" 0.95) ms, max $(sort -n "$work/$m" | tail -n1) ms"
done
echo "notify_p50_ms=$(pct "$work/notify" 0.5) notify_p95_ms=$(pct "$work/notify" 0.95) poll_p50_ms=$(pct "$work/poll" 0.5) poll_p95_ms=$(pct "$work/poll" 0.95) jobs_per_s=$(cat "$work/rate.notify") changes=$changes"
