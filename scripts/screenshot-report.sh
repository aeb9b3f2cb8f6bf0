#!/bin/sh
# Regenerates docs/images/three-threads-compare.png, the README's picture of the HTML report:
# three-threads under the four mutex protocols (none, inherit, ceiling 30, xnu) on one time axis,
# rendered by headless Chromium (scripts/browser-check.py). Needs a build (XNUSIM overrides the
# binary) and the chromium package.
set -eu
cd "$(dirname "$0")/.."
XNUSIM=${XNUSIM:-build/sim/cli/xnusim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
lock='{"id":"m","kind":"mutex","protocol":'
"$XNUSIM" compare scenarios/inversion/three-threads-none.json --policies xnu --quiet --window 0..75ms \
  --vary "locks.m=${lock}\"none\"},${lock}\"inherit\"},${lock}\"ceiling\",\"ceiling\":30},${lock}\"xnu\"}" \
  --html "$tmp/three-threads-compare.html"
# The fragment scrolls the page to its timelines, so that the picture shows them, not the header.
python3 scripts/browser-check.py --size 1280x1080 --shots "$tmp" "$tmp/three-threads-compare.html#timeline" > "$tmp/probe.json"
mkdir -p docs/images
cp "$tmp/three-threads-compare.png" docs/images/three-threads-compare.png
echo "wrote docs/images/three-threads-compare.png"
