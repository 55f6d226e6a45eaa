#include "tools/evaluate_lib.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "features/mel_image.h"
#include "records/manifest_io.h"
#include "tools/json_util.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/dataset.h"
#include "train/inference_model.h"

namespace lightspeech::tools {
namespace {

// Word boundary frames (start and end of each span) for a picture.
std::vector<int> BoundaryMarks(const std::vector<train::WordSpan>& spans, int64_t frames) {
  std::vector<int> marks;
  for (const train::WordSpan& w : spans) {
    for (int f : {w.start_frame, w.end_frame}) {
      if (f >= 0 && f <= frames) marks.push_back(f);
    }
  }
  return marks;
}

std::vector<train::WordSpan> SpokenWords(const std::vector<train::WordSpan>& spans) {
  std::vector<train::WordSpan> out;
  for (const train::WordSpan& w : spans) {
    if (!w.label.empty()) out.push_back(w);
  }
  return out;
}

// Adds one utterance's durations to `m`.
absl::Status AddUtterance(const std::vector<int64_t>& symbol_ids, const std::vector<int64_t>& durations,
                          const std::vector<train::WordSpan>& reference_words,
                          const std::vector<int64_t>& reference_durations, const std::vector<bool>& word_symbols,
                          const std::vector<bool>& word_joiners, double ms_per_frame, DurationMetrics* m) {
  LS_ASSIGN_OR_RETURN(std::vector<train::WordSpan> words,
                      train::PredictedWordSpans(symbol_ids, durations, word_symbols, word_joiners));
  train::AddWordBoundaries(reference_words, words, ms_per_frame, &m->words);
  train::AddWordGaps(reference_words, words, &m->gaps);
  if (!reference_durations.empty()) {
    m->has_phones = true;
    std::vector<bool> counted;
    for (int64_t id : symbol_ids) counted.push_back(word_symbols[id]);
    if (absl::Status s = train::AddPhoneBoundaries(reference_durations, durations, counted, ms_per_frame, &m->phones);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// `tokens` equal shares of `frames`: symbol i ends at round((i + 1) * frames / tokens).
std::vector<int64_t> UniformDurations(int64_t tokens, int64_t frames) {
  std::vector<int64_t> d;
  int64_t previous = 0;
  for (int64_t i = 0; i < tokens; ++i) {
    const int64_t end = std::llround(static_cast<double>(i + 1) * frames / tokens);
    d.push_back(end - previous);
    previous = end;
  }
  return d;
}

double PlainMelL1(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty() || a.size() != b.size()) return 0;
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::fabs(static_cast<double>(a[i]) - b[i]);
  return sum / a.size();
}

std::string JsonNumber(double v) { return std::isfinite(v) ? absl::StrFormat("%.6g", v) : "null"; }

std::string MetricsJson(const DurationMetrics& m, double ms_per_frame) {
  if (!m.available) return "null";
  std::vector<std::string> f = {
      absl::StrCat("\"utterances\": ", m.words.utterances),
      absl::StrCat("\"skipped_word_count_mismatch\": ", m.words.skipped),
      absl::StrCat("\"word_boundaries\": ", m.words.boundaries),
      absl::StrCat("\"word_boundary_mae_ms\": ", JsonNumber(m.words.MaeMs(ms_per_frame))),
      absl::StrCat("\"word_boundaries_within_20ms\": ", JsonNumber(m.words.ShareWithin20ms())),
      absl::StrCat("\"word_boundaries_within_50ms\": ", JsonNumber(m.words.ShareWithin50ms())),
      absl::StrCat("\"word_start_bias_ms\": ", JsonNumber(m.words.StartBiasMs(ms_per_frame))),
      absl::StrCat("\"word_end_bias_ms\": ", JsonNumber(m.words.EndBiasMs(ms_per_frame))),
      absl::StrCat("\"run_on_junctions\": ", m.gaps.run_on),
      absl::StrCat("\"run_on_gap_frames\": ", JsonNumber(m.gaps.RunOnMeanFrames())),
      absl::StrCat("\"paused_junctions\": ", m.gaps.paused),
      absl::StrCat("\"paused_gap_frames\": ", JsonNumber(m.gaps.PausedMeanFrames())),
      absl::StrCat("\"paused_reference_gap_frames\": ", JsonNumber(m.gaps.PausedReferenceMeanFrames())),
  };
  if (m.has_phones) {
    f.push_back(absl::StrCat("\"phone_boundaries\": ", m.phones.boundaries.boundaries));
    f.push_back(absl::StrCat("\"phone_boundary_mae_ms\": ", JsonNumber(m.phones.boundaries.MaeMs(ms_per_frame))));
    f.push_back(absl::StrCat("\"phone_boundaries_within_20ms\": ", JsonNumber(m.phones.boundaries.ShareWithin20ms())));
    f.push_back(absl::StrCat("\"phone_boundaries_within_50ms\": ", JsonNumber(m.phones.boundaries.ShareWithin50ms())));
    f.push_back(absl::StrCat("\"phone_duration_mae_frames\": ", JsonNumber(m.phones.DurationMaeFrames())));
  }
  return absl::StrCat("{", absl::StrJoin(f, ", "), "}");
}

std::string MetricsText(const std::string& title, const DurationMetrics& m, double ms_per_frame) {
  if (!m.available) return absl::StrCat(title, ": not available (the model has no such durations)\n");
  std::string out = absl::StrFormat(
      "%s: %d utterances (%d skipped: word count differs)\n"
      "  word boundaries: %d, MAE %.2f ms, within 20 ms %.1f%%, within 50 ms %.1f%%; "
      "mean signed error (late > 0): starts %+.2f ms, ends %+.2f ms\n",
      title, m.words.utterances, m.words.skipped, m.words.boundaries, m.words.MaeMs(ms_per_frame),
      100 * m.words.ShareWithin20ms(), 100 * m.words.ShareWithin50ms(), m.words.StartBiasMs(ms_per_frame),
      m.words.EndBiasMs(ms_per_frame));
  if (m.gaps.run_on + m.gaps.paused > 0) {
    absl::StrAppendFormat(&out,
                          "  between words: %.2f frames where the reference runs on (%d junctions), %.2f where it "
                          "pauses (%d junctions, reference %.2f)\n",
                          m.gaps.RunOnMeanFrames(), m.gaps.run_on, m.gaps.PausedMeanFrames(), m.gaps.paused,
                          m.gaps.PausedReferenceMeanFrames());
  }
  if (m.has_phones) {
    absl::StrAppendFormat(&out,
                          "  phone boundaries: %d, MAE %.2f ms, within 20 ms %.1f%%, within 50 ms %.1f%%; "
                          "per-phone duration MAE %.3f frames\n",
                          m.phones.boundaries.boundaries, m.phones.boundaries.MaeMs(ms_per_frame),
                          100 * m.phones.boundaries.ShareWithin20ms(), 100 * m.phones.boundaries.ShareWithin50ms(),
                          m.phones.DurationMaeFrames());
  }
  return out;
}

}  // namespace

absl::StatusOr<EvaluationReport> Evaluate(const EvaluateOptions& options) {
  if (options.checkpoint.empty()) return absl::InvalidArgumentError("--checkpoint is required");
  if (options.data_dir.empty()) return absl::InvalidArgumentError("--data is required");
  if (base::IsDirectory(options.checkpoint)) {
    return absl::InvalidArgumentError(absl::StrCat("--checkpoint: ", options.checkpoint,
                                                   " is a folder; give a checkpoint file (RUN_DIR/checkpoints/ckpt-<step>.pb)"));
  }
  if (!base::IsRegularFile(options.checkpoint)) {
    return absl::NotFoundError(absl::StrCat("--checkpoint: ", options.checkpoint, " does not exist"));
  }
  if (!base::IsDirectory(options.data_dir)) {
    return absl::NotFoundError(absl::StrCat("--data: ", options.data_dir, " is not a folder"));
  }
  LS_ASSIGN_OR_RETURN(train::Checkpoint ckpt, train::ReadCheckpoint(options.checkpoint));
  LS_ASSIGN_OR_RETURN(records::Manifest manifest, records::ReadManifest(options.data_dir));
  if (manifest.features().n_mels() != ckpt.n_mels()) {
    return absl::FailedPreconditionError(absl::StrCat(options.data_dir, " has ", manifest.features().n_mels(),
                                                      " mel bins, the checkpoint ", ckpt.n_mels()));
  }
  if (manifest.features().sample_rate() <= 0 || manifest.features().hop_length() <= 0) {
    return absl::FailedPreconditionError(absl::StrCat(options.data_dir, ": the manifest has no sample rate or hop"));
  }

  EvaluationReport report;
  report.checkpoint = options.checkpoint;
  report.data_dir = options.data_dir;
  report.step = ckpt.step();
  report.method = train::TrainConfig::Aligner_Name(ckpt.config().aligner());
  report.alignment_overrides = options.alignment_overrides;
  report.ms_per_frame = 1000.0 * manifest.features().hop_length() / manifest.features().sample_rate();

  // Before the model is built: a checkpoint for other data is refused at once.
  if (const std::string diff = train::FirstDifference(ckpt.symbols(), manifest.symbols()); !diff.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.checkpoint, ": checkpoint symbol table differs: ", diff));
  }

