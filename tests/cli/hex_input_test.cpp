// Hex text as people paste it: separators, 0x prefixes, comments; and the errors that point at
// the line and column of a stray character or a half byte.
#include <doctest/doctest.h>

#include <string>

#include "hex_input.hpp"
#include "support/hex.hpp"

using tern::cli::format_hex;
using tern::cli::looks_like_text;
using tern::cli::parse_hex;
using tern::test::to_hex;

namespace {

std::string parsed(std::string_view text) {
  auto r = parse_hex(text);
  if (!r) return "error " + std::to_string(r.error().line) + ":" +
                 std::to_string(r.error().column) + " " + r.error().message;
  return to_hex(*r);
}

}  // namespace

TEST_CASE("hex: digits in pairs, in either case, with or without separators") {
  CHECK(parsed("c000") == "c0 00");
  CHECK(parsed("C0 0a FF") == "c0 0a ff");
  CHECK(parsed("10:0c,00;04-4d.51_54|54") == "10 0c 00 04 4d 51 54 54");
  CHECK(parsed("  \t\r\n") == "");
  CHECK(parsed("") == "");
}

TEST_CASE("hex: 0x prefixes, on each byte or on a run") {
  CHECK(parsed("0xc0 0x00") == "c0 00");
  CHECK(parsed("0XC000") == "c0 00");
  CHECK(parsed("0xc0,0x00") == "c0 00");
  CHECK(parsed("00 0x00") == "00 00");
  // Glued to the digits before it, "0x" is not a prefix.
  CHECK(parsed("c00xd0") == "error 1:4 unexpected character 'x'");
}

TEST_CASE("hex: comments from # or // to the end of the line, as in the codec's fixtures") {
  CHECK(parsed("c0  // PINGREQ\n00  # remaining length 0\n") == "c0 00");
  CHECK(parsed("# only a comment") == "");
  CHECK(parsed("e0 00 //") == "e0 00");
}

TEST_CASE("hex: errors name the line and column") {
  CHECK(parsed("c0 0z") == "error 1:5 unexpected character 'z'");
  CHECK(parsed("c0\n 1 0") == "error 2:2 a byte needs two hex digits, this one has one");
  CHECK(parsed("c0 0") == "error 1:4 a byte needs two hex digits, this one has one");
  CHECK(parsed("c0 \x01") == "error 1:4 unexpected character byte 0x01");
  CHECK(parsed("c0 /") == "error 1:4 unexpected character '/'");
}

TEST_CASE("looks_like_text: printable ASCII and whitespace only") {
  CHECK(looks_like_text(tern::as_bytes("10 0c 00 04\n# comment\r\n")));
  CHECK(looks_like_text(tern::as_bytes("")));
  CHECK_FALSE(looks_like_text(tern::as_bytes(std::string_view("\xc0\x00", 2))));
  CHECK_FALSE(looks_like_text(tern::as_bytes("30 \x7f")));
  CHECK_FALSE(looks_like_text(tern::as_bytes("caf\xc3\xa9")));
}

TEST_CASE("format_hex: lowercase pairs with an optional separator") {
  const auto bytes = tern::test::hex("0a ff 00");
  CHECK(format_hex(bytes) == "0aff00");
  CHECK(format_hex(bytes, " ") == "0a ff 00");
  CHECK(format_hex({}) == "");
}
