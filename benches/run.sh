#!/usr/bin/env bash
# End-to-end throughput and peak memory of `telltale analyze` on a seeded,
# phone-like corpus from ../shared/bench/make_corpus.py.
#
#   benches/run.sh [SIZE_MB] [SEED]        (defaults: 1024 MiB, seed 1)
#
# Prints wall seconds, CPU seconds, MB/s per CPU-second and peak RSS for
# -j 1 and -j 2, median of 3 runs each. Installs nothing: it says what is
# missing. Peers side by side come with the speed work (see the issues).
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
seed=${2:-1}
corpus_dir=${CORPUS_DIR:-target/corpus}
corpus="$corpus_dir/phone-${size}m-s${seed}.pcap"
gen=../shared/bench/make_corpus.py

command -v /usr/bin/time >/dev/null || { echo "missing /usr/bin/time (apt-get install time)"; exit 1; }
if [ ! -f "$corpus" ]; then
  [ -f "$gen" ] || { echo "missing $gen (the shared folder beside the clone)"; exit 1; }
  mkdir -p "$corpus_dir"
  python3 "$gen" --size-mb "$size" --seed "$seed" --out "$corpus"
fi
cargo build --release -q -p telltale-cli
bin=target/release/telltale
bytes=$(stat -L -c %s "$corpus")

printf '%-28s %8s %8s %12s %10s\n' "run" "wall s" "cpu s" "MB/s/core" "RSS MiB"
for j in 1 2; do
  rows=()
  for _ in 1 2 3; do
    log=$(mktemp)
    /usr/bin/time -v "$bin" analyze -q -f jsonl -j "$j" -o /dev/null "$corpus" 2>"$log"
    wall=$(awk -F': ' '/Elapsed/ {split($2,t,":"); s=0; for(i=1;i<=length(t);i++) s=s*60+t[i]; print s}' "$log")
    user=$(awk -F': ' '/User time/ {print $2}' "$log")
    sys=$(awk -F': ' '/System time/ {print $2}' "$log")
    rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$log")
    rm -f "$log"
    rows+=("$(echo "$wall $user $sys $rss" | awk -v b="$bytes" '{cpu=$2+$3; printf "%.2f %.2f %.0f %.0f", $1, cpu, b/1e6/cpu, $4/1024}')")
  done
  median=$(printf '%s\n' "${rows[@]}" | sort -k2 -n | sed -n 2p)
  read -r wall cpu mbs rss <<<"$median"
  printf '%-28s %8s %8s %12s %10s\n' "telltale -j $j ($((bytes>>20)) MiB)" "$wall" "$cpu" "$mbs" "$rss"
done
