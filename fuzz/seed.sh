#!/usr/bin/env bash
# Write the seed corpora to fuzz/corpus/<target>/: tiny files from the project's own writers (every format, stamped
# and plain) and the shared corpus of real generator files ($STEMMA_SHARED, else ../shared beside the repository).
# fuzz/corpus is ignored by git: nothing from shared/ is ever committed.
set -euo pipefail
cd "$(dirname "$0")"
# The main workspace's target folder: its compiled dependencies are reused.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-../target}" cargo run --quiet --no-default-features --example seed
