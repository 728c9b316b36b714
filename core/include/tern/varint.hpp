// Variable Byte Integer [MQTT 1.5.5]: 7 bits a byte, least significant group first, high bit
// set on every byte but the last; at most 4 bytes, so at most 268,435,455.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tern/bytes.hpp"
#include "tern/protocol.hpp"

namespace tern {

constexpr std::size_t varint_size(std::uint32_t v) noexcept {
  return v < 128u ? 1 : v < 16'384u ? 2 : v < 2'097'152u ? 3 : 4;
}

// Writes v (at most max_variable_integer) to dest, which has room for varint_size(v) bytes.
inline std::size_t write_varint(std::uint32_t v, std::byte* dest) noexcept {
  std::size_t n = 0;
  do {
    auto b = static_cast<std::uint8_t>(v & 0x7Fu);
    v >>= 7;
    if (v != 0) b |= 0x80u;
    dest[n++] = static_cast<std::byte>(b);
  } while (v != 0);
  return n;
}

enum class varint_status : std::uint8_t {
  ok,
  incomplete,   // the input ends before the last byte: read more
  too_long,     // a fifth byte would be needed [MQTT-1.5.5]
  non_minimal,  // more bytes than the value needs; MQTT 5.0 forbids it [MQTT-1.5.5-1]
};

struct varint_read {
  varint_status status = varint_status::incomplete;
  std::uint32_t value = 0;
  std::uint8_t size = 0;  // bytes the integer occupies (valid when status is ok or non_minimal)
};

// Reads one integer from the front of `in`. A non-minimal encoding reports its value and size
// with status non_minimal so that 3.1.1 (which does not forbid it) can accept it.
inline varint_read read_varint(bytes_view in) noexcept {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i == in.size()) return {varint_status::incomplete, 0, 0};
    const auto b = static_cast<std::uint8_t>(in[i]);
    value |= static_cast<std::uint32_t>(b & 0x7Fu) << (7 * i);
    if ((b & 0x80u) == 0) {
      const auto size = static_cast<std::uint8_t>(i + 1);
      const bool minimal = size == 1 || b != 0;
      return {minimal ? varint_status::ok : varint_status::non_minimal, value, size};
    }
  }
  return {varint_status::too_long, 0, 0};
}

}  // namespace tern
