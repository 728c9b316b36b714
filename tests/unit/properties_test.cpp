// The property table of MQTT 5.0 section 2.2.2.2 (identifier, wire type, where allowed, whether
// it may repeat), written from the specification, and the properties list type over wire bytes
// and over a caller's array.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "support/codec_check.hpp"

using namespace tern;
using namespace tern::test;

namespace {

using pt = packet_type;
using ty = property_type;

constexpr unsigned bit(pt t) { return 1u << static_cast<unsigned>(t); }
constexpr unsigned CONNECT = bit(pt::connect), CONNACK = bit(pt::connack),
                   PUBLISH = bit(pt::publish), PUBACK = bit(pt::puback), PUBREC = bit(pt::pubrec),
                   PUBREL = bit(pt::pubrel), PUBCOMP = bit(pt::pubcomp),
                   SUBSCRIBE = bit(pt::subscribe), SUBACK = bit(pt::suback),
                   UNSUBSCRIBE = bit(pt::unsubscribe), UNSUBACK = bit(pt::unsuback),
                   DISCONNECT = bit(pt::disconnect), AUTH = bit(pt::auth);
constexpr unsigned WILL = 1u << 16;

struct spec_row {
  std::uint8_t id;
  const char* name;
  property_type type;
  unsigned places;
};

// MQTT 5.0 Table 2-4.
constexpr spec_row spec[] = {
    {0x01, "payload_format_indicator", ty::byte, PUBLISH | WILL},
    {0x02, "message_expiry_interval", ty::four_byte_integer, PUBLISH | WILL},
    {0x03, "content_type", ty::utf8_string, PUBLISH | WILL},
    {0x08, "response_topic", ty::utf8_string, PUBLISH | WILL},
    {0x09, "correlation_data", ty::binary_data, PUBLISH | WILL},
    {0x0B, "subscription_identifier", ty::variable_byte_integer, PUBLISH | SUBSCRIBE},
    {0x11, "session_expiry_interval", ty::four_byte_integer, CONNECT | CONNACK | DISCONNECT},
    {0x12, "assigned_client_identifier", ty::utf8_string, CONNACK},
    {0x13, "server_keep_alive", ty::two_byte_integer, CONNACK},
    {0x15, "authentication_method", ty::utf8_string, CONNECT | CONNACK | AUTH},
    {0x16, "authentication_data", ty::binary_data, CONNECT | CONNACK | AUTH},
    {0x17, "request_problem_information", ty::byte, CONNECT},
    {0x18, "will_delay_interval", ty::four_byte_integer, WILL},
    {0x19, "request_response_information", ty::byte, CONNECT},
    {0x1A, "response_information", ty::utf8_string, CONNACK},
    {0x1C, "server_reference", ty::utf8_string, CONNACK | DISCONNECT},
    {0x1F, "reason_string", ty::utf8_string,
     CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBACK | UNSUBACK | DISCONNECT | AUTH},
    {0x21, "receive_maximum", ty::two_byte_integer, CONNECT | CONNACK},
    {0x22, "topic_alias_maximum", ty::two_byte_integer, CONNECT | CONNACK},
    {0x23, "topic_alias", ty::two_byte_integer, PUBLISH},
    {0x24, "maximum_qos", ty::byte, CONNACK},
    {0x25, "retain_available", ty::byte, CONNACK},
    {0x26, "user_property", ty::utf8_string_pair,
     CONNECT | CONNACK | PUBLISH | WILL | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBSCRIBE | SUBACK |
         UNSUBSCRIBE | UNSUBACK | DISCONNECT | AUTH},
    {0x27, "maximum_packet_size", ty::four_byte_integer, CONNECT | CONNACK},
    {0x28, "wildcard_subscription_available", ty::byte, CONNACK},
    {0x29, "subscription_identifier_available", ty::byte, CONNACK},
    {0x2A, "shared_subscription_available", ty::byte, CONNACK},
};

const spec_row* find_spec(unsigned id) {
  for (const spec_row& r : spec)
    if (r.id == id) return &r;
  return nullptr;
}

std::string place_name(int t, bool will) {
  return will ? "Will Properties" : str(to_string(static_cast<pt>(t)));
}

std::string show(const property& p) {
  return str(name(p.id)) + "=" + std::to_string(p.number) + "/" + quoted(p.text) + "/" +
         quoted(p.value);
}

std::vector<std::string> show_all(const properties& props) {
  std::vector<std::string> out;
  for (const property p : props) out.push_back(show(p));
  return out;
}

// Property bytes (without the Property Length) and the same list as a caller's array.
const auto wire_bytes = hex(R"(
  01 01                 // Payload Format Indicator 1
  02 ff ff ff ff        // Message Expiry Interval 4294967295
  0b 80 01              // Subscription Identifier 128
  26 00 01 61 00 01 31  // User Property "a" = "1"
  09 00 02 00 ff        // Correlation Data 00 ff
  23 00 07              // Topic Alias 7
  26 00 01 61 00 01 32  // User Property "a" = "2"
  03 00 00              // Content Type ""
)");
const std::byte correlation[] = {std::byte{0x00}, std::byte{0xff}};
const property as_array[] = {
    property::integer(property_id::payload_format_indicator, 1),
    property::integer(property_id::message_expiry_interval, 0xffffffffu),
    property::integer(property_id::subscription_identifier, 128),
    property::user("a", "1"),
    property::binary_data(property_id::correlation_data, correlation),
    property::integer(property_id::topic_alias, 7),
    property::user("a", "2"),
    property::string(property_id::content_type, ""),
};

}  // namespace

