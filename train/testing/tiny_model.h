#ifndef LIGHTSPEECH_TRAIN_TESTING_TINY_MODEL_H_
#define LIGHTSPEECH_TRAIN_TESTING_TINY_MODEL_H_

// The light model shrunk to width 16 and one block per stack, so that tests train, save and load it
// in milliseconds. Callers set dropout, K and the method themselves.

#include "train/train_config.pb.h"

namespace lightspeech::train::testing {

inline ModelConfig TinyModel() {
  ModelConfig m;
  m.set_preset(ModelConfig::LIGHT);
  m.set_encoder_dim(16);
  m.set_encoder_blocks(1);
  m.set_decoder_dim(16);
  m.set_decoder_blocks(1);
  m.set_policy_hidden(16);
  m.set_predictor_hidden(16);
  m.set_aligner_channels(16);
  m.set_aligner_attention_dim(8);
  return m;
}

}  // namespace lightspeech::train::testing

#endif  // LIGHTSPEECH_TRAIN_TESTING_TINY_MODEL_H_
