// Byte views used across the API: binary data is std::span<const std::byte>, UTF-8 text is
// std::string_view. These helpers convert between them without copying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace tern {

using bytes_view = std::span<const std::byte>;
using mutable_bytes = std::span<std::byte>;

inline bytes_view as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_chars(bytes_view b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

inline bool equal_bytes(bytes_view a, bytes_view b) noexcept {
  return as_chars(a) == as_chars(b);
}

}  // namespace tern
