// Errors for local misuse: something the caller asked for that MQTT does not allow, or that does
// not fit. Faults of the peer are decode errors (decode_error.hpp); broker verdicts such as a
// refused CONNACK are data in packets, not errors.
#pragma once

#include <cstdint>
#include <string_view>

namespace tern {

enum class errc : std::uint8_t {
  buffer_too_small = 1,     // the output buffer cannot hold the encoded packet
  packet_too_large,         // Remaining Length would pass 268,435,455 bytes
  string_too_long,          // a string or binary field longer than 65,535 bytes
  invalid_utf8,             // text that is not well-formed UTF-8, or holds U+0000
  invalid_topic_name,       // empty (with no Topic Alias), has '+' or '#', or too long
  invalid_topic_filter,     // misplaced wildcard, empty, bad shared subscription
  invalid_packet_id,        // packet identifier 0 where one is required
  invalid_qos,              // QoS above 2
  empty_list,               // SUBSCRIBE / UNSUBSCRIBE / SUBACK / UNSUBACK without entries
  property_not_allowed,     // the property is not permitted on this packet
  properties_need_v5,       // properties given for an MQTT 3.1 / 3.1.1 packet
  duplicate_property,       // a property that may appear once appears twice
  invalid_property_value,   // out of its wire type's range, or forbidden (Receive Maximum 0, ...)
  invalid_reason_code,      // not defined for this packet, or not expressible before 5.0
  unsupported_by_version,   // AUTH, or an option such as No Local, before 5.0
  invalid_subscription_options,  // Retain Handling 3, No Local on a shared subscription
  invalid_connect,          // password without user name before 5.0, will flags without will, ...
  // Session commands
  invalid_state,            // the command does not fit the session's state (connect twice, ...)
  queue_full,               // the pending queue is at max_queued_messages / max_queued_bytes
  would_block,              // unwritten bytes are at max_transmit_bytes: drain first
  not_connected,            // QoS 0 publish while offline without queue_qos0_while_offline
  qos_not_supported,        // above the server's Maximum QoS
  retain_not_supported,     // the server has Retain Available 0
  wildcard_subscriptions_not_supported,
  shared_subscriptions_not_supported,
  subscription_identifiers_not_supported,
  packet_ids_exhausted,     // all 65,535 packet identifiers are in use
  unknown_message,          // ack() of a message that is not awaiting acknowledgement
  invalid_state_data,       // restore_state() given bytes that are not a saved state
};

std::string_view to_string(errc e) noexcept;

}  // namespace tern
