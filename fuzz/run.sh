#!/usr/bin/env bash
# Run every fuzz target for a bounded time. Usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
# Needs cargo-fuzz (`cargo install cargo-fuzz`); uses RUSTC_BOOTSTRAP=1 on a stable toolchain.
# Seed corpora are generated from the project's own traffic builders first.
# Exit status is non-zero when a target finds a crash; the input is left in fuzz/artifacts/.
set -euo pipefail

seconds="${1:-60}"
shift || true
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(envelope fragments clixml rest_json request framing)
fi

# Seeds: written by a test from inspect::build (never copied from shared/vectors).
(cd "$root" && FUZZ_SEED_DIR="$here/corpus" cargo test --quiet --test inspect_fuzz_seeds)

export RUSTC_BOOTSTRAP=1
cd "$here"
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== fuzz $t for ${seconds}s"
  # Safe Rust: no sanitizer needed to catch panics, hangs and runaway memory (-s none).
  if ! cargo fuzz run -s none "$t" "corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10; then
    echo "fuzz target $t found a failure; see fuzz/artifacts/$t" >&2
    status=1
  fi
done
exit "$status"
