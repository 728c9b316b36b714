// MQTT 5.0 property faults [MQTT 2.2.2]: unknown identifiers, properties a packet may not carry,
// once-only properties repeated (and the repeats that are allowed), values the specification
// forbids, and Authentication Data without a method. Each packet is built around its property
// list (with_props in support/codec_check.hpp) so that the offset of the blamed identifier is
// known exactly.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "support/codec_check.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;
using e = decode_errc;

// Where a property list goes, as a builder of a valid packet around it.
enum class place {
  connect,
  will,
  connack,
  publish,
  puback,
  pubrec,
  pubrel,
  pubcomp,
  subscribe,
  suback,
  unsubscribe,
  unsuback,
  disconnect,
  auth,
};

const char* name_of(place p) {
  switch (p) {
    case place::connect: return "CONNECT";
    case place::will: return "Will Properties";
    case place::connack: return "CONNACK";
    case place::publish: return "PUBLISH";
    case place::puback: return "PUBACK";
    case place::pubrec: return "PUBREC";
    case place::pubrel: return "PUBREL";
    case place::pubcomp: return "PUBCOMP";
    case place::subscribe: return "SUBSCRIBE";
    case place::suback: return "SUBACK";
    case place::unsubscribe: return "UNSUBSCRIBE";
    case place::unsuback: return "UNSUBACK";
    case place::disconnect: return "DISCONNECT";
    case place::auth: return "AUTH";
  }
  return "?";
}

built_packet build(place p, std::string_view props) {
  switch (p) {
    case place::connect:  // "MQTT" 5, clean start, keep alive 60 | props | client id "c"
      return with_props(0x10, "00 04 4d 51 54 54  05  02  00 3c", props, "00 01 63");
    case place::will:  // "MQTT" 5, Will + clean start, no properties, client id "c" | Will
                       // props | Will Topic "t", empty Will Payload
      return with_props(0x10, "00 04 4d 51 54 54  05  06  00 3c  00  00 01 63", props,
                        "00 01 74  00 00");
    case place::connack: return with_props(0x20, "00 00", props);
    case place::publish: return with_props(0x30, "00 01 74", props, "78");
    case place::puback: return with_props(0x40, "00 01  00", props);
    case place::pubrec: return with_props(0x50, "00 01  00", props);
    case place::pubrel: return with_props(0x62, "00 01  00", props);
    case place::pubcomp: return with_props(0x70, "00 01  00", props);
    case place::subscribe: return with_props(0x82, "00 01", props, "00 01 61  00");
    case place::suback: return with_props(0x90, "00 01", props, "00");
    case place::unsubscribe: return with_props(0xa2, "00 01", props, "00 01 61");
    case place::unsuback: return with_props(0xb0, "00 01", props, "00");
    case place::disconnect: return with_props(0xe0, "00", props);
    case place::auth: return with_props(0xf0, "18", props);  // Continue authentication
  }
  return {};
}

const decoder_options v5 = opts(v::v5, sender::any);
// PUBLISH with Subscription Identifiers only comes from a server [MQTT-3.3.4-6].
const decoder_options from_server = opts(v::v5, sender::server);

decoder_options options_for(place p) { return p == place::publish ? from_server : v5; }

struct row {
  place where;
  const char* props;
  std::uint32_t blamed;  // offset of the blamed property from the first property byte
};

}  // namespace

TEST_CASE("an unknown property identifier is malformed [MQTT 2.2.2.2]") {
  const row rows[] = {
      {place::puback, "00 00", 0},            // identifier 0
      {place::puback, "04 00", 0},            // 0x04 is not defined
      {place::puback, "05 00", 0},            // 0x05
      {place::publish, "0a 00", 0},           // 0x0a
      {place::connack, "14 00", 0},           // 0x14
      {place::connack, "2b 00", 0},           // one past the last (0x2a)
      {place::disconnect, "7f 00", 0},        // 0x7f
      {place::connect, "11 00 00 00 01  1b 00", 5},  // after a valid Session Expiry Interval
      {place::will, "05 00", 0},
  };
  for (const row& r : rows) {
    CAPTURE(std::string(name_of(r.where)));
    CAPTURE(std::string(r.props));
    const built_packet b = build(r.where, r.props);
    TERN_CHECK_DECODE_FAILS(b.bytes, options_for(r.where), e::unknown_property, b.props_at + r.blamed);
  }
  CHECK(to_reason_code(e::unknown_property) == reason_code::malformed_packet);
}

