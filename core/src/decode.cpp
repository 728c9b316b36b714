// Decoding of the fixed header and of each packet's body, for MQTT 3.1, 3.1.1 and 5.0.
//
// decode_frame() rejects what the first bytes already tell (type, flags, sender, length
// against the limit) so a stream decoder never buffers the body of a packet it will refuse.
// decode_body() reads each field through a bounded reader and checks every rule the spec gives
// a receiver; views point into the body. The first fault wins and names its byte offset.
#include <cstring>

#include "property_codec.hpp"
#include "tern/decoder.hpp"
#include "tern/topic.hpp"
#include "wire.hpp"

namespace tern {
namespace detail {

subscription list_wire<subscription>::read(const std::byte*& p) noexcept {
  const auto n = static_cast<std::size_t>((static_cast<unsigned>(p[0]) << 8) |
                                          static_cast<unsigned>(p[1]));
  subscription s;
  s.filter = {reinterpret_cast<const char*>(p + 2), n};
  const auto o = static_cast<std::uint8_t>(p[2 + n]);
  s.options.max_qos = static_cast<qos>(o & 0x03u);
  s.options.no_local = (o & 0x04u) != 0;
  s.options.retain_as_published = (o & 0x08u) != 0;
  s.options.retain = static_cast<retain_handling>((o >> 4) & 0x03u);
  p += 3 + n;
  return s;
}

std::string_view list_wire<std::string_view>::read(const std::byte*& p) noexcept {
  const auto n = static_cast<std::size_t>((static_cast<unsigned>(p[0]) << 8) |
                                          static_cast<unsigned>(p[1]));
  std::string_view s{reinterpret_cast<const char*>(p + 2), n};
  p += 2 + n;
  return s;
}

}  // namespace detail

namespace {

using detail::reader;
using result_t = result<packet, decode_error>;

constexpr bool is_v5(protocol_version v) noexcept { return v == protocol_version::v5; }

bool sent_by_server(packet_type t, protocol_version v) noexcept {
  switch (t) {
    case packet_type::connect:
    case packet_type::subscribe:
    case packet_type::unsubscribe:
    case packet_type::pingreq: return false;
    case packet_type::disconnect: return is_v5(v);  // servers send DISCONNECT only in 5.0
    default: return true;
  }
}

bool sent_by_client(packet_type t) noexcept {
  switch (t) {
    case packet_type::connack:
    case packet_type::suback:
    case packet_type::unsuback:
    case packet_type::pingresp: return false;
    default: return true;
  }
}

result_t fail(const reader& r) noexcept { return unexpected{r.error()}; }

// Fields that every packet with a packet identifier reads first [MQTT-2.2.1-3].
bool read_packet_id(reader& r, std::uint16_t& id) noexcept {
  const std::byte* at = r.position();
  if (!r.u16(id)) return false;
  if (id == 0) return r.fail_at(decode_errc::zero_packet_id, at);
  return true;
}

bool read_topic_name(reader& r, std::string_view& topic, bool may_be_empty) noexcept {
  const std::byte* at = r.position();
  bytes_view raw;
  if (!r.binary(raw)) return false;
  topic = as_chars(raw);
  if (topic.empty()) return may_be_empty || r.fail_at(decode_errc::topic_name_invalid, at);
  const auto valid = validate_topic_name(topic);
  if (valid) return true;
  switch (valid.error()) {
    case topic_error::invalid_utf8: return r.fail_at(decode_errc::invalid_utf8, at);
    case topic_error::null_character: return r.fail_at(decode_errc::utf8_null_character, at);
    default: return r.fail_at(decode_errc::topic_name_invalid, at);
  }
}

bool read_filter(reader& r, std::string_view& filter, protocol_version v) noexcept {
  const std::byte* at = r.position();
  bytes_view raw;
  if (!r.binary(raw)) return false;
  filter = as_chars(raw);
  const auto valid = validate_topic_filter(filter, is_v5(v));  // UTF-8 checked there, once
  if (valid) return true;
  switch (valid.error()) {
    case topic_error::invalid_utf8: return r.fail_at(decode_errc::invalid_utf8, at);
    case topic_error::null_character: return r.fail_at(decode_errc::utf8_null_character, at);
    default: return r.fail_at(decode_errc::topic_filter_invalid, at);
  }
}

bool expect_end(reader& r) noexcept {
  return r.at_end() || r.fail(decode_errc::trailing_bytes);
}

bool read_reason(reader& r, packet_type on, reason_code& code) noexcept {
  const std::byte* at = r.position();
  std::uint8_t b;
  if (!r.u8(b)) return false;
  code = static_cast<reason_code>(b);
  if (!is_valid_for(code, on)) return r.fail_at(decode_errc::invalid_reason_code, at);
  return true;
}

result_t decode_connect(reader& r) noexcept {
  connect c;
  const std::byte* name_at = r.position();
  bytes_view name;
  std::uint8_t level;
  if (!r.binary(name) || !r.u8(level)) return fail(r);
  const std::string_view n = as_chars(name);
  if (n != "MQTT" && n != "MQIsdp") {
    r.fail_at(decode_errc::invalid_protocol_name, name_at);
    return fail(r);
  }
  if (level < 3 || level > 5) {
    r.fail_at(decode_errc::unsupported_protocol_version, r.position() - 1);
    return fail(r);
  }
  if ((n == "MQIsdp") != (level == 3)) {
    r.fail_at(decode_errc::invalid_protocol_name, name_at);
    return fail(r);
  }
  c.version = static_cast<protocol_version>(level);
  const bool v5 = is_v5(c.version);

  const std::byte* flags_at = r.position();
  std::uint8_t flags;
  if (!r.u8(flags) || !r.u16(c.keep_alive)) return fail(r);
  const bool has_will = (flags & 0x04u) != 0;
  const auto will_qos = static_cast<std::uint8_t>((flags >> 3) & 0x03u);
  const bool will_retain = (flags & 0x20u) != 0;
  const bool has_password = (flags & 0x40u) != 0;
  const bool has_username = (flags & 0x80u) != 0;
  c.clean_start = (flags & 0x02u) != 0;
  if ((flags & 0x01u) != 0 ||                             // [MQTT-3.1.2-3]
      (!has_will && (will_qos != 0 || will_retain)) ||    // [MQTT-3.1.2-11, -13, -15]
      (!v5 && has_password && !has_username)) {           // [MQTT-3.1.2-22]
    r.fail_at(decode_errc::invalid_connect_flags, flags_at);
    return fail(r);
  }
  if (will_qos == 3) {
    r.fail_at(decode_errc::invalid_qos, flags_at);
    return fail(r);
  }
  if (v5 && !detail::read_properties(r, {packet_type::connect}, c.props)) return fail(r);
  if (!r.utf8(c.client_id)) return fail(r);
  if (has_will) {
    will_message w;
    w.q = static_cast<qos>(will_qos);
    w.retain = will_retain;
    if (v5 && !detail::read_properties(r, {packet_type::connect, true}, w.props)) return fail(r);
    if (!read_topic_name(r, w.topic, false) || !r.binary(w.payload)) return fail(r);
    c.will = w;
  }
  if (has_username) {
    std::string_view u;
    if (!r.utf8(u)) return fail(r);
    c.username = u;
  }
  if (has_password) {
    bytes_view p;
    if (!r.binary(p)) return fail(r);
    c.password = p;
  }
  if (!expect_end(r)) return fail(r);
  return c;
}

result_t decode_connack(reader& r, protocol_version v) noexcept {
  connack c;
  const std::byte* flags_at = r.position();
  std::uint8_t flags;
  std::uint8_t code;
  if (!r.u8(flags) || !r.u8(code)) return fail(r);
  if ((flags & 0xFEu) != 0) {  // [MQTT-3.2.2-1]
    r.fail_at(decode_errc::invalid_connack_flags, flags_at);
    return fail(r);
  }
  c.session_present = (flags & 0x01u) != 0;
  if (is_v5(v)) {
    c.code = static_cast<reason_code>(code);
    if (!is_valid_for(c.code, packet_type::connack)) {
      r.fail_at(decode_errc::invalid_reason_code, flags_at + 1);
      return fail(r);
    }
  } else {
    const auto mapped = from_v311_connack(code);
    if (!mapped) {
      r.fail_at(decode_errc::invalid_reason_code, flags_at + 1);
      return fail(r);
    }
    c.code = *mapped;
  }
  if (c.session_present && c.code != reason_code::success) {  // [MQTT-3.2.2-4], 5.0 [-6]
    r.fail_at(decode_errc::session_present_on_failure, flags_at);
    return fail(r);
  }
  if (is_v5(v) && !detail::read_properties(r, {packet_type::connack}, c.props)) return fail(r);
  if (!expect_end(r)) return fail(r);
  return c;
}

result_t decode_publish(reader& r, const frame& f, protocol_version v, sender from) noexcept {
  publish p;
  p.dup = (f.flags & 0x08u) != 0;
  p.q = static_cast<qos>((f.flags >> 1) & 0x03u);
  p.retain = (f.flags & 0x01u) != 0;
  const std::byte* topic_at = r.position();
  if (!read_topic_name(r, p.topic, is_v5(v))) return fail(r);
  if (p.q != qos::at_most_once && !read_packet_id(r, p.packet_id)) return fail(r);
  if (is_v5(v)) {
    const auto forbidden = from == sender::client
                               ? std::optional(property_id::subscription_identifier)
                               : std::nullopt;  // [MQTT-3.3.4-6]
    if (!detail::read_properties(r, {packet_type::publish}, p.props, forbidden)) return fail(r);
    if (p.topic.empty() && !p.props.contains(property_id::topic_alias)) {
      r.fail_at(decode_errc::missing_topic_name, topic_at);  // [MQTT 5.0 3.3.2.1]
      return fail(r);
    }
  }
  p.payload = r.rest();
  return p;
}

template <class Ack>
result_t decode_ack(reader& r, protocol_version v) noexcept {
  Ack a;
  if (!read_packet_id(r, a.packet_id)) return fail(r);
  if (is_v5(v) && !r.at_end()) {  // short forms: no reason code means Success
    if (!read_reason(r, Ack::type, a.code)) return fail(r);
    if (!r.at_end() && !detail::read_properties(r, {Ack::type}, a.props)) return fail(r);
  }
  if (!expect_end(r)) return fail(r);
  return a;
}

result_t decode_subscribe(reader& r, protocol_version v) noexcept {
  subscribe s;
  if (!read_packet_id(r, s.packet_id)) return fail(r);
  if (is_v5(v) && !detail::read_properties(r, {packet_type::subscribe}, s.props)) return fail(r);
  const std::byte* first = r.position();
  std::uint32_t count = 0;
  while (!r.at_end()) {
    std::string_view filter;
    if (!read_filter(r, filter, v)) return fail(r);
    const std::byte* options_at = r.position();
    std::uint8_t o;
    if (!r.u8(o)) return fail(r);
    const std::uint8_t reserved = is_v5(v) ? 0xC0u : 0xFCu;  // [MQTT-3.8.3-5]
    if ((o & reserved) != 0) {
      r.fail_at(decode_errc::invalid_subscription_options, options_at);
      return fail(r);
    }
    if ((o & 0x03u) == 3) {
      r.fail_at(decode_errc::invalid_qos, options_at);
      return fail(r);
    }
    if (((o >> 4) & 0x03u) == 3) {
      r.fail_at(decode_errc::invalid_retain_handling, options_at);
      return fail(r);
    }
    if ((o & 0x04u) != 0 && is_v5(v) && filter.starts_with("$share/")) {  // [MQTT-3.8.3-4]
      r.fail_at(decode_errc::no_local_on_shared_subscription, options_at);
      return fail(r);
    }
    ++count;
  }
  if (count == 0) {  // [MQTT-3.8.3-3]
    r.fail(decode_errc::empty_list);
    return fail(r);
  }
  s.subscriptions = subscription_list::from_wire({first, r.position()}, count);
  return s;
}

template <class Ack>
result_t decode_sub_ack(reader& r, protocol_version v) noexcept {
  Ack a;
  if (!read_packet_id(r, a.packet_id)) return fail(r);
  if (!is_v5(v) && Ack::type == packet_type::unsuback) {  // 3.1.1 UNSUBACK has no payload
    if (!expect_end(r)) return fail(r);
    return a;
  }
  if (is_v5(v) && !detail::read_properties(r, {Ack::type}, a.props)) return fail(r);
  const std::byte* first = r.position();
  const std::uint32_t count = static_cast<std::uint32_t>(r.left());
  if (count == 0) {
    r.fail(decode_errc::empty_list);
    return fail(r);
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto b = static_cast<std::uint8_t>(first[i]);
    const auto code = static_cast<reason_code>(b);
    const bool valid = is_v5(v) ? is_valid_for(code, Ack::type)
                                : (b <= 2 || b == 0x80);  // 3.1.1 SUBACK return codes
    if (!valid) {
      r.fail_at(decode_errc::invalid_reason_code, first + i);
      return fail(r);
    }
  }
  a.codes = reason_code_list::from_wire(r.rest(), count);
  return a;
}

result_t decode_unsubscribe(reader& r, protocol_version v) noexcept {
  unsubscribe u;
  if (!read_packet_id(r, u.packet_id)) return fail(r);
  if (is_v5(v) && !detail::read_properties(r, {packet_type::unsubscribe}, u.props))
    return fail(r);
  const std::byte* first = r.position();
  std::uint32_t count = 0;
  while (!r.at_end()) {
    std::string_view filter;
    if (!read_filter(r, filter, v)) return fail(r);
    ++count;
  }
  if (count == 0) {  // [MQTT-3.10.3-2]
    r.fail(decode_errc::empty_list);
    return fail(r);
  }
  u.filters = topic_filter_list::from_wire({first, r.position()}, count);
  return u;
}

template <class P>
result_t decode_reason_and_properties(reader& r, protocol_version v, sender from) noexcept {
  P p;
  if (!is_v5(v) || r.at_end()) {  // Remaining Length 0: Success / Normal disconnection
    if (!expect_end(r)) return fail(r);
    return p;
  }
  if (!read_reason(r, P::type, p.code)) return fail(r);
  // A server must not send Session Expiry Interval in DISCONNECT [MQTT-3.14.2-2].
  const auto forbidden = P::type == packet_type::disconnect && from == sender::server
                             ? std::optional(property_id::session_expiry_interval)
                             : std::nullopt;
  if (!r.at_end() && !detail::read_properties(r, {P::type}, p.props, forbidden)) return fail(r);
  if (!expect_end(r)) return fail(r);
  return p;
}

}  // namespace

result<std::optional<frame>, decode_error> decode_frame(bytes_view in,
                                                        const decoder_options& options) noexcept {
  if (in.empty()) return std::optional<frame>{};
  const auto first = static_cast<std::uint8_t>(in[0]);
  const auto type = static_cast<packet_type>(first >> 4);
  const auto flags = static_cast<std::uint8_t>(first & 0x0Fu);
  const protocol_version v = options.version;
  auto fail_at = [](decode_errc e, std::uint32_t offset) {
    return unexpected{decode_error{e, offset}};
  };

  if (type == packet_type{0} || (type == packet_type::auth && !is_v5(v)))
    return fail_at(decode_errc::reserved_packet_type, 0);
  if ((options.from == sender::server && !sent_by_server(type, v)) ||
      (options.from == sender::client && !sent_by_client(type)))
    return fail_at(decode_errc::unexpected_packet, 0);
  switch (type) {
    case packet_type::publish: {
      const auto q = (flags >> 1) & 0x03u;
      if (q == 3) return fail_at(decode_errc::invalid_qos, 0);
      if (q == 0 && (flags & 0x08u) != 0) return fail_at(decode_errc::dup_on_qos0, 0);
      break;
    }
    case packet_type::pubrel:
    case packet_type::subscribe:
    case packet_type::unsubscribe:  // [MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1]
      if (flags != 0x02u) return fail_at(decode_errc::invalid_fixed_header_flags, 0);
      break;
    default:
      if (flags != 0) return fail_at(decode_errc::invalid_fixed_header_flags, 0);
      break;
  }

  const varint_read length = read_varint(in.subspan(1));
  switch (length.status) {
    case varint_status::ok: break;
    case varint_status::incomplete: return std::optional<frame>{};
    case varint_status::too_long: return fail_at(decode_errc::variable_integer_too_long, 1);
    case varint_status::non_minimal:
      if (is_v5(v)) return fail_at(decode_errc::non_minimal_variable_integer, 1);
      break;
  }
  frame f{type, flags, static_cast<std::uint8_t>(1 + length.size), length.value};
  if (f.size() > options.maximum_packet_size)
    return fail_at(decode_errc::packet_too_large, 1);
  return std::optional<frame>{f};
}

result<packet, decode_error> decode_body(const frame& f, bytes_view body,
                                         const decoder_options& options) noexcept {
  reader r(body, f.header_size);
  const protocol_version v = options.version;
  switch (f.type) {
    case packet_type::connect: return decode_connect(r);
    case packet_type::connack: return decode_connack(r, v);
    case packet_type::publish: return decode_publish(r, f, v, options.from);
    case packet_type::puback: return decode_ack<puback>(r, v);
    case packet_type::pubrec: return decode_ack<pubrec>(r, v);
    case packet_type::pubrel: return decode_ack<pubrel>(r, v);
    case packet_type::pubcomp: return decode_ack<pubcomp>(r, v);
    case packet_type::subscribe: return decode_subscribe(r, v);
    case packet_type::suback: return decode_sub_ack<suback>(r, v);
    case packet_type::unsubscribe: return decode_unsubscribe(r, v);
    case packet_type::unsuback: return decode_sub_ack<unsuback>(r, v);
    case packet_type::pingreq:
      if (!expect_end(r)) return fail(r);
      return pingreq{};
    case packet_type::pingresp:
      if (!expect_end(r)) return fail(r);
      return pingresp{};
    case packet_type::disconnect:
      return decode_reason_and_properties<disconnect>(r, v, options.from);
    case packet_type::auth: return decode_reason_and_properties<auth>(r, v, options.from);
  }
  return unexpected{decode_error{decode_errc::reserved_packet_type, 0}};
}

result<std::optional<packet>, decode_error> decode_packet(bytes_view in,
                                                          const decoder_options& options,
                                                          std::size_t& consumed) noexcept {
  consumed = 0;
  auto f = decode_frame(in, options);
  if (!f) return unexpected{f.error()};
  if (!*f || in.size() < (*f)->size()) return std::optional<packet>{};
  auto p = decode_body(**f, in.subspan((*f)->header_size, (*f)->remaining_length), options);
  if (!p) return unexpected{p.error()};
  consumed = (*f)->size();
  return std::optional<packet>{std::move(*p)};
}

}  // namespace tern