  // The alignment options: applied in order to the checkpoint's configuration, so a later one wins.
  train::InferenceModelOptions model_options;
  model_options.device = options.device;
  model_options.threads = options.threads > 0 ? options.threads : 1;
  if (!options.alignment_overrides.empty()) {
    train::TrainConfig config = ckpt.config();
    for (const std::string& assignment : options.alignment_overrides) {
      const std::string field = assignment.substr(0, assignment.find('='));
      if (field != "separator_frame_penalty" && field != "separator_penalty_covers_punctuation") {
        return absl::InvalidArgumentError(absl::StrCat(
            "--set: only separator_frame_penalty and separator_penalty_covers_punctuation may be changed, got '",
            assignment, "'"));
      }
      if (absl::Status s = train::ApplyOverride(assignment, &config); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("--set: ", s.message()));
      }
    }
    model_options.separator_frame_penalty = config.separator_frame_penalty();
    model_options.separator_penalty_covers_punctuation = config.separator_penalty_covers_punctuation();
  }
  LS_ASSIGN_OR_RETURN(std::unique_ptr<train::InferenceModel> model,
                      train::InferenceModel::Create(ckpt, options.checkpoint, model_options));

  train::DatasetOptions data_options;
  data_options.split = records::VALIDATION;
  data_options.max_batch_frames = options.batch_max_frames > 0 ? options.batch_max_frames : 6000;
  data_options.num_threads = 1;
  data_options.strict = true;
  LS_ASSIGN_OR_RETURN(std::unique_ptr<train::Dataset> data, train::Dataset::Create(options.data_dir, data_options));
  if (data->num_records() == 0) {
    return absl::FailedPreconditionError(absl::StrCat(options.data_dir, " has no validation records"));
  }