TEST_CASE("every identifier of Table 2-4 is known, with its name and wire type") {
  for (unsigned id = 0; id < 256; ++id) {
    CAPTURE(id);
    const spec_row* r = find_spec(id);
    const auto pid = static_cast<property_id>(id);
    CHECK(is_known(pid) == (r != nullptr));
    if (r != nullptr) {
      CHECK(str(name(pid)) == r->name);
      CHECK(static_cast<int>(type_of(pid)) == static_cast<int>(r->type));
    } else {
      CHECK(str(name(pid)) == "unknown");
    }
  }
}

TEST_CASE("is_allowed() follows Table 2-4 on every packet and in the Will Properties") {
  for (const spec_row& r : spec) {
    const auto id = static_cast<property_id>(r.id);
    for (int t = 1; t <= 15; ++t) {
      CAPTURE(std::string(r.name));
      CAPTURE(place_name(t, false));
      CHECK(is_allowed(id, {static_cast<pt>(t), false}) == ((r.places & (1u << t)) != 0));
    }
    CAPTURE(std::string(r.name));
    CHECK(is_allowed(id, {pt::connect, true}) == ((r.places & WILL) != 0));
  }
  for (unsigned id : {0x00u, 0x04u, 0x0Au, 0x14u, 0x2Bu, 0x7Fu, 0xFFu}) {
    CAPTURE(id);
    CHECK_FALSE(is_allowed(static_cast<property_id>(id), {pt::publish, false}));
    CHECK_FALSE(is_allowed(static_cast<property_id>(id), {pt::connect, true}));
  }
}

TEST_CASE("may_repeat(): User Property anywhere, Subscription Identifier on PUBLISH only") {
  for (const spec_row& r : spec) {
    const auto id = static_cast<property_id>(r.id);
    for (int t = 1; t <= 15; ++t) {
      if ((r.places & (1u << t)) == 0) continue;
      CAPTURE(std::string(r.name));
      CAPTURE(place_name(t, false));
      const bool expected = id == property_id::user_property ||
                            (id == property_id::subscription_identifier && t == 3);
      CHECK(may_repeat(id, {static_cast<pt>(t), false}) == expected);
    }
    if ((r.places & WILL) != 0) {
      CAPTURE(std::string(r.name));
      CHECK(may_repeat(id, {pt::connect, true}) == (id == property_id::user_property));
    }
  }
}

TEST_CASE("property factories keep views of the caller's data") {
  const std::string s = "text";
  const property str_prop = property::string(property_id::content_type, s);
  CHECK(str_prop.text.data() == s.data());
  CHECK(str_prop.number == 0);
  const property bin_prop = property::binary_data(property_id::correlation_data, correlation);
  CHECK(bin_prop.binary().data() == correlation);
  CHECK(bin_prop.binary().size() == 2);
  const property user = property::user("n", "v");
  CHECK(user.id == property_id::user_property);
  CHECK(str(user.text) == "n");
  CHECK(str(user.value) == "v");
  const property num = property::integer(property_id::receive_maximum, 9);
  CHECK(num.number == 9);
  CHECK(num.text.empty());
  CHECK(num == property::integer(property_id::receive_maximum, 9));
  CHECK_FALSE(num == property::integer(property_id::receive_maximum, 10));
  CHECK_FALSE(num == property::integer(property_id::topic_alias_maximum, 9));
}

