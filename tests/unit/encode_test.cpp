// What the encoder chooses beyond the fixtures of decode_*_test.cpp: the shortest form of acks,
// DISCONNECT and AUTH, Remaining Length and Variable Byte Integer widths, the sizes measure()
// reports, write_header() for scatter/gather, and fields that only exist in some versions.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/codec_check.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

template <class P>
std::string encoded(const P& p, protocol_version version) {
  return to_hex(encode_all_ways(p, version));
}
}  // namespace

TEST_CASE("acks 5.0: the encoder emits the shortest form [MQTT 3.4.2.1]") {
  SUBCASE("Success without properties: remaining length 2") {
    puback p;
    p.packet_id = 0x0102;
    CHECK(encoded(p, v::v5) == "40 02 01 02");
    pubrel r;
    r.packet_id = 5;
    CHECK(encoded(r, v::v5) == "62 02 00 05");
  }
  SUBCASE("another reason code without properties: remaining length 3") {
    pubrec p;
    p.packet_id = 1;
    p.code = reason_code::quota_exceeded;
    CHECK(encoded(p, v::v5) == "50 03 00 01 97");
    pubcomp c;
    c.packet_id = 2;
    c.code = reason_code::packet_identifier_not_found;
    CHECK(encoded(c, v::v5) == "70 03 00 02 92");
  }
  SUBCASE("properties force the full form, even with Success") {
    const property props[] = {property::user("a", "b")};
    puback p;
    p.packet_id = 1;
    p.props = props_of(props);
    CHECK(encoded(p, v::v5) == "40 0b 00 01 00 07 26 00 01 61 00 01 62");
  }
  SUBCASE("a decoded long form re-encodes short") {
    const auto long_success = hex(R"(
      40     // PUBACK
      04     // remaining length 4
      00 01  // packet identifier 1
      00     // reason code Success
      00     // property length 0
    )");
    const puback a = decode_as<puback>(long_success, opts(v::v5, sender::server));
    CHECK(a.code == reason_code::success);
    CHECK(a.props.empty());
    CHECK(encoded(a, v::v5) == "40 02 00 01");

    const auto long_reason = hex(R"(
      50     // PUBREC
      04     // remaining length 4
      00 01  // packet identifier 1
      10     // reason code 0x10 No matching subscribers
      00     // property length 0
    )");
    const pubrec r = decode_as<pubrec>(long_reason, opts(v::v5, sender::server));
    CHECK(r.code == reason_code::no_matching_subscribers);
    CHECK(encoded(r, v::v5) == "50 03 00 01 10");
  }
}

TEST_CASE("acks 3.1.1 are always four bytes") {
  pubrel r;
  r.packet_id = 0xfffe;
  CHECK(encoded(r, v::v3_1_1) == "62 02 ff fe");
  CHECK(encoded(r, v::v3_1) == "62 02 ff fe");
}

TEST_CASE("DISCONNECT 5.0: the encoder emits the shortest form [MQTT 3.14.2.1]") {
  CHECK(encoded(disconnect{}, v::v5) == "e0 00");
  disconnect with_will;
  with_will.code = reason_code::disconnect_with_will_message;
  CHECK(encoded(with_will, v::v5) == "e0 01 04");

  const property props[] = {property::string(property_id::reason_string, "x")};
  disconnect normal_with_props;
  normal_with_props.props = props_of(props);
  CHECK(encoded(normal_with_props, v::v5) == "e0 06 00 04 1f 00 01 78");

  const auto long_form = hex(R"(
    e0  // DISCONNECT
    02  // remaining length 2
    00  // Normal disconnection
    00  // property length 0
  )");
  const disconnect d = decode_as<disconnect>(long_form, opts(v::v5, sender::client));
  CHECK(d.code == reason_code::normal_disconnection);
  CHECK(encoded(d, v::v5) == "e0 00");
}

TEST_CASE("DISCONNECT 3.1.1 is two bytes") {
  CHECK(encoded(disconnect{}, v::v3_1_1) == "e0 00");
}

