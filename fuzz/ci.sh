#!/usr/bin/env bash
# Bounded fuzzing of every target in fuzz/: builds with cargo-fuzz (libFuzzer, no sanitizer,
# so the stable toolchain suffices with RUSTC_BOOTSTRAP=1) and runs each target for
# FUZZ_SECONDS (default 20). A crash fails the script; its input is kept under
# fuzz/artifacts/<target>/.
#
# Usage: fuzz/ci.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-${FUZZ_SECONDS:-20}}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -s none -O
for t in client_decoder worker_decoder gemini_parser session_ops; do
  mkdir -p "corpus/$t"
  echo "== fuzz $t for ${secs}s"
  log="$(mktemp)"
  if ! cargo fuzz run -s none -O "$t" "corpus/$t" -- -max_total_time="$secs" -max_len=70000 >"$log" 2>&1; then
    tail -n 60 "$log"
    exit 1
  fi
  grep -E "^(#[0-9]+ +DONE|Done [0-9]+ runs)" "$log" || tail -n 3 "$log"
  rm -f "$log"
done
