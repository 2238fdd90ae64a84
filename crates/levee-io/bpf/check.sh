#!/bin/sh
# Rebuilds gate.o into a temporary directory and fails if its bytes differ from the
# committed object (CI: .ci/run). Needs clang, llvm (llvm-strip) and libbpf-dev.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/build.sh" "$tmp/gate.o"
if ! cmp -s "$tmp/gate.o" "$here/gate.o"; then
    echo "crates/levee-io/bpf/gate.o differs from a rebuild of gate.c: run crates/levee-io/bpf/build.sh and commit gate.o" >&2
    clang --version | head -1 >&2
    exit 1
fi
echo "gate.o: rebuilt, identical"
