// Reason codes [MQTT 5.0 section 2.4]: names, the text the specification gives each code on each
// packet, which packets may carry which code, and the 3.1.1 CONNACK / SUBACK mappings. The table
// below is written from the specification independently of core/src/reason_code.cpp.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include "support/codec_check.hpp"

using namespace tern;
using namespace tern::test;

namespace {

using pt = packet_type;

constexpr unsigned bit(pt t) { return 1u << static_cast<unsigned>(t); }
constexpr unsigned CONNACK = bit(pt::connack), PUBACK = bit(pt::puback), PUBREC = bit(pt::pubrec),
                   PUBREL = bit(pt::pubrel), PUBCOMP = bit(pt::pubcomp), SUBACK = bit(pt::suback),
                   UNSUBACK = bit(pt::unsuback), DISCONNECT = bit(pt::disconnect),
                   AUTH = bit(pt::auth);

struct spec_row {
  std::uint8_t code;
  const char* name;
  const char* text;  // on packets other than DISCONNECT and SUBACK for 0x00
  unsigned packets;
};

// MQTT 5.0 Table 2-6.
constexpr spec_row spec[] = {
    {0x00, "success", "Success",
     CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | UNSUBACK | AUTH | DISCONNECT | SUBACK},
    {0x01, "granted_qos_1", "Granted QoS 1", SUBACK},
    {0x02, "granted_qos_2", "Granted QoS 2", SUBACK},
    {0x04, "disconnect_with_will_message", "Disconnect with Will Message", DISCONNECT},
    {0x10, "no_matching_subscribers", "No matching subscribers", PUBACK | PUBREC},
    {0x11, "no_subscription_existed", "No subscription existed", UNSUBACK},
    {0x18, "continue_authentication", "Continue authentication", AUTH},
    {0x19, "re_authenticate", "Re-authenticate", AUTH},
    {0x80, "unspecified_error", "Unspecified error",
     CONNACK | PUBACK | PUBREC | SUBACK | UNSUBACK | DISCONNECT},
    {0x81, "malformed_packet", "Malformed Packet", CONNACK | DISCONNECT},
    {0x82, "protocol_error", "Protocol Error", CONNACK | DISCONNECT},
    {0x83, "implementation_specific_error", "Implementation specific error",
     CONNACK | PUBACK | PUBREC | SUBACK | UNSUBACK | DISCONNECT},
    {0x84, "unsupported_protocol_version", "Unsupported Protocol Version", CONNACK},
    {0x85, "client_identifier_not_valid", "Client Identifier not valid", CONNACK},
    {0x86, "bad_user_name_or_password", "Bad User Name or Password", CONNACK},
    {0x87, "not_authorized", "Not authorized",
     CONNACK | PUBACK | PUBREC | SUBACK | UNSUBACK | DISCONNECT},
    {0x88, "server_unavailable", "Server unavailable", CONNACK},
    {0x89, "server_busy", "Server busy", CONNACK | DISCONNECT},
    {0x8A, "banned", "Banned", CONNACK},
    {0x8B, "server_shutting_down", "Server shutting down", DISCONNECT},
    {0x8C, "bad_authentication_method", "Bad authentication method", CONNACK | DISCONNECT},
    {0x8D, "keep_alive_timeout", "Keep Alive timeout", DISCONNECT},
    {0x8E, "session_taken_over", "Session taken over", DISCONNECT},
    {0x8F, "topic_filter_invalid", "Topic Filter invalid", SUBACK | UNSUBACK | DISCONNECT},
    {0x90, "topic_name_invalid", "Topic Name invalid", CONNACK | PUBACK | PUBREC | DISCONNECT},
    {0x91, "packet_identifier_in_use", "Packet Identifier in use",
     PUBACK | PUBREC | SUBACK | UNSUBACK},
    {0x92, "packet_identifier_not_found", "Packet Identifier not found", PUBREL | PUBCOMP},
    {0x93, "receive_maximum_exceeded", "Receive Maximum exceeded", DISCONNECT},
    {0x94, "topic_alias_invalid", "Topic Alias invalid", DISCONNECT},
    {0x95, "packet_too_large", "Packet too large", CONNACK | DISCONNECT},
    {0x96, "message_rate_too_high", "Message rate too high", DISCONNECT},
    {0x97, "quota_exceeded", "Quota exceeded", CONNACK | PUBACK | PUBREC | SUBACK | DISCONNECT},
    {0x98, "administrative_action", "Administrative action", DISCONNECT},
    {0x99, "payload_format_invalid", "Payload format invalid",
     CONNACK | PUBACK | PUBREC | DISCONNECT},
    {0x9A, "retain_not_supported", "Retain not supported", CONNACK | DISCONNECT},
    {0x9B, "qos_not_supported", "QoS not supported", CONNACK | DISCONNECT},
    {0x9C, "use_another_server", "Use another server", CONNACK | DISCONNECT},
    {0x9D, "server_moved", "Server moved", CONNACK | DISCONNECT},
    {0x9E, "shared_subscriptions_not_supported", "Shared Subscriptions not supported",
     SUBACK | DISCONNECT},
    {0x9F, "connection_rate_exceeded", "Connection rate exceeded", CONNACK | DISCONNECT},
    {0xA0, "maximum_connect_time", "Maximum connect time", DISCONNECT},
    {0xA1, "subscription_identifiers_not_supported", "Subscription Identifiers not supported",
     SUBACK | DISCONNECT},
    {0xA2, "wildcard_subscriptions_not_supported", "Wildcard Subscriptions not supported",
     SUBACK | DISCONNECT},
};

const spec_row* find_spec(unsigned code) {
  for (const spec_row& r : spec)
    if (r.code == code) return &r;
  return nullptr;
}

std::string packet_name(int t) { return str(to_string(static_cast<pt>(t))); }

}  // namespace

