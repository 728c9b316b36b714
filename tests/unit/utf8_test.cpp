// MQTT UTF-8 [MQTT 1.5.4]: well-formed UTF-8 (Unicode Table 3-7), no surrogates, nothing past
// U+10FFFF, no U+0000. Checked against fixed cases, a small reference validator written here
// (exhaustively over short sequences), and every position relative to an 8-byte fast path.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "support/hex.hpp"
#include "tern/utf8.hpp"

namespace {

using tern::utf8_status;
using tern::validate_mqtt_utf8;

std::string_view sv(const char* s, std::size_t n) { return {s, n}; }

// Reference: Unicode 15, Table 3-7 (well-formed byte sequences); U+0000 reported apart.
utf8_status reference(std::string_view s) {
  bool null = false;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<std::uint8_t>(s[i]);
    auto at = [&](std::size_t k) -> int {
      return i + k < s.size() ? static_cast<std::uint8_t>(s[i + k]) : -1;
    };
    auto in = [](int v, int lo, int hi) { return v >= lo && v <= hi; };
    if (b < 0x80) {
      null = null || b == 0;
      i += 1;
    } else if (in(b, 0xC2, 0xDF) && in(at(1), 0x80, 0xBF)) {
      i += 2;
    } else if (b == 0xE0 && in(at(1), 0xA0, 0xBF) && in(at(2), 0x80, 0xBF)) {
      i += 3;
    } else if ((in(b, 0xE1, 0xEC) || in(b, 0xEE, 0xEF)) && in(at(1), 0x80, 0xBF) &&
               in(at(2), 0x80, 0xBF)) {
      i += 3;
    } else if (b == 0xED && in(at(1), 0x80, 0x9F) && in(at(2), 0x80, 0xBF)) {
      i += 3;
    } else if (b == 0xF0 && in(at(1), 0x90, 0xBF) && in(at(2), 0x80, 0xBF) &&
               in(at(3), 0x80, 0xBF)) {
      i += 4;
    } else if (in(b, 0xF1, 0xF3) && in(at(1), 0x80, 0xBF) && in(at(2), 0x80, 0xBF) &&
               in(at(3), 0x80, 0xBF)) {
      i += 4;
    } else if (b == 0xF4 && in(at(1), 0x80, 0x8F) && in(at(2), 0x80, 0xBF) &&
               in(at(3), 0x80, 0xBF)) {
      i += 4;
    } else {
      return utf8_status::invalid;
    }
  }
  return null ? utf8_status::null_character : utf8_status::ok;
}

std::string name(utf8_status s) {
  switch (s) {
    case utf8_status::ok: return "ok";
    case utf8_status::invalid: return "invalid";
    case utf8_status::null_character: return "null_character";
  }
  return "?";
}

// The validator and the reference agree on `s`; on disagreement, say where. A string that is
// both ill-formed and holds a 00 byte may be reported either way.
bool agrees(std::string_view s) {
  const auto got = validate_mqtt_utf8(s);
  const auto want = reference(s);
  if (got == want) return true;
  if (want == utf8_status::invalid && got == utf8_status::null_character &&
      s.find('\0') != std::string_view::npos)
    return true;
  INFO("bytes ", tern::test::to_hex(reinterpret_cast<const std::byte*>(s.data()), s.size()),
       ": got ", name(got), ", want ", name(want));
  FAIL_CHECK("validate_mqtt_utf8 disagrees with Table 3-7");
  return false;
}

}  // namespace

TEST_CASE("utf8: well-formed text is ok, control characters and non-characters included") {
  for (std::string_view s :
       {std::string_view(""), std::string_view("hello/world"), std::string_view("\x01\x1f\x7f"),
        std::string_view("\xC2\x80"), std::string_view("\xC3\xA9t\xC3\xA9"),
        std::string_view("\xDF\xBF"), std::string_view("\xE0\xA0\x80"),
        std::string_view("\xE2\x82\xAC"), std::string_view("\xED\x9F\xBF"),  // U+D7FF
        std::string_view("\xEE\x80\x80"),                                     // U+E000
        std::string_view("\xEF\xBF\xBE\xEF\xBF\xBF"),                         // U+FFFE U+FFFF
        std::string_view("\xF0\x90\x80\x80"), std::string_view("\xF0\x9F\x98\x80"),
        std::string_view("\xF3\xBF\xBF\xBF"),
        std::string_view("\xF4\x8F\xBF\xBF")}) {  // U+10FFFF
    INFO(tern::test::to_hex(reinterpret_cast<const std::byte*>(s.data()), s.size()));
    CHECK(validate_mqtt_utf8(s) == utf8_status::ok);
    CHECK(tern::is_valid_mqtt_utf8(s));
  }
}

