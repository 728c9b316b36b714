// Encoding MQTT control packets: validate and size first, then write once.
//
//   auto size = tern::measure(pkt, version);      // validates; errc on misuse
//   buffer.resize(size->total);
//   tern::write(pkt, version, *size, buffer.data());
//
// or encode(pkt, version, out) for both steps. A PUBLISH can be written without its payload
// (write_header) so the payload goes out as its own scatter/gather slice and is never copied.
// Encoding checks what the peer would reject: topic rules, UTF-8, packet ids, properties
// allowed on the packet and their values, reason codes the packet may carry, version limits.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tern/bytes.hpp"
#include "tern/errc.hpp"
#include "tern/packets.hpp"
#include "tern/protocol.hpp"
#include "tern/result.hpp"

namespace tern {

// The sizes measure() found, which write() reuses instead of computing them again.
struct packet_size {
  std::uint32_t total = 0;             // whole packet, fixed header included
  std::uint32_t remaining_length = 0;
  std::uint32_t payload = 0;           // PUBLISH payload bytes (the tail of the packet)
  std::uint32_t properties = 0;        // Property Length of the packet's properties
  std::uint32_t will_properties = 0;   // Property Length of CONNECT's Will Properties

  std::uint32_t header() const noexcept { return total - payload; }
};

// Validates `p` for `version` and computes its encoded size. CONNECT uses its own version.
template <packet_kind P>
result<packet_size, errc> measure(const P& p, protocol_version version) noexcept;
result<packet_size, errc> measure(const packet& p, protocol_version version) noexcept;

// Writes the packet measured as `size` to `out`, which has room for size.total bytes.
// Precondition: measure(p, version) returned `size` and `p` has not changed since.
template <packet_kind P>
void write(const P& p, protocol_version version, const packet_size& size, std::byte* out) noexcept;
void write(const packet& p, protocol_version version, const packet_size& size,
           std::byte* out) noexcept;

// Writes everything but the payload of a PUBLISH (size.header() bytes); the payload follows.
void write_header(const publish& p, protocol_version version, const packet_size& size,
                  std::byte* out) noexcept;

// measure + write into `out`; returns the bytes written, or errc::buffer_too_small.
template <packet_kind P>
result<std::size_t, errc> encode(const P& p, protocol_version version, mutable_bytes out) noexcept;
result<std::size_t, errc> encode(const packet& p, protocol_version version,
                                 mutable_bytes out) noexcept;

}  // namespace tern