  const std::vector<std::string> table(manifest.symbols().symbols().begin(), manifest.symbols().symbols().end());
  const std::vector<bool> word_symbols = train::WordSymbolMask(table, !manifest.symbols().phonemizer().empty());
  const std::vector<bool> word_joiners = train::WordJoinerMask(table, !manifest.symbols().phonemizer().empty());
  report.training.available = true;
  report.uniform.available = true;
  double mel_training_sum = 0, mel_inference_sum = 0, mel_reference_sum = 0;
  int64_t mel_inference_count = 0, mel_reference_count = 0;
  bool plotted = false;
  const int n_mels = ckpt.n_mels();
  while (true) {
    absl::StatusOr<train::HostBatch> batch = data->Next();
    if (absl::IsOutOfRange(batch.status())) break;
    if (!batch.ok()) return batch.status();
    for (int64_t i = 0; i < batch->batch_size; ++i) {
      if (SpokenWords(batch->words[i]).empty()) {
        return absl::FailedPreconditionError(absl::StrCat(options.data_dir, ": validation record '", batch->ids[i],
                                                          "' has no reference alignment (preprocess with --alignments)"));
      }
    }
    LS_ASSIGN_OR_RETURN(std::vector<train::EvalDurations> eval, model->EvaluationDurations(*batch));
    for (int64_t i = 0; i < batch->batch_size; ++i) {
      const train::EvalDurations& e = eval[i];
      const int64_t n = e.tokens;
      const std::vector<int64_t> ids(batch->tokens.begin() + i * batch->max_tokens,
                                     batch->tokens.begin() + i * batch->max_tokens + n);
      std::vector<int64_t> reference;
      if (batch->has_durations()) {
        reference.assign(batch->durations.begin() + i * batch->max_tokens,
                         batch->durations.begin() + i * batch->max_tokens + n);
      }
      const std::vector<train::WordSpan>& words = batch->words[i];
      for (int64_t id : ids) {
        if (id < 0 || id >= static_cast<int64_t>(word_symbols.size())) {
          return absl::DataLossError(absl::StrCat("validation record '", e.id, "' has symbol id ", id,
                                                  " outside the table of ", word_symbols.size()));
        }
      }
      auto with_id = [&](absl::Status s) {
        return absl::Status(s.code(), absl::StrCat("utterance '", e.id, "': ", s.message()));
      };
      const train::BoundaryStats before = report.training.words;
      if (absl::Status s = AddUtterance(ids, e.training, words, reference, word_symbols, word_joiners, report.ms_per_frame,
                                        &report.training);
          !s.ok()) {
        return with_id(s);
      }
      if (report.training.words.boundaries > before.boundaries) {
        report.training_per_utterance.push_back({e.id, report.training.words.boundaries - before.boundaries,
                                                 report.training.words.abs_error_frames - before.abs_error_frames});
      }
      if (absl::Status s = AddUtterance(ids, UniformDurations(n, e.frames), words, reference, word_symbols, word_joiners,
                                        report.ms_per_frame, &report.uniform);
          !s.ok()) {
        return with_id(s);
      }
      if (!e.inference.empty()) {
        report.inference.available = true;
        if (absl::Status s = AddUtterance(ids, e.inference, words, reference, word_symbols, word_joiners, report.ms_per_frame,
                                          &report.inference);
            !s.ok()) {
          return with_id(s);
        }
      }
      const std::vector<float> target(batch->mel.begin() + i * batch->max_frames * n_mels,
                                      batch->mel.begin() + (i * batch->max_frames + e.frames) * n_mels);
      mel_training_sum += PlainMelL1(e.training_mel, target);
      if (!e.reference_mel.empty()) {
        mel_reference_sum += PlainMelL1(e.reference_mel, target);
        ++mel_reference_count;
      }
      if (!e.inference_mel.empty()) {
        double l1 = 0;
        if (e.inference_frames == e.frames) {
          l1 = PlainMelL1(e.inference_mel, target);
        } else {
          ++report.inference_length_differs;
          absl::StatusOr<double> dtw = train::DtwMelL1(e.inference_mel, target, n_mels);
          if (!dtw.ok()) return with_id(dtw.status());
          l1 = *dtw;
        }
        mel_inference_sum += l1;
        ++mel_inference_count;
      }
      ++report.utterances;

      if (!options.plot_id.empty() && e.id == options.plot_id) {
        const std::vector<int64_t>& predicted = options.plot_inference ? e.inference : e.training;
        if (predicted.empty()) {
          return absl::FailedPreconditionError("--plot_inference: the model has no text-only durations");
        }
        absl::StatusOr<std::vector<train::WordSpan>> spans =
            train::PredictedWordSpans(ids, predicted, word_symbols, word_joiners);
        if (!spans.ok()) return with_id(spans.status());
        absl::StatusOr<std::string> png =
            features::RenderMelPng(target, e.frames, n_mels, BoundaryMarks(SpokenWords(words), e.frames),
                                   BoundaryMarks(*spans, e.frames));
        if (!png.ok()) return with_id(png.status());
        const std::string path = options.plot_path.empty() ? options.plot_id + ".png" : options.plot_path;
        if (absl::Status s = base::WriteFileAtomically(path, *png); !s.ok()) return s;
        report.plot_path = path;
        plotted = true;
      }
    }
  }
  if (report.utterances == 0) {
    return absl::FailedPreconditionError(absl::StrCat(options.data_dir, " has no validation records"));
  }
  if (!options.plot_id.empty() && !plotted) {
    return absl::NotFoundError(absl::StrCat("--plot: '", options.plot_id, "' is not a validation utterance of ",
                                            options.data_dir));
  }
  std::stable_sort(report.training_per_utterance.begin(), report.training_per_utterance.end(),
                   [](const UtteranceError& a, const UtteranceError& b) { return a.abs_error_frames > b.abs_error_frames; });
  report.mel_l1_training = mel_training_sum / report.utterances;
  if (mel_inference_count > 0) report.mel_l1_inference = mel_inference_sum / mel_inference_count;
  if (mel_reference_count > 0) report.mel_l1_reference = mel_reference_sum / mel_reference_count;
  return report;
}

