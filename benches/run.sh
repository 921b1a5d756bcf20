#!/usr/bin/env bash
# telltale alone (-j 1 and -j 2, one file and batches) on the seeded
# corpus: compare.sh without the peers.
#
#   benches/run.sh [SIZE_MB] [SEED]        (defaults: 1024 MiB, seed 1)
exec env PEERS=0 "$(dirname "$0")/compare.sh" "${1:-1024}" "${2:-1}"
