// Helpers for codec tests: decode a fixture every way the API offers (decode_packet, a decoder fed
// the whole fixture, a decoder fed one byte at a time) and insist they agree; encode a packet
// every way (encode, measure + write, the packet variant) and insist they agree; and printers so
// that a failed comparison says what differed. doctest 2.4 cannot print string_view, so names
// are compared as std::string.
#pragma once

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "support/hex.hpp"
#include "tern/tern.hpp"

namespace tern::test {

using byte_vector = std::vector<std::byte>;

inline std::string str(std::string_view s) { return std::string(s); }

inline decoder_options opts(protocol_version v, sender from = sender::any,
                            std::uint32_t maximum_packet_size = max_packet_size_limit) {
  decoder_options o;
  o.version = v;
  o.from = from;
  o.maximum_packet_size = maximum_packet_size;
  return o;
}

// Views of a caller's arrays (an array converts to a span, a span to the list type).
inline properties props_of(std::span<const property> s) { return properties(s); }
inline subscription_list subs_of(std::span<const subscription> s) { return subscription_list(s); }
inline topic_filter_list filters_of(std::span<const std::string_view> s) {
  return topic_filter_list(s);
}
inline reason_code_list codes_of(std::span<const reason_code> s) { return reason_code_list(s); }

inline bytes_view bin(std::string_view s) { return as_bytes(s); }

// A packet built around a property list, for tests that vary the properties: `first` is the
// type-and-flags byte, `before` the bytes ahead of the Property Length, `after` those behind the
// properties. Lengths under 128. `props_at` is the offset of the first property byte.
struct built_packet {
  byte_vector bytes;
  std::uint32_t props_at = 0;
};
inline built_packet with_props(std::uint8_t first, std::string_view before, std::string_view props,
                               std::string_view after = "") {
  const byte_vector b = hex(before), p = hex(props), a = hex(after);
  const std::size_t remaining = b.size() + 1 + p.size() + a.size();
  REQUIRE(remaining < 128);
  built_packet out;
  out.bytes.push_back(std::byte{first});
  out.bytes.push_back(static_cast<std::byte>(remaining));
  out.bytes.insert(out.bytes.end(), b.begin(), b.end());
  out.bytes.push_back(static_cast<std::byte>(p.size()));
  out.props_at = static_cast<std::uint32_t>(out.bytes.size());
  out.bytes.insert(out.bytes.end(), p.begin(), p.end());
  out.bytes.insert(out.bytes.end(), a.begin(), a.end());
  return out;
}

// --- printing ------------------------------------------------------------------------------------

inline std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else {
      static constexpr char digits[] = "0123456789abcdef";
      out += "\\x";
      out += digits[u >> 4];
      out += digits[u & 15];
    }
  }
  return out + "\"";
}

inline std::string describe(const properties& props) {
  std::ostringstream os;
  os << "[";
  bool first = true;
  for (const property p : props) {
    if (!first) os << ", ";
    first = false;
    os << name(p.id) << "=";
    if (!is_known(p.id)) {
      os << "?";
      continue;
    }
    switch (type_of(p.id)) {
      case property_type::utf8_string:
      case property_type::binary_data: os << quoted(p.text); break;
      case property_type::utf8_string_pair: os << quoted(p.text) << ":" << quoted(p.value); break;
      default: os << p.number; break;
    }
  }
  os << "]";
  return os.str();
}

