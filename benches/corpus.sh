# Sourced by the bench scripts: `corpus SIZE_MB SEED` prints the path of the
# seeded phone-like corpus (../shared/bench/make_corpus.py), generating it
# into ${CORPUS_DIR:-target/corpus} if absent; it needs /usr/bin/time too.
corpus() {
  local size=$1 seed=$2
  local dir=${CORPUS_DIR:-target/corpus}
  local path="$dir/phone-${size}m-s${seed}.pcap"
  local gen=../shared/bench/make_corpus.py
  command -v /usr/bin/time >/dev/null || { echo "missing /usr/bin/time (apt-get install time)" >&2; return 1; }
  if [ ! -f "$path" ]; then
    [ -f "$gen" ] || { echo "missing $gen" >&2; return 1; }
    mkdir -p "$dir"
    python3 "$gen" --size-mb "$size" --seed "$seed" --out "$path" >&2
  fi
  echo "$path"
}
