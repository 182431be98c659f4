#!/usr/bin/env bash
# The baseline: the shell loop a team would write without a deploy tool.
# For each service: one esbuild process (the same options as the @nx/esbuild
# build target), one zip, one upload. No ledger, no checks, no skipping.
#
#   bench/naive-loop.sh <workspace> <sha> file <store-dir>
#   bench/naive-loop.sh <workspace> <sha> s3 <endpoint> <bucket> <prefix>   (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_REGION set)
set -euo pipefail
for tool in zip curl; do
  command -v "$tool" >/dev/null || { echo "naive-loop.sh needs $tool (Debian: apt-get install zip curl)" >&2; exit 2; }
done
ws="$1"; sha="$2"; kind="$3"
source "$(dirname "$0")/upload.sh"
export BENCH_STORE_KIND="$kind"
if [ "$kind" = file ]; then export BENCH_STORE_DIR="$4"; else export BENCH_S3_BASE="$4/$5/$6"; fi
esbuild="$ws/node_modules/.bin/esbuild"
out="$ws/dist/naive"
rm -rf "$out"
mkdir -p "$out"
cd "$ws"
for dir in apps/services/*/; do
  name="$(basename "$dir")"
  "$esbuild" "$dir/src/main.ts" --bundle --platform=node --target=node22 --format=cjs \
    --external:'@aws-sdk/*' --legal-comments=none --preserve-symlinks --tsconfig="$dir/tsconfig.app.json" \
    --outfile="$out/$name/main.js" --log-level=warning
  (cd "$out/$name" && zip -q -X -6 "../$name-$sha.zip" main.js)
  upload "$out/$name-$sha.zip" "artifacts/$name/$name-$sha.zip"
done