double WorstShareOfError(const std::vector<UtteranceError>& sorted_worst_first, double fraction) {
  double total = 0, worst = 0;
  for (const UtteranceError& u : sorted_worst_first) total += u.abs_error_frames;
  if (sorted_worst_first.empty() || total <= 0) return 0;
  const size_t k = std::max<size_t>(1, static_cast<size_t>(std::ceil(fraction * sorted_worst_first.size())));
  for (size_t i = 0; i < k && i < sorted_worst_first.size(); ++i) worst += sorted_worst_first[i].abs_error_frames;
  return worst / total;
}

std::string FormatReport(const EvaluationReport& r) {
  std::string out = absl::StrFormat("checkpoint %s (%s, step %d) on %s: %d validation utterances, %.2f ms per frame\n",
                                    r.checkpoint, r.method, r.step, r.data_dir, r.utterances, r.ms_per_frame);
  if (!r.alignment_overrides.empty()) {
    out += absl::StrCat("hard alignments evaluated with ", absl::StrJoin(r.alignment_overrides, ","),
                        " instead of the checkpoint's own setting\n");
  }
  out += MetricsText("(a) alignment of training audio", r.training, r.ms_per_frame);
  if (!r.training_per_utterance.empty()) {
    std::vector<std::string> worst;
    for (size_t i = 0; i < r.training_per_utterance.size() && i < 3; ++i) {
      const UtteranceError& u = r.training_per_utterance[i];
      worst.push_back(absl::StrFormat("%s %.1f ms", u.id, u.MaeMs(r.ms_per_frame)));
    }
    absl::StrAppendFormat(&out, "  the worst 10%% of utterances hold %.1f%% of the error; largest summed error: %s\n",
                          100 * WorstShareOfError(r.training_per_utterance, 0.1), absl::StrJoin(worst, ", "));
  }
  out += MetricsText("(b) prediction from text alone, scaled to the true length", r.inference, r.ms_per_frame);
  out += MetricsText("reference point: uniform durations scaled to the true length", r.uniform, r.ms_per_frame);
  absl::StrAppendFormat(&out, "mel L1 with training durations: %.4f\n", r.mel_l1_training);
  if (r.mel_l1_reference >= 0) {
    absl::StrAppendFormat(&out, "mel L1 with the reference durations: %.4f\n", r.mel_l1_reference);
  }
  if (r.mel_l1_inference >= 0) {
    absl::StrAppendFormat(&out, "mel L1 from text alone: %.4f (DTW for %d utterances of other length)\n",
                          r.mel_l1_inference, r.inference_length_differs);
  }
  if (!r.plot_path.empty()) absl::StrAppend(&out, "picture: ", r.plot_path, "\n");
  return out;
}

