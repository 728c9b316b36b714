// MQTT UTF-8 validation. Topics are mostly ASCII, so eight bytes at a time are checked for a
// high bit or a zero byte before falling back to the scalar decoder (RFC 3629 table 3-7 ranges).
#include "tern/utf8.hpp"

#include <cstring>

namespace tern {
namespace {

constexpr std::uint64_t ones = 0x0101010101010101ull;
constexpr std::uint64_t highs = 0x8080808080808080ull;

bool is_plain_ascii_block(const unsigned char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  const bool any_high = (w & highs) != 0;
  const bool any_zero = ((w - ones) & ~w & highs) != 0;
  return !any_high && !any_zero;
}

bool is_continuation(unsigned char c) noexcept { return (c & 0xC0u) == 0x80u; }

}  // namespace

utf8_status validate_mqtt_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  while (p != end) {
    if (end - p >= 8 && is_plain_ascii_block(p)) {
      p += 8;
      continue;
    }
    const unsigned char c = *p;
    if (c < 0x80u) {
      if (c == 0) return utf8_status::null_character;
      ++p;
      continue;
    }
    const auto left = end - p;
    if (c >= 0xC2u && c <= 0xDFu) {
      if (left < 2 || !is_continuation(p[1])) return utf8_status::invalid;
      p += 2;
    } else if (c >= 0xE0u && c <= 0xEFu) {
      if (left < 3) return utf8_status::invalid;
      const unsigned char c1 = p[1];
      // E0 needs A0..BF (no overlongs); ED needs 80..9F (no surrogates).
      const unsigned char lo = c == 0xE0u ? 0xA0u : 0x80u;
      const unsigned char hi = c == 0xEDu ? 0x9Fu : 0xBFu;
      if (c1 < lo || c1 > hi || !is_continuation(p[2])) return utf8_status::invalid;
      p += 3;
    } else if (c >= 0xF0u && c <= 0xF4u) {
      if (left < 4) return utf8_status::invalid;
      const unsigned char c1 = p[1];
      // F0 needs 90..BF (no overlongs); F4 needs 80..8F (nothing past U+10FFFF).
      const unsigned char lo = c == 0xF0u ? 0x90u : 0x80u;
      const unsigned char hi = c == 0xF4u ? 0x8Fu : 0xBFu;
      if (c1 < lo || c1 > hi || !is_continuation(p[2]) || !is_continuation(p[3]))
        return utf8_status::invalid;
      p += 4;
    } else {
      return utf8_status::invalid;  // continuation byte first, C0/C1, or F5..FF
    }
  }
  return utf8_status::ok;
}

}  // namespace tern
