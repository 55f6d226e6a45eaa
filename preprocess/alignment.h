#ifndef LIGHTSPEECH_PREPROCESS_ALIGNMENT_H_
#define LIGHTSPEECH_PREPROCESS_ALIGNMENT_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightspeech::preprocess {

// Reference alignments: Praat TextGrids (long and short text formats, UTF-8 with or without BOM,
// UTF-16 BE/LE with BOM, as Praat and the Montreal Forced Aligner write them) and HTK/festival
// `.lab` files, read into intervals in seconds, then converted to frames.
//
// Silence: an interval whose label is empty or one of "sil", "SIL", "sp", "pau", "<eps>", "h#" is
// silence; readers store it with an empty label. Nothing is repaired: overlaps, gaps, intervals
// that end before they start, a missing tier, an alignment longer than the audio or words that
// differ from the text are errors naming the file (the `source` argument), the line when there is
// one, and the problem.

struct Interval {
  double start = 0;   // seconds
  double end = 0;     // seconds
  std::string label;  // empty for silence
  int line = 0;       // 1-based line in the source where the interval was read (0: unknown)
};

struct Alignment {
  std::string source;            // file name used in error messages
  double duration = 0;           // seconds covered (TextGrid xmax, or the last interval's end)
  std::vector<Interval> words;   // empty when the source has no word level (.lab files)
  std::vector<Interval> phones;  // contiguous, from 0 to `duration`
};

// True for the silence labels listed above.
bool IsSilenceLabel(absl::string_view label);

// The span from the first non-silent interval's start to the last one's end, over both tiers, in
// seconds; nullopt when every interval is silent.
std::optional<std::pair<double, double>> SpeechSpan(const Alignment& alignment);

// The alignment of the audio from `offset` seconds on, `duration` seconds long (what trimming
// leading and trailing silence keeps): every time less `offset`, intervals clipped to
// [0, duration], those left with no length dropped. Never fails; intervals that lay outside the kept
// audio are gone, so callers keep the speech in (SpeechSpan).
Alignment ShiftAlignment(const Alignment& alignment, double offset, double duration);

// Parses a TextGrid (any of the encodings above) and takes the interval tiers named `words_tier`
// and `phones_tier` (a tier also matches when its name ends in " - <name>", as MFA names tiers
// per speaker). The phones tier is required, the words tier optional when `words_tier` is empty.
// Intervals must be contiguous and non-decreasing from the tier's xmin to its xmax.
// Errors look like "a.TextGrid:17: expected a number, found '\"x\"'" or
// "a.TextGrid: no interval tier named 'phones' (tiers: 'words', 'phonemes')".
absl::StatusOr<Alignment> ParseTextGrid(absl::string_view contents, absl::string_view source,
                                        absl::string_view words_tier = "words",
                                        absl::string_view phones_tier = "phones");

// Parses a `.lab` file into phones (words stay empty). Two layouts:
//  - HTK: lines "start end label" with integer times in 100 ns units (extra columns ignored);
//  - festival/xwaves: a header ending with a line "#", then lines "end_time colour label" with
//    times in seconds; each interval starts where the previous one ended (the first at 0).
// A file with a line consisting of "#" is festival, otherwise HTK. Blank lines are skipped.
absl::StatusOr<Alignment> ParseLab(absl::string_view contents, absl::string_view source);

// Reads `path` and parses it by extension: ".TextGrid" (any case) or ".lab". Errors name `path`.
absl::StatusOr<Alignment> ReadAlignmentFile(const std::string& path);

// Checks the non-silent word labels against the text's words (preprocess/words.h WordLabels),
// compared by WordKey: Unicode case folding and NFKC, punctuation and stress marks left out, so
// MFA's lower-case "когда" matches the text's "Когда". A label may hold several space-separated
// words (one interval for words spoken as a unit, as make_corpus writes for espeak-ng's "there
// be"), and consecutive labels whose keys concatenate to a text word's key make that word ("GPL"
// as "g" "p" "l", "anti-circumvention" as "anti" "circumvention"). Labels and text tokens with an
// empty key (punctuation only) are ignored. Ok when the alignment has no words tier.
// Errors: "a.TextGrid:30: word 4 is 'foo' but the text has 'bar'",
//         "a.TextGrid: 9 words but the text has 10".
absl::Status CheckWords(const Alignment& alignment, absl::string_view normalized_text);

// Frames. A boundary at t seconds is frame round(t * sample_rate / hop) (halves away from zero):
// frame k covers the samples centered on k * hop (the contract's centered STFT), so a boundary
// belongs to the frame whose center is nearest. The alignment's end must be within
// `tolerance_frames` of `n_frames` (1 + floor(n_samples / hop)); the last boundary is then set to
// n_frames so that durations sum to n_frames. Intervals that round to zero frames are kept with
// start == end.
struct FrameOptions {
  int sample_rate = 22050;
  int hop = 256;
  int tolerance_frames = 2;
};

struct FrameInterval {
  int64_t start = 0;  // first frame
  int64_t end = 0;    // one past the last frame
  std::string label;  // empty for silence
};

struct FrameAlignment {
  int64_t n_frames = 0;
  std::vector<FrameInterval> words;
  std::vector<FrameInterval> phones;
};

// Converts to frames. Errors: "a.TextGrid: alignment ends at 3.2 s = frame 276 but the audio has
// 250 frames (tolerance 2)".
absl::StatusOr<FrameAlignment> ToFrames(const Alignment& alignment, int64_t n_frames,
                                        const FrameOptions& options);

// Frames per input symbol when the symbols are phones, e.g. preprocess/phonemizer.h output:
// non-silent phone intervals are matched in order with the symbols that are not `word_separator`
// (labels must be equal); a silent interval's frames go to the separator when the next symbol to
// match is one (silence between words), otherwise to the previously matched symbol (to the first
// symbol for leading silence). The result has one entry per symbol and sums to n_frames.
// Errors name the source: "a.TextGrid: phone 7 is 'eI' but symbol 9 is 'aI'", or a count mismatch.
absl::StatusOr<std::vector<int64_t>> SymbolDurations(const FrameAlignment& frames,
                                                     const std::vector<std::string>& symbols,
                                                     absl::string_view word_separator,
                                                     absl::string_view source);

// The words of an alignment with their phones, the input of a model whose symbols are the
// alignment's own phone labels (//preprocess --phonemizer=alignment): each non-silent word interval
// in order, with the labels of the non-silent phone intervals whose midpoints lie in it. Errors name
// the source and line: no words tier (a .lab file), a phone outside every word, a word without
// phones, a phone label that is the word separator `word_separator` or holds whitespace.
struct WordPhones {
  std::string word;                 // the word interval's label
  std::vector<std::string> phones;  // its phone labels, in order
};
absl::StatusOr<std::vector<WordPhones>> AlignmentWordPhones(const Alignment& alignment,
                                                            absl::string_view word_separator);

// Writes a TextGrid in Praat's long text format (UTF-8) with interval tiers "words" and "phones"
// covering [0, alignment.duration]; each tier's gaps are filled with empty intervals. Times are
// printed with 17 significant digits, so they read back bit-exactly.
std::string FormatTextGridLong(const Alignment& alignment);

}  // namespace lightspeech::preprocess

#endif  // LIGHTSPEECH_PREPROCESS_ALIGNMENT_H_
