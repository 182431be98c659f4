# Sourced by CI jobs and buildspecs (". tools/ci/nx-cache-start.sh") before
# their Nx commands, in the same shell. When BIOME_NX_CACHE names the shared
# cache (s3://<bucket>/<prefix>, the devops stack's nx_cache_url), it starts
# `nx run infra:cache-serve` in the background on 127.0.0.1 with the job's own
# AWS credentials and a one-time token, and points Nx at it. The endpoint stops
# when this shell ends. Nothing here can fail the job: without the endpoint Nx
# builds as before.
if [ -n "${BIOME_NX_CACHE:-}" ] && [ -z "${NX_SELF_HOSTED_REMOTE_CACHE_SERVER:-}" ]; then
  mkdir -p dist/ci
  rm -f dist/ci/nx-cache.url
  NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN="$(node -e "process.stdout.write(require('node:crypto').randomBytes(24).toString('hex'))")"
  export NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN
  npx nx run infra:cache-serve --urlFile=dist/ci/nx-cache.url --watchPid=$$ --output-style=static >dist/ci/nx-cache.log 2>&1 &
  nx_cache_pid=$!
  nx_cache_wait=0
  while [ ! -s dist/ci/nx-cache.url ] && [ "$nx_cache_wait" -lt 120 ] && kill -0 "$nx_cache_pid" 2>/dev/null; do
    sleep 1
    nx_cache_wait=$((nx_cache_wait + 1))
  done
  if [ -s dist/ci/nx-cache.url ]; then
    NX_SELF_HOSTED_REMOTE_CACHE_SERVER="$(cat dist/ci/nx-cache.url)"
    export NX_SELF_HOSTED_REMOTE_CACHE_SERVER
    echo "Nx remote cache: $BIOME_NX_CACHE through $NX_SELF_HOSTED_REMOTE_CACHE_SERVER (log: dist/ci/nx-cache.log)"
  else
    echo "Nx remote cache did not start; building without it:" >&2
    cat dist/ci/nx-cache.log >&2 || true
    unset NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN
  fi
  unset nx_cache_pid nx_cache_wait
fi
