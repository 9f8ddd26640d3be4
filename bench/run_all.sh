#!/usr/bin/env bash
# Run every benchmark in turn and keep each one's output in bench/results/ (about 45 minutes: the memory benchmark signs 10,000 users in on each server).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then PATH="$PWD/.venv/bin:$PATH"; fi
mkdir -p bench/results
run() {
  local name=$1; shift
  echo "== $name: python -m $*" | tee "bench/results/$name.txt"
  python -m "$@" 2>&1 | grep -v "WARNING" | tee -a "bench/results/$name.txt"
}
run me bench.me
run me-turns bench.me --same-token-only --targets project,project@REQUEST_CONCURRENCY=32,express
run me-gunicorn bench.me --rounds 2 --targets \
  project@BENCH_SERVER=gthread,project@BENCH_SERVER=sync,plain@BENCH_SERVER=gthread,fje@BENCH_SERVER=gthread,express
run login bench.login
run storm bench.storm --targets project,plain,fje,express
run storm-models bench.storm --rounds 2 --targets \
  project,project@BCRYPT_NICE=0,project@BCRYPT_NICE=0+BCRYPT_CONCURRENCY=64,project@BENCH_SERVER=gthread,project@BENCH_SERVER=sync
run getall bench.getall
run memory bench.memory
run guard-profile bench.guard_profile --profile
run same-answers bench.same_answers
