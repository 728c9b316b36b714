// The human-readable form of decoded packets and of decode failures: a heading line per packet
// ("offset 0: CONNECT (14 bytes, MQTT 5.0)") and one indented "field: value" line per field,
// named as in the JSON form so that the two read alike. Strings are quoted with C escapes;
// binary data shows as text when it is UTF-8 without control characters (line breaks and tabs
// aside), as hex otherwise, cut after 256 bytes (the JSON form has all of it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "tern/decode_error.hpp"
#include "tern/packets.hpp"
#include "tern/protocol.hpp"

namespace tern::cli {

// Bytes of binary data shown before "... (N more bytes)".
inline constexpr std::size_t text_binary_limit = 256;

// Lines ending in '\n'. `version` is the stream's; a CONNECT reports its own.
std::string packet_to_text(const packet& p, protocol_version version, std::uint64_t offset,
                           std::uint32_t size);

// One line, without a trailing newline:
// "offset 7: malformed packet: truncated at offset 12 (byte 5 of the packet): <sentence>;
//  MQTT 5 reason code 0x81 malformed_packet (Malformed Packet)".
std::string decode_error_to_text(const decode_error& e, std::uint64_t packet_offset);

// One line: how much of a cut-off packet is present and how much is missing.
std::string incomplete_to_text(std::uint64_t packet_offset, std::size_t available,
                               std::optional<std::uint32_t> packet_size);

}  // namespace tern::cli
