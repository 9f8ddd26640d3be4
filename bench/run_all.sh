#!/usr/bin/env bash
# Run every benchmark in turn and keep each one's output in bench/results/ (about 20 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
run() {
  local name=$1; shift
  echo "== $name: python -m $*" | tee "bench/results/$name.txt"
  python -m "$@" 2>&1 | grep -v "WARNING" | tee -a "bench/results/$name.txt"
}
run me bench.me --targets project,plain,fje,express,express@JWT_KEY_OBJECT=1
run me-servers bench.me --rounds 2 --targets \
  project,project@BENCH_SERVER=sync,project@BENCH_THREADS=8,project@BENCH_SERVER=granian,plain@BENCH_SERVER=granian,express@JWT_KEY_OBJECT=1
run login bench.login --rounds 3
run storm bench.storm --rounds 3
run storm-models bench.storm --targets \
  project,project@BCRYPT_NICE=0,project@BCRYPT_NICE=0+BCRYPT_CONCURRENCY=64,project@BENCH_SERVER=sync,project@BENCH_SERVER=granian,express
run getall bench.getall
run memory bench.memory
run guard-profile bench.guard_profile --profile
