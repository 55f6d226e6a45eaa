#!/usr/bin/env bash
# Runs tools/festvox_ru/prepare.sh on the first two festvox-ru utterances and
# tools/festival_corpus/make.sh on one sentence, and checks what they wrote: metadata, recordings and
# TextGrids whose words are the text's, in order, ending at the recording's length.
set -euo pipefail
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fail() { echo "FAIL: $*" >&2; exit 1; }

tools/festvox_ru/prepare.sh "$tmp/ru" 2 > "$tmp/ru.log"
grep -q "2 utterances in $tmp/ru/metadata.csv, 2 with word references" "$tmp/ru.log" || fail "prepare.sh: $(cat "$tmp/ru.log")"
[ "$(wc -l < "$tmp/ru/metadata.csv")" = 2 ] || fail "metadata.csv"
head -1 "$tmp/ru/metadata.csv" | grep -q '^ru_0001|Корреспондент, американской газеты' || fail "metadata line 1: $(head -1 "$tmp/ru/metadata.csv")"
tg="$tmp/ru/textgrids/ru_0001.TextGrid"
# Short text TextGrid: the words tier's labels, in order, start with the text's words.
words=$(awk 'NR > 14 && /^"/ { print }' "$tg" | head -12 | tr -d '"' | grep -v '^$' | head -3 | tr '\n' ' ')
[ "$words" = "Корреспондент американской газеты " ] || fail "words tier starts with '$words'"
# Both tiers end at the recording's length: 257278 samples at 16 kHz = 16.079876 s (festival prints it so).
[ "$(grep -c '^16.079876$' "$tg")" -ge 4 ] || fail "tiers do not end at 16.079876 s"
[ -L "$tmp/ru/wavs/ru_0001.wav" ] || fail "wavs/ru_0001.wav is not a link to the package's recording"

printf 'x1|And the LORD said unto Moses, Go in.|And the LORD said unto Moses, Go in.\n' > "$tmp/one.csv"
tools/festival_corpus/make.sh "$tmp/one.csv" "$tmp/en" > "$tmp/en.log"
grep -q "1 utterances in $tmp/en" "$tmp/en.log" || fail "make.sh: $(cat "$tmp/en.log")"
[ -s "$tmp/en/wavs/x1.wav" ] || fail "no wav"
words=$(grep '^"[A-Za-z]' "$tmp/en/textgrids/x1.TextGrid" | grep -v 'IntervalTier\|"words"' | tr -d '"' | head -8 | tr '\n' ' ')
[ "$words" = "And the LORD said unto Moses Go in " ] || fail "words tier: '$words'"
echo PASS
