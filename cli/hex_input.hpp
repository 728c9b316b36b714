// MQTT bytes written as text, as people paste them from captures, logs and test fixtures, and
// the rule that tells such text from a binary capture.
//
// Accepted hex text: pairs of hex digits in either case; between bytes any mix of whitespace
// and the separators `: , ; - . _ |`; a "0x"/"0X" prefix in front of a run of digits; comments
// from "#" or "//" to the end of the line (so the annotated fixtures of tests/unit paste as
// they are). A separator may not split a byte: "1 0" is an error, not 0x10.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tern/bytes.hpp"
#include "tern/result.hpp"

namespace tern::cli {

// Where hex text stopped making sense, 1-based, and why.
struct hex_error {
  std::size_t line = 0;
  std::size_t column = 0;
  std::string message;  // "odd number of hex digits", "unexpected character 'z'", ...
};

result<std::vector<std::byte>, hex_error> parse_hex(std::string_view text);

// Whether input of unknown kind should be read as hex text: every byte is printable ASCII or
// whitespace. A binary MQTT stream never is (a string's length prefix starts with 0x00, PINGREQ
// is 0xC0), so the guess only fails for made-up input; --hex and --binary override it.
bool looks_like_text(bytes_view data) noexcept;

// Lowercase hex, two digits per byte, `separator` between bytes (none when empty).
std::string format_hex(bytes_view data, std::string_view separator = "");

}  // namespace tern::cli
