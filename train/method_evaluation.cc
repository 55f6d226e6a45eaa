// The evaluation of one batch (EvaluationDurations in method.h): the method's durations and the
// text-only ones, and the mel decoded from each, without gradients. Shared by the trainer and the
// inference model, so a checkpoint is evaluated the same way with or without a Trainer.

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "model/duration.h"
#include "model/length_regulator.h"
#include "torch/torch.h"
#include "train/compat.h"
#include "train/method.h"

namespace lightspeech::train::internal {

absl::StatusOr<std::vector<EvalDurations>> EvaluationDurations(const Method& duration_method, model::AcousticModel& model,
                                                               const Separators& separators, int n_mels,
                                                               const torch::Device& device, bool bf16,
                                                               const HostBatch& host) {
  if (host.n_mels != n_mels) {
    return absl::InvalidArgumentError(absl::StrCat("evaluation batch has ", host.n_mels, " mel bins, the model ", n_mels));
  }
  if (duration_method.uses_reference_durations() && !host.has_durations()) {
    return absl::FailedPreconditionError("evaluation with aligner ORACLE needs reference durations, and this batch has none");
  }
  LS_ASSIGN_OR_RETURN(const Tensors b, HostBatchToTensors(host, device));
  std::vector<EvalDurations> out;
  const ScopedEvalMode eval_mode(model);
  torch::NoGradGuard no_grad;
  try {
    compat::ScopedCudaBf16Autocast autocast(bf16 && device.is_cuda());
    torch::Tensor enc = model->Encode(b.tokens, b.token_mask);
    LS_ASSIGN_OR_RETURN(torch::Tensor method, duration_method.Durations(model, b, enc, separators));  // [B, N]
    auto host_mel = [](const model::Synthesis& syn) { return FinalMel(syn.mel).to(torch::kFloat).to(torch::kCPU).contiguous(); };
    LS_ASSIGN_OR_RETURN(const torch::Tensor inference, TextOnlyDurations(model, enc, b.token_mask, method));  // [B, N]
    LS_ASSIGN_OR_RETURN(model::Synthesis trained,
                        model->Decode(enc, method, b.token_mask, {}, b.frame_lengths, b.mel.size(1)));
    const torch::Tensor training = trained.expanded.durations.to(torch::kCPU).contiguous();
    torch::Tensor scaled, inference_mel, inference_lengths;
    if (inference.defined()) {
      LS_ASSIGN_OR_RETURN(scaled, model::FitDurations(inference, b.token_mask, b.frame_lengths));
      scaled = scaled.to(torch::kCPU).contiguous();
      LS_ASSIGN_OR_RETURN(model::Synthesis free, model->Decode(enc, inference, b.token_mask));
      inference_mel = host_mel(free);
      inference_lengths = free.expanded.frame_mask.sum(1).to(torch::kCPU).contiguous();
    }
    const torch::Tensor training_mel = host_mel(trained);
    torch::Tensor reference_mel;
    if (duration_method.uses_reference_durations()) {
      reference_mel = training_mel;  // the method's durations are the reference ones: no second decode
    } else if (b.has_durations()) {
      LS_ASSIGN_OR_RETURN(model::Synthesis ref,
                          model->Decode(enc, b.durations, b.token_mask, {}, b.frame_lengths, b.mel.size(1)));
      reference_mel = host_mel(ref);
    }
    auto row = [](const torch::Tensor& t, int64_t i, int64_t n) {
      const int64_t* p = t[i].data_ptr<int64_t>();
      return std::vector<int64_t>(p, p + n);
    };
    auto frames_of = [&](const torch::Tensor& mel, int64_t i, int64_t n) {
      torch::Tensor x = mel[i].slice(0, 0, n).contiguous();
      return std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
    };
    for (int64_t i = 0; i < host.batch_size; ++i) {
      EvalDurations e;
      e.id = i < static_cast<int64_t>(host.ids.size()) ? host.ids[i] : "";
      e.tokens = host.token_lengths[i];
      e.frames = host.frame_lengths[i];
      e.training = row(training, i, e.tokens);
      e.training_mel = frames_of(training_mel, i, e.frames);
      if (reference_mel.defined()) e.reference_mel = frames_of(reference_mel, i, e.frames);
      if (scaled.defined()) {
        e.inference = row(scaled, i, e.tokens);
        e.inference_frames = inference_lengths[i].item<int64_t>();
        e.inference_mel = frames_of(inference_mel, i, e.inference_frames);
      }
      out.push_back(std::move(e));
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("evaluation: ", e.what_without_backtrace()));
  }
  return out;
}

}  // namespace lightspeech::train::internal
