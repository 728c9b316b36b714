// The reason code table of MQTT 5.0 section 2.4: each code's name, text and the packets that
// may carry it, as one table so the three can never disagree.
#include "tern/reason_code.hpp"

#include <array>

namespace tern {
namespace {

constexpr std::uint16_t bit(packet_type t) noexcept {
  return static_cast<std::uint16_t>(1u << static_cast<unsigned>(t));
}
constexpr std::uint16_t connack = bit(packet_type::connack);
constexpr std::uint16_t puback = bit(packet_type::puback) | bit(packet_type::pubrec);
constexpr std::uint16_t pubrel = bit(packet_type::pubrel) | bit(packet_type::pubcomp);
constexpr std::uint16_t suback = bit(packet_type::suback);
constexpr std::uint16_t unsuback = bit(packet_type::unsuback);
constexpr std::uint16_t disconnect = bit(packet_type::disconnect);
constexpr std::uint16_t auth = bit(packet_type::auth);

struct entry {
  std::uint8_t code;
  std::string_view name;
  std::string_view text;
  std::uint16_t packets;
};

constexpr entry table[] = {
    {0x00, "success", "Success", connack | puback | pubrel | unsuback | auth},
    {0x01, "granted_qos_1", "Granted QoS 1", suback},
    {0x02, "granted_qos_2", "Granted QoS 2", suback},
    {0x04, "disconnect_with_will_message", "Disconnect with Will Message", disconnect},
    {0x10, "no_matching_subscribers", "No matching subscribers", puback},
    {0x11, "no_subscription_existed", "No subscription existed", unsuback},
    {0x18, "continue_authentication", "Continue authentication", auth},
    {0x19, "re_authenticate", "Re-authenticate", auth},
    {0x80, "unspecified_error", "Unspecified error", connack | puback | suback | unsuback | disconnect},
    {0x81, "malformed_packet", "Malformed Packet", connack | disconnect},
    {0x82, "protocol_error", "Protocol Error", connack | disconnect},
    {0x83, "implementation_specific_error", "Implementation specific error",
     connack | puback | suback | unsuback | disconnect},
    {0x84, "unsupported_protocol_version", "Unsupported Protocol Version", connack},
    {0x85, "client_identifier_not_valid", "Client Identifier not valid", connack},
    {0x86, "bad_user_name_or_password", "Bad User Name or Password", connack},
    {0x87, "not_authorized", "Not authorized", connack | puback | suback | unsuback | disconnect},
    {0x88, "server_unavailable", "Server unavailable", connack},
    {0x89, "server_busy", "Server busy", connack | disconnect},
    {0x8A, "banned", "Banned", connack},
    {0x8B, "server_shutting_down", "Server shutting down", disconnect},
    {0x8C, "bad_authentication_method", "Bad authentication method", connack | disconnect},
    {0x8D, "keep_alive_timeout", "Keep Alive timeout", disconnect},
    {0x8E, "session_taken_over", "Session taken over", disconnect},
    {0x8F, "topic_filter_invalid", "Topic Filter invalid", suback | unsuback | disconnect},
    {0x90, "topic_name_invalid", "Topic Name invalid", connack | puback | disconnect},
    {0x91, "packet_identifier_in_use", "Packet Identifier in use", puback | suback | unsuback},
    {0x92, "packet_identifier_not_found", "Packet Identifier not found", pubrel},
    {0x93, "receive_maximum_exceeded", "Receive Maximum exceeded", disconnect},
    {0x94, "topic_alias_invalid", "Topic Alias invalid", disconnect},
    {0x95, "packet_too_large", "Packet too large", connack | disconnect},
    {0x96, "message_rate_too_high", "Message rate too high", disconnect},
    {0x97, "quota_exceeded", "Quota exceeded", connack | puback | suback | disconnect},
    {0x98, "administrative_action", "Administrative action", disconnect},
    {0x99, "payload_format_invalid", "Payload format invalid", connack | puback | disconnect},
    {0x9A, "retain_not_supported", "Retain not supported", connack | disconnect},
    {0x9B, "qos_not_supported", "QoS not supported", connack | disconnect},
    {0x9C, "use_another_server", "Use another server", connack | disconnect},
    {0x9D, "server_moved", "Server moved", connack | disconnect},
    {0x9E, "shared_subscriptions_not_supported", "Shared Subscriptions not supported",
     suback | disconnect},
    {0x9F, "connection_rate_exceeded", "Connection rate exceeded", connack | disconnect},
    {0xA0, "maximum_connect_time", "Maximum connect time", disconnect},
    {0xA1, "subscription_identifiers_not_supported", "Subscription Identifiers not supported",
     suback | disconnect},
    {0xA2, "wildcard_subscriptions_not_supported", "Wildcard Subscriptions not supported",
     suback | disconnect},
};

const entry* find(reason_code c) noexcept {
  for (const entry& e : table)
    if (e.code == static_cast<std::uint8_t>(c)) return &e;
  return nullptr;
}

// 0x00 on SUBACK and DISCONNECT is not in the table's packet mask of "success".
constexpr std::uint16_t zero_also = suback | disconnect;

}  // namespace

std::string_view name(reason_code c) noexcept {
  const entry* e = find(c);
  return e ? e->name : "unknown";
}

std::string_view describe(reason_code c, packet_type on) noexcept {
  if (c == reason_code::success) {
    if (on == packet_type::disconnect) return "Normal disconnection";
    if (on == packet_type::suback) return "Granted QoS 0";
  }
  const entry* e = find(c);
  return e ? e->text : "Unknown reason code";
}

bool is_valid_for(reason_code c, packet_type on) noexcept {
  if (c == reason_code::success && (zero_also & bit(on)) != 0) return true;
  const entry* e = find(c);
  return e != nullptr && (e->packets & bit(on)) != 0;
}

namespace {
constexpr std::array<reason_code, 6> v311_connack = {
    reason_code::success,
    reason_code::unsupported_protocol_version,
    reason_code::client_identifier_not_valid,
    reason_code::server_unavailable,
    reason_code::bad_user_name_or_password,
    reason_code::not_authorized,
};
}  // namespace

std::optional<reason_code> from_v311_connack(std::uint8_t return_code) noexcept {
  if (return_code >= v311_connack.size()) return std::nullopt;
  return v311_connack[return_code];
}

std::optional<std::uint8_t> to_v311_connack(reason_code c) noexcept {
  for (std::size_t i = 0; i < v311_connack.size(); ++i)
    if (v311_connack[i] == c) return static_cast<std::uint8_t>(i);
  return std::nullopt;
}

std::optional<std::uint8_t> to_v311_suback(reason_code c) noexcept {
  switch (c) {
    case reason_code::granted_qos_0:
    case reason_code::granted_qos_1:
    case reason_code::granted_qos_2:
    case reason_code::unspecified_error: return static_cast<std::uint8_t>(c);
    default: return std::nullopt;
  }
}

}  // namespace tern
