#ifndef LIGHTSPEECH_TRAIN_STATUS_MACROS_H_
#define LIGHTSPEECH_TRAIN_STATUS_MACROS_H_

// Early returns on an absl::Status / absl::StatusOr for the trainer's files (internal to the
// `method`, `trainer` and `inference_model` libraries).

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LS_RETURN_IF_ERROR(expr)              \
  do {                                        \
    if (absl::Status _s = (expr); !_s.ok()) { \
      return _s;                              \
    }                                         \
  } while (0)

#define LS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = *std::move(tmp)
#define LS_CONCAT_INNER(a, b) a##b
#define LS_CONCAT(a, b) LS_CONCAT_INNER(a, b)
#define LS_ASSIGN_OR_RETURN(lhs, expr) LS_ASSIGN_OR_RETURN_IMPL(LS_CONCAT(_statusor_, __LINE__), lhs, expr)

#endif  // LIGHTSPEECH_TRAIN_STATUS_MACROS_H_
