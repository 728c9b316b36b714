// Encoding: measure_*() validates a packet for a version and computes every length once;
// write_*() then writes the bytes with no checks and no second pass over the properties.
#include <algorithm>
#include <cstdint>
#include <variant>

#include "property_codec.hpp"
#include "tern/encoder.hpp"
#include "tern/topic.hpp"
#include "wire.hpp"

namespace tern {
namespace {

using detail::writer;
using size_result = result<packet_size, errc>;

constexpr bool is_v5(protocol_version v) noexcept { return v == protocol_version::v5; }

constexpr bool is_known_version(protocol_version v) noexcept {
  return v == protocol_version::v3_1 || v == protocol_version::v3_1_1 || v == protocol_version::v5;
}

// Adds the fixed header to a body of `remaining` bytes.
size_result finish(packet_size s, std::size_t remaining) noexcept {
  if (remaining > max_variable_integer) return unexpected{errc::packet_too_large};
  s.remaining_length = static_cast<std::uint32_t>(remaining);
  s.total = static_cast<std::uint32_t>(1 + varint_size(s.remaining_length) + remaining);
  return s;
}

result<std::size_t, errc> string_size(std::string_view s) noexcept {
  if (s.size() > max_string_size) return unexpected{errc::string_too_long};
  if (!is_valid_mqtt_utf8(s)) return unexpected{errc::invalid_utf8};
  return 2 + s.size();
}

result<std::size_t, errc> binary_size(bytes_view b) noexcept {
  if (b.size() > max_string_size) return unexpected{errc::string_too_long};
  return 2 + b.size();
}

errc topic_name_errc(topic_error e) noexcept {
  switch (e) {
    case topic_error::invalid_utf8:
    case topic_error::null_character: return errc::invalid_utf8;
    default: return errc::invalid_topic_name;
  }
}

// Property Length field plus the properties, or properties_need_v5 before 5.0.
result<std::size_t, errc> properties_block(const properties& props, property_scope where,
                                           protocol_version v, std::uint32_t& length) noexcept {
  length = 0;
  if (!is_v5(v)) {
    if (!props.empty()) return unexpected{errc::properties_need_v5};
    return std::size_t{0};
  }
  auto m = detail::measure_properties(props, where);
  if (!m) return unexpected{m.error()};
  length = *m;
  return varint_size(length) + length;
}

void write_fixed_header(writer& w, packet_type t, std::uint8_t flags,
                        std::uint32_t remaining) noexcept {
  w.u8(static_cast<std::uint8_t>((static_cast<unsigned>(t) << 4) | flags));
  w.varint(remaining);
}

// ---- CONNECT -------------------------------------------------------------------------------

std::string_view protocol_name(protocol_version v) noexcept {
  return v == protocol_version::v3_1 ? "MQIsdp" : "MQTT";
}

size_result measure_impl(const connect& c, protocol_version) noexcept {
  const protocol_version v = c.version;
  if (!is_known_version(v)) return unexpected{errc::unsupported_by_version};
  packet_size s;
  std::size_t n = 2 + protocol_name(v).size() + 1 + 1 + 2;
  auto props = properties_block(c.props, {packet_type::connect}, v, s.properties);
  if (!props) return unexpected{props.error()};
  n += *props;
  auto id = string_size(c.client_id);
  if (!id) return unexpected{id.error()};
  n += *id;
  if (c.will) {
    const will_message& w = *c.will;
    if (static_cast<unsigned>(w.q) > 2) return unexpected{errc::invalid_qos};
    if (auto t = validate_topic_name(w.topic); !t) return unexpected{topic_name_errc(t.error())};
    auto wp = properties_block(w.props, {packet_type::connect, true}, v, s.will_properties);
    if (!wp) return unexpected{wp.error()};
    auto payload = binary_size(w.payload);
    if (!payload) return unexpected{payload.error()};
    n += *wp + 2 + w.topic.size() + *payload;
  }
  if (c.username) {
    auto u = string_size(*c.username);
    if (!u) return unexpected{u.error()};
    n += *u;
  }
  if (c.password) {
    if (!is_v5(v) && !c.username) return unexpected{errc::invalid_connect};  // [MQTT-3.1.2-22]
    auto p = binary_size(*c.password);
    if (!p) return unexpected{p.error()};
    n += *p;
  }
  return finish(s, n);
}

void write_impl(const connect& c, protocol_version, const packet_size& s, writer& w) noexcept {
  const protocol_version v = c.version;
  write_fixed_header(w, packet_type::connect, 0, s.remaining_length);
  w.string(protocol_name(v));
  w.u8(static_cast<std::uint8_t>(v));
  std::uint8_t flags = c.clean_start ? 0x02u : 0x00u;
  if (c.will) {
    flags |= 0x04u;
    flags |= static_cast<std::uint8_t>(static_cast<unsigned>(c.will->q) << 3);
    if (c.will->retain) flags |= 0x20u;
  }
  if (c.password) flags |= 0x40u;
  if (c.username) flags |= 0x80u;
  w.u8(flags);
  w.u16(c.keep_alive);
  if (is_v5(v)) detail::write_properties(w, c.props, s.properties);
  w.string(c.client_id);
  if (c.will) {
    if (is_v5(v)) detail::write_properties(w, c.will->props, s.will_properties);
    w.string(c.will->topic);
    w.binary(c.will->payload);
  }
  if (c.username) w.string(*c.username);
  if (c.password) w.binary(*c.password);
}

// ---- CONNACK -------------------------------------------------------------------------------

size_result measure_impl(const connack& c, protocol_version v) noexcept {
  packet_size s;
  if (is_v5(v) ? !is_valid_for(c.code, packet_type::connack) : !to_v311_connack(c.code))
    return unexpected{errc::invalid_reason_code};
  if (c.session_present && c.code != reason_code::success)
    return unexpected{errc::invalid_reason_code};  // [MQTT-3.2.2-4]
  auto props = properties_block(c.props, {packet_type::connack}, v, s.properties);
  if (!props) return unexpected{props.error()};
  return finish(s, 2 + *props);
}

void write_impl(const connack& c, protocol_version v, const packet_size& s, writer& w) noexcept {
  write_fixed_header(w, packet_type::connack, 0, s.remaining_length);
  w.u8(c.session_present ? 1 : 0);
  w.u8(is_v5(v) ? static_cast<std::uint8_t>(c.code) : *to_v311_connack(c.code));
  if (is_v5(v)) detail::write_properties(w, c.props, s.properties);
}

// ---- PUBLISH -------------------------------------------------------------------------------

size_result measure_impl(const publish& p, protocol_version v) noexcept {
  packet_size s;
  if (static_cast<unsigned>(p.q) > 2) return unexpected{errc::invalid_qos};
  if (p.q == qos::at_most_once) {
    if (p.dup) return unexpected{errc::invalid_qos};  // DUP only on QoS 1/2 [MQTT-3.3.1-2]
    if (p.packet_id != 0) return unexpected{errc::invalid_packet_id};
  } else if (p.packet_id == 0) {
    return unexpected{errc::invalid_packet_id};
  }
  if (p.topic.empty()) {  // only with a Topic Alias, in 5.0
    if (!is_v5(v) || !p.props.contains(property_id::topic_alias))
      return unexpected{errc::invalid_topic_name};
  } else if (auto t = validate_topic_name(p.topic); !t) {
    return unexpected{topic_name_errc(t.error())};
  }
  auto props = properties_block(p.props, {packet_type::publish}, v, s.properties);
  if (!props) return unexpected{props.error()};
  s.payload = static_cast<std::uint32_t>(std::min<std::size_t>(p.payload.size(), UINT32_MAX));
  const std::size_t n = 2 + p.topic.size() + (p.q == qos::at_most_once ? 0 : 2) + *props +
                        p.payload.size();
  return finish(s, n);
}

void write_header_impl(const publish& p, protocol_version v, const packet_size& s,
                       writer& w) noexcept {
  std::uint8_t flags = static_cast<std::uint8_t>(static_cast<unsigned>(p.q) << 1);
  if (p.dup) flags |= 0x08u;
  if (p.retain) flags |= 0x01u;
  write_fixed_header(w, packet_type::publish, flags, s.remaining_length);
  w.string(p.topic);
  if (p.q != qos::at_most_once) w.u16(p.packet_id);
  if (is_v5(v)) detail::write_properties(w, p.props, s.properties);
}

void write_impl(const publish& p, protocol_version v, const packet_size& s, writer& w) noexcept {
  write_header_impl(p, v, s, w);
  w.bytes(p.payload);
}

// ---- PUBACK, PUBREC, PUBREL, PUBCOMP ---------------------------------------------------------

template <packet_type T>
size_result measure_impl(const basic_ack<T>& a, protocol_version v) noexcept {
  packet_size s;
  if (a.packet_id == 0) return unexpected{errc::invalid_packet_id};
  if (!is_v5(v)) {
    if (a.code != reason_code::success) return unexpected{errc::invalid_reason_code};
    if (!a.props.empty()) return unexpected{errc::properties_need_v5};
    return finish(s, 2);
  }
  if (!is_valid_for(a.code, T)) return unexpected{errc::invalid_reason_code};
  if (a.props.empty()) return finish(s, a.code == reason_code::success ? 2 : 3);
  auto props = properties_block(a.props, {T}, v, s.properties);
  if (!props) return unexpected{props.error()};
  return finish(s, 3 + *props);
}

template <packet_type T>
void write_impl(const basic_ack<T>& a, protocol_version v, const packet_size& s,
                writer& w) noexcept {
  write_fixed_header(w, T, T == packet_type::pubrel ? 0x02 : 0x00, s.remaining_length);
  w.u16(a.packet_id);
  if (s.remaining_length > 2) w.u8(static_cast<std::uint8_t>(a.code));
  if (s.remaining_length > 3) detail::write_properties(w, a.props, s.properties);
  (void)v;
}

// ---- SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK ----------------------------------------------

errc filter_errc(topic_error e) noexcept {
  switch (e) {
    case topic_error::invalid_utf8:
    case topic_error::null_character: return errc::invalid_utf8;
    default: return errc::invalid_topic_filter;
  }
}

std::uint8_t options_byte(const subscribe_options& o) noexcept {
  return static_cast<std::uint8_t>(static_cast<unsigned>(o.max_qos) | (o.no_local ? 0x04u : 0u) |
                                   (o.retain_as_published ? 0x08u : 0u) |
                                   (static_cast<unsigned>(o.retain) << 4));
}

size_result measure_impl(const subscribe& sub, protocol_version v) noexcept {
  packet_size s;
  if (sub.packet_id == 0) return unexpected{errc::invalid_packet_id};
  if (sub.subscriptions.empty()) return unexpected{errc::empty_list};
  auto props = properties_block(sub.props, {packet_type::subscribe}, v, s.properties);
  if (!props) return unexpected{props.error()};
  std::size_t n = 2 + *props;
  for (const subscription e : sub.subscriptions) {
    if (auto f = validate_topic_filter(e.filter, is_v5(v)); !f)
      return unexpected{filter_errc(f.error())};
    const subscribe_options& o = e.options;
    if (static_cast<unsigned>(o.max_qos) > 2) return unexpected{errc::invalid_qos};
    if (!is_v5(v)) {
      if (o.no_local || o.retain_as_published || o.retain != retain_handling::send_on_subscribe)
        return unexpected{errc::unsupported_by_version};
    } else if (static_cast<unsigned>(o.retain) > 2 ||
               (o.no_local && parse_shared_subscription(e.filter))) {
      return unexpected{errc::invalid_subscription_options};
    }
    n += 2 + e.filter.size() + 1;
    if (n > max_variable_integer) return unexpected{errc::packet_too_large};
  }
  return finish(s, n);
}

void write_impl(const subscribe& sub, protocol_version v, const packet_size& s,
                writer& w) noexcept {
  write_fixed_header(w, packet_type::subscribe, 0x02, s.remaining_length);
  w.u16(sub.packet_id);
  if (is_v5(v)) detail::write_properties(w, sub.props, s.properties);
  if (sub.subscriptions.is_wire()) {
    w.bytes(sub.subscriptions.wire());
    return;
  }
  for (const subscription e : sub.subscriptions) {
    w.string(e.filter);
    w.u8(options_byte(e.options));
  }
}

template <class Ack>
size_result measure_sub_ack(const Ack& a, protocol_version v) noexcept {
  packet_size s;
  if (a.packet_id == 0) return unexpected{errc::invalid_packet_id};
  if (!is_v5(v) && Ack::type == packet_type::unsuback) {  // 3.1.1 UNSUBACK has no payload
    if (!a.codes.empty()) return unexpected{errc::unsupported_by_version};
    if (!a.props.empty()) return unexpected{errc::properties_need_v5};
    return finish(s, 2);
  }
  if (a.codes.empty()) return unexpected{errc::empty_list};
  for (const reason_code c : a.codes) {
    const bool valid = is_v5(v) ? is_valid_for(c, Ack::type) : to_v311_suback(c).has_value();
    if (!valid) return unexpected{errc::invalid_reason_code};
  }
  auto props = properties_block(a.props, {Ack::type}, v, s.properties);
  if (!props) return unexpected{props.error()};
  return finish(s, 2 + *props + a.codes.size());
}

template <class Ack>
void write_sub_ack(const Ack& a, protocol_version v, const packet_size& s, writer& w) noexcept {
  write_fixed_header(w, Ack::type, 0, s.remaining_length);
  w.u16(a.packet_id);
  if (is_v5(v)) detail::write_properties(w, a.props, s.properties);
  for (const reason_code c : a.codes) w.u8(static_cast<std::uint8_t>(c));
}

size_result measure_impl(const suback& a, protocol_version v) noexcept {
  return measure_sub_ack(a, v);
}
void write_impl(const suback& a, protocol_version v, const packet_size& s, writer& w) noexcept {
  write_sub_ack(a, v, s, w);
}
size_result measure_impl(const unsuback& a, protocol_version v) noexcept {
  return measure_sub_ack(a, v);
}
void write_impl(const unsuback& a, protocol_version v, const packet_size& s, writer& w) noexcept {
  write_sub_ack(a, v, s, w);
}

size_result measure_impl(const unsubscribe& u, protocol_version v) noexcept {
  packet_size s;
  if (u.packet_id == 0) return unexpected{errc::invalid_packet_id};
  if (u.filters.empty()) return unexpected{errc::empty_list};
  auto props = properties_block(u.props, {packet_type::unsubscribe}, v, s.properties);
  if (!props) return unexpected{props.error()};
  std::size_t n = 2 + *props;
  for (const std::string_view f : u.filters) {
    if (auto r = validate_topic_filter(f, is_v5(v)); !r) return unexpected{filter_errc(r.error())};
    n += 2 + f.size();
    if (n > max_variable_integer) return unexpected{errc::packet_too_large};
  }
  return finish(s, n);
}

void write_impl(const unsubscribe& u, protocol_version v, const packet_size& s,
                writer& w) noexcept {
  write_fixed_header(w, packet_type::unsubscribe, 0x02, s.remaining_length);
  w.u16(u.packet_id);
  if (is_v5(v)) detail::write_properties(w, u.props, s.properties);
  for (const std::string_view f : u.filters) w.string(f);
}

// ---- PINGREQ, PINGRESP, DISCONNECT, AUTH ----------------------------------------------------

size_result measure_impl(const pingreq&, protocol_version) noexcept { return finish({}, 0); }
size_result measure_impl(const pingresp&, protocol_version) noexcept { return finish({}, 0); }
void write_impl(const pingreq&, protocol_version, const packet_size&, writer& w) noexcept {
  write_fixed_header(w, packet_type::pingreq, 0, 0);
}
void write_impl(const pingresp&, protocol_version, const packet_size&, writer& w) noexcept {
  write_fixed_header(w, packet_type::pingresp, 0, 0);
}

// DISCONNECT and AUTH: Reason Code and properties, both omitted when Success and empty.
template <class P>
size_result measure_reason_packet(const P& p, protocol_version v) noexcept {
  packet_size s;
  if (!is_v5(v)) {
    if (P::type == packet_type::auth) return unexpected{errc::unsupported_by_version};
    if (p.code != reason_code::success) return unexpected{errc::invalid_reason_code};
    if (!p.props.empty()) return unexpected{errc::properties_need_v5};
    return finish(s, 0);
  }
  if (!is_valid_for(p.code, P::type)) return unexpected{errc::invalid_reason_code};
  if (p.props.empty()) {
    if (p.code == reason_code::success) return finish(s, 0);
    // DISCONNECT may stop after the Reason Code; AUTH always carries a Property Length.
    return finish(s, P::type == packet_type::disconnect ? 1 : 2);
  }
  auto props = properties_block(p.props, {P::type}, v, s.properties);
  if (!props) return unexpected{props.error()};
  return finish(s, 1 + *props);
}

template <class P>
void write_reason_packet(const P& p, const packet_size& s, writer& w) noexcept {
  write_fixed_header(w, P::type, 0, s.remaining_length);
  if (s.remaining_length == 0) return;
  w.u8(static_cast<std::uint8_t>(p.code));
  if (s.remaining_length > 1) detail::write_properties(w, p.props, s.properties);
}

size_result measure_impl(const disconnect& d, protocol_version v) noexcept {
  return measure_reason_packet(d, v);
}
size_result measure_impl(const auth& a, protocol_version v) noexcept {
  return measure_reason_packet(a, v);
}
void write_impl(const disconnect& d, protocol_version, const packet_size& s, writer& w) noexcept {
  write_reason_packet(d, s, w);
}
void write_impl(const auth& a, protocol_version, const packet_size& s, writer& w) noexcept {
  write_reason_packet(a, s, w);
}

}  // namespace

template <packet_kind P>
result<packet_size, errc> measure(const P& p, protocol_version version) noexcept {
  return measure_impl(p, version);
}

template <packet_kind P>
void write(const P& p, protocol_version version, const packet_size& size, std::byte* out) noexcept {
  writer w(out);
  write_impl(p, version, size, w);
}

template <packet_kind P>
result<std::size_t, errc> encode(const P& p, protocol_version version, mutable_bytes out) noexcept {
  auto size = measure(p, version);
  if (!size) return unexpected{size.error()};
  if (out.size() < size->total) return unexpected{errc::buffer_too_small};
  write(p, version, *size, out.data());
  return std::size_t{size->total};
}

result<packet_size, errc> measure(const packet& p, protocol_version version) noexcept {
  return std::visit([version](const auto& x) { return measure(x, version); }, p);
}

void write(const packet& p, protocol_version version, const packet_size& size,
           std::byte* out) noexcept {
  std::visit([&](const auto& x) { write(x, version, size, out); }, p);
}

result<std::size_t, errc> encode(const packet& p, protocol_version version,
                                 mutable_bytes out) noexcept {
  return std::visit([&](const auto& x) { return encode(x, version, out); }, p);
}

void write_header(const publish& p, protocol_version version, const packet_size& size,
                  std::byte* out) noexcept {
  writer w(out);
  write_header_impl(p, version, size, w);
}

#define TERN_INSTANTIATE(P)                                                                 \
  template result<packet_size, errc> measure<P>(const P&, protocol_version) noexcept;       \
  template void write<P>(const P&, protocol_version, const packet_size&, std::byte*) noexcept; \
  template result<std::size_t, errc> encode<P>(const P&, protocol_version, mutable_bytes) noexcept;

TERN_INSTANTIATE(connect)
TERN_INSTANTIATE(connack)
TERN_INSTANTIATE(publish)
TERN_INSTANTIATE(puback)
TERN_INSTANTIATE(pubrec)
TERN_INSTANTIATE(pubrel)
TERN_INSTANTIATE(pubcomp)
TERN_INSTANTIATE(subscribe)
TERN_INSTANTIATE(suback)
TERN_INSTANTIATE(unsubscribe)
TERN_INSTANTIATE(unsuback)
TERN_INSTANTIATE(pingreq)
TERN_INSTANTIATE(pingresp)
TERN_INSTANTIATE(disconnect)
TERN_INSTANTIATE(auth)
#undef TERN_INSTANTIATE

}  // namespace tern
