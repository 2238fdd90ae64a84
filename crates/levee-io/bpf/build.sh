#!/bin/sh
# Rebuilds the committed BPF objects from their C sources with Debian's
# clang (apt-get install -y clang llvm libbpf-dev). The output does not
# depend on the checkout's path (debug prefixes mapped, DWARF stripped, BTF
# kept), so `./build.sh && git diff --exit-code *.o` checks the committed
# objects match their sources (.ci/run does).
set -eu
cd "$(dirname "$0")"
arch_inc="/usr/include/$(uname -m)-linux-gnu"
for src in xsk_redirect.c; do
	obj="${src%.c}.o"
	clang -O2 -g -target bpf -I"$arch_inc" -fdebug-prefix-map="$PWD"=. \
		-Wall -Werror -c "$src" -o "$obj"
	llvm-strip -g "$obj"
done
