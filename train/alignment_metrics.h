#ifndef LIGHTSPEECH_TRAIN_ALIGNMENT_METRICS_H_
#define LIGHTSPEECH_TRAIN_ALIGNMENT_METRICS_H_

// Yardsticks for durations against reference timings, and a length-robust mel distance. Definitions
// are in docs/EVALUATION.md; this file is their implementation. No LibTorch here.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "train/batch.h"

namespace lightspeech::train {

// Which input symbols belong to words. A symbol is a word symbol unless it is the pad symbol, a
// space, the phonemizer's word separator "|", or (characters only, `phones` false) made only of ASCII
// punctuation. With `phones` (a phonemizer's table) every other symbol is a phone, even one written
// with punctuation characters such as eSpeak's schwa "@". Consecutive word symbols form one word; any
// other symbol ends it.
std::vector<bool> WordSymbolMask(const std::vector<std::string>& symbol_table, bool phones = false);

// Which symbols join the word symbols on both sides of them into one word: with character input
// (`phones` false), the symbols made only of ASCII punctuation, such as the hyphen of "burnt-offering",
// the apostrophe of "servant's" and the stress mark of Russian "вол+ос". None with phones.
std::vector<bool> WordJoinerMask(const std::vector<std::string>& symbol_table, bool phones = false);

// Frame spans of the words that `durations` (frames per symbol, [N]) give to the symbol sequence
// `symbol_ids` ([N]): word k spans from the first frame of its first symbol to the end of its last.
// A symbol marked in `joiners` (WordJoinerMask; none when empty) directly between two word symbols
// belongs to their word. Fails with InvalidArgument on mismatched lengths, negative durations or
// out-of-table ids.
absl::StatusOr<std::vector<WordSpan>> PredictedWordSpans(const std::vector<int64_t>& symbol_ids,
                                                         const std::vector<int64_t>& durations,
                                                         const std::vector<bool>& word_symbols,
                                                         const std::vector<bool>& joiners = {});

// Running totals of boundary errors over many utterances.
struct BoundaryStats {
  int64_t utterances = 0;         // utterances that were compared
  int64_t skipped = 0;            // utterances whose word counts did not match (not compared)
  int64_t boundaries = 0;         // boundaries compared
  double abs_error_frames = 0.0;  // sum of |predicted - reference| over boundaries
  int64_t within_20ms = 0;
  int64_t within_50ms = 0;
  // Signed errors (predicted - reference; positive = late) of the boundaries that start a spoken
  // interval and of those that end one (word boundaries only; phone boundaries count in neither).
  int64_t starts = 0;
  double start_signed_error_frames = 0.0;
  int64_t ends = 0;
  double end_signed_error_frames = 0.0;

  double MaeMs(double ms_per_frame) const {
    return boundaries == 0 ? 0.0 : abs_error_frames / boundaries * ms_per_frame;
  }
  // Mean signed error of starts and of ends in ms: a systematic lead (negative) or lag (positive).
  double StartBiasMs(double ms_per_frame) const {
    return starts == 0 ? 0.0 : start_signed_error_frames / starts * ms_per_frame;
  }
  double EndBiasMs(double ms_per_frame) const { return ends == 0 ? 0.0 : end_signed_error_frames / ends * ms_per_frame; }
  double ShareWithin20ms() const { return boundaries == 0 ? 0.0 : double(within_20ms) / boundaries; }
  double ShareWithin50ms() const { return boundaries == 0 ? 0.0 : double(within_50ms) / boundaries; }
};

// Adds one utterance's word boundaries to `stats`. Reference spans are the non-silent word intervals
// of the record; one reference interval may hold several space-separated words (words spoken as a
// unit), in which case it is compared with the predicted span from the first to the last of those
// words; when the predicted words are as many as the non-silent intervals but not as many as the
// label words (a phonemizer that wrote such a unit as one word), interval k is compared with predicted
// word k. Each reference interval contributes its start and its end boundary. When the number of
// predicted words matches neither count, the utterance is counted in `skipped` and nothing else
// changes.
void AddWordBoundaries(const std::vector<WordSpan>& reference, const std::vector<WordSpan>& predicted,
                       double ms_per_frame, BoundaryStats* stats);

// What a method puts between two consecutive words against the reference: the frames between the
// end of predicted word k and the start of word k + 1 (those of the separators and other non-word
// symbols there), apart for junctions where the reference words touch (no pause) and where a silent
// interval separates them (a pause). Only utterances whose spoken intervals hold one word each and
// match the predicted words one to one are counted.
struct GapStats {
  int64_t run_on = 0;                 // junctions without a reference pause
  double run_on_predicted_frames = 0;  // summed predicted gap at them
  int64_t paused = 0;                 // junctions with a reference pause
  double paused_predicted_frames = 0;  // summed predicted gap at them
  double paused_reference_frames = 0;  // summed reference pause at them

  double RunOnMeanFrames() const { return run_on == 0 ? 0.0 : run_on_predicted_frames / run_on; }
  double PausedMeanFrames() const { return paused == 0 ? 0.0 : paused_predicted_frames / paused; }
  double PausedReferenceMeanFrames() const { return paused == 0 ? 0.0 : paused_reference_frames / paused; }
};
void AddWordGaps(const std::vector<WordSpan>& reference, const std::vector<WordSpan>& predicted, GapStats* stats);

// Per-symbol comparison when the symbols are phones: boundaries are the cumulative frame positions
// after each symbol (the last one, equal to the total, is not a boundary), and per-symbol absolute
// duration errors in frames. Symbols marked false in `counted` (e.g. word separators) contribute
// neither a boundary nor a duration error.
struct PhoneStats {
  BoundaryStats boundaries;
  int64_t symbols = 0;
  double abs_duration_error_frames = 0.0;
  double DurationMaeFrames() const { return symbols == 0 ? 0.0 : abs_duration_error_frames / symbols; }
};
absl::Status AddPhoneBoundaries(const std::vector<int64_t>& reference_durations,
                                const std::vector<int64_t>& predicted_durations, const std::vector<bool>& counted,
                                double ms_per_frame, PhoneStats* stats);

// Mean absolute difference per mel value between `a` ([frames_a, n_mels], frame-major) and `b`
// along the dynamic-time-warping path that minimizes the summed frame L1 distance (steps (1,0),
// (0,1), (1,1)); equals the plain mean L1 when the lengths are equal and the path is diagonal.
// Fails with InvalidArgument on empty inputs or sizes that are not multiples of n_mels.
absl::StatusOr<double> DtwMelL1(const std::vector<float>& a, const std::vector<float>& b, int64_t n_mels);

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_ALIGNMENT_METRICS_H_
