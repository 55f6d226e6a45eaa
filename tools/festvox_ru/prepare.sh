#!/usr/bin/env bash
# Makes an LJSpeech-style corpus with word-level reference alignments from Debian's festvox-ru
# (620 read Russian utterances, one male speaker, 16 kHz): OUT/metadata.csv, OUT/wavs/ (links to the
# package's recordings) and OUT/textgrids/ID.TextGrid (tiers "words" and "phones", see
# references.scm). Needs the Debian packages festival and festvox-ru (tools/setup.sh installs them).
#
# Usage: tools/festvox_ru/prepare.sh OUT [LIMIT]     (LIMIT: only the first LIMIT utterances)
# Then:  bazel run //preprocess -- --dataset=OUT --out=RECORDS --cleaner=unicode \
#            --alignments=OUT/textgrids
set -euo pipefail
usage() { echo "usage: $0 OUT [LIMIT]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
case "${1}" in -h|--help) sed -n '2,10p' "$0"; exit 0;; esac
out=$(realpath -m "$1")
limit=${2:-0}
[[ "$limit" =~ ^[0-9]+$ ]] || { echo "prepare.sh: LIMIT must be a number, got '$limit'" >&2; exit 2; }
voice=${FESTVOX_RU_DIR:-/usr/share/festival/voices/russian/msu_ru_nsh_clunits}
here=$(dirname "$(realpath "$0")")
command -v festival >/dev/null || { echo "prepare.sh: festival is not installed (apt-get install festival)" >&2; exit 1; }
[ -f "$voice/etc/txt.done.data" ] || { echo "prepare.sh: $voice/etc/txt.done.data not found (apt-get install festvox-ru)" >&2; exit 1; }
mkdir -p "$out/wavs" "$out/textgrids"
for w in "$voice"/wav/*.wav; do ln -sf "$w" "$out/wavs/$(basename "$w")"; done
festival -b "(set! fr_voice_dir \"$voice\")" "(set! fr_out \"$out\")" "(set! fr_limit $limit)" "(set! fr_here \"$here\")" \
  "$here/references.scm" 2>&1 | tee "$out/references.log" | grep -v '^$' || true
[ -f "$out/metadata.csv" ] || { echo "prepare.sh: festival failed (see $out/references.log)" >&2; exit 1; }
n=$(wc -l < "$out/metadata.csv")
refs=$(find "$out/textgrids" -name '*.TextGrid' | wc -l)
echo "prepare.sh: $n utterances in $out/metadata.csv, $refs with word references in $out/textgrids"
