#!/usr/bin/env bash
# Hostile captures at full size through the release binary, default limits:
# a 1,000,000-flow SYN flood, a 1 GB TCP sequence gap with 48 MiB of
# out-of-order data beyond it, 100,000 incomplete IPv4 and IPv6 fragment
# trains, a gzip bomb inflating to 1 GiB, 100,000 looping DNS answers,
# pcapng blocks lying about their length, snaplen 0 with 1,000,000 empty
# records, 100,000 packets with wild timestamps, 100,000 packets on
# undescribed interfaces, one DNS flow of 2,000,000 messages that never
# ends, one HTTP connection of 500,000 requests each sending an IMEI that
# never ends (telltale_fixtures::adversarial, Scale::full).
#
#   benches/adversarial.sh [--with-10g] [OUTDIR]     (default target/adversarial)
#
# For each capture: its size, telltale's exit code, wall seconds and peak
# RSS (/usr/bin/time -f "%e %M"), whether the valid before.example and
# after.example exchanges were still reported, how many warning lines
# stderr had, and the first notice about a limit. --with-10g also runs a
# 10 GiB corpus from ../shared/bench/make_corpus.py (needs 10 GiB of disk
# in OUTDIR; generated once, kept).
set -euo pipefail
cd "$(dirname "$0")/.."

with10g=0
dir=target/adversarial
for arg in "$@"; do
  case $arg in
    --with-10g) with10g=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) dir=$arg ;;
  esac
done
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)"; exit 1; }

cargo build --release -q -p telltale-cli
mkdir -p "$dir"
echo "generating full-size captures into $dir"
gen_start=$(date +%s)
cargo run --release -q -p telltale-fixtures --bin adversarial -- "$dir" >/dev/null
echo "generated in $(( $(date +%s) - gen_start )) s"

rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || rev="$rev+uncommitted"
echo "# $(date -u +%F), commit $rev, $(nproc) cores, telltale analyze -f jsonl -j 1, default limits"
printf '%-40s %9s %4s %8s %8s %6s %6s %5s  %s\n' \
  capture "size MiB" exit "wall s" "RSS MiB" before after warn "first notice"

measure() { # label, capture, [extra telltale options...]
  local label=$1 capture=$2; shift 2
  local out=${MEASURE_OUT:-$dir/.out.jsonl} err="$dir/.err" tm="$dir/.time" rc=0
  /usr/bin/time -f "%e %M" -o "$tm" \
    target/release/telltale analyze -f jsonl -j 1 -o "$out" "$@" "$capture" 2>"$err" || rc=$?
  local wall rss; read -r wall rss < <(tail -n 1 "$tm")
  local size; size=$(awk -v b="$(stat -L -c %s "$capture")" 'BEGIN {printf "%.1f", b/1048576}')
  local before=no after=no
  [ "$out" = /dev/null ] && before=- && after=-
  grep -q '"hostname":"before.example","url":"/before"' "$out" 2>/dev/null && before=yes
  grep -q '"hostname":"after.example","url":"/after"' "$out" 2>/dev/null && after=yes
  local warn; warn=$(grep -c '^telltale: warning:' "$err" || true)
  local note; note=$(grep -m1 '^telltale: warning:' "$err" | sed 's/^telltale: warning: [^:]*: //' | cut -c1-90 || true)
  grep -q '^Command terminated by signal' "$tm" && note="KILLED: $(head -n 1 "$tm")"
  printf '%-40s %9s %4s %8s %8s %6s %6s %5s  %s\n' \
    "$label" "$size" "$rc" "$wall" "$(( rss / 1024 ))" "$before" "$after" "$warn" "$note"
  [ "$out" = /dev/null ] || rm -f "$out"
  rm -f "$err" "$tm"
}

for capture in "$dir"/*.pcap "$dir"/*.pcapng; do
  measure "$(basename "$capture")" "$capture"
done
# The one flow that never ends, through the two modes whose memory must not
# follow the capture: streamed, and sorted on disk.
measure "endless-flow.pcap --stream" "$dir/endless-flow.pcap" --stream
measure "endless-flow.pcap --collect-limit 0" "$dir/endless-flow.pcap" --collect-limit 0
measure "endless-leak.pcap --stream" "$dir/endless-leak.pcap" --stream
measure "endless-leak.pcap --collect-limit 0" "$dir/endless-leak.pcap" --collect-limit 0

if [ "$with10g" = 1 ]; then
  gen=../shared/bench/make_corpus.py
  corpus="$dir/phone-10240m-s1.pcap"
  if [ ! -f "$corpus" ]; then
    [ -f "$gen" ] || { echo "missing $gen"; exit 1; }
    python3 "$gen" --size-mb 10240 --seed 1 --out "$corpus"
  fi
  MEASURE_OUT=/dev/null measure "make_corpus 10 GiB, seed 1" "$corpus"
fi
