#!/usr/bin/env bash
# Runs the tests of every package that does not link LibTorch under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the threaded cores (preprocessing pipeline, data loader) under
# ThreadSanitizer. Used by CI; docs/RELIABILITY.md says what it covers.
set -euo pipefail
cd "$(dirname "$0")/.."
# Test targets that link LibTorch (directly or through a dependency) are left out: LibTorch is not
# built with the sanitizers, and its own allocations would drown the reports.
targets=$(bazel query --noshow_progress \
  'kind("cc_test", //records/... + //features/... + //preprocess/... + //tools/... + //train/... + //inference/...)
   except rdeps(//..., //third_party:libtorch)')
bazel test --config=asan $targets
# tools/tsan.supp says what is suppressed and why.
bazel test --config=tsan --test_env=TSAN_OPTIONS="suppressions=$PWD/tools/tsan.supp halt_on_error=1" \
  //preprocess:pipeline_test //train:dataset_test
