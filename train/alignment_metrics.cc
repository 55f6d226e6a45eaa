#include "train/alignment_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace lightspeech::train {
namespace {

bool IsAsciiPunctuation(unsigned char c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
         (c >= 0x7B && c <= 0x7E);
}

// Number of space-separated words in a reference label ("there be" -> 2).
int64_t WordsInLabel(const std::string& label) {
  int64_t n = 0;
  for (absl::string_view part : absl::StrSplit(label, ' ', absl::SkipEmpty())) {
    (void)part;
    ++n;
  }
  return n;
}

enum class Edge { kInner, kStart, kEnd };

void AddBoundary(int64_t reference, int64_t predicted, double ms_per_frame, BoundaryStats* stats,
                 Edge edge = Edge::kInner) {
  const double signed_error = static_cast<double>(predicted - reference);
  const double error = std::abs(signed_error);
  if (edge == Edge::kStart) {
    stats->starts += 1;
    stats->start_signed_error_frames += signed_error;
  } else if (edge == Edge::kEnd) {
    stats->ends += 1;
    stats->end_signed_error_frames += signed_error;
  }
  stats->boundaries += 1;
  stats->abs_error_frames += error;
  // A small epsilon so that an error of exactly 20 ms (or 50 ms) counts as within.
  if (error * ms_per_frame <= 20.0 + 1e-9) stats->within_20ms += 1;
  if (error * ms_per_frame <= 50.0 + 1e-9) stats->within_50ms += 1;
}

// A symbol that never belongs to a word: padding, a space, the phonemizer's word separator.
bool IsSeparatorSymbol(const std::string& s) { return s.empty() || s == "<pad>" || s == " " || s == "|"; }

bool IsPunctuationSymbol(const std::string& s) {
  bool all_punct = true;
  for (unsigned char c : s) all_punct = all_punct && IsAsciiPunctuation(c);
  return all_punct;
}

}  // namespace

std::vector<bool> WordSymbolMask(const std::vector<std::string>& symbol_table, bool phones) {
  std::vector<bool> mask(symbol_table.size());
  for (size_t i = 0; i < symbol_table.size(); ++i) {
    const std::string& s = symbol_table[i];
    mask[i] = !IsSeparatorSymbol(s) && (phones || !IsPunctuationSymbol(s));
  }
  return mask;
}

std::vector<bool> WordJoinerMask(const std::vector<std::string>& symbol_table, bool phones) {
  std::vector<bool> mask(symbol_table.size());
  for (size_t i = 0; i < symbol_table.size(); ++i) {
    const std::string& s = symbol_table[i];
    mask[i] = !phones && !IsSeparatorSymbol(s) && IsPunctuationSymbol(s);
  }
  return mask;
}

absl::StatusOr<std::vector<WordSpan>> PredictedWordSpans(const std::vector<int64_t>& symbol_ids,
                                                         const std::vector<int64_t>& durations,
                                                         const std::vector<bool>& word_symbols,
                                                         const std::vector<bool>& joiners) {
  if (symbol_ids.size() != durations.size()) {
    return absl::InvalidArgumentError(absl::StrCat(symbol_ids.size(), " symbols but ", durations.size(),
                                                   " durations"));
  }
  std::vector<WordSpan> spans;
  int64_t frame = 0;
  bool in_word = false;
  for (size_t i = 0; i < symbol_ids.size(); ++i) {
    const int64_t id = symbol_ids[i];
    if (id < 0 || id >= static_cast<int64_t>(word_symbols.size())) {
      return absl::InvalidArgumentError(absl::StrCat("symbol ", i, " has id ", id, ", outside the table of ",
                                                     word_symbols.size()));
    }
    if (durations[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("symbol ", i, " has negative duration ", durations[i]));
    }
    const int64_t end = frame + durations[i];
    auto is_word = [&](size_t k) {
      const int64_t other = symbol_ids[k];
      return other >= 0 && other < static_cast<int64_t>(word_symbols.size()) && word_symbols[other];
    };
    const bool joins = in_word && id < static_cast<int64_t>(joiners.size()) && joiners[id] &&
                       i + 1 < symbol_ids.size() && is_word(i + 1);
    if (joins) {
      spans.back().end_frame = static_cast<int32_t>(end);
    } else if (word_symbols[id]) {
      if (!in_word) spans.push_back({static_cast<int32_t>(frame), static_cast<int32_t>(end), ""});
      spans.back().end_frame = static_cast<int32_t>(end);
      in_word = true;
    } else {
      in_word = false;
    }
    frame = end;
  }
  return spans;
}

