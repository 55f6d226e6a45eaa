#ifndef LIGHTSPEECH_BASE_STATUS_MACROS_H_
#define LIGHTSPEECH_BASE_STATUS_MACROS_H_

// Early returns on an absl::Status / absl::StatusOr, for functions that themselves return an
// absl::Status or absl::StatusOr and pass a failure on unchanged (same code, same message). Where
// the caller adds context to the message, write the check out by hand.
//
//   LS_RETURN_IF_ERROR(WriteHeader(out));            // returns the status if it is not OK
//   LS_ASSIGN_OR_RETURN(Manifest m, ReadManifest(p));  // declares `m`, or returns the status
//   LS_ASSIGN_OR_RETURN(options_, Parse(text));      // assigns an existing lvalue
//
// LS_ASSIGN_OR_RETURN's first argument is a declaration or an lvalue; the value is moved out of the
// StatusOr. Both arguments are macro arguments: a type with a top-level comma needs an alias or
// `auto`. It expands to several statements, so it cannot be the body of an unbraced `if`.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LS_RETURN_IF_ERROR(expr)              \
  do {                                        \
    if (absl::Status _s = (expr); !_s.ok()) { \
      return _s;                              \
    }                                         \
  } while (0)

#define LS_ASSIGN_OR_RETURN(lhs, expr) \
  LS_STATUS_MACROS_ASSIGN_OR_RETURN_IMPL(LS_STATUS_MACROS_CONCAT(_statusor_, __LINE__), lhs, expr)

// Implementation details.
#define LS_STATUS_MACROS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                           \
  if (!tmp.ok()) return tmp.status();                          \
  lhs = *std::move(tmp)
#define LS_STATUS_MACROS_CONCAT_INNER(a, b) a##b
#define LS_STATUS_MACROS_CONCAT(a, b) LS_STATUS_MACROS_CONCAT_INNER(a, b)

#endif  // LIGHTSPEECH_BASE_STATUS_MACROS_H_
