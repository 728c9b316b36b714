// Randomized round trips: a seeded generator builds valid packets of all fifteen kinds for
// MQTT 3.1, 3.1.1 and 5.0; each must encode, decode back to an equal packet, and re-encode to
// the same bytes. A failure prints the seed and the iteration (TERN_ROUNDTRIP_SEED overrides
// the seed to replay one).
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "support/hex.hpp"
#include "support/random_packets.hpp"
#include "tern/decoder.hpp"
#include "tern/encoder.hpp"

namespace {

using namespace tern;
using tern::test::describe;
using tern::test::packet_generator;
using tern::test::packet_store;
using tern::test::to_hex;
using tern::test::try_encode;

std::uint64_t base_seed() {
  if (const char* s = std::getenv("TERN_ROUNDTRIP_SEED")) return std::strtoull(s, nullptr, 0);
  return 0x7E54'2024'0001ull;
}

struct outcome {
  bool ok = true;
  std::string what;
};

// Encodes `p`, decodes it as a peer using `v` would, compares, re-encodes. Returns what went
// wrong first, so that one iteration reports one precise failure.
outcome round_trip(const packet& p, protocol_version v) {
  errc why{};
  auto bytes = try_encode(p, v, &why);
  if (!bytes) return {false, "encoder refused a valid packet: " + std::string(to_string(why))};

  auto size = measure(p, v);
  if (!size || size->total != bytes->size())
    return {false, "measure().total differs from the bytes encode() wrote"};

  // The fixed header's Remaining Length must match the size.
  auto fr = decode_frame(*bytes, {v, sender::any});
  if (!fr || !*fr) return {false, "decode_frame failed on encoder output"};
  if ((**fr).size() != bytes->size() || (**fr).remaining_length != size->remaining_length ||
      (**fr).type != type_of(p))
    return {false, "the fixed header disagrees with measure()"};

  std::size_t consumed = 0;
  auto decoded = decode_packet(*bytes, {v, sender::any}, consumed);
  if (!decoded)
    return {false, "decoder rejected encoder output: " +
                       std::string(name(decoded.error().code)) + " at offset " +
                       std::to_string(decoded.error().offset)};
  if (!*decoded) return {false, "decode_packet wants more bytes of a whole packet"};
  if (consumed != bytes->size()) return {false, "consumed != packet size"};
  if (!(**decoded == p)) return {false, "decoded packet differs from the original"};

  auto again = try_encode(**decoded, v, &why);
  if (!again) return {false, "re-encoding the decoded packet failed: " + std::string(to_string(why))};
  if (*again != *bytes)
    return {false, "re-encoded bytes differ:\n  first  " + to_hex(*bytes) + "\n  second " +
                       to_hex(*again)};

  // The decoded packet's properties come from the wire: their sizes must agree too.
  auto size2 = measure(**decoded, v);
  if (!size2 || size2->properties != size->properties ||
      size2->will_properties != size->will_properties || size2->payload != size->payload)
    return {false, "measure() of the decoded packet differs"};
  return {};
}

void run(protocol_version v, int iterations, std::uint64_t seed, bool only_connect = false,
         bool check_coverage = true) {
  INFO("generator seed ", seed, ", derived from base seed ", base_seed(),
       " (TERN_ROUNDTRIP_SEED sets the base)");
  packet_store store;
  packet_generator gen(seed, store);
  std::array<int, 16> per_kind{};
  for (int i = 0; i < iterations; ++i) {
    if (i % 64 == 0) store.clear();
    const packet p = only_connect ? gen.make(packet_type::connect, v) : gen.make_any(v);
    // A CONNECT decodes by its own protocol level; the other packets by the stream's version.
    const protocol_version stream = v == protocol_version::v3_1 ? protocol_version::v3_1_1 : v;
    const auto r = round_trip(p, only_connect ? v : stream);
    if (!r.ok) {
      INFO("iteration ", i, ": ", describe(p, v, 96));
      FAIL_CHECK(r.what);
      return;  // one precise failure per run
    }
    ++per_kind[static_cast<std::size_t>(type_of(p))];
  }
  // The generator really covered every kind of the version.
  if (!only_connect && check_coverage) {
    const unsigned last = v == protocol_version::v5 ? 15 : 14;
    for (unsigned t = 1; t <= last; ++t) {
      INFO("packet type ", t);
      CHECK(per_kind[t] > 0);
    }
  }
}

}  // namespace

