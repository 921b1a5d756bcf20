#!/usr/bin/env bash
# Peak memory of `telltale analyze` on a small and a large corpus: whether
# memory grows with the capture.
#
#   benches/memory.sh [SMALL_MB] [LARGE_MB]     (defaults: 1024 and 10240)
#
# For the default output (the destination table) and for -f jsonl, on one
# thread and on two, it prints the peak of each run on each corpus and the
# large run's peak over the small one's, two ways:
#   - VmHWM: the kernel's high-water mark of the whole resident set
#     (/usr/bin/time %M), which counts the program's own file-backed pages:
#     its code and the compiled-in GeoIP table, touched as addresses are
#     looked up (14-19 MiB, more on a capture with more addresses).
#   - anon: the peak of RssAnon in /proc/PID/status, sampled every 20 ms:
#     heap, stacks and buffers, no mapped file pages at all (captures are
#     read with read(), so their pages never count in either figure). A
#     sample can miss a spike shorter than its period.
# Corpora come from benches/corpus.sh (seed 1); the large one takes a while
# to generate the first time, and 10 GiB of disk.
set -euo pipefail
cd "$(dirname "$0")/.."
small=${1:-1024}
large=${2:-10240}
. benches/corpus.sh
command -v pgrep >/dev/null || { echo "missing pgrep (apt-get install procps)" >&2; exit 1; }
corpora=("$(corpus "$small" 1)" "$(corpus "$large" 1)")
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q -p telltale-cli
bin=target/release/telltale
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

peak() { # command... -> "VmHWM_KiB anon_KiB"
  /usr/bin/time -f %M -o "$tmp/hwm" "$@" >/dev/null &
  local waiter=$! pid="" anon=0 a
  while kill -0 "$waiter" 2>/dev/null; do
    [ -n "$pid" ] || pid=$(pgrep -P "$waiter" | head -n 1 || true)
    if [ -n "$pid" ]; then
      a=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
      if [ -n "$a" ] && [ "$a" -gt "$anon" ]; then anon=$a; fi
    fi
    sleep 0.02
  done
  wait "$waiter"
  echo "$(tail -n 1 "$tmp/hwm") $anon"
}

echo "# benches/memory.sh $small $large on $(git rev-parse --short HEAD 2>/dev/null || echo '?'): peak KiB"
printf '%-22s %10s %10s %6s   %10s %10s %6s\n' run "VmHWM ${small}M" "${large}M" ratio \
  "anon ${small}M" "${large}M" ratio
for format in table jsonl; do
  for j in 1 2; do
    read -r h1 a1 <<<"$(peak "$bin" analyze -q -f "$format" -j "$j" -o /dev/null "${corpora[0]}")"
    read -r h2 a2 <<<"$(peak "$bin" analyze -q -f "$format" -j "$j" -o /dev/null "${corpora[1]}")"
    awk -v l="-f $format -j $j" -v h1="$h1" -v h2="$h2" -v a1="$a1" -v a2="$a2" 'BEGIN {
      printf "%-22s %10s %10s %6.2f   %10s %10s %6.2f\n", l, h1, h2, h2 / h1, a1, a2, a2 / a1 }'
  done
done
