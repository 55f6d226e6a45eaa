#include "inference/npy.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file_util.h"
#include "base/status_macros.h"

namespace lightspeech::inference {
namespace {

constexpr char kMagic[] = "\x93NUMPY";  // 6 bytes
constexpr size_t kPreamble = 10;        // magic, major, minor, uint16 header length
constexpr size_t kAlignment = 64;

bool HostIsLittleEndian() {
  const uint16_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

}  // namespace

absl::StatusOr<std::string> NpyFloat32Header(absl::Span<const int64_t> shape) {
  for (int64_t d : shape) {
    if (d < 0) return absl::InvalidArgumentError(absl::StrCat("npy: negative dimension in shape (", absl::StrJoin(shape, ", "), ")"));
  }
  // A 1-tuple needs its trailing comma: (5,).
  const std::string dims = shape.size() == 1 ? absl::StrCat(shape[0], ",") : absl::StrJoin(shape, ", ");
  std::string dict = absl::StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': (", dims, "), }");
  const size_t unpadded = kPreamble + dict.size() + 1;  // + '\n'
  const size_t total = (unpadded + kAlignment - 1) / kAlignment * kAlignment;
  dict.append(total - unpadded, ' ');
  dict.push_back('\n');
  if (dict.size() > 65535) return absl::InvalidArgumentError("npy: header longer than 65535 bytes");
  std::string out(kMagic, 6);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  out += dict;
  return out;
}

absl::StatusOr<std::string> EncodeNpyFloat32(absl::Span<const float> data, absl::Span<const int64_t> shape) {
  LS_ASSIGN_OR_RETURN(std::string out, NpyFloat32Header(shape));
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  if (count != static_cast<int64_t>(data.size())) {
    return absl::InvalidArgumentError(absl::StrCat("npy: shape (", absl::StrJoin(shape, ", "), ") holds ", count,
                                                   " values, got ", data.size()));
  }
  const size_t header = out.size();
  out.resize(header + data.size() * sizeof(float));
  char* bytes = out.data() + header;
  std::memcpy(bytes, data.data(), data.size() * sizeof(float));
  if (!HostIsLittleEndian()) {
    for (size_t i = 0; i < data.size(); ++i) {
      std::swap(bytes[4 * i], bytes[4 * i + 3]);
      std::swap(bytes[4 * i + 1], bytes[4 * i + 2]);
    }
  }
  return out;
}

absl::Status WriteNpyFloat32(const std::string& path, absl::Span<const float> data, absl::Span<const int64_t> shape) {
  LS_ASSIGN_OR_RETURN(std::string bytes, EncodeNpyFloat32(data, shape));
  return base::WriteFileAtomically(path, bytes);
}

}  // namespace lightspeech::inference
