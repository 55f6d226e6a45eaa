#ifndef LIGHTSPEECH_RECORDS_CRC32C_H_
#define LIGHTSPEECH_RECORDS_CRC32C_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace lightspeech::records {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by TFRecord framing.
// Hand-written because neither Debian's Abseil 20220623 nor any other Debian -dev package we use
// exposes CRC32C; slicing-by-8 tables keep it well above disk speed.
// `Crc32cExtend(crc, data, n)` continues a CRC over more bytes; `Crc32c(data, n)` starts from 0.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }
inline uint32_t Crc32c(absl::string_view s) { return Crc32c(s.data(), s.size()); }

// TFRecord's masked CRC: rotate right by 15 bits and add 0xa282ead8 (so CRCs of data that itself
// contains CRCs stay well distributed). `UnmaskCrc` inverts it.
inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t UnmaskCrc(uint32_t masked) {
  const uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace lightspeech::records

#endif  // LIGHTSPEECH_RECORDS_CRC32C_H_
