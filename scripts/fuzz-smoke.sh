#!/usr/bin/env bash
# Coverage-guided fuzzing smoke: build every cargo-fuzz target in fuzz/ with
# the nightly toolchain and run each for FUZZ_SECONDS (default 20) starting
# from its committed seeds (fuzz/seeds/<target>/). Fails on any crash, panic,
# timeout or out-of-memory, and prints the executions per target.
#
#   scripts/fuzz-smoke.sh                 # every target, 20 s each
#   FUZZ_SECONDS=600 scripts/fuzz-smoke.sh sdp rtcp   # longer, some targets
#
# Needs rustup with a nightly toolchain (libFuzzer's instrumentation is
# nightly-only); installs cargo-fuzz when missing. The corpus that grows
# during the run goes to a scratch directory, never into the repository;
# a crashing input is kept in fuzz/artifacts/<target>/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz-smoke: the nightly Rust toolchain is missing; cargo-fuzz needs it." >&2
    echo "fuzz-smoke: install it with: rustup toolchain install nightly --profile minimal" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# -s none: the targets are safe Rust, so AddressSanitizer would only slow
# them down; -a: debug assertions and overflow checks, so an arithmetic
# overflow is a crash here as it is in the test builds.
flags=(-s none -a)
cd fuzz
cargo +nightly fuzz build "${flags[@]}"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export FUZZ_STORE_DIR="$scratch/store"
mkdir -p "$FUZZ_STORE_DIR"

failed=()
report=()
for t in "${targets[@]}"; do
    if [ ! -d "seeds/$t" ]; then
        echo "fuzz-smoke: no seeds for target $t (fuzz/seeds/$t)" >&2
        failed+=("$t")
        continue
    fi
    mkdir -p "$scratch/corpus/$t"
    log="$scratch/$t.log"
    echo "fuzz-smoke: $t for ${seconds}s"
    # New inputs go to the first directory (scratch); the seeds are read only.
    if cargo +nightly fuzz run "${flags[@]}" "$t" "$scratch/corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$t")
        grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written|deadly signal|timeout' "$log" >&2 || true
        tail -n 40 "$log" >&2
    fi
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    report+=("$(printf '%-14s %-6s %12s execs %8s exec/s' "$t" "$status" "${execs:-?}" "${rate:-?}")")
done

echo
echo "fuzz-smoke: ${seconds}s per target"
printf '%s\n' "${report[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz-smoke: FAILED: ${failed[*]} (crashing inputs in fuzz/artifacts/<target>/)" >&2
    exit 1
fi