TEST_CASE("a caller's array: size, iteration in order, find, number, text") {
  const properties props = props_of(as_array);
  CHECK_FALSE(props.is_wire());
  CHECK_FALSE(props.empty());
  CHECK(props.size() == 8);
  CHECK(std::distance(props.begin(), props.end()) == 8);
  std::size_t i = 0;
  for (const property p : props) {
    CAPTURE(i);
    CHECK(p == as_array[i]);
    ++i;
  }
  CHECK(i == 8);
  auto it = props.begin();
  const property first = *it++;
  CHECK(first.id == property_id::payload_format_indicator);
  CHECK((*it).id == property_id::message_expiry_interval);

  const auto user = props.find(property_id::user_property);
  REQUIRE(user.has_value());
  CHECK(str(user->value) == "1");  // the first one
  CHECK(props.number(property_id::topic_alias) == std::optional<std::uint32_t>(7));
  CHECK(props.number(property_id::message_expiry_interval) ==
        std::optional<std::uint32_t>(0xffffffffu));
  REQUIRE(props.text(property_id::content_type).has_value());
  CHECK(props.text(property_id::content_type)->empty());  // present, and empty
  CHECK_FALSE(props.find(property_id::response_topic).has_value());
  CHECK_FALSE(props.number(property_id::receive_maximum).has_value());
  CHECK_FALSE(props.text(property_id::reason_string).has_value());
  CHECK(props.contains(property_id::correlation_data));
  CHECK_FALSE(props.contains(property_id::topic_alias_maximum));
}

TEST_CASE("wire bytes: iteration decodes each property in order") {
  const properties props = properties::from_wire(wire_bytes, 8);
  CHECK(props.is_wire());
  CHECK(props.size() == 8);
  CHECK(to_hex(props.wire()) == to_hex(wire_bytes));
  CHECK(std::distance(props.begin(), props.end()) == 8);
  std::vector<std::string> expected;
  for (const property& p : as_array) expected.push_back(show(p));
  CHECK(show_all(props) == expected);

  const auto data = props.find(property_id::correlation_data);
  REQUIRE(data.has_value());
  CHECK(to_hex(data->binary()) == "00 ff");
  // zero-copy: the view points into the wire bytes
  CHECK(data->binary().data() == wire_bytes.data() + 20);
  CHECK(props.number(property_id::subscription_identifier) == std::optional<std::uint32_t>(128));
  CHECK(props.number(property_id::message_expiry_interval) ==
        std::optional<std::uint32_t>(0xffffffffu));
  CHECK(str(props.find(property_id::user_property)->value) == "1");
  REQUIRE(props.text(property_id::content_type).has_value());
  CHECK(props.text(property_id::content_type)->empty());
  CHECK_FALSE(props.contains(property_id::reason_string));
}

TEST_CASE("equality compares properties in order, whatever their storage") {
  const properties wire = properties::from_wire(wire_bytes, 8);
  const properties array = props_of(as_array);
  CHECK(wire == array);
  CHECK(array == wire);
  CHECK(wire == properties::from_wire(wire_bytes, 8));

  property reordered[8];
  std::copy(std::begin(as_array), std::end(as_array), reordered);
  std::swap(reordered[3], reordered[6]);  // the two User Properties
  CHECK_FALSE(wire == props_of(reordered));

  property changed[8];
  std::copy(std::begin(as_array), std::end(as_array), changed);
  changed[5] = property::integer(property_id::topic_alias, 8);
  CHECK_FALSE(wire == props_of(changed));

  CHECK_FALSE(wire == props_of(std::span<const property>(as_array).first(7)));
  CHECK_FALSE(props_of(std::span<const property>(as_array).first(7)) == wire);

  const properties empty_wire = properties::from_wire({}, 0);
  CHECK(empty_wire.empty());
  CHECK(empty_wire.begin() == empty_wire.end());
  CHECK(empty_wire == properties{});
  CHECK_FALSE(empty_wire == wire);
  CHECK(properties{}.begin() == properties{}.end());
  CHECK_FALSE(properties{}.find(property_id::user_property).has_value());
}

TEST_CASE("a decoded packet's properties equal the caller's array that encodes them") {
  const property props[] = {property::user("x", "y"),
                            property::string(property_id::reason_string, "why")};
  pubrec r;
  r.packet_id = 3;
  r.code = reason_code::unspecified_error;
  r.props = props_of(props);
  const auto bytes = encode_all_ways(r, protocol_version::v5);
  const pubrec back = decode_as<pubrec>(bytes, opts(protocol_version::v5));
  CHECK(back.props.is_wire());
  CHECK(back.props == r.props);
  CHECK(back == r);
}
