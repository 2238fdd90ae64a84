#!/bin/sh
# Rebuilds the BPF objects into a temporary directory and fails if their bytes
# differ from the committed ones (CI: .ci/run). Needs clang, llvm (llvm-strip)
# and libbpf-dev.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/build.sh" "$tmp"
for obj in gate.o xsk_redirect.o; do
    if ! cmp -s "$tmp/$obj" "$here/$obj"; then
        echo "crates/levee-io/bpf/$obj differs from a rebuild of its source: run crates/levee-io/bpf/build.sh and commit it" >&2
        clang --version | head -1 >&2
        exit 1
    fi
    echo "$obj: rebuilt, identical"
done
