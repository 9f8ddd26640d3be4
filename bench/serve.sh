#!/usr/bin/env bash
# Serve the project (or APP, e.g. a peer) the production way, in one process on the embedded
# store, bound to 127.0.0.1:PORT, in the foreground. Usage: bench/serve.sh PORT [module:app]
# BENCH_SERVER=gthread|sync serves with gunicorn instead (gunicorn.conf.py, one worker), to
# compare; BENCH_THREADS=N sets the request threads (granian's or gthread's); BENCH_MONGO_URI=mongodb://... serves on that
# MongoDB instead of the embedded store; BENCH_WORKERS=N runs N processes (needs BENCH_MONGO_URI).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${1:?usage: bench/serve.sh PORT [module:app]}
APP=${2:-wsgi:app}
WEB_CONCURRENCY=${BENCH_WORKERS:-1}
export PORT WEB_CONCURRENCY
# Every benchmark request comes from one address: per-address limits would answer the login
# benchmarks with 429s (they would show as errors).
export RATE_LIMIT_ENABLED=${RATE_LIMIT_ENABLED:-false}
# The production log format, whatever APP_ENV says.
export LOG_FORMAT=${LOG_FORMAT:-json}
unset MONGO_URI
if [ -n "${BENCH_MONGO_URI:-}" ]; then export MONGO_URI=$BENCH_MONGO_URI; fi
if [ -x .venv/bin/python ]; then PATH="$PWD/.venv/bin:$PATH"; fi

case "${BENCH_SERVER:-granian}" in
  granian)
    exec python serve.py --host 127.0.0.1 --app "$APP" ${BENCH_THREADS:+--threads "$BENCH_THREADS"} ;;
  gthread)
    exec gunicorn -c gunicorn.conf.py --bind "127.0.0.1:$PORT" --workers "$WEB_CONCURRENCY" ${BENCH_THREADS:+--threads "$BENCH_THREADS"} "$APP" ;;
  sync)
    exec gunicorn -c gunicorn.conf.py --bind "127.0.0.1:$PORT" --workers "$WEB_CONCURRENCY" --worker-class sync --threads 1 "$APP" ;;
  *)
    echo "BENCH_SERVER must be granian, gthread or sync" >&2; exit 2 ;;
esac
