#include "hex_input.hpp"

#include <fmt/format.h>

namespace tern::cli {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_separator(char c) noexcept {
  switch (c) {
    case ' ': case '\t': case '\r': case '\n': case '\v': case '\f':
    case ':': case ',': case ';': case '-': case '.': case '_': case '|':
      return true;
    default:
      return false;
  }
}

std::string printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", u);
}

}  // namespace

result<std::vector<std::byte>, hex_error> parse_hex(std::string_view text) {
  std::vector<std::byte> out;
  out.reserve(text.size() / 2);
  std::size_t line = 1;
  std::size_t column = 1;
  int high = -1;  // the first digit of a byte whose second digit has not come yet
  std::size_t high_line = 0;
  std::size_t high_column = 0;
  const auto lone_digit = [&] {
    return unexpected(hex_error{high_line, high_column,
                                "a byte needs two hex digits, this one has one"});
  };

  for (std::size_t i = 0; i < text.size(); ++i, ++column) {
    const char c = text[i];
    const bool comment = c == '#' || (c == '/' && i + 1 < text.size() && text[i + 1] == '/');
    if (comment || is_separator(c)) {
      if (high >= 0) return lone_digit();
      if (comment) {
        // Skip to the newline, which the next turn counts.
        while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
      } else if (c == '\n') {
        ++line;
        column = 0;
      }
      continue;
    }
    // "0x" only as a prefix: at a byte boundary, not glued to the digits before it.
    const bool after_digit = i > 0 && hex_value(text[i - 1]) >= 0;
    if (c == '0' && high < 0 && !after_digit && i + 2 < text.size() &&
        (text[i + 1] == 'x' || text[i + 1] == 'X') && hex_value(text[i + 2]) >= 0) {
      ++i;
      ++column;
      continue;
    }
    const int v = hex_value(c);
    if (v < 0)
      return unexpected(hex_error{line, column, "unexpected character " + printable(c)});
    if (high < 0) {
      high = v;
      high_line = line;
      high_column = column;
    } else {
      out.push_back(static_cast<std::byte>(high * 16 + v));
      high = -1;
    }
  }
  if (high >= 0) return lone_digit();
  return out;
}

bool looks_like_text(bytes_view data) noexcept {
  for (const std::byte b : data) {
    const auto u = static_cast<unsigned char>(b);
    const bool whitespace = u == '\t' || u == '\n' || u == '\r' || u == '\v' || u == '\f';
    if (!whitespace && (u < 0x20 || u >= 0x7f)) return false;
  }
  return true;
}

std::string format_hex(bytes_view data, std::string_view separator) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(data.size() * (2 + separator.size()));
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (i != 0) s += separator;
    const auto u = static_cast<unsigned char>(data[i]);
    s += digits[u >> 4];
    s += digits[u & 15];
  }
  return s;
}

}  // namespace tern::cli
