// Outgoing Topic Aliases [MQTT 3.3.2.3.4] (5.0): the session assigns them itself, up to
// min(max_outgoing_topic_aliases, the server's Topic Alias Maximum), replacing the least
// recently used. A topic's first message carries topic and alias; later ones only the alias.
// Mappings live for one connection; stored messages keep their full topic, so a resend after
// reconnecting is re-framed against the new connection's mappings.
#include <cstring>

#include "session_impl.hpp"
#include "tern/varint.hpp"

namespace tern {

using detail::stored_message;

std::optional<std::uint16_t> session::impl::find_alias(std::string_view topic) noexcept {
  if (extra == nullptr) return std::nullopt;  // no alias assigned yet
  for (auto& e : extra->out_aliases)
    if (e.topic == topic) {
      e.last_used = ++extra->alias_clock;
      return e.alias;
    }
  return std::nullopt;
}

std::uint16_t session::impl::assign_alias(std::string_view topic) {
  detail::session_extras& x = extras();
  if (x.out_aliases.size() < alias_capacity()) {
    const auto alias = static_cast<std::uint16_t>(x.out_aliases.size() + 1);
    x.out_aliases.push_back({std::pmr::string(topic, mem), alias, ++x.alias_clock});
    return alias;
  }
  auto lru = std::min_element(x.out_aliases.begin(), x.out_aliases.end(),
                              [](const auto& a, const auto& b) { return a.last_used < b.last_used; });
  lru->topic.assign(topic);
  lru->last_used = ++x.alias_clock;
  return lru->alias;
}

bool session::impl::send_qos0_with_alias(const tern::publish& p) {
  if (!aliases_on() || p.props.size() >= 16) return false;
  std::array<property, 16> props;
  std::size_t n = 0;
  for (const property x : p.props) props[n++] = x;
  const auto known = find_alias(p.topic);
  props[n++] = property::integer(property_id::topic_alias, known.value_or(1));
  tern::publish aliased = p;
  aliased.props = std::span<const property>(props.data(), n);
  if (known) aliased.topic = {};
  const auto size = measure(aliased, cfg.version);
  if (!size || size->total > limits.maximum_packet_size) return false;
  if (!known) props[n - 1].number = assign_alias(p.topic);
  write(aliased, cfg.version, *size, reserve_owned(size->total));
  return true;
}

bool session::impl::send_with_alias(stored_message* m, bool dup) {
  const std::byte* b = m->bytes();
  const std::string_view topic(reinterpret_cast<const char*>(b + m->topic_offset), m->topic_size);
  const auto known = find_alias(topic);
  const varint_read old_props = read_varint({b + m->properties_offset, 4});
  const std::uint32_t props_len = old_props.value + 3;  // + Topic Alias (id, two bytes)
  const std::uint32_t topic_len = known ? 0 : m->topic_size;
  const std::uint32_t payload = m->size - m->payload_offset;
  const std::size_t remaining = 2 + topic_len + (m->q == qos::at_most_once ? 0 : 2) +
                                varint_size(props_len) + props_len + payload;
  if (remaining > max_variable_integer ||
      1 + varint_size(static_cast<std::uint32_t>(remaining)) + remaining >
          limits.maximum_packet_size)
    return false;
  const std::uint16_t alias = known ? *known : assign_alias(topic);

  const std::size_t header = 1 + varint_size(static_cast<std::uint32_t>(remaining)) + remaining -
                             payload;
  std::byte* out = reserve_owned(header);
  *out++ = detail::with_dup(b[0], dup);
  out += write_varint(static_cast<std::uint32_t>(remaining), out);
  *out++ = static_cast<std::byte>(topic_len >> 8);
  *out++ = static_cast<std::byte>(topic_len & 0xFFu);
  if (topic_len != 0) std::memcpy(out, b + m->topic_offset, topic_len);
  out += topic_len;
  if (m->q != qos::at_most_once) {
    std::memcpy(out, b + m->id_offset, 2);
    out += 2;
  }
  out += write_varint(props_len, out);
  const std::byte* old_start = b + m->properties_offset + old_props.size;
  if (old_props.value != 0) std::memcpy(out, old_start, old_props.value);
  out += old_props.value;
  *out++ = static_cast<std::byte>(property_id::topic_alias);
  *out++ = static_cast<std::byte>(alias >> 8);
  *out++ = static_cast<std::byte>(alias & 0xFFu);
  if (payload != 0) push_stored(m, m->payload_offset, payload);
  return true;
}

}  // namespace tern
