#!/usr/bin/env bash
# Installs every Debian package RL-LightSpeech builds, tests and runs with.
# Idempotent: does nothing (no apt-get update, no install) when all packages are present.
# Usage: tools/setup.sh            (as root, or with sudo available)
set -euo pipefail

PACKAGES=(
  # Build system (offline Bazel 4.2.3) and compilers.
  bazel-bootstrap bazel-rules-java bazel-platforms g++ clang libclang-rt-14-dev
  # Records and flags.
  protobuf-compiler libprotobuf-dev libabsl-dev libgtest-dev libgmock-dev
  # Features: audio I/O, resampling, FFT, pictures.
  libsndfile1-dev libsoxr-dev libfftw3-dev libpng-dev
  # Text: Unicode cleaners and phonemizer / corpus synthesis.
  libicu-dev libespeak-ng-dev espeak-ng-data
  # Model and training: LibTorch (CPU) and Gloo for c10d.
  libtorch-dev libgloo-dev
  # Reference numerics, peers and interop checks (never used by the project's main commands).
  python3-torch python3-torchaudio python3-scipy python3-protobuf python3-numpy
  espeak-ng  # CLI: features/testdata_gen/make_golden.py speaks the golden speech clip
  nodejs  # with npm: tools/interop/check.sh reads our shards with an npm TFRecord package
  # Real prose for the generated corpora.
  bible-kjv-text
  # The intelligibility judge: an English ASR (tools/asr.h).
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us
  # Real recorded speech (festvox-ru) with festival's front end for its word references
  # (tools/festvox_ru), and a second English synthesizer (tools/festival_corpus).
  festival festvox-ru festvox-us-slt-hts
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm: Debian's package only when no npm exists (a nodesource nodejs bundles its own and conflicts).
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Update the package lists only when an install from the current lists fails (stale or missing lists).
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "setup: done"