TEST_CASE("utf8: U+0000 is null_character [MQTT-1.5.4-2]") {
  CHECK(validate_mqtt_utf8(sv("\0", 1)) == utf8_status::null_character);
  CHECK(validate_mqtt_utf8(sv("a\0", 2)) == utf8_status::null_character);
  CHECK(validate_mqtt_utf8(sv("\0b", 2)) == utf8_status::null_character);
  CHECK(validate_mqtt_utf8(sv("abcdefgh\0ijklmnop", 17)) == utf8_status::null_character);
  CHECK(validate_mqtt_utf8(sv("\xE2\x82\xAC\0", 4)) == utf8_status::null_character);
  CHECK_FALSE(tern::is_valid_mqtt_utf8(sv("\0", 1)));
  // The overlong form of U+0000 is not U+0000: it is ill-formed.
  CHECK(validate_mqtt_utf8("\xC0\x80") == utf8_status::invalid);
}

TEST_CASE("utf8: ill-formed sequences are invalid [MQTT-1.5.4-1]") {
  struct {
    const char* what;
    std::string_view bytes;
  } const cases[] = {
      {"overlong 2-byte NUL", "\xC0\x80"},
      {"overlong 2-byte '\x7f'", "\xC1\xBF"},
      {"overlong 3-byte NUL", "\xE0\x80\x80"},
      {"overlong 3-byte U+07FF", "\xE0\x9F\xBF"},
      {"overlong 4-byte NUL", "\xF0\x80\x80\x80"},
      {"overlong 4-byte U+FFFF", "\xF0\x8F\xBF\xBF"},
      {"surrogate U+D800", "\xED\xA0\x80"},
      {"surrogate U+DBFF", "\xED\xAF\xBF"},
      {"surrogate U+DC00", "\xED\xB0\x80"},
      {"surrogate U+DFFF", "\xED\xBF\xBF"},
      {"surrogate pair as CESU-8", "\xED\xA0\xBD\xED\xB8\x80"},
      {"U+110000", "\xF4\x90\x80\x80"},
      {"F4 BF", "\xF4\xBF\xBF\xBF"},
      {"F5", "\xF5\x80\x80\x80"},
      {"F7", "\xF7\xBF\xBF\xBF"},
      {"F8 5-byte form", "\xF8\x88\x80\x80\x80"},
      {"FC 6-byte form", "\xFC\x84\x80\x80\x80\x80"},
      {"FE", "\xFE"},
      {"FF", "\xFF"},
      {"truncated 2-byte", "\xC3"},
      {"truncated 3-byte", "\xE2\x82"},
      {"truncated 3-byte after text", "abc\xE2"},
      {"truncated 4-byte", "\xF0\x9F\x98"},
      {"truncated 4-byte after text", "abcdefg\xF0\x9F"},
      {"lone continuation", "\x80"},
      {"lone continuation BF", "\xBF"},
      {"continuation inside text", "a\x80z"},
      {"extra continuation", "\xC3\xA9\xA9"},
      {"ASCII where a continuation belongs", "\xC3\x41"},
      {"bad second byte of 3", "\xE2\x28\xA1"},
      {"bad third byte of 3", "\xE2\x82\x28"},
      {"bad fourth byte of 4", "\xF0\x9F\x98\x41"},
      {"lead byte where a continuation belongs", "\xE2\xC3\xA9"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK(validate_mqtt_utf8(c.bytes) == utf8_status::invalid);
    CHECK(reference(c.bytes) == utf8_status::invalid);  // the reference agrees
  }
  // Every byte F5..FF alone, and leading otherwise valid text.
  for (int b = 0xF5; b <= 0xFF; ++b) {
    const std::string s(1, static_cast<char>(b));
    INFO(b);
    CHECK(validate_mqtt_utf8(s) == utf8_status::invalid);
    CHECK(validate_mqtt_utf8(s + "\x80\x80\x80") == utf8_status::invalid);
    CHECK(validate_mqtt_utf8("ok" + s) == utf8_status::invalid);
  }
}

TEST_CASE("utf8: exhaustive agreement with Table 3-7 over 1-, 2- and 3-byte strings") {
  char buf[3];
  for (int a = 0; a < 256; ++a) {
    buf[0] = static_cast<char>(a);
    if (!agrees(sv(buf, 1))) return;
    for (int b = 0; b < 256; ++b) {
      buf[1] = static_cast<char>(b);
      if (!agrees(sv(buf, 2))) return;
      if (a < 0xC0) continue;  // three bytes: every lead byte of a multi-byte form
      for (int c = 0; c < 256; ++c) {
        buf[2] = static_cast<char>(c);
        if (!agrees(sv(buf, 3))) return;
      }
    }
  }
}

TEST_CASE("utf8: 4-byte sequences at the edges of every byte's range") {
  const int edges[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xF4, 0xFF};
  char buf[4];
  for (int a = 0xE0; a <= 0xFF; ++a)
    for (int b : edges)
      for (int c : edges)
        for (int d : edges) {
          buf[0] = static_cast<char>(a);
          buf[1] = static_cast<char>(b);
          buf[2] = static_cast<char>(c);
          buf[3] = static_cast<char>(d);
          if (!agrees(sv(buf, 4))) return;
        }
}

TEST_CASE("utf8: every position across 8-byte fast-path boundaries, every alignment") {
  // A buffer larger than any chunk a fast path reads at once, walked at all start alignments.
  const std::string_view inserts[] = {
      std::string_view("\xC3\xA9"),          std::string_view("\xE2\x82\xAC"),
      std::string_view("\xF0\x9F\x98\x80"),  std::string_view("\xC0\x80"),
      std::string_view("\xED\xA0\x80"),      std::string_view("\xF4\x90\x80\x80"),
      std::string_view("\x80"),              std::string_view("\xFF"),
      std::string_view("\0", 1),             std::string_view("\xE2\x82"),
  };
  std::string storage(200, 'a');
  for (std::size_t align = 0; align < 8; ++align) {
    for (std::size_t len = 0; len <= 70; ++len) {
      for (const auto& ins : inserts) {
        for (std::size_t at = 0; at <= len; ++at) {
          std::string s(len, 'x');
          s.insert(at, ins);
          storage.replace(align, s.size(), s);
          if (!agrees(std::string_view(storage.data() + align, s.size()))) {
            INFO("align ", align, " length ", len, " insert at ", at);
            return;
          }
        }
        // The sequence cut by the end of the string, at every cut.
        for (std::size_t cut = 1; cut < ins.size(); ++cut) {
          std::string s(len, 'x');
          s.append(ins.substr(0, cut));
          storage.replace(align, s.size(), s);
          if (!agrees(std::string_view(storage.data() + align, s.size()))) return;
        }
      }
    }
  }
  // Only the string's own bytes are read: a bad byte right after its end does not matter.
  std::string tail = std::string(16, 'x') + "\xFF";
  CHECK(validate_mqtt_utf8(std::string_view(tail.data(), 16)) == utf8_status::ok);
  std::string cut = std::string(15, 'x') + "\xC3\xA9";
  CHECK(validate_mqtt_utf8(std::string_view(cut.data(), 16)) == utf8_status::invalid);
}

TEST_CASE("utf8: random mostly-valid strings agree with the reference") {
  std::mt19937 rng(0x75746638);
  const std::string_view pieces[] = {"a", "Z", "/", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
                                     "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF"};
  for (int i = 0; i < 20'000; ++i) {
    std::string s;
    const auto n = rng() % 40;
    for (unsigned k = 0; k < n; ++k) s += pieces[rng() % std::size(pieces)];
    // Sometimes corrupt one byte.
    if (!s.empty() && rng() % 2) s[rng() % s.size()] = static_cast<char>(rng() % 256);
    if (!agrees(s)) break;
  }
}
