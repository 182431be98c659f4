# Sourced by bench/naive-loop.sh and by the plain-Nx peer's deploy script:
#   upload <zip file> <key>
# puts the file in the store: BENCH_STORE_KIND=file copies it under
# BENCH_STORE_DIR; BENCH_STORE_KIND=s3 PUTs it with curl's SigV4 signing to
# BENCH_S3_BASE/<key> (BENCH_S3_BASE = endpoint/bucket/prefix; AWS_REGION,
# AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set).
upload() {
  if [ "$BENCH_STORE_KIND" = file ]; then
    mkdir -p "$BENCH_STORE_DIR/$(dirname "$2")"
    cp "$1" "$BENCH_STORE_DIR/$2"
  else
    curl -sS --fail -o /dev/null --aws-sigv4 "aws:amz:${AWS_REGION}:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
      -H 'content-type: application/zip' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T "$1" "$BENCH_S3_BASE/$2"
  fi
}