TEST_CASE("AUTH 5.0: only Success without properties may drop the reason code [MQTT 3.15.2.1]") {
  CHECK(encoded(auth{}, v::v5) == "f0 00");
  auth cont;
  cont.code = reason_code::continue_authentication;
  // Only the Success-without-properties form may omit the Property Length.
  const std::string e = encoded(cont, v::v5);
  CHECK(e == "f0 02 18 00");
}

TEST_CASE("CONNECT is encoded at its own protocol level, whatever version is passed") {
  connect c;
  c.version = v::v3_1_1;
  c.keep_alive = 60;
  c.client_id = "a";
  const std::string expected = "10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 61";
  CHECK(encoded(c, v::v5) == expected);
  CHECK(encoded(c, v::v3_1_1) == expected);

  c.version = v::v3_1;
  CHECK(encoded(c, v::v5) == "10 0f 00 06 4d 51 49 73 64 70 03 02 00 3c 00 01 61");

  c.version = v::v5;
  CHECK(encoded(c, v::v3_1_1) == "10 0e 00 04 4d 51 54 54 05 02 00 3c 00 00 01 61");
}

TEST_CASE("CONNECT: an empty user name or password still sets its flag") {
  connect c;
  c.version = v::v5;
  c.keep_alive = 0;
  c.client_id = "";
  c.username = "";
  c.password = bytes_view{};
  CHECK(encoded(c, v::v5) ==
        "10 11 00 04 4d 51 54 54 05 c2 00 00 00 00 00 00 00 00 00");
}

TEST_CASE("PUBLISH QoS 0 carries no packet identifier [MQTT-2.2.1-2]") {
  publish p;
  p.topic = "t";
  p.payload = bin("x");
  CHECK(encoded(p, v::v3_1_1) == "30 04 00 01 74 78");
}

