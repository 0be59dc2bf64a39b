#!/usr/bin/env bash
# Time from launch to the demo's first frame (the status bar showing DEMO), in tmux.
# Usage: scripts/measure-startup.sh [runs]   (builds the release binary first)
set -eu
cd "$(dirname "$0")/.."
cargo build --release -q
runs=${1:-5}
bin=$PWD/target/release/opsdeck
n=0
measure() { # $1 = extra args, $2 = data dir; sets $ms (no $(…): the tmux server would hold the pipe)
  local t0 t1 sock screen
  n=$((n + 1)); sock=opsdeck-startup-$$-$n
  t0=$(date +%s%N)
  tmux -L $sock new-session -d -s m -x 120 -y 40 "env -u DATABASE_URL XDG_DATA_HOME=$2 XDG_CONFIG_HOME=$2/c $bin demo $1; sleep 5" </dev/null >/dev/null 2>&1
  while :; do
    screen=$(tmux -L "$sock" capture-pane -p -t m 2>/dev/null || true)
    [[ $screen == *" DEMO "* ]] && break
    sleep 0.01
  done
  t1=$(date +%s%N)
  tmux -L "$sock" kill-server 2>/dev/null || true
  ms=$(( (t1 - t0) / 1000000 ))
}
fresh=(); warm=()
for _ in $(seq "$runs"); do
  d=$(mktemp -d)
  measure --fresh "$d"; fresh+=("$ms")
  measure "" "$d"; warm+=("$ms")
  rm -rf "$d"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "first frame, fresh demo (create + migrate): median $(median "${fresh[@]}") ms  [${fresh[*]}]"
echo "first frame, existing demo:                 median $(median "${warm[@]}") ms  [${warm[*]}]"
