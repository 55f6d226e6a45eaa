// The supervised methods: durations from the records (ORACLE) or from monotonic alignment search over
// the forward-sum aligner's attention (MAS) -> length regulation -> decoder.

#include <memory>

#include "absl/status/status.h"
#include "base/status_macros.h"
#include "model/aligner.h"
#include "train/method.h"

namespace lightspeech::train::internal {
namespace {

// The losses once the durations the decoder follows are known: the mel loss, the duration
// predictor's loss on the durations the decoder used and, for MAS, the aligner's forward-sum loss
// `fs_loss` (undefined for ORACLE) and the binarization loss along `durations` of its log-attention.
absl::StatusOr<MicroBatch> SupervisedLosses(Context& ctx, const Tensors& b, const torch::Tensor& durations,
                                            torch::Tensor fs_loss, const torch::Tensor& log_att) {
  const double wd = ctx.config.duration_loss_weight();
  MicroBatch out;
  torch::Tensor enc = ctx.model->Encode(b.tokens, b.token_mask);
  LS_ASSIGN_OR_RETURN(model::Synthesis syn,
                      ctx.model->Decode(enc, durations, b.token_mask, {}, b.frame_lengths, b.mel.size(1)));
  torch::Tensor mel_loss = MelLoss(syn, b) * ctx.scale.frames;
  LS_ASSIGN_OR_RETURN(torch::Tensor dur_loss, PredictorLoss(ctx, enc, b, syn.expanded.durations));
  dur_loss = dur_loss * ctx.scale.tokens;
  out.model_loss = mel_loss + wd * dur_loss;
  out.terms = {{"mel_loss", mel_loss.detach()}, {"duration_loss", dur_loss.detach()}};
  if (fs_loss.defined()) {
    const double wf = ctx.config.forward_sum_weight();
    fs_loss = fs_loss * ctx.scale.utterances;  // a mean over utterances
    out.model_loss = out.model_loss + wf * fs_loss;
    out.terms.emplace_back("forward_sum_loss", fs_loss.detach());
    LS_RETURN_IF_ERROR(AddBinarizationLoss(ctx, log_att, durations, b, out));
  }
  out.terms.emplace_back("mean_duration", MeanDuration(syn.expanded.durations, b.token_mask) * ctx.scale.tokens);
  return out;
}

// ORACLE: the reference durations stored in the records.
class OracleMethod final : public Method {
 public:
  bool uses_reference_durations() const override { return true; }

  absl::StatusOr<MicroBatch> Step(Context& ctx, const Tensors& b) const override {
    if (!b.durations.defined()) {
      return absl::FailedPreconditionError("aligner ORACLE needs reference durations, and this batch has none");
    }
    return SupervisedLosses(ctx, b, b.durations, torch::Tensor(), torch::Tensor());
  }

  absl::StatusOr<torch::Tensor> Durations(model::AcousticModel& model, const Tensors& b, const torch::Tensor& enc,
                                          const Separators& separators) const override {
    return b.durations;
  }
};

// MAS: the forward-sum aligner learns from its loss; the decoder follows the monotonic alignment
// search's hard alignment of its (detached) log-attention.
class MasMethod final : public Method {
 public:
  absl::StatusOr<MicroBatch> Step(Context& ctx, const Tensors& b) const override {
    model::AlignerOutput att = ctx.model->aligner()(b.tokens, b.token_lengths, b.mel, b.frame_lengths);
    const torch::Tensor log_att = att.log_attention.to(torch::kFloat);
    LS_ASSIGN_OR_RETURN(torch::Tensor fs_loss, model::ForwardSumLoss(log_att, b.token_lengths, b.frame_lengths));
    LS_ASSIGN_OR_RETURN(torch::Tensor durations, HardAlignment(log_att.detach(), b, ctx.separators));
    return SupervisedLosses(ctx, b, durations, fs_loss, log_att);
  }

  absl::StatusOr<torch::Tensor> Durations(model::AcousticModel& model, const Tensors& b, const torch::Tensor& enc,
                                          const Separators& separators) const override {
    model::AlignerOutput att = model->aligner()(b.tokens, b.token_lengths, b.mel, b.frame_lengths);
    return HardAlignment(att.log_attention.to(torch::kFloat), b, separators);
  }
};

}  // namespace

std::unique_ptr<Method> NewOracleMethod() { return std::make_unique<OracleMethod>(); }
std::unique_ptr<Method> NewMasMethod() { return std::make_unique<MasMethod>(); }

}  // namespace lightspeech::train::internal
