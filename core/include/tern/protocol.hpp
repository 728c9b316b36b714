// Protocol-wide vocabulary: versions, packet types, QoS and the limits the specification sets.
#pragma once

#include <cstdint>
#include <string_view>

namespace tern {

// The Protocol Level byte of CONNECT.
enum class protocol_version : std::uint8_t {
  v3_1 = 3,    // MQTT 3.1 ("MQIsdp"): encoded like 3.1.1 apart from the CONNECT name.
  v3_1_1 = 4,  // MQTT 3.1.1
  v5 = 5,      // MQTT 5.0
};

constexpr bool has_properties(protocol_version v) noexcept { return v == protocol_version::v5; }
std::string_view to_string(protocol_version v) noexcept;

// The high nibble of the fixed header's first byte.
enum class packet_type : std::uint8_t {
  connect = 1,
  connack = 2,
  publish = 3,
  puback = 4,
  pubrec = 5,
  pubrel = 6,
  pubcomp = 7,
  subscribe = 8,
  suback = 9,
  unsubscribe = 10,
  unsuback = 11,
  pingreq = 12,
  pingresp = 13,
  disconnect = 14,
  auth = 15,  // MQTT 5.0 only
};

std::string_view to_string(packet_type t) noexcept;  // "CONNECT", "PUBACK", ...

enum class qos : std::uint8_t { at_most_once = 0, at_least_once = 1, exactly_once = 2 };

// Who sent the bytes a decoder reads: the packets each side may send differ.
enum class sender : std::uint8_t {
  server,  // we are a client: accept CONNACK, PUBLISH, ... ; reject CONNECT, SUBSCRIBE, ...
  client,  // we are a server (or a test broker, or a proxy looking at client traffic)
  any,     // tools and fuzzers: accept every packet kind of the version
};

// Largest value a Variable Byte Integer can carry (and so the largest Remaining Length).
inline constexpr std::uint32_t max_variable_integer = 268'435'455;
// Largest whole packet: 1 byte of type and flags, 4 bytes of length, the body.
inline constexpr std::uint32_t max_packet_size_limit = 1 + 4 + max_variable_integer;
// Strings and binary data carry a two-byte length.
inline constexpr std::size_t max_string_size = 65'535;

}  // namespace tern
