#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 60) with cargo-fuzz (libFuzzer), after seeding fuzz/corpus/.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]      e.g. fuzz/run.sh 300 write_roundtrip
#
# Toolchain: cargo-fuzz needs nightly flags. The machine's one (stable) toolchain is used with RUSTC_BOOTSTRAP=1;
# STEMMA_FUZZ_NIGHTLY=1 uses `cargo +nightly` instead where a nightly is installed. No sanitizer: the code under test forbids
# `unsafe`, so AddressSanitizer (nightly only) adds cost and finds nothing; panics, overflows (debug assertions are
# on) and broken invariants are what the targets catch. Crashes are saved to fuzz/artifacts/<target>/; a summary
# line per target (executions, coverage, crashes) goes to fuzz/logs/summary.tsv.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(read_png read_jpeg read_webp read_gif read_bmff read_xmp read_exif write_roundtrip import_entries parse_record catalog_query)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
if [ "${STEMMA_FUZZ_NIGHTLY:-0}" = 1 ]; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
./seed.sh
"${fuzz[@]}" build --sanitizer none --release
mkdir -p logs artifacts
printf 'target\tseconds\texecutions\texec_per_s\tcoverage\tfeatures\tcorpus\tcrashes\n' > logs/summary.tsv
failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  before=$(ls "artifacts/$t" | wc -l)
  set +e
  "${fuzz[@]}" run --sanitizer none --release "$t" "corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -max_len=262144 -print_final_stats=1 \
    > "logs/$t.log" 2>&1
  rc=$?
  set -e
  crashes=$(( $(ls "artifacts/$t" | wc -l) - before ))
  last=$(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "logs/$t.log" | grep -oE '[0-9]+$' || echo "?")
  speed=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "logs/$t.log" | grep -oE '[0-9]+$' || echo "?")
  cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || echo "?")
  ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+' || echo "?")
  corp=$(echo "$last" | grep -oE 'corp: [0-9]+' | grep -oE '[0-9]+' || echo "?")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$seconds" "$execs" "$speed" "$cov" "$ft" "$corp" "$crashes" >> logs/summary.tsv
  echo "$t: exit $rc, ${execs} executions, cov ${cov}, ${crashes} crash(es) (log: fuzz/logs/$t.log)"
  if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then failed=1; fi
done
column -t logs/summary.tsv 2>/dev/null || cat logs/summary.tsv
exit $failed
