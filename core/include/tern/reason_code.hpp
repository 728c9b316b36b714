// MQTT 5.0 reason codes (spec 2.4), one enum for every packet. MQTT 3.1.1 CONNACK return codes
// and SUBACK failure map onto their 5.0 equivalents, so a session sees one vocabulary.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "tern/protocol.hpp"

namespace tern {

enum class reason_code : std::uint8_t {
  success = 0x00,  // also Normal disconnection (DISCONNECT) and Granted QoS 0 (SUBACK)
  normal_disconnection = 0x00,
  granted_qos_0 = 0x00,
  granted_qos_1 = 0x01,
  granted_qos_2 = 0x02,
  disconnect_with_will_message = 0x04,
  no_matching_subscribers = 0x10,
  no_subscription_existed = 0x11,
  continue_authentication = 0x18,
  re_authenticate = 0x19,
  unspecified_error = 0x80,
  malformed_packet = 0x81,
  protocol_error = 0x82,
  implementation_specific_error = 0x83,
  unsupported_protocol_version = 0x84,
  client_identifier_not_valid = 0x85,
  bad_user_name_or_password = 0x86,
  not_authorized = 0x87,
  server_unavailable = 0x88,
  server_busy = 0x89,
  banned = 0x8A,
  server_shutting_down = 0x8B,
  bad_authentication_method = 0x8C,
  keep_alive_timeout = 0x8D,
  session_taken_over = 0x8E,
  topic_filter_invalid = 0x8F,
  topic_name_invalid = 0x90,
  packet_identifier_in_use = 0x91,
  packet_identifier_not_found = 0x92,
  receive_maximum_exceeded = 0x93,
  topic_alias_invalid = 0x94,
  packet_too_large = 0x95,
  message_rate_too_high = 0x96,
  quota_exceeded = 0x97,
  administrative_action = 0x98,
  payload_format_invalid = 0x99,
  retain_not_supported = 0x9A,
  qos_not_supported = 0x9B,
  use_another_server = 0x9C,
  server_moved = 0x9D,
  shared_subscriptions_not_supported = 0x9E,
  connection_rate_exceeded = 0x9F,
  maximum_connect_time = 0xA0,
  subscription_identifiers_not_supported = 0xA1,
  wildcard_subscriptions_not_supported = 0xA2,
};

// Codes of 0x80 and above report a failure [MQTT 2.4].
constexpr bool is_failure(reason_code c) noexcept { return static_cast<std::uint8_t>(c) >= 0x80; }

// The identifier-style name, e.g. "packet_too_large"; "unknown" for an undefined byte.
std::string_view name(reason_code c) noexcept;

// The text the specification gives the code on that packet, e.g. 0x00 is "Normal disconnection"
// on DISCONNECT, "Granted QoS 0" on SUBACK and "Success" elsewhere.
std::string_view describe(reason_code c, packet_type on) noexcept;

// Whether MQTT 5.0 defines the code for that packet.
bool is_valid_for(reason_code c, packet_type on) noexcept;

// MQTT 3.1.1 CONNACK return codes 0..5 and their 5.0 equivalents (0x00, 0x84, 0x85, 0x88,
// 0x86, 0x87). Other bytes have no meaning in 3.1.1.
std::optional<reason_code> from_v311_connack(std::uint8_t return_code) noexcept;
std::optional<std::uint8_t> to_v311_connack(reason_code c) noexcept;

// MQTT 3.1.1 SUBACK return codes: 0x00..0x02 and 0x80 (Failure); other codes have none.
std::optional<std::uint8_t> to_v311_suback(reason_code c) noexcept;

}  // namespace tern
