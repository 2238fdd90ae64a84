#!/bin/sh
# Builds gate.o from gate.c with Debian's clang (apt-get install -y clang llvm libbpf-dev).
# Deterministic: compiled from this directory with a relative path, DWARF stripped (the BTF
# of the map definitions stays), so the same toolchain gives the same bytes (check.sh).
# Usage: build.sh [OUT]   (default: gate.o next to this script)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/gate.o}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$here"
clang -O2 -g -target bpf -mcpu=v3 \
    -I/usr/include/"$(uname -m)"-linux-gnu \
    -fdebug-prefix-map="$here"=. -fno-ident \
    -Wall -Werror \
    -c gate.c -o "$tmp/gate.o"
llvm-strip -g "$tmp/gate.o"
cp "$tmp/gate.o" "$out"
