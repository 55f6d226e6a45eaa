#include "inference/synthesizer.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "model/acoustic_model.h"
#include "preprocess/cleaners.h"
#include "preprocess/phonemizer.h"
#include "preprocess/symbols.h"
#include "torch/torch.h"
#include "train/inference_model.h"

namespace lightspeech::inference {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

std::string Quote(const std::vector<std::string>& symbols) {
  return absl::StrJoin(symbols, ", ", [](std::string* out, const std::string& s) { absl::StrAppend(out, "'", s, "'"); });
}

}  // namespace

struct Synthesizer::State {
  SynthesizerOptions options;
  std::unique_ptr<train::InferenceModel> model;  // in eval mode on `device`
  torch::Device device{torch::kCPU};
  std::unique_ptr<preprocess::SymbolTable> symbols;
  std::unique_ptr<preprocess::TextCleaner> cleaner;  // not thread-safe: under `mutex`
  std::unique_ptr<preprocess::Phonemizer> phonemizer;
  mutable std::mutex mutex;
};

Synthesizer::Synthesizer(std::unique_ptr<State> state) : s_(std::move(state)) {}
Synthesizer::~Synthesizer() = default;

absl::StatusOr<std::unique_ptr<Synthesizer>> Synthesizer::Create(const std::string& path,
                                                                 const SynthesizerOptions& options) {
  if (options.max_batch < 1) return absl::InvalidArgumentError("Synthesizer: max_batch must be >= 1");
  if (options.threads < 0) return absl::InvalidArgumentError("Synthesizer: threads must be >= 0");
  train::InferenceModelOptions model_options;
  model_options.device = options.device;
  model_options.threads = options.threads;
  LS_ASSIGN_OR_RETURN(std::unique_ptr<train::InferenceModel> model, train::InferenceModel::Create(path, model_options));
  auto s = std::make_unique<State>();
  s->options = options;
  s->model = std::move(model);
  s->device = torch::Device(s->model->device());
  const records::SymbolTable& table = s->model->symbol_table();

  absl::StatusOr<preprocess::SymbolTable> symbols =
      preprocess::SymbolTable::FromList({table.symbols().begin(), table.symbols().end()});
  if (!symbols.ok()) return absl::FailedPreconditionError(absl::StrCat(path, ": ", symbols.status().message()));
  s->symbols = std::make_unique<preprocess::SymbolTable>(*std::move(symbols));
  absl::StatusOr<preprocess::CleanerKind> kind =
      preprocess::ParseCleanerKind(table.cleaner().empty() ? "english" : table.cleaner());
  if (!kind.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", kind.status().message()));
  LS_ASSIGN_OR_RETURN(std::unique_ptr<preprocess::TextCleaner> cleaner, preprocess::TextCleaner::Create(*kind));
  s->cleaner = std::move(cleaner);
  if (table.phonemizer() == "alignment") {  // the reference alignments' phones: spelled by their lexicon
    std::map<std::string, std::vector<std::string>> lexicon;
    for (const records::LexiconEntry& e : table.lexicon()) lexicon[e.word()] = {e.phones().begin(), e.phones().end()};
    if (lexicon.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": the alignment phone table has no lexicon"));
    s->phonemizer = preprocess::Phonemizer::FromLexicon(std::move(lexicon));
  } else if (!table.phonemizer().empty()) {
    absl::StatusOr<std::unique_ptr<preprocess::Phonemizer>> p = preprocess::Phonemizer::Create(table.phonemizer());
    if (!p.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", p.status().message()));
    s->phonemizer = *std::move(p);
  }
  return std::unique_ptr<Synthesizer>(new Synthesizer(std::move(s)));
}

absl::StatusOr<SynthesizedUtterance> Synthesizer::EncodeSymbols(const std::vector<std::string>& symbols) const {
  return EncodeSymbols(symbols, {});
}

absl::StatusOr<SynthesizedUtterance> Synthesizer::EncodeSymbols(const std::vector<std::string>& symbols,
                                                                const std::vector<std::string>& dropped) const {
  SynthesizedUtterance u;
  u.unknown_symbols = dropped;
  for (const std::string& symbol : symbols) {
    const int id = symbol == preprocess::SymbolTable::kPad ? -1 : s_->symbols->Find(symbol);
    if (id < 0) {
      if (std::find(u.unknown_symbols.begin(), u.unknown_symbols.end(), symbol) == u.unknown_symbols.end()) {
        u.unknown_symbols.push_back(symbol);
      }
      continue;
    }
    u.symbols.push_back(symbol);
    u.symbol_ids.push_back(id);
  }
  if (u.symbol_ids.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no symbol of the checkpoint's table in [", Quote(symbols), "]"));
  }
  if (!u.unknown_symbols.empty()) {
    u.warnings.push_back(absl::StrCat("symbols not in the checkpoint's table, skipped: ", Quote(u.unknown_symbols)));
  }
  return u;
}

absl::StatusOr<SynthesizedUtterance> Synthesizer::Encode(const std::string& text) const {
  std::lock_guard<std::mutex> lock(s_->mutex);
  absl::StatusOr<std::string> cleaned = s_->cleaner->Clean(text);
  if (!cleaned.ok()) return absl::InvalidArgumentError(absl::StrCat("text '", text, "': ", cleaned.status().message()));
  std::vector<std::string> symbols, dropped;
  std::string note;
  if (s_->phonemizer != nullptr) {
    // //preprocess phonemizes the metadata's text as written (espeak-ng reads case and punctuation).
    absl::StatusOr<std::vector<std::string>> phones = s_->phonemizer->Phonemize(text);
    if (!phones.ok() || phones->empty()) {
      note = absl::StrCat("phonemizer: ", phones.ok() ? "no phones" : phones.status().message(),
                          "; used the cleaned text '", *cleaned, "' instead");
      phones = s_->phonemizer->Phonemize(*cleaned);
      if (!phones.ok()) return absl::InvalidArgumentError(absl::StrCat("text '", text, "': ", phones.status().message()));
    }
    symbols = *std::move(phones);
  } else {
    symbols = preprocess::SplitCodePoints(*cleaned);
    if (s_->cleaner->kind() == preprocess::CleanerKind::kEnglish) {
      // The English cleaner drops what it cannot spell; name those characters: each one that the
      // cleaner turns, alone, into nothing.
      for (const std::string& c : preprocess::SplitCodePoints(text)) {
        if (c.size() == 1 && (std::isalnum(static_cast<unsigned char>(c[0])) || std::isspace(static_cast<unsigned char>(c[0])))) continue;
        if (s_->symbols->Find(c) >= 0 || std::find(dropped.begin(), dropped.end(), c) != dropped.end()) continue;
        if (!s_->cleaner->Clean(c).ok()) dropped.push_back(c);
      }
    }
  }
  absl::StatusOr<SynthesizedUtterance> u = EncodeSymbols(symbols, dropped);
  if (!u.ok()) return absl::InvalidArgumentError(absl::StrCat("text '", text, "': ", u.status().message()));
  if (!note.empty()) u->warnings.insert(u->warnings.begin(), note);
  return u;
}

absl::Status Synthesizer::Decode(std::vector<SynthesizedUtterance>& utterances, double speed) const {
  // Longest first, so each batch holds utterances of similar length (little padding).
  std::vector<size_t> order(utterances.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return utterances[a].symbol_ids.size() > utterances[b].symbol_ids.size();
  });
  const int64_t pad = s_->model->symbol_table().pad_id();
  model::AcousticModelImpl& acoustic = s_->model->model();
  try {
    c10::InferenceMode inference;
    for (size_t start = 0; start < order.size(); start += s_->options.max_batch) {
      const size_t end = std::min(order.size(), start + static_cast<size_t>(s_->options.max_batch));
      const int64_t B = static_cast<int64_t>(end - start);
      const int64_t N = static_cast<int64_t>(utterances[order[start]].symbol_ids.size());
      std::vector<int64_t> tokens(B * N, pad), lengths(B);
      for (int64_t b = 0; b < B; ++b) {
        const auto& ids = utterances[order[start + b]].symbol_ids;
        std::copy(ids.begin(), ids.end(), tokens.begin() + b * N);
        lengths[b] = static_cast<int64_t>(ids.size());
      }
      const auto i64 = torch::TensorOptions().dtype(torch::kLong);
      torch::Tensor t = torch::from_blob(tokens.data(), {B, N}, i64).to(s_->device, /*non_blocking=*/false, /*copy=*/true);
      torch::Tensor len = torch::from_blob(lengths.data(), {B}, i64).to(s_->device, false, true);
      torch::Tensor mask = torch::arange(N, i64.device(s_->device)).unsqueeze(0) < len.unsqueeze(1);
      absl::StatusOr<model::Synthesis> out = acoustic.Infer(t, mask, speed);
      if (!out.ok()) return out.status();
      torch::Tensor mel = out->mel.mel_postnet.to(torch::kCPU, torch::kFloat).contiguous();  // [B, T, M]
      torch::Tensor frames = out->expanded.lengths.to(torch::kCPU).contiguous();           // [B]
      torch::Tensor durations = out->expanded.durations.to(torch::kCPU).contiguous();      // [B, N]
      const int64_t T = mel.size(1), M = mel.size(2);
      const float* mel_data = mel.data_ptr<float>();
      const int64_t* frame_data = frames.data_ptr<int64_t>();
      const int64_t* duration_data = durations.data_ptr<int64_t>();
      for (int64_t b = 0; b < B; ++b) {
        SynthesizedUtterance& u = utterances[order[start + b]];
        u.n_frames = frame_data[b];
        u.n_mels = static_cast<int>(M);
        u.mel.assign(mel_data + b * T * M, mel_data + b * T * M + u.n_frames * M);
        u.durations.assign(duration_data + b * N, duration_data + b * N + lengths[b]);
      }
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("Synthesizer: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::StatusOr<SynthesisResult> Synthesizer::SynthesizeText(const std::vector<std::string>& texts, double speed) const {
  return Synthesize(texts.size(), [&](size_t i) { return Encode(texts[i]); }, speed);
}

absl::StatusOr<SynthesisResult> Synthesizer::SynthesizeSymbols(const std::vector<std::vector<std::string>>& symbols,
                                                               double speed) const {
  return Synthesize(symbols.size(), [&](size_t i) { return EncodeSymbols(symbols[i]); }, speed);
}

absl::StatusOr<SynthesisResult> Synthesizer::Synthesize(
    size_t count, const std::function<absl::StatusOr<SynthesizedUtterance>(size_t)>& encode, double speed) const {
  if (count == 0) return absl::InvalidArgumentError("Synthesizer: no text");
  if (!(speed > 0) || !std::isfinite(speed)) return absl::InvalidArgumentError(absl::StrCat("Synthesizer: speed must be > 0, got ", speed));
  SynthesisResult result;
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < count; ++i) {
    absl::StatusOr<SynthesizedUtterance> u = encode(i);
    if (!u.ok()) return absl::InvalidArgumentError(absl::StrCat("text ", i, ": ", u.status().message()));
    result.utterances.push_back(*std::move(u));
  }
  result.timing.frontend_seconds = Seconds(start);
  const Clock::time_point model_start = Clock::now();
  if (absl::Status s = Decode(result.utterances, speed); !s.ok()) return s;
  result.timing.model_seconds = Seconds(model_start);
  return result;
}

const records::SymbolTable& Synthesizer::symbol_table() const { return s_->model->symbol_table(); }
const records::FeatureSettings* Synthesizer::feature_settings() const { return s_->model->feature_settings(); }
const train::TrainConfig& Synthesizer::config() const { return s_->model->config(); }
int Synthesizer::n_mels() const { return s_->model->n_mels(); }
int64_t Synthesizer::step() const { return s_->model->step(); }
int64_t Synthesizer::num_parameters() const { return s_->model->num_parameters(); }

}  // namespace lightspeech::inference
