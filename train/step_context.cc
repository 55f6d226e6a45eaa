#include "train/step_context.h"

#include <algorithm>

#include "base/status_macros.h"
#include "model/aligner.h"
#include "model/duration.h"
#include "train/alignment_metrics.h"

namespace lightspeech::train::internal {
namespace {

// The tokens of batch b marked in `lookup` (bool [symbols]), bool [B, N].
torch::Tensor MarkedTokens(const torch::Tensor& lookup, const Tensors& b) {
  return lookup.to(b.tokens.device()).index_select(0, b.tokens.reshape({-1}).to(torch::kLong)).view(b.tokens.sizes());
}

}  // namespace

absl::StatusOr<Tensors> HostBatchToTensors(const HostBatch& b, const torch::Device& device) {
  ToTensorsOptions options;
  options.min_length = 1;
  return ToTensors(b, device, options);
}

const torch::Tensor& FinalMel(const model::DecoderOutput& d) { return d.mel_postnet.defined() ? d.mel_postnet : d.mel; }

Separators MakeSeparators(const TrainConfig& config, const records::SymbolTable& symbols) {
  Separators separators;
  if (!(config.separator_frame_penalty() > 0)) return separators;
  // The penalty is a prior: with no separator in the table it holds nothing short (or only the
  // punctuation), so such a table is no error.
  const bool punctuation = config.separator_penalty_covers_punctuation() && symbols.phonemizer().empty();
  const std::vector<bool> words =
      punctuation ? WordSymbolMask({symbols.symbols().begin(), symbols.symbols().end()}) : std::vector<bool>();
  std::vector<uint8_t> penalized(symbols.symbols_size(), 0);
  for (int i = 0; i < symbols.symbols_size(); ++i) {
    penalized[i] = punctuation ? !words[i] : symbols.symbols(i) == "|" || symbols.symbols(i) == " ";
  }
  separators.penalized = torch::tensor(penalized, torch::kUInt8).to(torch::kBool);
  separators.penalty = config.separator_frame_penalty();
  return separators;
}

absl::StatusOr<torch::Tensor> TextOnlyDurations(model::AcousticModel& model, const torch::Tensor& enc,
                                                const torch::Tensor& token_mask, const torch::Tensor& method_durations) {
  if (model->options().use_predictor) {
    LS_ASSIGN_OR_RETURN(torch::Tensor log_pred, model->PredictLogDurations(enc, token_mask));
    return model::PredictedDurations(log_pred.to(torch::kFloat), token_mask);
  }
  if (!model->options().policy.observe_mel) return method_durations;
  return torch::Tensor();
}

torch::Tensor HardScores(const torch::Tensor& log_att, const Tensors& b, const Separators& sep) {
  if (!(sep.penalty > 0)) return log_att;
  return log_att - sep.penalty * MarkedTokens(sep.penalized, b).to(log_att.scalar_type()).unsqueeze(1);
}

absl::StatusOr<torch::Tensor> HardAlignment(const torch::Tensor& log_att, const Tensors& b, const Separators& sep) {
  return model::MonotonicAlignmentSearch(HardScores(log_att, b, sep), b.token_lengths, b.frame_lengths);
}

torch::Tensor MaskedMse(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& mask) {
  torch::Tensor m = mask.unsqueeze(-1).to(torch::kFloat);
  return ((pred.to(torch::kFloat) - target).square() * m).sum() / (m.sum() * pred.size(2)).clamp_min(1);
}

absl::StatusOr<torch::Tensor> PredictorLoss(Context& ctx, const torch::Tensor& enc, const Tensors& b,
                                            const torch::Tensor& durations) {
  LS_ASSIGN_OR_RETURN(torch::Tensor log_pred, ctx.model->PredictLogDurations(enc, b.token_mask));
  return model::DurationLoss(log_pred.to(torch::kFloat), durations, b.token_mask);
}

torch::Tensor MelLoss(const model::Synthesis& syn, const Tensors& b) {
  torch::Tensor loss = MaskedMse(syn.mel.mel, b.mel, b.mel_mask);
  if (syn.mel.mel_postnet.defined() && !syn.mel.mel_postnet.is_same(syn.mel.mel)) {
    loss = loss + MaskedMse(syn.mel.mel_postnet, b.mel, b.mel_mask);
  }
  return loss;
}

torch::Tensor MeanDuration(const torch::Tensor& durations, const torch::Tensor& mask) {
  torch::Tensor m = mask.to(torch::kFloat);
  return (durations.to(torch::kFloat) * m).sum() / m.sum().clamp_min(1);
}

absl::Status AddBinarizationLoss(Context& ctx, const torch::Tensor& log_att, const torch::Tensor& durations, const Tensors& b,
                                 MicroBatch& out) {
  if (!(ctx.config.binarization_weight() > 0) || ctx.step < ctx.config.binarization_start_step()) return absl::OkStatus();
  LS_ASSIGN_OR_RETURN(torch::Tensor loss, model::BinarizationLoss(log_att, durations, b.token_lengths, b.frame_lengths));
  loss = loss * ctx.scale.utterances;
  out.model_loss = out.model_loss + ctx.config.binarization_weight() * loss;
  out.terms.emplace_back("binarization_loss", loss.detach());
  return absl::OkStatus();
}

}  // namespace lightspeech::train::internal
