#!/usr/bin/env bash
# Coverage-guided fuzzing smoke: build every libFuzzer target in fuzz/ and run
# each for FUZZ_SECONDS (default 20) starting from its committed seeds
# (fuzz/seeds/<target>/). Fails on any crash, panic, timeout, out-of-memory or
# build failure, and prints the executions per target.
#
#   scripts/fuzz-smoke.sh                              # every target, 20 s each
#   FUZZ_SECONDS=600 scripts/fuzz-smoke.sh sdp rtcp    # longer, some targets
#
# Works on the stable toolchain, with no nightly and no cargo-fuzz: the build
# is plain `cargo build` with the flags `cargo fuzz build -s none -a` passes
# (cargo-fuzz 0.13, src/project.rs). Every one of them is a stable `-C` flag;
# only the sanitizers (`-s address`, `-Zsanitizer`) need nightly, and the
# targets are safe Rust, so none is used. Because the flags, profile and
# target directory are the same, `cargo fuzz run -s none -a <target>` in
# fuzz/ reuses this build (and the other way round).
#
# The corpus that grows during the run goes to a scratch directory, never into
# the repository; a crashing input is kept in fuzz/artifacts/<target>/
# (git-ignored) and printed in base64 so a CI log is enough to reproduce it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-20}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
case "$triple" in
*-linux-*) ;;
*)
    echo "fuzz-smoke: NOT RUN: libFuzzer targets are built for Linux here, this host is $triple" >&2
    exit 1
    ;;
esac

# cargo-fuzz's RUSTFLAGS for `-s none -a` on Linux, in its order:
# SanitizerCoverage feeding libFuzzer (8-bit counters, PC table, compare
# tracing, stack depth), `--cfg fuzzing`, no branch folding (more edges),
# debug assertions and overflow checks (an overflow is a crash here as in
# the test builds), and one codegen unit (the sancov pass blocks ThinLTO
# imports across units; one unit keeps the optimised code fast).
export RUSTFLAGS=" -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cllvm-args=-simplifycfg-branch-fold-threshold=0 -Cllvm-args=-sanitizer-coverage-stack-depth -Cdebug-assertions -Ccodegen-units=1"
echo "fuzz-smoke: building the fuzz targets with $(rustc --version)"
if ! cargo build --manifest-path Cargo.toml --target "$triple" --release \
    --config 'profile.release.debug="line-tables-only"' --bins; then
    echo "fuzz-smoke: FAILED: the fuzz targets do not build" >&2
    exit 1
fi
bin="target/$triple/release"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -vx tongdai-fuzz)
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz-smoke: FAILED: no targets found in fuzz/Cargo.toml" >&2
    exit 1
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

failed=()
report=()
for t in "${targets[@]}"; do
    if [ ! -x "$bin/$t" ]; then
        echo "fuzz-smoke: no fuzz target $t ($bin/$t)" >&2
        failed+=("$t")
        continue
    fi
    if [ ! -d "seeds/$t" ]; then
        echo "fuzz-smoke: no seeds for target $t (fuzz/seeds/$t)" >&2
        failed+=("$t")
        continue
    fi
    mkdir -p "$scratch/corpus/$t" "artifacts/$t"
    log="$scratch/$t.log"
    echo "fuzz-smoke: $t for ${seconds}s"
    # New inputs go to the first directory (scratch); the seeds are read only.
    if "$bin/$t" -artifact_prefix="artifacts/$t/" "$scratch/corpus/$t" "seeds/$t" \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$t")
        grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written|deadly signal|timeout' "$log" >&2 || true
        tail -n 40 "$log" >&2
        for a in $(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log"); do
            echo "fuzz-smoke: fuzz/$a in base64 (to replay, in fuzz/: base64 -d > crash, then $bin/$t crash):" >&2
            base64 -w 0 "$a" >&2
            echo >&2
        done
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