void AddWordBoundaries(const std::vector<WordSpan>& reference, const std::vector<WordSpan>& predicted,
                       double ms_per_frame, BoundaryStats* stats) {
  std::vector<const WordSpan*> spoken;
  int64_t words = 0;
  for (const WordSpan& span : reference) {
    const int64_t n = WordsInLabel(span.label);
    if (n == 0) continue;  // silence
    spoken.push_back(&span);
    words += n;
  }
  // Either each label word has its own predicted word, or each interval is one predicted word (a
  // phonemizer that writes "of the" as one word, as eSpeak does, without a separator).
  const bool per_interval = words != static_cast<int64_t>(predicted.size()) &&
                            spoken.size() == predicted.size();
  if ((words != static_cast<int64_t>(predicted.size()) && !per_interval) || words == 0) {
    stats->skipped += 1;
    return;
  }
  stats->utterances += 1;
  size_t next = 0;
  for (const WordSpan* span : spoken) {
    const size_t first = next;
    next += per_interval ? 1 : static_cast<size_t>(WordsInLabel(span->label));
    const size_t last = next - 1;
    AddBoundary(span->start_frame, predicted[first].start_frame, ms_per_frame, stats, Edge::kStart);
    AddBoundary(span->end_frame, predicted[last].end_frame, ms_per_frame, stats, Edge::kEnd);
  }
}

void AddWordGaps(const std::vector<WordSpan>& reference, const std::vector<WordSpan>& predicted, GapStats* stats) {
  std::vector<const WordSpan*> spoken;
  for (const WordSpan& span : reference) {
    const int64_t n = WordsInLabel(span.label);
    if (n == 0) continue;  // silence
    if (n > 1) return;     // an interval of several words: no junction to compare inside it
    spoken.push_back(&span);
  }
  if (spoken.size() != predicted.size()) return;
  for (size_t k = 0; k + 1 < spoken.size(); ++k) {
    const int64_t reference_gap = spoken[k + 1]->start_frame - spoken[k]->end_frame;
    const int64_t predicted_gap = predicted[k + 1].start_frame - predicted[k].end_frame;
    if (reference_gap <= 0) {
      stats->run_on += 1;
      stats->run_on_predicted_frames += static_cast<double>(predicted_gap);
    } else {
      stats->paused += 1;
      stats->paused_predicted_frames += static_cast<double>(predicted_gap);
      stats->paused_reference_frames += static_cast<double>(reference_gap);
    }
  }
}

absl::Status AddPhoneBoundaries(const std::vector<int64_t>& reference_durations,
                                const std::vector<int64_t>& predicted_durations, const std::vector<bool>& counted,
                                double ms_per_frame, PhoneStats* stats) {
  const size_t n = reference_durations.size();
  if (predicted_durations.size() != n || counted.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat("lengths differ: reference ", n, ", predicted ",
                                                   predicted_durations.size(), ", mask ", counted.size()));
  }
  int64_t ref_end = 0;
  int64_t pred_end = 0;
  stats->boundaries.utterances += 1;
  for (size_t i = 0; i < n; ++i) {
    ref_end += reference_durations[i];
    pred_end += predicted_durations[i];
    if (!counted[i]) continue;
    stats->symbols += 1;
    stats->abs_duration_error_frames +=
        std::abs(static_cast<double>(predicted_durations[i] - reference_durations[i]));
    if (i + 1 < n) AddBoundary(ref_end, pred_end, ms_per_frame, &stats->boundaries);
  }
  return absl::OkStatus();
}

absl::StatusOr<double> DtwMelL1(const std::vector<float>& a, const std::vector<float>& b, int64_t n_mels) {
  if (n_mels <= 0 || a.empty() || b.empty() || a.size() % n_mels != 0 || b.size() % n_mels != 0) {
    return absl::InvalidArgumentError(absl::StrCat("DTW needs non-empty mels with a multiple of ", n_mels,
                                                   " values; got ", a.size(), " and ", b.size()));
  }
  const int64_t ta = static_cast<int64_t>(a.size()) / n_mels;
  const int64_t tb = static_cast<int64_t>(b.size()) / n_mels;
  auto distance = [&](int64_t i, int64_t j) {
    double sum = 0.0;
    const float* x = a.data() + i * n_mels;
    const float* y = b.data() + j * n_mels;
    for (int64_t m = 0; m < n_mels; ++m) sum += std::abs(static_cast<double>(x[m]) - y[m]);
    return sum;
  };
  // cost[i][j]: least summed distance of a path from (0,0) to (i,j); steps[i][j]: its length. Two
  // rows at a time; ties prefer the diagonal, then the shorter path.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> prev_cost(tb, kInf), cost(tb, kInf);
  std::vector<int64_t> prev_len(tb, 0), len(tb, 0);
  for (int64_t i = 0; i < ta; ++i) {
    for (int64_t j = 0; j < tb; ++j) {
      const double d = distance(i, j);
      if (i == 0 && j == 0) {
        cost[j] = d;
        len[j] = 1;
        continue;
      }
      double best = kInf;
      int64_t best_len = 0;
      auto consider = [&](double c, int64_t l) {
        if (c < best || (c == best && l < best_len)) {
          best = c;
          best_len = l;
        }
      };
      if (i > 0 && j > 0) consider(prev_cost[j - 1], prev_len[j - 1]);
      if (i > 0) consider(prev_cost[j], prev_len[j]);
      if (j > 0) consider(cost[j - 1], len[j - 1]);
      cost[j] = best + d;
      len[j] = best_len + 1;
    }
    std::swap(prev_cost, cost);
    std::swap(prev_len, len);
  }
  return prev_cost[tb - 1] / (static_cast<double>(prev_len[tb - 1]) * n_mels);
}

}  // namespace lightspeech::train
