#!/usr/bin/env bash
# Speaks an LJSpeech metadata.csv with a festival voice into a corpus with exact reference timings:
# OUT/wavs/ID.wav, OUT/textgrids/ID.TextGrid (tiers "words" and "phones": what festival spoke and
# when) and OUT/metadata.csv. A second synthesizer beside espeak-ng (tools:make_corpus) for alignment
# measurements; the default voice, cmu_us_slt_arctic_hts (Debian festvox-us-slt-hts), is an HTS
# voice trained on recorded speech, with its timing. Needs the packages festival and the voice.
#
# Usage: tools/festival_corpus/make.sh METADATA OUT [VOICE]
#   METADATA  ID|text|normalized text lines (e.g. tools:make_corpus's); the last column is spoken
#   VOICE     a festival voice name (default cmu_us_slt_arctic_hts)
# E.g.: bazel run -c opt //tools:make_corpus -- --out=/tmp/kjv --max_utterances=600 --seed=1 --max_words=16
#       tools/festival_corpus/make.sh /tmp/kjv/metadata.csv /work/data/slt600
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,14p' "$0"; exit 0;; esac
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $0 METADATA OUT [VOICE]" >&2; exit 2; }
metadata=$1
out=$(realpath -m "$2")
voice=${3:-cmu_us_slt_arctic_hts}
here=$(dirname "$(realpath "$0")")
command -v festival >/dev/null || { echo "make.sh: festival is not installed (apt-get install festival)" >&2; exit 1; }
[ -f "$metadata" ] || { echo "make.sh: $metadata: no such file" >&2; exit 1; }
mkdir -p "$out/wavs" "$out/textgrids"
# festvox's data layout, read by festival without a line reader: ( ID "text" ), quotes escaped.
data="$out/utterances.data"
awk -F'|' 'NF >= 2 { t = $NF; gsub(/\\/, "\\\\", t); gsub(/"/, "\\\"", t); printf "( %s \"%s\" )\n", $1, t }' "$metadata" > "$data"
festival -b "(set! fc_voice 'voice_$voice)" "(set! fc_data \"$data\")" "(set! fc_out \"$out\")" "(set! fc_here \"$here\")" \
  "$here/synth.scm" 2>&1 | tee "$out/synth.log" | grep -v '^$' || true
[ -f "$out/metadata.csv" ] || { echo "make.sh: festival failed (see $out/synth.log)" >&2; exit 1; }
echo "make.sh: $(wc -l < "$out/metadata.csv") utterances in $out"
