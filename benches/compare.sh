#!/usr/bin/env bash
# telltale side by side with peers on the same seeded phone-like corpus.
#
#   benches/compare.sh [SIZE_MB] [SEED]      (defaults: 512 MiB, seed 1)
#
# Generates the corpus with ../shared/bench/make_corpus.py if absent, then
# runs each tool that is installed (it installs nothing: it says what is
# missing) and prints wall seconds, CPU seconds, MB/s per CPU-second and peak
# RSS (/usr/bin/time -v), the median of 3 runs. Peers: tshark (package
# tshark), ndpiReader (package libndpi-bin); PEERS=0 runs telltale alone.
# The batch rows read the same corpus as a folder of files of about
# SPLIT_MB MiB (default 4; SPLIT_MB=0 leaves them out), two ways that
# bracket a real batch: split by address pair, every flow whole in one file
# but most flows in another file than the DNS answer that named them (less
# naming and output: a lower bound), and rotated by size, as tcpdump -C
# writes them (flows cut at each file's end, the rest picked up in the
# middle of the next and searched as opaque payload: an upper bound).
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-512}
seed=${2:-1}
. benches/corpus.sh
corpus=$(corpus "$size" "$seed")
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q -p telltale-cli
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q -p telltale-decode --example floor --example split
bytes=$(stat -L -c %s "$corpus")
split_mb=${SPLIT_MB:-4}
pairs="${corpus%.pcap}-pairs-${split_mb}m"
rotated="${corpus%.pcap}-rotated-${split_mb}m"
if [ "$split_mb" != 0 ]; then
  for dir in "$pairs" "$rotated"; do
    [ -d "$dir" ] && continue
    mode=""; [ "$dir" = "$pairs" ] && mode=pairs
    target/release/examples/split "$corpus" "$dir.tmp" "$split_mb" $mode >/dev/null
    mv "$dir.tmp" "$dir"
  done
fi
warm=("$corpus")

measure() { # label, command...
  local label=$1; shift
  local rows=()
  for _ in 1 2 3; do
    # Warm the page cache before every run: some hosts reclaim idle page
    # cache within seconds (DAMON proactive reclaim on the project's VMs),
    # and a run that reads part of the file from disk measures the disk.
    cat "${warm[@]}" >/dev/null
    local log; log=$(mktemp)
    /usr/bin/time -v "$@" >/dev/null 2>"$log" || true
    rows+=("$(awk -F': ' -v b="$bytes" '
      /Elapsed/ {n=split($2,t,":"); w=0; for(i=1;i<=n;i++) w=w*60+t[i]}
      /User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {r=$2}
      END {c=u+s; printf "%.2f %.2f %.0f %.0f", w, c, b/1e6/c, r/1024}' "$log")")
    rm -f "$log"
  done
  local median; median=$(printf '%s\n' "${rows[@]}" | sort -k2 -n | sed -n 2p)
  read -r wall cpu mbs rss <<<"$median"
  printf '%-44s %8s %8s %10s %9s\n' "$label" "$wall" "$cpu" "$mbs" "$rss"
}

printf '%-44s %8s %8s %10s %9s\n' "tool ($((bytes>>20)) MiB, seed $seed)" "wall s" "cpu s" "MB/s/core" "RSS MiB"
measure "telltale -j 1 (jsonl, identifiers on)" target/release/telltale analyze -q -f jsonl -j 1 -o /dev/null "$corpus"
measure "telltale -j 2 (one file split by pair)" target/release/telltale analyze -q -f jsonl -j 2 -o /dev/null "$corpus"
measure "telltale --stream (jsonl, flat memory)" target/release/telltale analyze -q --stream -f jsonl -o /dev/null "$corpus"
measure "telltale -j 1 sorted on disk (as over 2 GiB)" target/release/telltale analyze -q -f jsonl -j 1 --collect-limit 0 -o /dev/null "$corpus"
measure "floor: read + frame + etherparse + flow map" target/release/examples/floor "$corpus"
if [ "$split_mb" != 0 ]; then
  for dir in "$pairs" "$rotated"; do
    warm=("$dir"/*.pcap)
    how="whole flows"; [ "$dir" = "$rotated" ] && how="rotated"
    for j in 1 2; do
      measure "telltale -j $j, ${#warm[@]} files ($how)" \
        target/release/telltale analyze -q -f jsonl -j "$j" -o /dev/null "$dir"
    done
  done
  warm=("$corpus")
fi
[ "${PEERS:-1}" = 0 ] && exit 0
if command -v ndpiReader >/dev/null; then
  measure "ndpiReader -v 2" ndpiReader -q -v 2 -i "$corpus"
else
  echo "ndpiReader not installed (apt-get install libndpi-bin)"
fi
if command -v suricata >/dev/null; then
  echo "suricata is installed but has no row yet (its EVE config is not scripted here)"
else
  echo "suricata not installed (no Debian 12 package on this machine's mirror)"
fi
if command -v tshark >/dev/null; then
  measure "tshark -T fields (SNI, DNS name, HTTP host)" tshark -r "$corpus" -T fields \
    -e tls.handshake.extensions_server_name -e dns.qry.name -e http.host
else
  echo "tshark not installed (apt-get install tshark)"
fi
