// Byte fixtures written as annotated hex: "10 0c  // CONNECT, remaining length 12". Everything
// after "//" on a line is a comment; other non-hex characters separate bytes.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace tern::test {

inline std::vector<std::byte> hex(std::string_view text) {
  std::vector<std::byte> out;
  int high = -1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) {
      if (high >= 0) std::abort();  // odd digit count within a byte: a broken fixture
      continue;
    }
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::byte>(high * 16 + v));
      high = -1;
    }
  }
  if (high >= 0) std::abort();
  return out;
}

inline std::string to_hex(const std::byte* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < size; ++i) {
    if (i) s += ' ';
    const auto b = static_cast<unsigned>(data[i]);
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

template <class Bytes>
std::string to_hex(const Bytes& b) {
  return to_hex(b.data(), b.size());
}

}  // namespace tern::test