TEST_CASE("reason code names are the enumerators' names; undefined bytes are unknown") {
  for (const spec_row& r : spec) {
    CAPTURE(static_cast<int>(r.code));
    CHECK(str(name(static_cast<reason_code>(r.code))) == r.name);
  }
  for (unsigned b = 0; b < 256; ++b) {
    if (find_spec(b) != nullptr) continue;
    CAPTURE(b);
    CHECK(str(name(static_cast<reason_code>(b))) == "unknown");
  }
}

TEST_CASE("describe(): 0x00 is Normal disconnection on DISCONNECT, Granted QoS 0 on SUBACK") {
  CHECK(str(describe(reason_code::success, pt::disconnect)) == "Normal disconnection");
  CHECK(str(describe(reason_code::success, pt::suback)) == "Granted QoS 0");
  for (const pt t : {pt::connack, pt::puback, pt::pubrec, pt::pubrel, pt::pubcomp, pt::unsuback,
                     pt::auth}) {
    CAPTURE(packet_name(static_cast<int>(t)));
    CHECK(str(describe(reason_code::success, t)) == "Success");
  }
}

TEST_CASE("describe(): every other code has the text of Table 2-6 on every packet") {
  for (const spec_row& r : spec) {
    if (r.code == 0x00) continue;
    for (int t = 1; t <= 15; ++t) {
      CAPTURE(static_cast<int>(r.code));
      CAPTURE(packet_name(t));
      CHECK(str(describe(static_cast<reason_code>(r.code), static_cast<pt>(t))) == r.text);
    }
  }
  const std::string unknown = str(describe(static_cast<reason_code>(0x03), pt::puback));
  CHECK_FALSE(unknown.empty());
  CHECK(unknown != "Success");
}

TEST_CASE("is_valid_for() follows Table 2-6 for every byte and every packet [MQTT 2.4]") {
  int valid_pairs = 0;
  for (unsigned b = 0; b < 256; ++b) {
    const spec_row* r = find_spec(b);
    for (int t = 1; t <= 15; ++t) {
      const bool expected = r != nullptr && (r->packets & (1u << t)) != 0;
      valid_pairs += expected ? 1 : 0;
      if (is_valid_for(static_cast<reason_code>(b), static_cast<pt>(t)) != expected) {
        CAPTURE(b);
        CAPTURE(packet_name(t));
        CHECK(is_valid_for(static_cast<reason_code>(b), static_cast<pt>(t)) == expected);
      }
    }
  }
  CHECK(valid_pairs == 96);  // the number of (code, packet) cells in Table 2-6
  // Packets that carry no reason code at all.
  for (const pt t : {pt::connect, pt::publish, pt::subscribe, pt::unsubscribe, pt::pingreq,
                     pt::pingresp})
    CHECK_FALSE(is_valid_for(reason_code::success, t));
  // Spot checks that read like the specification.
  CHECK(is_valid_for(reason_code::packet_identifier_not_found, pt::pubrel));
  CHECK_FALSE(is_valid_for(reason_code::packet_identifier_not_found, pt::puback));
  CHECK(is_valid_for(reason_code::no_matching_subscribers, pt::pubrec));
  CHECK_FALSE(is_valid_for(reason_code::no_matching_subscribers, pt::pubcomp));
  CHECK(is_valid_for(reason_code::disconnect_with_will_message, pt::disconnect));
  CHECK_FALSE(is_valid_for(reason_code::disconnect_with_will_message, pt::connack));
  CHECK_FALSE(is_valid_for(reason_code::unspecified_error, pt::auth));
}

TEST_CASE("is_failure(): 0x80 and above [MQTT 2.4]") {
  CHECK_FALSE(is_failure(reason_code::success));
  CHECK_FALSE(is_failure(reason_code::granted_qos_2));
  CHECK_FALSE(is_failure(reason_code::re_authenticate));
  CHECK_FALSE(is_failure(static_cast<reason_code>(0x7f)));
  CHECK(is_failure(reason_code::unspecified_error));
  CHECK(is_failure(reason_code::wildcard_subscriptions_not_supported));
}