TEST_CASE("a property the packet may not carry [MQTT 2.2.2.2 table]") {
  const row rows[] = {
      {place::connack, "23 00 01", 0},              // Topic Alias on CONNACK
      {place::connack, "18 00 00 00 01", 0},        // Will Delay Interval on CONNACK
      {place::connack, "17 01", 0},                 // Request Problem Information on CONNACK
      {place::publish, "18 00 00 00 01", 0},        // Will Delay Interval on PUBLISH
      {place::publish, "11 00 00 00 01", 0},        // Session Expiry Interval on PUBLISH
      {place::publish, "1f 00 01 72", 0},           // Reason String on PUBLISH
      {place::puback, "0b 01", 0},                  // Subscription Identifier on PUBACK
      {place::puback, "26 00 01 61 00 01 62  23 00 01", 7},  // Topic Alias after a User Property
      {place::pubrel, "03 00 01 74", 0},            // Content Type on PUBREL
      {place::connect, "18 00 00 00 01", 0},        // Will Delay Interval outside the Will
      {place::connect, "23 00 01", 0},              // Topic Alias on CONNECT
      {place::connect, "12 00 01 61", 0},           // Assigned Client Identifier on CONNECT
      {place::connect, "1f 00 01 72", 0},           // Reason String on CONNECT
      {place::will, "21 00 01", 0},                 // Receive Maximum in the Will
      {place::will, "11 00 00 00 01", 0},           // Session Expiry Interval in the Will
      {place::will, "23 00 01", 0},                 // Topic Alias in the Will
      {place::subscribe, "23 00 01", 0},            // Topic Alias on SUBSCRIBE
      {place::subscribe, "1f 00 01 72", 0},         // Reason String on SUBSCRIBE
      {place::suback, "0b 01", 0},                  // Subscription Identifier on SUBACK
      {place::unsubscribe, "0b 01", 0},             // Subscription Identifier on UNSUBSCRIBE
      {place::unsubscribe, "1f 00 01 72", 0},       // Reason String on UNSUBSCRIBE
      {place::unsuback, "0b 01", 0},                // Subscription Identifier on UNSUBACK
      {place::disconnect, "23 00 01", 0},           // Topic Alias on DISCONNECT
      {place::disconnect, "15 00 01 6d", 0},        // Authentication Method on DISCONNECT
      {place::auth, "15 00 01 6d  11 00 00 00 01", 4},  // Session Expiry Interval on AUTH
  };
  for (const row& r : rows) {
    CAPTURE(std::string(name_of(r.where)));
    CAPTURE(std::string(r.props));
    const built_packet b = build(r.where, r.props);
    TERN_CHECK_DECODE_FAILS(b.bytes, options_for(r.where), e::property_not_allowed, b.props_at + r.blamed);
  }
  CHECK(to_reason_code(e::property_not_allowed) == reason_code::malformed_packet);
}

