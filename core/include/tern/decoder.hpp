// Incremental, zero-copy decoding of MQTT control packets.
//
// Feed bytes as they arrive, in any split. When the whole packet sits in the caller's input the
// decoded views point into that input and nothing is copied or allocated; when a packet arrives
// in pieces its body is gathered in the decoder's buffer (from the memory resource: at most
// 64 KiB up front, beyond that grown as bytes arrive, never past the Maximum Packet Size) and
// the views point there. Either way the
// views stay valid until the next call to next() or reset(), and, for the first case, for as
// long as the caller keeps the input unchanged.
//
// The fixed header is checked (type, flags, sender, Remaining Length against the limit) before
// any byte of the body is buffered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>

#include "tern/bytes.hpp"
#include "tern/decode_error.hpp"
#include "tern/packets.hpp"
#include "tern/protocol.hpp"
#include "tern/result.hpp"

namespace tern {

struct decoder_options {
  protocol_version version = protocol_version::v5;
  sender from = sender::server;
  // The largest whole packet accepted (fixed header included), the Maximum Packet Size this
  // side announces in 5.0.
  std::uint32_t maximum_packet_size = max_packet_size_limit;
};

// The fixed header of a packet: its type, flag nibble and sizes.
struct frame {
  packet_type type{};
  std::uint8_t flags = 0;
  std::uint8_t header_size = 0;  // 2..5 bytes
  std::uint32_t remaining_length = 0;
  std::uint32_t size() const noexcept { return header_size + remaining_length; }
};

// Reads and checks the fixed header at the front of `in`. Returns std::nullopt when `in` ends
// before the Remaining Length does. Errors: reserved_packet_type, unexpected_packet,
// invalid_fixed_header_flags, invalid_qos, dup_on_qos0, variable_integer_too_long,
// non_minimal_variable_integer (5.0), packet_too_large.
result<std::optional<frame>, decode_error> decode_frame(bytes_view in,
                                                        const decoder_options& options) noexcept;

// Decodes the body of a packet whose fixed header is `f`; `body` is exactly its Remaining
// Length bytes. Views in the packet point into `body`. Errors: every decode_errc of the body.
// A CONNECT decodes whatever options.version says (it carries its own protocol level).
result<packet, decode_error> decode_body(const frame& f, bytes_view body,
                                         const decoder_options& options) noexcept;

// Decodes one packet held whole at the front of `in`: decode_frame then decode_body. Returns
// std::nullopt when `in` holds less than one packet; `consumed` is set to the packet's size.
result<std::optional<packet>, decode_error> decode_packet(bytes_view in,
                                                          const decoder_options& options,
                                                          std::size_t& consumed) noexcept;

class decoder {
 public:
  explicit decoder(decoder_options options = {},
                   std::pmr::memory_resource* memory = std::pmr::get_default_resource()) noexcept;
  ~decoder();
  decoder(const decoder&) = delete;
  decoder& operator=(const decoder&) = delete;
  decoder(decoder&& other) noexcept;
  decoder& operator=(decoder&& other) noexcept;

  // Consumes bytes from the front of `in`, advancing it, until one packet is complete or `in`
  // is exhausted. Returns the packet, std::nullopt when more bytes are needed (then `in` is
  // empty), or the first fault found. After a fault the decoder stays failed and returns the
  // same error (an MQTT stream cannot resynchronise) until reset().
  // A CONNECT decoded from a client switches the decoder to the CONNECT's protocol version.
  result<std::optional<packet>, decode_error> next(bytes_view& in) noexcept;

  // Forgets any partial packet and a failure: use for a new connection.
  void reset() noexcept;
  // Drops the body buffer's memory (it is otherwise kept for the next split packet).
  void shrink() noexcept;

  const decoder_options& options() const noexcept { return options_; }
  void set_version(protocol_version v) noexcept { options_.version = v; }
  void set_maximum_packet_size(std::uint32_t bytes) noexcept {
    options_.maximum_packet_size = bytes;
  }

  bool failed() const noexcept { return failed_; }
  // Bytes of an incomplete packet held so far (header and body).
  std::size_t buffered() const noexcept { return header_size_ + body_size_; }
  // Offset in the whole stream of the first byte of the packet being (or last) decoded.
  std::uint64_t packet_offset() const noexcept { return packet_offset_; }
  // Bytes consumed from the stream since construction or reset().
  std::uint64_t stream_offset() const noexcept { return stream_offset_; }

 private:
  bool reserve_body(std::size_t needed) noexcept;
  result<std::optional<packet>, decode_error> fail(decode_error e) noexcept;
  void begin_next_packet() noexcept;

  decoder_options options_;
  std::pmr::memory_resource* memory_;
  std::byte* buffer_ = nullptr;
  std::size_t capacity_ = 0;
  std::byte header_[5]{};
  std::uint8_t header_size_ = 0;
  std::optional<frame> frame_;
  std::uint32_t body_size_ = 0;
  std::uint64_t packet_offset_ = 0;
  std::uint64_t stream_offset_ = 0;
  bool failed_ = false;
  decode_error error_{};
};

}  // namespace tern
