#!/bin/bash
# Builds the Debian package target/debian/levee_<version>-1_<arch>.deb with
# cargo-deb (metadata: [package.metadata.deb] in crates/levee/Cargo.toml)
# and checks it with lintian: any error fails the build.
#   1. cargo build --release -p levee;
#   2. the manual pages and completions from the binary itself
#      (`levee gen-docs`, so they match the CLI and the schema);
#   3. cargo deb --no-build --strip (Debian ships stripped binaries); lintian.
# Needs cargo-deb (cargo install cargo-deb) and lintian. Prints the .deb path.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -p levee >&2
rm -rf "$T/levee-docs"
"$T/release/levee" gen-docs "$T/levee-docs"
gzip -9n "$T"/levee-docs/man/*
# cargo-deb's asset paths are relative to the package; the docs are
# looked for under target/levee-docs (a link when CARGO_TARGET_DIR moves it).
[ "$T" = "$PWD/target" ] || { mkdir -p target; ln -sfn "$T/levee-docs" target/levee-docs; }
deb=$(cargo deb -p levee --no-build --strip 2>/dev/null | tail -1)
[ -f "$deb" ] || { echo "cargo deb did not produce a package" >&2; exit 1; }
if command -v lintian >/dev/null; then
    # Errors fail; warnings are shown. Run as root in CI: lintian refuses
    # nothing for that, but says so (--allow-root).
    lintian --allow-root --fail-on error --tag-display-limit 0 "$deb" >&2
fi
echo "$deb"
