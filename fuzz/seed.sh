#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds from the project's fixtures
# (fixtures/*.pcap*): whole captures for capture_reader, full_pipeline and split_identity;
# frames, reassembled TCP streams and UDP datagrams (recovered with
# telltale-decode and telltale-flow) for the protocol targets, each in the
# layout its target reads; plus a few synthetic seeds. Built without
# sanitizers; needs no nightly feature.
set -eu
cd "$(dirname "$0")"
cargo run --quiet --example seed -- ../fixtures corpus