TEST_CASE("3.1.1 CONNACK return codes 0-5 map to 5.0 codes and back [MQTT 3.1.1 3.2.2.3]") {
  const std::uint8_t to5[] = {0x00, 0x84, 0x85, 0x88, 0x86, 0x87};
  for (std::uint8_t rc = 0; rc < 6; ++rc) {
    CAPTURE(static_cast<int>(rc));
    const auto c = from_v311_connack(rc);
    REQUIRE(c.has_value());
    CHECK(static_cast<int>(*c) == static_cast<int>(to5[rc]));
    const auto back = to_v311_connack(*c);
    REQUIRE(back.has_value());
    CHECK(static_cast<int>(*back) == static_cast<int>(rc));
  }
  for (unsigned rc = 6; rc < 256; ++rc) {
    CAPTURE(rc);
    CHECK_FALSE(from_v311_connack(static_cast<std::uint8_t>(rc)).has_value());
  }
  int expressible = 0;
  for (unsigned b = 0; b < 256; ++b)
    expressible += to_v311_connack(static_cast<reason_code>(b)).has_value() ? 1 : 0;
  CHECK(expressible == 6);
  CHECK_FALSE(to_v311_connack(reason_code::server_busy).has_value());
  CHECK_FALSE(to_v311_connack(reason_code::unspecified_error).has_value());
}

TEST_CASE("3.1.1 SUBACK return codes: 0x00-0x02 and 0x80 [MQTT 3.1.1 3.9.3]") {
  for (unsigned b = 0; b < 256; ++b) {
    CAPTURE(b);
    const auto rc = to_v311_suback(static_cast<reason_code>(b));
    const bool expressible = b == 0x00 || b == 0x01 || b == 0x02 || b == 0x80;
    CHECK(rc.has_value() == expressible);
    if (rc) CHECK(static_cast<unsigned>(*rc) == b);
  }
}

TEST_CASE("decode faults map to the reason codes of the error table") {
  using e = decode_errc;
  struct row {
    decode_errc code;
    reason_code reason;
  };
  const row rows[] = {
      {e::reserved_packet_type, reason_code::malformed_packet},
      {e::unexpected_packet, reason_code::protocol_error},
      {e::invalid_fixed_header_flags, reason_code::malformed_packet},
      {e::invalid_qos, reason_code::malformed_packet},
      {e::dup_on_qos0, reason_code::malformed_packet},
      {e::variable_integer_too_long, reason_code::malformed_packet},
      {e::non_minimal_variable_integer, reason_code::malformed_packet},
      {e::packet_too_large, reason_code::packet_too_large},
      {e::truncated, reason_code::malformed_packet},
      {e::trailing_bytes, reason_code::malformed_packet},
      {e::invalid_utf8, reason_code::malformed_packet},
      {e::utf8_null_character, reason_code::malformed_packet},
      {e::invalid_protocol_name, reason_code::unsupported_protocol_version},
      {e::unsupported_protocol_version, reason_code::unsupported_protocol_version},
      {e::invalid_connect_flags, reason_code::malformed_packet},
      {e::invalid_connack_flags, reason_code::malformed_packet},
      {e::session_present_on_failure, reason_code::protocol_error},
      {e::invalid_reason_code, reason_code::malformed_packet},
      {e::zero_packet_id, reason_code::protocol_error},
      {e::topic_name_invalid, reason_code::topic_name_invalid},
      {e::missing_topic_name, reason_code::protocol_error},
      {e::topic_alias_zero, reason_code::topic_alias_invalid},
      {e::topic_filter_invalid, reason_code::topic_filter_invalid},
      {e::empty_list, reason_code::protocol_error},
      {e::invalid_subscription_options, reason_code::malformed_packet},
      {e::invalid_retain_handling, reason_code::protocol_error},
      {e::no_local_on_shared_subscription, reason_code::protocol_error},
      {e::unknown_property, reason_code::malformed_packet},
      {e::property_not_allowed, reason_code::malformed_packet},
      {e::duplicate_property, reason_code::protocol_error},
      {e::invalid_property_value, reason_code::protocol_error},
      {e::authentication_data_without_method, reason_code::protocol_error},
  };
  CHECK(std::size(rows) == static_cast<std::size_t>(e::authentication_data_without_method));
  for (const row& r : rows) {
    CAPTURE(str(name(r.code)));
    CHECK(str(name(to_reason_code(r.code))) == str(name(r.reason)));
    // Every mapped code can be sent in a DISCONNECT, or in the CONNACK refusing a CONNECT
    // [MQTT 4.13].
    CHECK((is_valid_for(to_reason_code(r.code), pt::disconnect) ||
           is_valid_for(to_reason_code(r.code), pt::connack)));
  }
}
