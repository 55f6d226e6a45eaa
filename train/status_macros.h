// Forwarding until train/trainer_validation.cc moves (issue 25); use base/status_macros.h. Also still
// included by train/inference_model.cc and train/method_evaluation.cc.
#include "base/status_macros.h"
