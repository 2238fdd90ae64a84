#!/bin/sh
# Builds the BPF objects (gate.o: the flood gate's levee_xdp and levee_sock;
# xsk_redirect.o: the AF_XDP path's redirect without the gate) from their C
# sources with Debian's clang (apt-get install -y clang llvm libbpf-dev).
# Deterministic: compiled from this directory with relative paths, DWARF
# stripped (the BTF of the map definitions stays), so the same toolchain gives
# the same bytes (check.sh, run by .ci/run, compares them with the committed ones).
# Usage: build.sh [OUTDIR]   (default: this directory)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
outdir=${1:-$here}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$here"
for src in gate.c xsk_redirect.c; do
    obj=${src%.c}.o
    clang -O2 -g -target bpf -mcpu=v3 \
        -I/usr/include/"$(uname -m)"-linux-gnu \
        -fdebug-prefix-map="$here"=. -fno-ident \
        -Wall -Werror \
        -c "$src" -o "$tmp/$obj"
    llvm-strip -g "$tmp/$obj"
    cp "$tmp/$obj" "$outdir/$obj"
done