inline std::string describe(const packet& pkt) {
  std::ostringstream os;
  os << to_string(type_of(pkt)) << "{";
  std::visit(
      [&os](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, connect>) {
          os << "version=" << static_cast<int>(p.version) << " clean=" << p.clean_start
             << " keep_alive=" << p.keep_alive << " client_id=" << quoted(p.client_id);
          if (p.username) os << " username=" << quoted(*p.username);
          if (p.password) os << " password=" << quoted(as_chars(*p.password));
          if (p.will)
            os << " will{topic=" << quoted(p.will->topic)
               << " payload=" << quoted(as_chars(p.will->payload))
               << " qos=" << static_cast<int>(p.will->q) << " retain=" << p.will->retain
               << " props=" << describe(p.will->props) << "}";
          os << " props=" << describe(p.props);
        } else if constexpr (std::is_same_v<P, connack>) {
          os << "session_present=" << p.session_present << " code=" << name(p.code)
             << " props=" << describe(p.props);
        } else if constexpr (std::is_same_v<P, publish>) {
          os << "topic=" << quoted(p.topic) << " payload=" << quoted(as_chars(p.payload))
             << " qos=" << static_cast<int>(p.q) << " retain=" << p.retain << " dup=" << p.dup
             << " packet_id=" << p.packet_id << " props=" << describe(p.props);
        } else if constexpr (std::is_same_v<P, subscribe>) {
          os << "packet_id=" << p.packet_id << " subscriptions=[";
          for (const subscription s : p.subscriptions)
            os << quoted(s.filter) << " qos=" << static_cast<int>(s.options.max_qos)
               << " nl=" << s.options.no_local << " rap=" << s.options.retain_as_published
               << " rh=" << static_cast<int>(s.options.retain) << "; ";
          os << "] props=" << describe(p.props);
        } else if constexpr (std::is_same_v<P, unsubscribe>) {
          os << "packet_id=" << p.packet_id << " filters=[";
          for (const std::string_view f : p.filters) os << quoted(f) << " ";
          os << "] props=" << describe(p.props);
        } else if constexpr (std::is_same_v<P, suback> || std::is_same_v<P, unsuback>) {
          os << "packet_id=" << p.packet_id << " codes=[";
          for (const reason_code c : p.codes) os << name(c) << " ";
          os << "] props=" << describe(p.props);
        } else if constexpr (std::is_same_v<P, disconnect> || std::is_same_v<P, auth>) {
          os << "code=" << name(p.code) << " props=" << describe(p.props);
        } else if constexpr (std::is_same_v<P, pingreq> || std::is_same_v<P, pingresp>) {
        } else {  // the four acks
          os << "packet_id=" << p.packet_id << " code=" << name(p.code)
             << " props=" << describe(p.props);
        }
      },
      pkt);
  os << "}";
  return os.str();
}

inline std::string describe(const decode_error& e) {
  return str(name(e.code)) + " at offset " + std::to_string(e.offset);
}

// --- decoding ------------------------------------------------------------------------------------

// Decodes `bytes`, which must hold exactly one packet, with decode_packet, with a decoder given
// everything at once and with a decoder given one byte per call; all three must agree. The
// returned packet's views point into `bytes`.
inline packet decode_all_ways(const byte_vector& bytes, const decoder_options& o) {
  std::size_t consumed = 0;
  auto whole = decode_packet(bytes, o, consumed);
  REQUIRE_MESSAGE(whole.has_value(), "decode_packet failed: " << describe(whole.error()));
  REQUIRE_MESSAGE(whole->has_value(), "decode_packet wants more bytes than the fixture holds");
  CHECK(consumed == bytes.size());
  const packet& p = **whole;

  {
    decoder d(o);
    bytes_view in(bytes);
    auto r = d.next(in);
    REQUIRE_MESSAGE(r.has_value(), "decoder failed: " << describe(r.error()));
    REQUIRE(r->has_value());
    CHECK(in.empty());
    CHECK_MESSAGE(**r == p, describe(**r) << " != " << describe(p));
  }
  {
    decoder d(o);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      bytes_view in(bytes.data() + i, 1);
      auto r = d.next(in);
      REQUIRE_MESSAGE(r.has_value(), "byte-wise decoder failed at byte " << i << ": "
                                                                         << describe(r.error()));
      CHECK(in.empty());
      if (i + 1 < bytes.size()) {
        REQUIRE_FALSE_MESSAGE(r->has_value(), "byte-wise decoder finished early at byte " << i);
      } else {
        REQUIRE(r->has_value());
        CHECK_MESSAGE(**r == p, describe(**r) << " != " << describe(p));
      }
    }
  }
  return p;
}

template <class P>
P decode_as(const byte_vector& bytes, const decoder_options& o) {
  packet p = decode_all_ways(bytes, o);
  REQUIRE_MESSAGE(std::holds_alternative<P>(p), "decoded " << describe(p));
  return std::get<P>(p);
}

// The error decoding `bytes` gives, the same through decode_packet, a decoder given everything
// and a decoder given one byte per call.
inline decode_error decode_failure(const byte_vector& bytes, const decoder_options& o) {
  std::size_t consumed = 0;
  auto whole = decode_packet(bytes, o, consumed);
  if (whole.has_value()) {
    if (whole->has_value())
      FAIL_CHECK("decoded " << describe(**whole) << " instead of failing");
    else
      FAIL_CHECK("decode_packet wants more bytes instead of failing");
    return {};
  }
  const decode_error e = whole.error();
  {
    decoder d(o);
    bytes_view in(bytes);
    auto r = d.next(in);
    REQUIRE_FALSE(r.has_value());
    CHECK_MESSAGE(r.error() == e, describe(r.error()) << " != " << describe(e));
    CHECK(d.failed());
  }
  {
    decoder d(o);
    bool failed = false;
    for (std::size_t i = 0; i < bytes.size() && !failed; ++i) {
      bytes_view in(bytes.data() + i, 1);
      auto r = d.next(in);
      if (!r.has_value()) {
        failed = true;
        CHECK_MESSAGE(r.error() == e, describe(r.error()) << " != " << describe(e));
      } else {
        REQUIRE_FALSE_MESSAGE(r->has_value(), "byte-wise decoder decoded at byte " << i);
      }
    }
    CHECK_MESSAGE(failed, "byte-wise decoder did not fail");
  }
  return e;
}

