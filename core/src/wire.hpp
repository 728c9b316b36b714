// Private: bounded reading and unchecked writing of MQTT wire fields. The reader checks every
// length against the bytes left in the packet and records where the first fault was; the writer
// trusts sizes that measure() already computed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "tern/bytes.hpp"
#include "tern/decode_error.hpp"
#include "tern/protocol.hpp"
#include "tern/utf8.hpp"
#include "tern/varint.hpp"

namespace tern::detail {

class reader {
 public:
  // `base` is the offset of body[0] from the packet's first byte, so errors name packet offsets.
  reader(bytes_view body, std::uint32_t base) noexcept
      : begin_(body.data()), p_(body.data()), end_(body.data() + body.size()), base_(base) {}

  std::size_t left() const noexcept { return static_cast<std::size_t>(end_ - p_); }
  bool at_end() const noexcept { return p_ == end_; }
  const std::byte* position() const noexcept { return p_; }
  std::uint32_t offset() const noexcept {
    return base_ + static_cast<std::uint32_t>(p_ - begin_);
  }
  std::uint32_t offset_of(const std::byte* at) const noexcept {
    return base_ + static_cast<std::uint32_t>(at - begin_);
  }
  const decode_error& error() const noexcept { return error_; }

  bool fail(decode_errc code) noexcept { return fail_at(code, p_); }
  bool fail_with(const decode_error& e) noexcept {
    error_ = e;
    return false;
  }
  bool fail_at(decode_errc code, const std::byte* at) noexcept {
    error_ = {code, offset_of(at)};
    return false;
  }

  bool u8(std::uint8_t& v) noexcept {
    if (p_ == end_) return fail(decode_errc::truncated);
    v = static_cast<std::uint8_t>(*p_++);
    return true;
  }
  bool u16(std::uint16_t& v) noexcept {
    if (left() < 2) return fail(decode_errc::truncated);
    v = static_cast<std::uint16_t>((static_cast<unsigned>(p_[0]) << 8) |
                                   static_cast<unsigned>(p_[1]));
    p_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) noexcept {
    if (left() < 4) return fail(decode_errc::truncated);
    v = (static_cast<std::uint32_t>(p_[0]) << 24) | (static_cast<std::uint32_t>(p_[1]) << 16) |
        (static_cast<std::uint32_t>(p_[2]) << 8) | static_cast<std::uint32_t>(p_[3]);
    p_ += 4;
    return true;
  }
  // MQTT 5.0 forbids non-minimal encodings; only 5.0 has variable integers inside bodies.
  bool varint(std::uint32_t& v) noexcept {
    const varint_read r = read_varint({p_, left()});
    switch (r.status) {
      case varint_status::ok: break;
      case varint_status::incomplete: return fail(decode_errc::truncated);
      case varint_status::too_long: return fail(decode_errc::variable_integer_too_long);
      case varint_status::non_minimal: return fail(decode_errc::non_minimal_variable_integer);
    }
    v = r.value;
    p_ += r.size;
    return true;
  }
  bool skip(std::size_t n) noexcept {
    if (left() < n) return fail(decode_errc::truncated);
    p_ += n;
    return true;
  }
  // Two-byte length then that many bytes, unvalidated.
  bool binary(bytes_view& v) noexcept {
    const std::byte* at = p_;
    std::uint16_t n;
    if (!u16(n)) return false;
    if (left() < n) return fail_at(decode_errc::truncated, at);
    v = {p_, n};
    p_ += n;
    return true;
  }
  // A UTF-8 Encoded String, validated [MQTT 1.5.4].
  bool utf8(std::string_view& v) noexcept {
    const std::byte* at = p_;
    bytes_view b;
    if (!binary(b)) return false;
    v = as_chars(b);
    switch (validate_mqtt_utf8(v)) {
      case utf8_status::ok: return true;
      case utf8_status::invalid: return fail_at(decode_errc::invalid_utf8, at);
      case utf8_status::null_character: return fail_at(decode_errc::utf8_null_character, at);
    }
    return true;
  }
  bytes_view rest() noexcept {
    bytes_view r{p_, left()};
    p_ = end_;
    return r;
  }

 private:
  const std::byte* begin_;
  const std::byte* p_;
  const std::byte* end_;
  std::uint32_t base_;
  decode_error error_{};
};

// Unchecked writes into a buffer measure() sized.
class writer {
 public:
  explicit writer(std::byte* out) noexcept : p_(out) {}
  std::byte* position() const noexcept { return p_; }

  void u8(std::uint8_t v) noexcept { *p_++ = static_cast<std::byte>(v); }
  void u16(std::uint16_t v) noexcept {
    p_[0] = static_cast<std::byte>(v >> 8);
    p_[1] = static_cast<std::byte>(v & 0xFFu);
    p_ += 2;
  }
  void u32(std::uint32_t v) noexcept {
    p_[0] = static_cast<std::byte>(v >> 24);
    p_[1] = static_cast<std::byte>((v >> 16) & 0xFFu);
    p_[2] = static_cast<std::byte>((v >> 8) & 0xFFu);
    p_[3] = static_cast<std::byte>(v & 0xFFu);
    p_ += 4;
  }
  void varint(std::uint32_t v) noexcept { p_ += write_varint(v, p_); }
  void bytes(bytes_view b) noexcept {
    if (!b.empty()) std::memcpy(p_, b.data(), b.size());
    p_ += b.size();
  }
  void string(std::string_view s) noexcept {
    u16(static_cast<std::uint16_t>(s.size()));
    bytes(as_bytes(s));
  }
  void binary(bytes_view b) noexcept {
    u16(static_cast<std::uint16_t>(b.size()));
    bytes(b);
  }

 private:
  std::byte* p_;
};

}  // namespace tern::detail