TEST_CASE("Remaining Length uses the fewest bytes [MQTT 1.5.5]") {
  struct row {
    std::uint32_t remaining;
    std::string header;
  };
  const row rows[] = {
      {127, "30 7f"},
      {128, "30 80 01"},
      {16'383, "30 ff 7f"},
      {16'384, "30 80 80 01"},
      {2'097'151, "30 ff ff 7f"},
      {2'097'152, "30 80 80 80 01"},
  };
  for (const row& r : rows) {
    CAPTURE(r.remaining);
    const std::vector<std::byte> payload(r.remaining - 3, std::byte{0x61});
    publish p;
    p.topic = "t";
    p.payload = payload;
    auto size = measure(p, v::v3_1_1);
    REQUIRE(size.has_value());
    CHECK(size->remaining_length == r.remaining);
    CHECK(size->payload == r.remaining - 3);
    const std::uint32_t header_bytes = static_cast<std::uint32_t>((r.header.size() + 1) / 3);
    CHECK(size->total == header_bytes + r.remaining);
    CHECK(size->header() == header_bytes + 3);
    std::vector<std::byte> out(size->total);
    auto n = encode(p, v::v3_1_1, out);
    REQUIRE(n.has_value());
    CHECK(to_hex(out.data(), header_bytes) == r.header);
    CHECK(to_hex(out.data() + header_bytes, 3) == "00 01 74");
  }
}

TEST_CASE("write_header writes everything but the PUBLISH payload") {
  const property props[] = {property::integer(property_id::message_expiry_interval, 7)};
  publish p;
  p.topic = "a/b";
  p.payload = bin("payload");
  p.q = qos::at_least_once;
  p.packet_id = 3;
  p.props = props_of(props);
  auto size = measure(p, v::v5);
  REQUIRE(size.has_value());
  CHECK(size->payload == 7);
  CHECK(size->properties == 5);
  CHECK(size->remaining_length == 5 + 2 + 1 + 5 + 7);
  CHECK(size->total == 2 + size->remaining_length);
  std::vector<std::byte> head(size->header());
  write_header(p, v::v5, *size, head.data());
  CHECK(to_hex(head) == "32 14 00 03 61 2f 62 00 03 05 02 00 00 00 07");
  const auto whole = encode_all_ways(p, v::v5);
  REQUIRE(whole.size() == head.size() + 7);
  CHECK(to_hex(whole.data(), head.size()) == to_hex(head));
  CHECK(str(as_chars(bytes_view(whole).subspan(head.size()))) == "payload");
}

TEST_CASE("Subscription Options byte: QoS bits 0-1, No Local bit 2, RAP bit 3, Retain Handling 4-5") {
  for (int q = 0; q <= 2; ++q)
    for (int nl = 0; nl <= 1; ++nl)
      for (int rap = 0; rap <= 1; ++rap)
        for (int rh = 0; rh <= 2; ++rh) {
          CAPTURE(q);
          CAPTURE(nl);
          CAPTURE(rap);
          CAPTURE(rh);
          const subscription subs[] = {
              {"a", {static_cast<qos>(q), nl == 1, rap == 1, static_cast<retain_handling>(rh)}}};
          subscribe s;
          s.packet_id = 1;
          s.subscriptions = subs_of(subs);
          const auto bytes = encode_all_ways(s, v::v5);
          REQUIRE(bytes.size() == 9);  // 82 07 00 01 00 00 01 61 options
          CHECK(static_cast<int>(bytes.back()) == (q | nl << 2 | rap << 3 | rh << 4));
          const subscribe back = decode_as<subscribe>(bytes, opts(v::v5, sender::client));
          CHECK(*back.subscriptions.begin() == subs[0]);
        }
}

TEST_CASE("Variable Byte Integer properties use the fewest bytes") {
  struct row {
    std::uint32_t value;
    std::string wire;
  };
  const row rows[] = {
      {1, "01"},
      {127, "7f"},
      {128, "80 01"},
      {16'384, "80 80 01"},
      {268'435'455, "ff ff ff 7f"},
  };
  for (const row& r : rows) {
    CAPTURE(r.value);
    const property props[] = {property::integer(property_id::subscription_identifier, r.value)};
    const subscription subs[] = {{"a", {}}};
    subscribe s;
    s.packet_id = 1;
    s.subscriptions = subs_of(subs);
    s.props = props_of(props);
    const auto bytes = encode_all_ways(s, v::v5);
    const std::size_t n = (r.wire.size() + 1) / 3;
    // fixed header (2), packet id (2), property length (1), identifier 0b, the integer
    REQUIRE(bytes.size() >= 6 + n);
    CHECK(static_cast<int>(bytes[4]) == static_cast<int>(1 + n));
    CHECK(static_cast<int>(bytes[5]) == 0x0b);
    CHECK(to_hex(bytes.data() + 6, n) == r.wire);
  }
}

TEST_CASE("SUBACK 3.1.1 writes 5.0 codes as 3.1.1 return codes") {
  const reason_code list[] = {reason_code::granted_qos_2, reason_code::unspecified_error};
  suback s;
  s.packet_id = 4;
  s.codes = codes_of(list);
  CHECK(encoded(s, v::v3_1_1) == "90 04 00 04 02 80");
}

TEST_CASE("CONNACK 3.1.1 writes 5.0 codes as return codes 1-5") {
  connack c;
  c.code = reason_code::bad_user_name_or_password;
  CHECK(encoded(c, v::v3_1_1) == "20 02 00 04");
  c.code = reason_code::server_unavailable;
  CHECK(encoded(c, v::v3_1_1) == "20 02 00 03");
  c.code = reason_code::success;
  c.session_present = true;
  CHECK(encoded(c, v::v3_1_1) == "20 02 01 00");
}

TEST_CASE("encode into a buffer of exactly the packet's size") {
  publish p;
  p.topic = "t";
  std::vector<std::byte> out(3 + 2);
  auto n = encode(p, v::v3_1_1, out);
  REQUIRE(n.has_value());
  CHECK(*n == 5);
  CHECK(to_hex(out) == "30 03 00 01 74");
}
