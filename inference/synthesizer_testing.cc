#include "inference/synthesizer_testing.h"

#include <cmath>

#include "model/acoustic_model.h"
#include "preprocess/symbols.h"
#include "torch/torch.h"
#include "train/checkpoint.h"
#include "train/model_factory.h"
#include "train/testing/tiny_model.h"

namespace lightspeech::inference::testing {

train::TrainConfig TinyConfig() {
  train::TrainConfig c;
  *c.mutable_model() = train::testing::TinyModel();
  c.mutable_model()->set_dropout(0.5);  // eval mode must switch it off
  c.mutable_model()->set_max_duration(kTinyMaxDuration);
  c.set_aligner(train::TrainConfig::MAS);
  return c;
}

records::SymbolTable EnglishTable() {
  records::SymbolTable t;
  const preprocess::SymbolTable english = preprocess::SymbolTable::English();
  for (const std::string& s : english.symbols()) t.add_symbols(s);
  t.set_cleaner("english");
  return t;
}

absl::Status WriteTinyCheckpoint(const std::string& path, const records::SymbolTable& table,
                                 int64_t frames_per_token, const train::TrainConfig& config) {
  absl::StatusOr<model::AcousticModelOptions> o =
      train::ModelOptions(config, table.symbols_size(), kTinyMaxDuration, kTinyMels);
  if (!o.ok()) return o.status();
  train::Checkpoint c;
  try {
    torch::manual_seed(3);
    absl::StatusOr<model::AcousticModel> m = model::AcousticModel::Create(*o);
    if (!m.ok()) return m.status();
    {
      torch::NoGradGuard no_grad;
      auto params = (*m)->named_parameters();
      params["predictor.out.weight"].zero_();
      params["predictor.out.bias"].fill_(std::log(1.0 + static_cast<double>(frames_per_token)));
    }
    if (absl::Status s = train::SaveModule(**m, &c); !s.ok()) return s;
  } catch (const c10::Error& e) {
    return absl::InternalError(e.what_without_backtrace());
  }
  c.set_format_version(train::kCheckpointFormatVersion);
  c.set_step(7);
  *c.mutable_config() = config;
  // The config of the run that wrote step 7 (ReadCheckpoint validates it).
  if (c.config().steps() <= 0) c.mutable_config()->set_steps(7);
  *c.mutable_symbols() = table;
  c.set_n_mels(kTinyMels);
  c.set_max_duration(kTinyMaxDuration);
  return train::WriteCheckpoint(c, path);
}

}  // namespace lightspeech::inference::testing