TEST_CASE("a once-only property given twice is a protocol error [MQTT 2.2.2.2]") {
  const row rows[] = {
      {place::publish, "02 00 00 00 01  02 00 00 00 02", 5},  // Message Expiry Interval
      {place::publish, "01 00  01 01", 2},                    // Payload Format Indicator
      {place::publish, "23 00 01  23 00 02", 3},              // Topic Alias
      {place::publish, "09 00 01 61  09 00 01 62", 4},        // Correlation Data
      {place::connack, "1f 00 01 61  1f 00 01 62", 4},        // Reason String
      {place::connack, "21 00 01  26 00 01 61 00 01 62  21 00 02", 10},  // Receive Maximum
      {place::subscribe, "0b 01  0b 02", 2},  // Subscription Identifier repeats on PUBLISH only
      {place::connect, "15 00 01 61  15 00 01 62", 4},        // Authentication Method
      {place::connect, "11 00 00 00 01  11 00 00 00 01", 5},  // Session Expiry Interval
      {place::will, "18 00 00 00 01  18 00 00 00 02", 5},     // Will Delay Interval
      {place::disconnect, "1c 00 01 61  1c 00 01 62", 4},     // Server Reference
      {place::auth, "15 00 01 6d  16 00 01 61  16 00 01 62", 8},  // Authentication Data
      {place::puback, "1f 00 01 61  1f 00 01 62", 4},         // Reason String on PUBACK
  };
  for (const row& r : rows) {
    CAPTURE(std::string(name_of(r.where)));
    CAPTURE(std::string(r.props));
    const built_packet b = build(r.where, r.props);
    TERN_CHECK_DECODE_FAILS(b.bytes, options_for(r.where), e::duplicate_property, b.props_at + r.blamed);
  }
  CHECK(to_reason_code(e::duplicate_property) == reason_code::protocol_error);
}

TEST_CASE("User Property may repeat wherever it is allowed; Subscription Identifier on PUBLISH") {
  const place everywhere[] = {place::connect,   place::will,        place::connack,
                              place::publish,   place::puback,      place::pubrec,
                              place::pubrel,    place::pubcomp,     place::subscribe,
                              place::suback,    place::unsubscribe, place::unsuback,
                              place::disconnect};
  for (const place p : everywhere) {
    CAPTURE(std::string(name_of(p)));
    const built_packet b = build(p, "26 00 01 61 00 01 31  26 00 01 61 00 01 31");
    const packet decoded = decode_all_ways(b.bytes, options_for(p));
    const properties* props = std::visit(
        [](const auto& pk) -> const properties* {
          using P = std::decay_t<decltype(pk)>;
          if constexpr (std::is_same_v<P, connect>)
            return pk.will ? &pk.will->props : &pk.props;
          else if constexpr (requires { pk.props; })
            return &pk.props;
          else
            return nullptr;
        },
        decoded);
    REQUIRE(props != nullptr);
    CHECK(props->size() == 2);
  }
  SUBCASE("AUTH") {
    const built_packet b = build(place::auth, "15 00 01 6d  26 00 01 61 00 01 31  26 00 01 61 00 01 31");
    const auth a = decode_as<auth>(b.bytes, v5);
    CHECK(a.props.size() == 3);
  }
  SUBCASE("Subscription Identifier twice on PUBLISH [MQTT-3.3.4-4]") {
    const built_packet b = build(place::publish, "0b 01  0b 02  0b 01");
    const publish p = decode_as<publish>(b.bytes, from_server);
    CHECK(p.props.size() == 3);
  }
}

TEST_CASE("a property value the specification forbids is a protocol error") {
  struct value_row {
    const char* what;
    place where;
    const char* props;
  };
  const value_row rows[] = {
      {"Payload Format Indicator 2 [MQTT 3.3.2.3.2]", place::publish, "01 02"},
      {"Payload Format Indicator 2 in the Will", place::will, "01 02"},
      {"Subscription Identifier 0 on PUBLISH [MQTT 3.3.2.3.8]", place::publish, "0b 00"},
      {"Subscription Identifier 0 on SUBSCRIBE [MQTT 3.8.2.1.2]", place::subscribe, "0b 00"},
      {"Receive Maximum 0 on CONNACK [MQTT 3.2.2.3.3]", place::connack, "21 00 00"},
      {"Receive Maximum 0 on CONNECT [MQTT 3.1.2.11.3]", place::connect, "21 00 00"},
      {"Maximum Packet Size 0 on CONNACK [MQTT 3.2.2.3.6]", place::connack, "27 00 00 00 00"},
      {"Maximum Packet Size 0 on CONNECT [MQTT 3.1.2.11.4]", place::connect, "27 00 00 00 00"},
      {"Maximum QoS 2 [MQTT 3.2.2.3.4]", place::connack, "24 02"},
      {"Retain Available 2 [MQTT 3.2.2.3.5]", place::connack, "25 02"},
      {"Wildcard Subscription Available 2", place::connack, "28 02"},
      {"Subscription Identifiers Available 2", place::connack, "29 02"},
      {"Shared Subscription Available 2", place::connack, "2a 02"},
      {"Request Problem Information 2 [MQTT 3.1.2.11.7]", place::connect, "17 02"},
      {"Request Response Information 2 [MQTT 3.1.2.11.6]", place::connect, "19 02"},
  };
  for (const value_row& r : rows) {
    CAPTURE(std::string(r.what));
    const built_packet b = build(r.where, r.props);
    const auto value_end = static_cast<std::uint32_t>(b.props_at + hex(r.props).size() - 1);
    TERN_CHECK_DECODE_FAILS_NEAR(b.bytes, options_for(r.where), e::invalid_property_value, b.props_at,
                                 value_end);
  }
  CHECK(to_reason_code(e::invalid_property_value) == reason_code::protocol_error);
}

