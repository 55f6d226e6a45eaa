// Validation and evaluation: the method's durations (Method::Durations) and the text-only ones
// decoded without gradients (evaluation: method_evaluation.cc), and the validation report
// (scalars, pictures, audio) of the loop.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "features/audio.h"
#include "features/griffin_lim.h"
#include "features/log_mel.h"
#include "features/mel_image.h"
#include "torch/torch.h"
#include "train/compat.h"
#include "train/feature_settings.h"
#include "train/step_context.h"
#include "train/trainer.h"
#include "train/trainer_state.h"

namespace lightspeech::train {
namespace internal {
namespace {

using Clock = std::chrono::steady_clock;

// The validation example's predicted log-mel [frames][mel.n_mels] as speech: Griffin-Lim with
// `iterations`, scaled down to a 0.99 peak when louder (as //tools:synthesize does), sent to `sink`
// as a 16-bit wav. Fails with Griffin-Lim's or the sink's error.
absl::Status AddValidationAudio(MetricsSink& sink, int64_t step, const features::LogMelOptions& mel, int iterations,
                                const std::vector<float>& log_mel, int64_t frames) {
  features::GriffinLimOptions options;
  options.iterations = iterations;
  LS_ASSIGN_OR_RETURN(features::GriffinLim vocoder, features::GriffinLim::Create(mel, options));
  LS_ASSIGN_OR_RETURN(std::vector<float> audio, vocoder.Synthesize(log_mel, frames));
  float peak = 0;
  for (float x : audio) peak = std::max(peak, std::abs(x));
  if (peak > 0.99f) {
    for (float& x : audio) x *= 0.99f / peak;
  }
  LS_ASSIGN_OR_RETURN(std::string wav, features::EncodeWav16(audio, mel.sample_rate));
  return sink.AddAudioWav("val/audio_predicted", step, wav, mel.sample_rate, static_cast<int64_t>(audio.size()));
}

}  // namespace

absl::Status ReportValidation(TrainerState& s, int64_t step, const ValidationResult& v, double validation_seconds) {
  const TrainConfig& c = s.config;
  LS_RETURN_IF_ERROR(s.Scalar("val/mel_loss", v.mel_loss));
  std::string line = absl::StrFormat("step %d validation: %d batches, mel_loss=%.6g", step, v.batches, v.mel_loss);
  if (v.alignment_mae >= 0) {
    LS_RETURN_IF_ERROR(s.Scalar("val/alignment_mae_frames", v.alignment_mae));
    absl::StrAppendFormat(&line, " alignment_mae_frames=%.4g", v.alignment_mae);
  }
  if (v.duration_mae >= 0) {
    LS_RETURN_IF_ERROR(s.Scalar("val/duration_mae_frames", v.duration_mae));
    absl::StrAppendFormat(&line, " duration_mae_frames=%.4g", v.duration_mae);
  }
  absl::StrAppendFormat(&line, " (%.3f s)", validation_seconds);
  s.Log(line);
  if (s.sink != nullptr && v.example_frames > 0) {
    features::MelImageOptions image;
    const int width = static_cast<int>(v.example_frames) * image.pixels_per_frame;
    const int height = s.n_mels * image.pixels_per_bin;
    LS_ASSIGN_OR_RETURN(const std::string predicted,
                        features::RenderMelPng(v.example_prediction, v.example_frames, s.n_mels,
                                               v.example_reference_marks, v.example_method_marks, image));
    LS_RETURN_IF_ERROR(s.sink->AddImagePng("val/mel_predicted", step, predicted, width, height));
    LS_ASSIGN_OR_RETURN(const std::string target, features::RenderMelPng(v.example_target, v.example_frames, s.n_mels,
                                                                         v.example_reference_marks, {}, image));
    LS_RETURN_IF_ERROR(s.sink->AddImagePng("val/mel_target", step, target, width, height));
    if (c.validation_audio_iterations() >= 0 && v.example_frames >= 2) {
      const Clock::time_point audio_start = Clock::now();
      LS_ASSIGN_OR_RETURN(const features::LogMelOptions mel,
                          LogMelOptionsFromSettings(s.features.value_or(records::FeatureSettings()), s.n_mels));
      LS_RETURN_IF_ERROR(AddValidationAudio(*s.sink, step, mel,
                                            c.validation_audio_iterations(),
                                            v.example_prediction, v.example_frames));
      s.Log(absl::StrFormat("step %d validation audio: %d frames, %.3f s", step, v.example_frames,
                            std::chrono::duration<double>(Clock::now() - audio_start).count()));
    }
  }
  return absl::OkStatus();
}

}  // namespace internal

using internal::FinalMel;
using internal::HostBatchToTensors;
using internal::MaskedMse;
using internal::Tensors;

absl::StatusOr<ValidationResult> Trainer::Validate(BatchSource& validation) {
  State& s = *s_;
  ValidationResult r;
  double mel_sum = 0, frames = 0, align_sum = 0, dur_sum = 0, tokens = 0;
  const bool unlimited = s.config.validation_batches() == 0;
  int64_t limit = s.config.validation_batches();
  // Several ranks: this rank's stream holds the global batches b % world_size == rank, so it takes
  // its share of the first `limit` of them; the sums are added across ranks below.
  if (s.world_size > 1) limit = (limit - s.rank + s.world_size - 1) / s.world_size;
  const internal::ScopedEvalMode eval_mode(s.model);  // also on the early returns below
  torch::NoGradGuard no_grad;
  while (unlimited || r.batches < limit) {
    absl::StatusOr<HostBatch> host = validation.Next();
    if (absl::IsOutOfRange(host.status())) break;
    if (!host.ok()) return host.status();
    if (host->n_mels != s.n_mels) {
      return absl::InvalidArgumentError(absl::StrCat("validation batch has ", host->n_mels, " mel bins, the model ", s.n_mels));
    }
    LS_ASSIGN_OR_RETURN(const Tensors b, HostBatchToTensors(*host, s.device));
    try {
      compat::ScopedCudaBf16Autocast autocast(s.config.bf16() && s.device.is_cuda());
      torch::Tensor enc = s.model->Encode(b.tokens, b.token_mask);
      // the durations the training method would use for this utterance
      LS_ASSIGN_OR_RETURN(torch::Tensor method, s.method->Durations(s.model, b, enc, s.separators));
      LS_ASSIGN_OR_RETURN(const torch::Tensor inference, internal::TextOnlyDurations(s.model, enc, b.token_mask, method));
      if (!method.defined()) {
        return absl::FailedPreconditionError("validation with aligner ORACLE needs reference durations");
      }
      LS_ASSIGN_OR_RETURN(model::Synthesis syn,
                          s.model->Decode(enc, method, b.token_mask, {}, b.frame_lengths, b.mel.size(1)));
      if (r.batches == 0) {
        // The first utterance, for pictures.
        const int64_t frames = b.frame_lengths[0].item<int64_t>(), tokens = b.token_lengths[0].item<int64_t>();
        auto host_floats = [&](const torch::Tensor& mel) {
          torch::Tensor x = mel[0].slice(0, 0, frames).to(torch::kFloat).to(torch::kCPU).contiguous();
          return std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
        };
        auto marks = [&](const torch::Tensor& durations) {
          torch::Tensor ends = durations[0].slice(0, 0, tokens - 1).cumsum(0).to(torch::kCPU).contiguous();
          std::vector<int> out;
          for (int64_t i = 0; i < ends.numel(); ++i) out.push_back(static_cast<int>(ends[i].item<int64_t>()));
          return out;
        };
        r.example_frames = frames;
        r.example_prediction = host_floats(FinalMel(syn.mel));
        r.example_target = host_floats(b.mel);
        r.example_method_marks = marks(syn.expanded.durations);
        if (b.durations.defined()) r.example_reference_marks = marks(b.durations);
      }
      const double f = b.mel_mask.sum().item<double>();
      mel_sum += MaskedMse(FinalMel(syn.mel), b.mel, b.mel_mask)
                     .item<double>() * f;
      frames += f;
      if (b.durations.defined()) {
        r.has_durations = true;
        const torch::Tensor m = b.token_mask.to(torch::kFloat);
        const double n = m.sum().item<double>();
        tokens += n;
        align_sum += ((syn.expanded.durations - b.durations).abs().to(torch::kFloat) * m).sum().item<double>();
        if (inference.defined()) {
          dur_sum += ((inference - b.durations).abs().to(torch::kFloat) * m).sum().item<double>();
        }
      }
    } catch (const c10::Error& e) {
      return absl::InternalError(absl::StrCat("validation: ", e.what_without_backtrace()));
    }
    ++r.batches;
  }
  if (s.dist != nullptr) {
    torch::Tensor sums = torch::tensor({static_cast<double>(r.batches), mel_sum, frames, align_sum, dur_sum, tokens,
                                        r.has_durations ? 1.0 : 0.0},
                                       torch::kDouble);
    if (absl::Status st = s.dist->AllReduceSum(sums); !st.ok()) {
      return absl::Status(st.code(), absl::StrCat("validation: ", st.message()));
    }
    r.batches = static_cast<int64_t>(sums[0].item<double>());
    mel_sum = sums[1].item<double>();
    frames = sums[2].item<double>();
    align_sum = sums[3].item<double>();
    dur_sum = sums[4].item<double>();
    tokens = sums[5].item<double>();
    r.has_durations = sums[6].item<double>() > 0;
  }
  if (frames > 0) r.mel_loss = mel_sum / frames;
  if (tokens > 0) {
    if (!s.method->uses_reference_durations()) r.alignment_mae = align_sum / tokens;
    r.duration_mae = dur_sum / tokens;
    if (!s.model->options().use_predictor && s.model->options().policy.observe_mel) r.duration_mae = -1;
  }
  return r;
}

absl::StatusOr<std::vector<EvalDurations>> Trainer::EvaluationDurations(const HostBatch& host) {
  State& s = *s_;
  return internal::EvaluationDurations(*s.method, s.model, s.separators, s.n_mels, s.device, s.config.bf16(), host);
}

}  // namespace lightspeech::train
