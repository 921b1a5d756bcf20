#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, two at a
# time, single job each, then prints a table: target, seconds, executions,
# exec/s, coverage (libFuzzer's cov: edges and ft: features, last report),
# corpus size, crashes (new crash-/timeout-/oom-/leak- artifacts).
#
#   fuzz/run-all.sh SECONDS [TARGET...]
#
# Needs cargo-fuzz; the stable toolchain is enough with RUSTC_BOOTSTRAP=1,
# which this script sets. NO_BUILD=1 skips the build (binaries already in
# fuzz/target). PARALLEL=N changes how many targets run at once (default 2).
# TABLE_ONLY=1 runs nothing and prints the table from the last logs.
# Logs go to fuzz/logs/<target>.log, findings to fuzz/artifacts/<target>/.
set -u
cd "$(dirname "$0")"
secs=${1:?usage: run-all.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(capture_reader decode_packet defrag tcp_reassembly dns tls quic http dhcp body
        identifiers full_pipeline split_identity)
fi
export RUSTC_BOOTSTRAP=1
triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=${CARGO_TARGET_DIR:-target}/$triple/release
parallel=${PARALLEL:-2}

if [ "${NO_BUILD:-0}" != 1 ] && [ "${TABLE_ONLY:-0}" != 1 ]; then
    # -a: debug assertions and overflow checks on, as in the test profile.
    for t in "${targets[@]}"; do
        cargo fuzz build -a "$t" || exit 1
    done
fi

mkdir -p logs
count_artifacts() {
    find "artifacts/$1" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \
        -o -name 'leak-*' \) 2>/dev/null | wc -l
}

run_one() {
    local t=$1
    mkdir -p "corpus/$t" "artifacts/$t"
    count_artifacts "$t" > "logs/$t.before"
    local extra=()
    # The split runs start threads, and LeakSanitizer reports the 32 bytes
    # glibc's __cxa_thread_atexit_impl allocates for each one's thread-local
    # destructors: not telltale's, and it stops the run at once.
    [ "$t" = split_identity ] && extra=(-detect_leaks=0)
    # What `cargo fuzz run -a $t -- <flags>` runs, without its rebuild check.
    "$bin_dir/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$secs" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${extra[@]}" "corpus/$t" \
        > "logs/$t.log" 2>&1
    echo $? > "logs/$t.rc"
}

running=0
[ "${TABLE_ONLY:-0}" = 1 ] && targets_to_run=() || targets_to_run=("${targets[@]}")
for t in "${targets_to_run[@]}"; do
    if [ "$running" -ge "$parallel" ]; then
        wait -n
        running=$((running - 1))
    fi
    echo "$(date +%T) fuzzing $t for ${secs}s" >&2
    run_one "$t" &
    running=$((running + 1))
done
wait

printf '%-15s %8s %12s %8s %7s %7s %7s %8s\n' target seconds executions exec/s cov ft corpus crashes
for t in "${targets[@]}"; do
    log=logs/$t.log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: [0-9]+' | tail -1)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<< "$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<< "$last")
    corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<< "$last")
    ran=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$log" | tail -1)
    [ -z "$execs" ] && execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<< "$last")
    before=$(cat "logs/$t.before" 2>/dev/null || echo 0)
    crashes=$(( $(count_artifacts "$t") - before ))
    printf '%-15s %8s %12s %8s %7s %7s %7s %8s\n' "$t" "${ran:-?}" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes"
done