TEST_CASE("round trip: random MQTT 3.1.1 packets encode, decode equal, re-encode identically") {
  run(protocol_version::v3_1_1, 4000, base_seed());
}

TEST_CASE("round trip: random MQTT 5.0 packets with properties") {
  run(protocol_version::v5, 6000, base_seed() + 1);
}

TEST_CASE("round trip: MQTT 3.1 CONNECT (MQIsdp)") {
  run(protocol_version::v3_1, 300, base_seed() + 2, true);
}

TEST_CASE("round trip: every 5.0 packet kind with dense properties, many seeds") {
  // Short runs from many seeds reach combinations one long run does not.
  for (std::uint64_t s = 0; s < 40; ++s)
    run(protocol_version::v5, 60, base_seed() * 31 + s, false, false);
}

TEST_CASE("round trip: 5.0 PUBLISH with a Topic Alias and an empty topic [MQTT-3.3.2-8]") {
  const property props[] = {property::integer(property_id::topic_alias, 7)};
  publish p;
  p.topic = "";
  p.payload = as_bytes("hello");
  p.props = props;
  const auto r = round_trip(p, protocol_version::v5);
  INFO(r.what);
  CHECK(r.ok);
}

TEST_CASE("round trip: properties keep their order, repeated User Properties included") {
  const property props[] = {
      property::user("k", "1"),
      property::integer(property_id::subscription_identifier, 268'435'455),
      property::user("k", "2"),
      property::string(property_id::content_type, "text/plain"),
      property::integer(property_id::subscription_identifier, 1),
      property::user("", ""),
      property::binary_data(property_id::correlation_data, as_bytes(std::string_view("\0\1\2", 3))),
      property::integer(property_id::message_expiry_interval, 0xFFFFFFFFu),
  };
  publish p;
  p.topic = "a/b";
  p.q = qos::at_least_once;
  p.packet_id = 65535;
  p.props = props;
  const auto r = round_trip(p, protocol_version::v5);
  INFO(r.what);
  CHECK(r.ok);

  // The wire order is the given order.
  auto bytes = try_encode(p, protocol_version::v5);
  REQUIRE(bytes);
  std::size_t consumed = 0;
  auto d = decode_packet(*bytes, {protocol_version::v5, sender::server}, consumed);
  REQUIRE(d);
  REQUIRE(*d);
  const auto& got = std::get<publish>(**d).props;
  CHECK(got.is_wire());
  REQUIRE(got.size() == std::size(props));
  std::size_t i = 0;
  for (auto prop : got) CHECK(prop == props[i++]);
  CHECK(i == std::size(props));
}

TEST_CASE("round trip: the round-trip check itself notices a difference") {
  // A decoder that lost, say, the retain flag must fail this test: compare two packets that
  // differ only there, and two that differ in one payload byte.
  publish a;
  a.topic = "t";
  a.payload = as_bytes("x");
  publish b = a;
  b.retain = true;
  CHECK_FALSE(packet(a) == packet(b));
  publish c = a;
  c.payload = as_bytes("y");
  CHECK_FALSE(packet(a) == packet(c));
  const property p1[] = {property::user("a", "b"), property::user("c", "d")};
  const property p2[] = {property::user("c", "d"), property::user("a", "b")};
  puback x, y;
  x.props = p1;
  y.props = p2;
  CHECK_FALSE(packet(x) == packet(y));  // order matters
}