TEST_CASE("the largest allowed values decode") {
  const built_packet connack_max =
      build(place::connack, "24 01  25 01  28 01  29 01  2a 01  21 ff ff  27 ff ff ff ff");
  const connack c = decode_as<connack>(connack_max.bytes, v5);
  CHECK(c.props.number(property_id::receive_maximum) == std::optional<std::uint32_t>(65535));
  CHECK(c.props.number(property_id::maximum_packet_size) ==
        std::optional<std::uint32_t>(0xffffffffu));
  const built_packet connect_max = build(place::connect, "17 01  19 01");
  CHECK(decode_as<connect>(connect_max.bytes, v5).props.size() == 2);
  const built_packet maximum_qos_0 = build(place::connack, "24 00");
  CHECK(decode_as<connack>(maximum_qos_0.bytes, v5).props.number(property_id::maximum_qos) ==
        std::optional<std::uint32_t>(0));
}

TEST_CASE("Authentication Data without an Authentication Method is a protocol error") {
  SUBCASE("CONNECT [MQTT 3.1.2.11.10]") {
    const built_packet b = build(place::connect, "16 00 01 ff");
    TERN_CHECK_DECODE_FAILS_NEAR(b.bytes, v5, e::authentication_data_without_method, 0,
                                 static_cast<std::uint32_t>(b.bytes.size()));
  }
  SUBCASE("CONNACK") {
    const built_packet b = build(place::connack, "26 00 01 61 00 01 62  16 00 01 ff");
    TERN_CHECK_DECODE_FAILS_NEAR(b.bytes, v5, e::authentication_data_without_method, 0,
                                 static_cast<std::uint32_t>(b.bytes.size()));
  }
  SUBCASE("with the method, either order, it decodes") {
    const built_packet b = build(place::connect, "16 00 01 ff  15 00 01 6d");
    CHECK(decode_as<connect>(b.bytes, v5).props.size() == 2);
  }
  CHECK(to_reason_code(e::authentication_data_without_method) == reason_code::protocol_error);
}

TEST_CASE("a client's PUBLISH must not carry a Subscription Identifier [MQTT-3.3.4-6]") {
  const built_packet b = build(place::publish, "0b 01  // Subscription Identifier 1");
  TERN_CHECK_DECODE_FAILS(b.bytes, opts(v::v5, sender::client), e::property_not_allowed,
                          b.props_at);
  // From a server (and for tools reading either side) it is how matching subscriptions are named.
  CHECK(decode_as<publish>(b.bytes, opts(v::v5, sender::server)).props.size() == 1);
  CHECK(decode_as<publish>(b.bytes, opts(v::v5, sender::any)).props.size() == 1);
}

TEST_CASE("a server's DISCONNECT must not carry Session Expiry Interval [MQTT-3.14.2-2]") {
  const built_packet b =
      build(place::disconnect, "1f 00 01 72  11 00 00 00 05  // Reason String, Session Expiry");
  // The offending byte is the Session Expiry Interval's identifier, after the Reason String.
  TERN_CHECK_DECODE_FAILS(b.bytes, opts(v::v5, sender::server), e::property_not_allowed,
                          b.props_at + 4);
  CHECK(decode_as<disconnect>(b.bytes, opts(v::v5, sender::client)).props.size() == 2);
}
