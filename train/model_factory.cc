#include "train/model_factory.h"

#include "base/status_macros.h"

namespace lightspeech::train {

absl::StatusOr<model::AcousticModelOptions> ModelOptions(const TrainConfig& c, int64_t vocab, int64_t k,
                                                         int64_t n_mels) {
  const ModelConfig& m = c.model();
  model::AcousticModelOptions o = m.preset() == ModelConfig::PROTOTYPE
                                      ? model::AcousticModelOptions::Prototype(vocab, k, n_mels)
                                      : model::AcousticModelOptions::Light(vocab, k, n_mels);
  if (m.encoder_dim() > 0) {
    o.encoder.embedding_dim = o.encoder.output_dim = m.encoder_dim();
    o.policy.input_dim = o.predictor.input_dim = o.decoder.input_dim = m.encoder_dim();
  }
  if (m.encoder_blocks() > 0) o.encoder.num_blocks = m.encoder_blocks();
  if (m.gru_hidden() > 0) o.encoder.gru_hidden = o.decoder.gru_hidden = m.gru_hidden();
  if (m.decoder_dim() > 0) o.decoder.hidden_dim = m.decoder_dim();
  if (m.decoder_blocks() > 0) o.decoder.num_blocks = m.decoder_blocks();
  if (m.policy_hidden() > 0) o.policy.hidden_dim = m.policy_hidden();
  if (m.predictor_hidden() > 0) o.predictor.hidden_dim = m.predictor_hidden();
  if (m.aligner_channels() > 0) o.aligner.channels = m.aligner_channels();
  if (m.aligner_attention_dim() > 0) o.aligner.attention_dim = m.aligner_attention_dim();
  if (m.aligner_key_kernel() > 0) o.aligner.key_kernel = m.aligner_key_kernel();
  o.aligner.normalize_mel = m.aligner_normalize_mel();
  if (m.has_dropout()) o.encoder.dropout = o.decoder.dropout = m.dropout();
  if (m.has_predictor_dropout()) o.predictor.dropout = m.predictor_dropout();
  o.decoder.postnet = m.postnet();
  o.use_predictor = m.use_predictor() || c.aligner() != TrainConfig::RL;
  o.use_aligner = c.aligner() == TrainConfig::MAS ||
                  (c.aligner() == TrainConfig::RL && c.rl().reward() == RlConfig::ALIGNMENT_SCORE);
  o.policy.observe_mel = c.aligner() == TrainConfig::RL && c.rl().actor_observes_mel();
  o.policy.per_frame = c.aligner() == TrainConfig::RL && c.rl().monotonic_frame_policy();
  o.policy.observe_alignment_score = o.policy.per_frame && c.rl().actor_observes_alignment_score();
  o.policy.alignment_score_weight_init = c.rl().alignment_score_weight_init();
  o.policy.observe_value_to_go = o.policy.observe_alignment_score && c.rl().actor_observes_value_to_go();
  LS_RETURN_IF_ERROR(o.Validate());
  return o;
}

}  // namespace lightspeech::train
