#!/bin/sh
# Print the path of a promtool binary, fetching Debian's prometheus package into .tools/ if needed
# (the package is unpacked, not installed: no service is started). Exit 1 if none can be obtained.
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/prometheus/usr/bin/promtool"
if command -v promtool >/dev/null 2>&1; then command -v promtool; exit 0; fi
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
command -v apt-get >/dev/null 2>&1 || { echo "promtool not found and apt-get unavailable" >&2; exit 1; }
mkdir -p "$TOOLS/deb"
cd "$TOOLS/deb"
apt-get download prometheus >/dev/null 2>&1 || { echo "apt-get download prometheus failed" >&2; exit 1; }
dpkg -x "$(ls -t prometheus_*.deb | head -n 1)" "$TOOLS/prometheus"
rm -f prometheus_*.deb
[ -x "$BIN" ] || { echo "promtool missing from the prometheus package" >&2; exit 1; }
echo "$BIN"
