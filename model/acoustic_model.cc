#include "model/acoustic_model.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::model {

AcousticModelOptions AcousticModelOptions::Prototype(int64_t vocab_size, int64_t max_duration, int64_t n_mels) {
  AcousticModelOptions o;
  o.encoder.vocab_size = vocab_size;
  o.encoder.variant = Variant::kPrototype;
  o.encoder.embedding_dim = 512;
  o.encoder.gru_hidden = 256;
  o.encoder.output_dim = 512;
  o.policy.input_dim = 512;
  o.policy.hidden_dim = 512;
  o.policy.max_duration = max_duration;
  o.policy.n_mels = n_mels;
  o.predictor.input_dim = 512;
  o.predictor.hidden_dim = 256;
  o.decoder.variant = Variant::kPrototype;
  o.decoder.input_dim = 512;
  o.decoder.n_mels = n_mels;
  o.decoder.gru_hidden = 256;
  o.decoder.gru_layers = 2;
  o.aligner.vocab_size = vocab_size;
  o.aligner.n_mels = n_mels;
  o.aligner.channels = 256;
  return o;
}

AcousticModelOptions AcousticModelOptions::Light(int64_t vocab_size, int64_t max_duration, int64_t n_mels) {
  AcousticModelOptions o;
  o.encoder.vocab_size = vocab_size;
  o.encoder.variant = Variant::kLight;
  o.encoder.embedding_dim = 256;
  o.encoder.output_dim = 256;
  o.encoder.num_blocks = 4;
  o.encoder.kernel_size = 5;
  o.encoder.dropout = 0.1;
  o.policy.input_dim = 256;
  o.policy.hidden_dim = 256;
  o.policy.max_duration = max_duration;
  o.policy.n_mels = n_mels;
  o.policy.attention_dim = 128;
  o.predictor.input_dim = 256;
  o.predictor.hidden_dim = 128;
  o.decoder.variant = Variant::kLight;
  o.decoder.input_dim = 256;
  o.decoder.n_mels = n_mels;
  o.decoder.hidden_dim = 256;
  o.decoder.num_blocks = 4;
  o.decoder.kernel_size = 17;
  o.decoder.dropout = 0.1;
  o.decoder.postnet_channels = 128;
  o.aligner.vocab_size = vocab_size;
  o.aligner.n_mels = n_mels;
  o.aligner.channels = 128;
  return o;
}

absl::Status AcousticModelOptions::Validate() const {
  LS_RETURN_IF_ERROR(encoder.Validate());
  LS_RETURN_IF_ERROR(policy.Validate());
  if (use_predictor) {
    LS_RETURN_IF_ERROR(predictor.Validate());
  }
  LS_RETURN_IF_ERROR(decoder.Validate());
  if (use_aligner) {
    LS_RETURN_IF_ERROR(aligner.Validate());
  }
  const int64_t c = encoder.output_dim;
  if (policy.input_dim != c || decoder.input_dim != c || (use_predictor && predictor.input_dim != c)) {
    return absl::InvalidArgumentError(absl::StrCat("AcousticModelOptions: encoder.output_dim (", c,
                                                   ") must equal policy, predictor and decoder input_dim"));
  }
  if (policy.observe_mel && policy.n_mels != decoder.n_mels) {
    return absl::InvalidArgumentError("AcousticModelOptions: policy.n_mels must equal decoder.n_mels");
  }
  if (use_aligner && (aligner.vocab_size != encoder.vocab_size || aligner.n_mels != decoder.n_mels)) {
    return absl::InvalidArgumentError("AcousticModelOptions: aligner vocab_size and n_mels must match encoder and decoder");
  }
  return absl::OkStatus();
}

AcousticModelImpl::AcousticModelImpl(const AcousticModelOptions& options) : options_(options) {
  const absl::Status status = options.Validate();
  TORCH_CHECK(status.ok(), status.ToString());
  encoder_ = register_module("encoder", Encoder(options.encoder));
  policy_ = register_module("policy", DurationPolicy(options.policy));
  if (options.use_predictor) predictor_ = register_module("predictor", DurationPredictor(options.predictor));
  decoder_ = register_module("decoder", Decoder(options.decoder));
  if (options.use_aligner) aligner_ = register_module("aligner", Aligner(options.aligner));
}

torch::Tensor AcousticModelImpl::Encode(const torch::Tensor& tokens, const torch::Tensor& token_mask) {
  return encoder_(tokens, token_mask);
}

torch::Tensor AcousticModelImpl::PolicyLogits(const torch::Tensor& encodings, const torch::Tensor& token_mask,
                                              const torch::Tensor& mel, const torch::Tensor& mel_mask) {
  return policy_(encodings, token_mask, mel, mel_mask);
}

absl::StatusOr<torch::Tensor> AcousticModelImpl::AdvanceLogits(const torch::Tensor& encodings, const torch::Tensor& token_mask,
                                                               const torch::Tensor& mel, const torch::Tensor& mel_mask,
                                                               const torch::Tensor& similarity) {
  if (!options_.policy.per_frame) return absl::FailedPreconditionError("AcousticModel: the policy has no per-frame head");
  try {
    return policy_->AdvanceLogits(encodings, token_mask, mel, mel_mask, similarity);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("AcousticModel::AdvanceLogits: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> AcousticModelImpl::PredictLogDurations(const torch::Tensor& encodings,
                                                                     const torch::Tensor& token_mask) {
  if (!predictor_) return absl::FailedPreconditionError("AcousticModel: built without a duration predictor");
  try {
    return predictor_(encodings, token_mask);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("AcousticModel::PredictLogDurations: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<Synthesis> AcousticModelImpl::Decode(const torch::Tensor& encodings, const torch::Tensor& durations,
                                                    const torch::Tensor& token_mask, const LengthRegulatorOptions& regulator,
                                                    const torch::Tensor& target_lengths, int64_t max_frames) {
  LS_ASSIGN_OR_RETURN(Expanded expanded,
                      RegulateLength(encodings, durations, token_mask, regulator, target_lengths, max_frames));
  try {
    Synthesis out;
    out.mel = decoder_(expanded.frames, expanded.frame_mask);
    out.expanded = std::move(expanded);
    return out;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("AcousticModel::Decode: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<Synthesis> AcousticModelImpl::Infer(const torch::Tensor& tokens, const torch::Tensor& token_mask, double speed) {
  torch::Tensor encodings, durations;
  try {
    encodings = Encode(tokens, token_mask);
    if (predictor_) {
      durations = PredictedDurations(predictor_(encodings, token_mask), token_mask);
    } else {
      durations = (PolicyLogits(encodings, token_mask).argmax(-1) + 1) * token_mask.to(torch::kLong);
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("AcousticModel::Infer: ", e.what_without_backtrace()));
  }
  LengthRegulatorOptions regulator;
  regulator.speed = speed;
  return Decode(encodings, durations, token_mask, regulator);
}

std::vector<std::pair<std::string, int64_t>> AcousticModelImpl::ParameterCounts() const {
  std::vector<std::pair<std::string, int64_t>> counts;
  for (const auto& item : named_children()) {
    int64_t n = 0;
    for (const auto& p : item.value()->parameters()) n += p.numel();
    counts.emplace_back(item.key(), n);
  }
  return counts;
}

absl::StatusOr<AcousticModel> AcousticModel::Create(const AcousticModelOptions& options) {
  LS_RETURN_IF_ERROR(options.Validate());
  try {
    return AcousticModel(std::make_shared<AcousticModelImpl>(options));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("AcousticModel::Create: ", e.what_without_backtrace()));
  }
}

}  // namespace lightspeech::model
