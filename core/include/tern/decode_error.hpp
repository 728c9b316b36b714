// Faults of the peer: every way a byte stream can fail to be a valid MQTT packet, each mapped
// to the MQTT 5.0 reason code a receiver sends in DISCONNECT (or CONNACK) before closing.
#pragma once

#include <cstdint>
#include <string_view>

#include "tern/reason_code.hpp"

namespace tern {

enum class decode_errc : std::uint8_t {
  // Fixed header
  reserved_packet_type = 1,      // type 0, or 15 (AUTH) before 5.0                    0x81
  unexpected_packet,             // a packet this sender never sends (CONNECT from a server)  0x82
  invalid_fixed_header_flags,    // flag bits other than the ones the spec fixes [MQTT-2.2.2-2]  0x81
  invalid_qos,                   // QoS 3 in PUBLISH, Will or subscription options   0x81
  dup_on_qos0,                   // DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]          0x81
  variable_integer_too_long,     // a Variable Byte Integer of more than 4 bytes     0x81
  non_minimal_variable_integer,  // 5.0 forbids padding [MQTT-1.5.5-1]                  0x81
  packet_too_large,              // over the configured Maximum Packet Size           0x95
  // Body structure
  truncated,                     // a field runs past the Remaining Length (CVE-2019-17210)  0x81
  trailing_bytes,                // bytes left after the last field                   0x81
  invalid_utf8,                  // ill-formed UTF-8 or a surrogate [MQTT-1.5.4-1]      0x81
  utf8_null_character,           // U+0000 in a string [MQTT-1.5.4-2]                   0x81
  // CONNECT / CONNACK
  invalid_protocol_name,         // neither "MQTT" nor (level 3) "MQIsdp"             0x84
  unsupported_protocol_version,  // Protocol Level other than 3, 4 or 5                 0x84
  invalid_connect_flags,         // reserved bit, Will QoS/Retain without Will, password
                                 // without user name before 5.0                        0x81
  invalid_connack_flags,         // reserved Connect Acknowledge Flags set             0x81
  session_present_on_failure,    // Session Present with a refusal [MQTT-3.2.2-6]      0x82
  // Fields
  invalid_reason_code,           // not a code this packet may carry                  0x81
  zero_packet_id,                // packet identifier 0 [MQTT-2.2.1-3]                  0x82
  topic_name_invalid,            // wildcard in a topic name, or empty before 5.0     0x90
  missing_topic_name,            // empty topic without a Topic Alias (5.0)           0x82
  topic_alias_zero,              // Topic Alias 0 [MQTT-3.3.2-8]                        0x94
  topic_filter_invalid,          // malformed filter in SUBSCRIBE / UNSUBSCRIBE        0x8F
  empty_list,                    // SUBSCRIBE, UNSUBSCRIBE, SUBACK or UNSUBACK with no entry
                                 // (CVE-2024-10525)                                    0x82
  invalid_subscription_options,  // reserved option bits set                          0x81
  invalid_retain_handling,       // Retain Handling 3                                  0x82
  no_local_on_shared_subscription,  // [MQTT-3.8.3-4]                                   0x82
  // Properties (5.0)
  unknown_property,              // an identifier the spec does not define            0x81
  property_not_allowed,          // a property this packet may not carry             0x81
  duplicate_property,            // a once-only property repeated                     0x82
  invalid_property_value,        // a value the spec forbids (Receive Maximum 0, ...)  0x82
  authentication_data_without_method,  // data given with no method [MQTT 3.1.2.11.10]          0x82
};

// Where a decode failed: the reason, and the offset of the offending byte from the first byte
// of the packet (0 is the fixed header's type byte).
struct decode_error {
  decode_errc code{};
  std::uint32_t offset = 0;
  friend bool operator==(const decode_error&, const decode_error&) = default;
};

// The reason code a receiver reports for the fault (in DISCONNECT, or CONNACK on a server).
reason_code to_reason_code(decode_errc e) noexcept;
// A sentence describing the fault, e.g. "a string runs past the end of the packet".
std::string_view to_string(decode_errc e) noexcept;
// The identifier-style name, e.g. "truncated".
std::string_view name(decode_errc e) noexcept;

}  // namespace tern
