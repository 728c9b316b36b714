// The property table of MQTT 5.0 section 2.2.2.2 and the code that reads, checks and writes
// Property lists. Decoding and encoding apply the same value rules (check_value) so that the
// encoder never emits what the decoder would reject.
#include "tern/properties.hpp"

#include <array>

#include "property_codec.hpp"
#include "tern/topic.hpp"

namespace tern {
namespace {

constexpr std::uint32_t in(packet_type t) noexcept { return 1u << static_cast<unsigned>(t); }
constexpr std::uint32_t will_props = 1u << 16;  // the Will Properties of CONNECT

constexpr std::uint32_t connect = in(packet_type::connect);
constexpr std::uint32_t connack = in(packet_type::connack);
constexpr std::uint32_t publish = in(packet_type::publish);
constexpr std::uint32_t acks = in(packet_type::puback) | in(packet_type::pubrec) |
                               in(packet_type::pubrel) | in(packet_type::pubcomp);
constexpr std::uint32_t subscribe = in(packet_type::subscribe);
constexpr std::uint32_t suback = in(packet_type::suback);
constexpr std::uint32_t unsubscribe = in(packet_type::unsubscribe);
constexpr std::uint32_t unsuback = in(packet_type::unsuback);
constexpr std::uint32_t disconnect = in(packet_type::disconnect);
constexpr std::uint32_t auth = in(packet_type::auth);

struct row {
  std::string_view name;
  property_type type;
  std::uint32_t places;  // 0: identifier not defined
};

constexpr std::size_t table_size = 0x2B;

constexpr std::array<row, table_size> make_table() {
  std::array<row, table_size> t{};
  using T = property_type;
  auto set = [&t](property_id id, std::string_view n, T ty, std::uint32_t p) {
    t[static_cast<std::size_t>(id)] = {n, ty, p};
  };
  set(property_id::payload_format_indicator, "payload_format_indicator", T::byte,
      publish | will_props);
  set(property_id::message_expiry_interval, "message_expiry_interval", T::four_byte_integer,
      publish | will_props);
  set(property_id::content_type, "content_type", T::utf8_string, publish | will_props);
  set(property_id::response_topic, "response_topic", T::utf8_string, publish | will_props);
  set(property_id::correlation_data, "correlation_data", T::binary_data, publish | will_props);
  set(property_id::subscription_identifier, "subscription_identifier",
      T::variable_byte_integer, publish | subscribe);
  set(property_id::session_expiry_interval, "session_expiry_interval", T::four_byte_integer,
      connect | connack | disconnect);
  set(property_id::assigned_client_identifier, "assigned_client_identifier", T::utf8_string,
      connack);
  set(property_id::server_keep_alive, "server_keep_alive", T::two_byte_integer, connack);
  set(property_id::authentication_method, "authentication_method", T::utf8_string,
      connect | connack | auth);
  set(property_id::authentication_data, "authentication_data", T::binary_data,
      connect | connack | auth);
  set(property_id::request_problem_information, "request_problem_information", T::byte,
      connect);
  set(property_id::will_delay_interval, "will_delay_interval", T::four_byte_integer,
      will_props);
  set(property_id::request_response_information, "request_response_information", T::byte,
      connect);
  set(property_id::response_information, "response_information", T::utf8_string, connack);
  set(property_id::server_reference, "server_reference", T::utf8_string, connack | disconnect);
  set(property_id::reason_string, "reason_string", T::utf8_string,
      connack | acks | suback | unsuback | disconnect | auth);
  set(property_id::receive_maximum, "receive_maximum", T::two_byte_integer, connect | connack);
  set(property_id::topic_alias_maximum, "topic_alias_maximum", T::two_byte_integer,
      connect | connack);
  set(property_id::topic_alias, "topic_alias", T::two_byte_integer, publish);
  set(property_id::maximum_qos, "maximum_qos", T::byte, connack);
  set(property_id::retain_available, "retain_available", T::byte, connack);
  set(property_id::user_property, "user_property", T::utf8_string_pair,
      connect | connack | publish | will_props | acks | subscribe | suback | unsubscribe |
          unsuback | disconnect | auth);
  set(property_id::maximum_packet_size, "maximum_packet_size", T::four_byte_integer,
      connect | connack);
  set(property_id::wildcard_subscription_available, "wildcard_subscription_available", T::byte,
      connack);
  set(property_id::subscription_identifier_available, "subscription_identifier_available",
      T::byte, connack);
  set(property_id::shared_subscription_available, "shared_subscription_available", T::byte,
      connack);
  return t;
}

constexpr std::array<row, table_size> table = make_table();

const row* lookup(std::uint32_t id) noexcept {
  if (id >= table_size || table[id].places == 0) return nullptr;
  return &table[id];
}

std::uint32_t place_bit(property_scope where) noexcept {
  return where.will ? will_props : in(where.packet);
}

enum class verdict { ok, invalid, alias_zero };

// Value rules the spec states per property; the same for decoding and encoding.
verdict check_value(const property& p) noexcept {
  switch (p.id) {
    case property_id::payload_format_indicator:
    case property_id::request_problem_information:
    case property_id::request_response_information:
    case property_id::maximum_qos:
    case property_id::retain_available:
    case property_id::wildcard_subscription_available:
    case property_id::subscription_identifier_available:
    case property_id::shared_subscription_available:
      return p.number <= 1 ? verdict::ok : verdict::invalid;
    case property_id::receive_maximum:
    case property_id::maximum_packet_size:
    case property_id::subscription_identifier:
      return p.number != 0 ? verdict::ok : verdict::invalid;
    case property_id::topic_alias:
      return p.number != 0 ? verdict::ok : verdict::alias_zero;
    case property_id::response_topic:  // a Topic Name: no wildcards [MQTT-3.3.2-14]
      return is_valid_topic_name(p.text) ? verdict::ok : verdict::invalid;
    default: return verdict::ok;
  }
}

std::uint64_t id_bit(property_id id) noexcept {
  return std::uint64_t{1} << static_cast<unsigned>(id);
}

constexpr std::uint64_t auth_data_bit = std::uint64_t{1}
                                        << static_cast<unsigned>(property_id::authentication_data);
constexpr std::uint64_t auth_method_bit =
    std::uint64_t{1} << static_cast<unsigned>(property_id::authentication_method);

bool data_without_method(std::uint64_t seen) noexcept {
  return (seen & auth_data_bit) != 0 && (seen & auth_method_bit) == 0;
}

}  // namespace

bool is_known(property_id id) noexcept { return lookup(static_cast<std::uint32_t>(id)); }

property_type type_of(property_id id) noexcept {
  const row* r = lookup(static_cast<std::uint32_t>(id));
  return r ? r->type : property_type::byte;
}

std::string_view name(property_id id) noexcept {
  const row* r = lookup(static_cast<std::uint32_t>(id));
  return r ? r->name : "unknown";
}

bool is_allowed(property_id id, property_scope where) noexcept {
  const row* r = lookup(static_cast<std::uint32_t>(id));
  return r != nullptr && (r->places & place_bit(where)) != 0;
}

bool may_repeat(property_id id, property_scope where) noexcept {
  if (id == property_id::user_property) return true;
  return id == property_id::subscription_identifier && !where.will &&
         where.packet == packet_type::publish;
}

property properties::iterator::operator*() const noexcept {
  if (!wire_) return *static_cast<const property*>(pos_);
  const auto* p = static_cast<const std::byte*>(pos_);
  return detail::read_validated_property(p);
}

properties::iterator& properties::iterator::operator++() noexcept {
  if (!wire_) {
    pos_ = static_cast<const property*>(pos_) + 1;
  } else {
    const auto* p = static_cast<const std::byte*>(pos_);
    (void)detail::read_validated_property(p);
    pos_ = p;
  }
  return *this;
}

properties::iterator properties::end() const noexcept {
  if (wire_) return {static_cast<const std::byte*>(data_) + size_, true};
  return {static_cast<const property*>(data_) + count_, false};
}

std::optional<property> properties::find(property_id id) const noexcept {
  for (property p : *this)
    if (p.id == id) return p;
  return std::nullopt;
}

std::optional<std::uint32_t> properties::number(property_id id) const noexcept {
  auto p = find(id);
  if (!p) return std::nullopt;
  return p->number;
}

std::optional<std::string_view> properties::text(property_id id) const noexcept {
  auto p = find(id);
  if (!p) return std::nullopt;
  return p->text;
}

bool operator==(const properties& a, const properties& b) noexcept {
  if (a.count_ != b.count_) return false;
  auto j = b.begin();
  for (auto i = a.begin(); i != a.end(); ++i, ++j)
    if (!(*i == *j)) return false;
  return true;
}

namespace detail {

bool read_properties(reader& r, property_scope where, properties& out,
                     std::optional<property_id> forbidden) noexcept {
  const std::byte* length_at = r.position();
  if (r.left() != 0 && *length_at == std::byte{0}) {  // most packets carry no properties
    (void)r.skip(1);
    out = properties{};
    return true;
  }
  std::uint32_t length;
  if (!r.varint(length)) return false;
  if (length > r.left()) return r.fail_at(decode_errc::truncated, length_at);

  const std::byte* start = r.position();
  reader pr({start, length}, r.offset());
  std::uint64_t seen = 0;
  std::uint32_t count = 0;
  while (!pr.at_end()) {
    const std::byte* at = pr.position();
    std::uint32_t raw_id;
    if (!pr.varint(raw_id)) return r.fail_with(pr.error());
    const row* info = lookup(raw_id);
    if (info == nullptr) return r.fail_at(decode_errc::unknown_property, at);
    const auto id = static_cast<property_id>(raw_id);
    if ((info->places & place_bit(where)) == 0 || id == forbidden)
      return r.fail_at(decode_errc::property_not_allowed, at);
    if ((seen & id_bit(id)) != 0 && !may_repeat(id, where))
      return r.fail_at(decode_errc::duplicate_property, at);
    seen |= id_bit(id);

    property p{id, 0, {}, {}};
    bool ok = true;
    switch (info->type) {
      case property_type::byte: {
        std::uint8_t v = 0;
        ok = pr.u8(v);
        p.number = v;
        break;
      }
      case property_type::two_byte_integer: {
        std::uint16_t v = 0;
        ok = pr.u16(v);
        p.number = v;
        break;
      }
      case property_type::four_byte_integer: ok = pr.u32(p.number); break;
      case property_type::variable_byte_integer: ok = pr.varint(p.number); break;
      case property_type::utf8_string: ok = pr.utf8(p.text); break;
      case property_type::binary_data: {
        bytes_view b;
        ok = pr.binary(b);
        p.text = as_chars(b);
        break;
      }
      case property_type::utf8_string_pair: ok = pr.utf8(p.text) && pr.utf8(p.value); break;
    }
    if (!ok) return r.fail_with(pr.error());
    switch (check_value(p)) {
      case verdict::ok: break;
      case verdict::invalid: return r.fail_at(decode_errc::invalid_property_value, at);
      case verdict::alias_zero: return r.fail_at(decode_errc::topic_alias_zero, at);
    }
    ++count;
  }
  if (data_without_method(seen))
    return r.fail_at(decode_errc::authentication_data_without_method, length_at);
  (void)r.skip(length);
  out = properties::from_wire({start, length}, count);
  return true;
}

property read_validated_property(const std::byte*& p) noexcept {
  // Every defined identifier is below 128, so it occupies one byte.
  const auto id = static_cast<property_id>(*p++);
  auto u16 = [&p] {
    const auto v = static_cast<std::uint32_t>((static_cast<unsigned>(p[0]) << 8) |
                                              static_cast<unsigned>(p[1]));
    p += 2;
    return v;
  };
  auto str = [&p, &u16] {
    const std::uint32_t n = u16();
    std::string_view s{reinterpret_cast<const char*>(p), n};
    p += n;
    return s;
  };
  property out{id, 0, {}, {}};
  switch (table[static_cast<std::size_t>(id)].type) {
    case property_type::byte: out.number = static_cast<std::uint8_t>(*p++); break;
    case property_type::two_byte_integer: out.number = u16(); break;
    case property_type::four_byte_integer:
      out.number = (u16() << 16);
      out.number |= u16();
      break;
    case property_type::variable_byte_integer: {
      const varint_read v = read_varint({p, 4});
      out.number = v.value;
      p += v.size;
      break;
    }
    case property_type::utf8_string:
    case property_type::binary_data: out.text = str(); break;
    case property_type::utf8_string_pair:
      out.text = str();
      out.value = str();
      break;
  }
  return out;
}

namespace {

// The encoded size of one property's value, or an error when a field does not fit its type.
result<std::size_t, errc> value_size(const property& p, property_type type) noexcept {
  const bool no_text = p.text.empty() && p.value.empty();
  auto string_size = [](std::string_view s, bool utf8) -> result<std::size_t, errc> {
    if (s.size() > max_string_size) return unexpected{errc::string_too_long};
    if (utf8 && !is_valid_mqtt_utf8(s)) return unexpected{errc::invalid_utf8};
    return 2 + s.size();
  };
  switch (type) {
    case property_type::byte:
      if (p.number > 0xFFu || !no_text) return unexpected{errc::invalid_property_value};
      return std::size_t{1};
    case property_type::two_byte_integer:
      if (p.number > 0xFFFFu || !no_text) return unexpected{errc::invalid_property_value};
      return std::size_t{2};
    case property_type::four_byte_integer:
      if (!no_text) return unexpected{errc::invalid_property_value};
      return std::size_t{4};
    case property_type::variable_byte_integer:
      if (p.number > max_variable_integer || !no_text)
        return unexpected{errc::invalid_property_value};
      return varint_size(p.number);
    case property_type::utf8_string:
    case property_type::binary_data:
      if (p.number != 0 || !p.value.empty()) return unexpected{errc::invalid_property_value};
      return string_size(p.text, type == property_type::utf8_string);
    case property_type::utf8_string_pair: {
      if (p.number != 0) return unexpected{errc::invalid_property_value};
      auto a = string_size(p.text, true);
      if (!a) return a;
      auto b = string_size(p.value, true);
      if (!b) return b;
      return *a + *b;
    }
  }
  return unexpected{errc::invalid_property_value};
}

}  // namespace

result<std::uint32_t, errc> measure_properties(const properties& props,
                                               property_scope where) noexcept {
  if (props.empty()) return std::uint32_t{0};
  std::uint64_t seen = 0;
  std::size_t total = 0;
  for (const property p : props) {
    const row* info = lookup(static_cast<std::uint32_t>(p.id));
    if (info == nullptr || (info->places & place_bit(where)) == 0)
      return unexpected{errc::property_not_allowed};
    if ((seen & id_bit(p.id)) != 0 && !may_repeat(p.id, where))
      return unexpected{errc::duplicate_property};
    seen |= id_bit(p.id);
    auto size = value_size(p, info->type);
    if (!size) return unexpected{size.error()};
    if (check_value(p) != verdict::ok) return unexpected{errc::invalid_property_value};
    total += 1 + *size;
    if (total > max_variable_integer) return unexpected{errc::packet_too_large};
  }
  if (data_without_method(seen)) return unexpected{errc::invalid_property_value};
  return static_cast<std::uint32_t>(total);
}

void write_properties(writer& w, const properties& props, std::uint32_t length) noexcept {
  w.varint(length);
  if (props.is_wire()) {
    w.bytes(props.wire());
    return;
  }
  for (const property p : props) {
    w.u8(static_cast<std::uint8_t>(p.id));
    switch (type_of(p.id)) {
      case property_type::byte: w.u8(static_cast<std::uint8_t>(p.number)); break;
      case property_type::two_byte_integer: w.u16(static_cast<std::uint16_t>(p.number)); break;
      case property_type::four_byte_integer: w.u32(p.number); break;
      case property_type::variable_byte_integer: w.varint(p.number); break;
      case property_type::utf8_string: w.string(p.text); break;
      case property_type::binary_data: w.binary(p.binary()); break;
      case property_type::utf8_string_pair:
        w.string(p.text);
        w.string(p.value);
        break;
    }
  }
}

}  // namespace detail
}  // namespace tern