std::string ReportToJson(const EvaluationReport& r) {
  std::vector<std::string> f = {
      absl::StrCat("\"checkpoint\": ", JsonString(r.checkpoint)),
      absl::StrCat("\"method\": ", JsonString(r.method)),
      absl::StrCat("\"alignment_overrides\": ", JsonString(absl::StrJoin(r.alignment_overrides, ","))),
      absl::StrCat("\"step\": ", r.step),
      absl::StrCat("\"data\": ", JsonString(r.data_dir)),
      absl::StrCat("\"utterances\": ", r.utterances),
      absl::StrCat("\"ms_per_frame\": ", JsonNumber(r.ms_per_frame)),
      absl::StrCat("\"training_durations\": ", MetricsJson(r.training, r.ms_per_frame)),
      absl::StrCat("\"inference_durations\": ", MetricsJson(r.inference, r.ms_per_frame)),
      absl::StrCat("\"uniform_durations\": ", MetricsJson(r.uniform, r.ms_per_frame)),
      absl::StrCat("\"mel_l1_training_durations\": ", JsonNumber(r.mel_l1_training)),
      absl::StrCat("\"mel_l1_from_text\": ", r.mel_l1_inference >= 0 ? JsonNumber(r.mel_l1_inference) : "null"),
      absl::StrCat("\"mel_l1_reference_durations\": ",
                   r.mel_l1_reference >= 0 ? JsonNumber(r.mel_l1_reference) : "null"),
      absl::StrCat("\"from_text_length_differs\": ", r.inference_length_differs),
      absl::StrCat("\"training_error_share_worst_tenth\": ", JsonNumber(WorstShareOfError(r.training_per_utterance, 0.1))),
  };
  std::vector<std::string> per;
  for (const UtteranceError& u : r.training_per_utterance) {
    per.push_back(absl::StrCat("{\"id\": ", JsonString(u.id), ", \"word_boundaries\": ", u.boundaries,
                               ", \"word_boundary_mae_ms\": ", JsonNumber(u.MaeMs(r.ms_per_frame)), "}"));
  }
  f.push_back(absl::StrCat("\"training_per_utterance\": [", absl::StrJoin(per, ", "), "]"));
  return absl::StrCat("{", absl::StrJoin(f, ", "), "}\n");
}

}  // namespace lightspeech::tools
