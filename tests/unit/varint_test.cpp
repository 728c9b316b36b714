// Variable Byte Integer [MQTT 1.5.5]: varint_size, write_varint, read_varint, and how the fixed
// header uses them (non-minimal lengths are a 5.0 error only).
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "support/hex.hpp"
#include "tern/decoder.hpp"
#include "tern/varint.hpp"

namespace {

using namespace tern;
using tern::test::hex;
using tern::test::to_hex;

struct boundary {
  std::uint32_t value;
  const char* bytes;
};
// The table of [MQTT 1.5.5] plus its example 321 = c1 02.
constexpr boundary boundaries[] = {
    {0, "00"},
    {1, "01"},
    {127, "7f"},
    {128, "80 01"},
    {321, "c1 02"},
    {16'383, "ff 7f"},
    {16'384, "80 80 01"},
    {2'097'151, "ff ff 7f"},
    {2'097'152, "80 80 80 01"},
    {268'435'455, "ff ff ff 7f"},
};

}  // namespace

TEST_CASE("varint_size at every boundary [MQTT 1.5.5]") {
  static_assert(varint_size(0) == 1);
  static_assert(varint_size(127) == 1);
  static_assert(varint_size(128) == 2);
  static_assert(varint_size(16'383) == 2);
  static_assert(varint_size(16'384) == 3);
  static_assert(varint_size(2'097'151) == 3);
  static_assert(varint_size(2'097'152) == 4);
  static_assert(varint_size(268'435'455) == 4);
  for (const auto& b : boundaries) {
    INFO(b.value);
    CHECK(varint_size(b.value) == hex(b.bytes).size());
  }
}

TEST_CASE("write_varint writes the specification's bytes") {
  for (const auto& b : boundaries) {
    INFO(b.value);
    std::array<std::byte, 8> out{};
    out.fill(std::byte{0xEE});
    const auto n = write_varint(b.value, out.data());
    const auto want = hex(b.bytes);
    REQUIRE(n == want.size());
    CHECK(to_hex(out.data(), n) == to_hex(want));
    CHECK(out[n] == std::byte{0xEE});  // nothing written past the integer
  }
}

TEST_CASE("read_varint reads the specification's bytes, ignoring what follows") {
  for (const auto& b : boundaries) {
    INFO(b.bytes);
    auto in = hex(b.bytes);
    auto r = read_varint(in);
    CHECK(r.status == varint_status::ok);
    CHECK(r.value == b.value);
    CHECK(r.size == in.size());
    in.push_back(std::byte{0xFF});
    in.push_back(std::byte{0x80});
    r = read_varint(in);
    CHECK(r.status == varint_status::ok);
    CHECK(r.value == b.value);
    CHECK(r.size == in.size() - 2);
  }
}

TEST_CASE("read_varint: incomplete input asks for more") {
  for (const char* s : {"", "80", "ff", "80 80", "ff ff", "80 80 80", "ff ff ff"}) {
    INFO("'", s, "'");
    CHECK(read_varint(hex(s)).status == varint_status::incomplete);
  }
  // Every proper prefix of every multi-byte boundary is incomplete.
  for (const auto& b : boundaries) {
    const auto in = hex(b.bytes);
    for (std::size_t n = 0; n < in.size(); ++n) {
      INFO(b.bytes, " cut to ", n);
      CHECK(read_varint(bytes_view(in.data(), n)).status == varint_status::incomplete);
    }
  }
}

TEST_CASE("read_varint: a fifth byte is too long") {
  for (const char* s : {"ff ff ff ff", "ff ff ff ff 7f", "80 80 80 80 00", "80 80 80 80 01",
                        "ff ff ff ff ff ff"}) {
    INFO(s);
    CHECK(read_varint(hex(s)).status == varint_status::too_long);
  }
}

TEST_CASE("read_varint: non-minimal encodings report value and size [MQTT-1.5.5-1]") {
  struct {
    const char* bytes;
    std::uint32_t value;
    std::uint8_t size;
  } const cases[] = {
      {"80 00", 0, 2},       {"ff 00", 127, 2},       {"80 80 00", 0, 3},
      {"81 80 00", 1, 3},    {"80 80 80 00", 0, 4},   {"ff ff 80 00", 16'383, 4},
      {"ff ff ff 00", 2'097'151, 4},
  };
  for (const auto& c : cases) {
    INFO(c.bytes);
    const auto r = read_varint(hex(c.bytes));
    CHECK(r.status == varint_status::non_minimal);
    CHECK(r.value == c.value);
    CHECK(r.size == c.size);
  }
}

TEST_CASE("write_varint then read_varint gives the value back") {
  std::mt19937 rng(1505);
  std::vector<std::uint32_t> values;
  for (const auto& b : boundaries) {
    values.push_back(b.value);
    if (b.value > 0) values.push_back(b.value - 1);
    if (b.value < max_variable_integer) values.push_back(b.value + 1);
  }
  std::uniform_int_distribution<std::uint32_t> any(0, max_variable_integer);
  for (int i = 0; i < 20'000; ++i) values.push_back(any(rng) >> (rng() % 28));
  for (auto v : values) {
    std::array<std::byte, 4> out{};
    const auto n = write_varint(v, out.data());
    const auto r = read_varint(bytes_view(out.data(), n));
    if (r.status != varint_status::ok || r.value != v || r.size != n || n != varint_size(v)) {
      INFO("value ", v, " bytes ", to_hex(out.data(), n));
      FAIL_CHECK("round trip failed");
      break;
    }
  }
}

TEST_CASE("Remaining Length: non-minimal is an error in 5.0 only, five bytes always") {
  // PINGRESP with Remaining Length 0 written in two bytes.
  const auto padded = hex("d0 80 00");
  auto v311 = decode_frame(padded, {protocol_version::v3_1_1, sender::server});
  REQUIRE(v311);
  REQUIRE(*v311);
  CHECK((**v311).remaining_length == 0);
  CHECK((**v311).header_size == 3);

  auto v5 = decode_frame(padded, {protocol_version::v5, sender::server});
  REQUIRE_FALSE(v5);
  CHECK(v5.error().code == decode_errc::non_minimal_variable_integer);

  for (const char* s : {"30 ff ff ff ff 7f", "30 80 80 80 80 00", "30 ff ff ff ff"}) {
    INFO(s);
    for (auto v : {protocol_version::v3_1_1, protocol_version::v5}) {
      auto f = decode_frame(hex(s), {v, sender::server});
      REQUIRE_FALSE(f);
      CHECK(f.error().code == decode_errc::variable_integer_too_long);
      CHECK(to_reason_code(f.error().code) == reason_code::malformed_packet);
    }
  }
}