// Asserts that decoding fails with `code` at `offset`.
#define TERN_CHECK_DECODE_FAILS(bytes_, options_, code_, offset_)                      \
  do {                                                                                  \
    const ::tern::decode_error tern_e_ = ::tern::test::decode_failure(bytes_, options_); \
    CHECK(::tern::test::str(::tern::name(tern_e_.code)) ==                              \
          ::tern::test::str(::tern::name(code_)));                                      \
    CHECK(tern_e_.offset == (offset_));                                                 \
  } while (false)

// Asserts the code, and an offset in [lo, hi] where more than one byte may be blamed.
#define TERN_CHECK_DECODE_FAILS_NEAR(bytes_, options_, code_, lo_, hi_)                 \
  do {                                                                                  \
    const ::tern::decode_error tern_e_ = ::tern::test::decode_failure(bytes_, options_); \
    CHECK(::tern::test::str(::tern::name(tern_e_.code)) ==                              \
          ::tern::test::str(::tern::name(code_)));                                      \
    CHECK(tern_e_.offset >= (lo_));                                                     \
    CHECK(tern_e_.offset <= (hi_));                                                     \
  } while (false)

// --- encoding ------------------------------------------------------------------------------------

// Encodes `p` with encode(), with measure() + write() and through the packet variant; all must
// agree and the size must be what measure() said.
template <class P>
byte_vector encode_all_ways(const P& p, protocol_version v) {
  auto size = measure(p, v);
  REQUIRE_MESSAGE(size.has_value(), "measure failed: " << str(to_string(size.error())));
  byte_vector out(size->total + 8);
  auto n = encode(p, v, out);
  REQUIRE_MESSAGE(n.has_value(), "encode failed: " << str(to_string(n.error())));
  CHECK(*n == size->total);
  out.resize(*n);

  byte_vector written(size->total);
  write(p, v, *size, written.data());
  CHECK(to_hex(written) == to_hex(out));

  if constexpr (!std::is_same_v<P, packet>) {
    const packet variant = p;
    auto vsize = measure(variant, v);
    REQUIRE(vsize.has_value());
    CHECK(vsize->total == size->total);
    byte_vector via_variant(vsize->total);
    auto vn = encode(variant, v, via_variant);
    REQUIRE(vn.has_value());
    CHECK(to_hex(via_variant) == to_hex(out));
  }
  return out;
}

// The errc with which measure() and encode() refuse `p`.
template <class P>
errc encode_failure(const P& p, protocol_version v) {
  auto size = measure(p, v);
  byte_vector out(4096);
  auto n = encode(p, v, out);
  if (size.has_value()) {
    FAIL_CHECK("measure accepted the packet (" << size->total << " bytes)");
    return {};
  }
  if (n.has_value()) {
    FAIL_CHECK("encode accepted what measure refused");
    return size.error();
  }
  CHECK(str(to_string(n.error())) == str(to_string(size.error())));
  return size.error();
}

#define TERN_CHECK_ENCODE_FAILS(pkt_, version_, code_)                                         \
  CHECK(::tern::test::str(::tern::to_string(::tern::test::encode_failure(pkt_, version_))) == \
        ::tern::test::str(::tern::to_string(code_)))

// Decodes the fixture, compares the result with `expected`, then encodes both `expected` (the
// caller's arrays) and the decoded packet (wire views) and compares each with the fixture.
template <class P>
P check_fixture(const byte_vector& bytes, const P& expected, const decoder_options& o) {
  const P decoded = decode_as<P>(bytes, o);
  CHECK_MESSAGE(decoded == expected, "\n decoded  " << describe(packet(decoded))
                                                    << "\n expected " << describe(packet(expected)));
  CHECK(to_hex(encode_all_ways(expected, o.version)) == to_hex(bytes));
  CHECK(to_hex(encode_all_ways(decoded, o.version)) == to_hex(bytes));
  return decoded;
}

}  // namespace tern::test
