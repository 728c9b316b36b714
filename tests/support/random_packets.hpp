// Random valid MQTT packets for round-trip and split-feeding tests.
//
// packet_generator builds packets of every kind for MQTT 3.1, 3.1.1 and 5.0 that a correct
// encoder must accept: valid topics and filters, valid UTF-8 (multi-byte too, never U+0000),
// properties allowed on the packet with values in range (the table below is written from the
// MQTT 5.0 specification, 2.2.2.2, independently of tern::is_allowed), repeated User Properties,
// subscription options valid for the version, reason codes valid for the packet.
//
// Packets are views: everything they point at lives in a packet_store, which must outlive them.
// Nothing here uses doctest, so the header also serves fuzzers and benchmarks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "support/hex.hpp"
#include "tern/encoder.hpp"
#include "tern/packets.hpp"
#include "tern/properties.hpp"
#include "tern/reason_code.hpp"

namespace tern::test {

// Owns the data packets view. Deques never move their elements, so views stay valid.
class packet_store {
 public:
  std::string_view keep(std::string s) { return strings_.emplace_back(std::move(s)); }
  bytes_view keep_bytes(std::string s) { return as_bytes(keep(std::move(s))); }
  properties keep(std::vector<property> v) {
    const auto& k = props_.emplace_back(std::move(v));
    return properties(std::span<const property>(k));
  }
  subscription_list keep(std::vector<subscription> v) {
    const auto& k = subs_.emplace_back(std::move(v));
    return subscription_list(std::span<const subscription>(k));
  }
  topic_filter_list keep(std::vector<std::string_view> v) {
    const auto& k = filters_.emplace_back(std::move(v));
    return topic_filter_list(std::span<const std::string_view>(k));
  }
  reason_code_list keep(std::vector<reason_code> v) {
    const auto& k = codes_.emplace_back(std::move(v));
    return reason_code_list(std::span<const reason_code>(k));
  }
  void clear() {
    strings_.clear();
    props_.clear();
    subs_.clear();
    filters_.clear();
    codes_.clear();
  }

 private:
  std::deque<std::string> strings_;
  std::deque<std::vector<property>> props_;
  std::deque<std::vector<subscription>> subs_;
  std::deque<std::vector<std::string_view>> filters_;
  std::deque<std::vector<reason_code>> codes_;
};

// measure + write into a fresh vector; std::nullopt (and *why) when the encoder refuses.
inline std::optional<std::vector<std::byte>> try_encode(const packet& p, protocol_version v,
                                                        errc* why = nullptr) {
  auto size = measure(p, v);
  if (!size) {
    if (why) *why = size.error();
    return std::nullopt;
  }
  std::vector<std::byte> out(size->total);
  auto n = encode(p, v, out);
  if (!n) {
    if (why) *why = n.error();
    return std::nullopt;
  }
  out.resize(*n);
  return out;
}

// "PUBLISH 30 0a 00 03 ..." (at most `max_bytes` bytes shown), for test diagnostics.
inline std::string describe(const packet& p, protocol_version v, std::size_t max_bytes = 48) {
  std::string s(to_string(type_of(p)));
  errc why{};
  if (auto bytes = try_encode(p, v, &why)) {
    const auto n = std::min(bytes->size(), max_bytes);
    s += ' ';
    s += to_hex(bytes->data(), n);
    if (n < bytes->size()) s += " ... (" + std::to_string(bytes->size()) + " bytes)";
  } else {
    s += " <not encodable: ";
    s += to_string(why);
    s += '>';
  }
  return s;
}

// Where each property may appear [MQTT 5.0 2.2.2.2]: bit (1 << packet type), and bit 0 for
// the Will Properties of CONNECT.
inline std::uint32_t property_places(property_id id) {
  auto t = [](packet_type p) { return 1u << static_cast<unsigned>(p); };
  using pt = packet_type;
  constexpr std::uint32_t will = 1;
  switch (id) {
    case property_id::payload_format_indicator:
    case property_id::message_expiry_interval:
    case property_id::content_type:
    case property_id::response_topic:
    case property_id::correlation_data: return t(pt::publish) | will;
    case property_id::subscription_identifier: return t(pt::publish) | t(pt::subscribe);
    case property_id::session_expiry_interval:
      return t(pt::connect) | t(pt::connack) | t(pt::disconnect);
    case property_id::assigned_client_identifier:
    case property_id::server_keep_alive:
    case property_id::response_information:
    case property_id::maximum_qos:
    case property_id::retain_available:
    case property_id::wildcard_subscription_available:
    case property_id::subscription_identifier_available:
    case property_id::shared_subscription_available: return t(pt::connack);
    case property_id::authentication_method:
    case property_id::authentication_data: return t(pt::connect) | t(pt::connack) | t(pt::auth);
    case property_id::request_problem_information:
    case property_id::request_response_information: return t(pt::connect);
    case property_id::will_delay_interval: return will;
    case property_id::server_reference: return t(pt::connack) | t(pt::disconnect);
    case property_id::reason_string:
      return t(pt::connack) | t(pt::puback) | t(pt::pubrec) | t(pt::pubrel) | t(pt::pubcomp) |
             t(pt::suback) | t(pt::unsuback) | t(pt::disconnect) | t(pt::auth);
    case property_id::receive_maximum:
    case property_id::topic_alias_maximum:
    case property_id::maximum_packet_size: return t(pt::connect) | t(pt::connack);
    case property_id::topic_alias: return t(pt::publish);
    case property_id::user_property: return ~0u & ~(t(pt::pingreq) | t(pt::pingresp));
  }
  return 0;
}

inline constexpr property_id all_property_ids[] = {
    property_id::payload_format_indicator,
    property_id::message_expiry_interval,
    property_id::content_type,
    property_id::response_topic,
    property_id::correlation_data,
    property_id::subscription_identifier,
    property_id::session_expiry_interval,
    property_id::assigned_client_identifier,
    property_id::server_keep_alive,
    property_id::authentication_method,
    property_id::authentication_data,
    property_id::request_problem_information,
    property_id::will_delay_interval,
    property_id::request_response_information,
    property_id::response_information,
    property_id::server_reference,
    property_id::reason_string,
    property_id::receive_maximum,
    property_id::topic_alias_maximum,
    property_id::topic_alias,
    property_id::maximum_qos,
    property_id::retain_available,
    property_id::user_property,
    property_id::maximum_packet_size,
    property_id::wildcard_subscription_available,
    property_id::subscription_identifier_available,
    property_id::shared_subscription_available,
};

class packet_generator {
 public:
  packet_generator(std::uint64_t seed, packet_store& store) : rng_(seed), store_(store) {}

  std::mt19937_64& rng() noexcept { return rng_; }

  std::uint32_t uniform(std::uint32_t lo, std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  // A number in [lo, hi], often one of the bounds.
  std::uint32_t edgy(std::uint32_t lo, std::uint32_t hi) {
    switch (uniform(0, 5)) {
      case 0: return lo;
      case 1: return hi;
      default: return uniform(lo, hi);
    }
  }

  // Valid MQTT UTF-8 of at most `max` code points, mostly ASCII, never U+0000.
  std::string text(std::size_t max) {
    static constexpr std::string_view wide[] = {"\xC3\xA9", "\xDF\xBF", "\xE2\x82\xAC",
                                                "\xEF\xBF\xBF", "\xF0\x9F\x98\x80",
                                                "\xF4\x8F\xBF\xBF", "\xC2\x80", "\xED\x9F\xBF"};
    std::string s;
    const auto n = uniform(0, static_cast<std::uint32_t>(max));
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto r = uniform(0, 99);
      if (r < 85) s += static_cast<char>(uniform(0x20, 0x7E));
      else if (r < 90) s += static_cast<char>(uniform(0x01, 0x1F));
      else s += wide[uniform(0, std::size(wide) - 1)];
    }
    return s;
  }
  std::string ascii(std::size_t min, std::size_t max) {
    static constexpr std::string_view alnum =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string s(uniform(static_cast<std::uint32_t>(min), static_cast<std::uint32_t>(max)), 'x');
    for (auto& c : s) c = alnum[uniform(0, alnum.size() - 1)];
    return s;
  }
  std::string binary(std::size_t max) {
    std::string s(uniform(0, static_cast<std::uint32_t>(max)), '\0');
    for (auto& c : s) c = static_cast<char>(uniform(0, 255));
    return s;
  }
  // A payload of 0..max bytes, usually short.
  std::string payload(std::size_t max) {
    return binary(chance(0.7) ? std::min<std::size_t>(max, 32) : max);
  }

  std::string level() {
    static constexpr std::string_view pool[] = {
        "a", "b", "sport", "tennis", "player1", "", "$SYS", "x y", "\xE2\x82\xAC", "finance",
        "\xF0\x9F\x98\x80", "$", "monitor", "Clients", "-", "a.b"};
    if (chance(0.25)) return ascii(1, 12);
    return std::string(pool[uniform(0, std::size(pool) - 1)]);
  }
  // A valid, non-empty topic name: levels joined by '/', no wildcards.
  std::string topic_name() {
    for (;;) {
      std::string t = level();
      for (auto n = uniform(0, 4); n > 0; --n) t += '/' + level();
      if (!t.empty()) return t;
    }
  }
  // A valid topic filter; in 5.0 sometimes a shared subscription.
  std::string topic_filter(bool allow_shared) {
    std::string f;
    if (chance(0.08)) {
      f = "#";
    } else {
      const auto levels = uniform(1, 5);
      for (std::uint32_t i = 0; i < levels; ++i) {
        if (i) f += '/';
        f += chance(0.2) ? std::string("+") : level();
      }
      if (chance(0.2)) f += "/#";
      if (f.empty()) f = "+";
    }
    if (allow_shared && chance(0.1)) f = "$share/" + ascii(1, 8) + "/" + f;
    return f;
  }

  std::vector<reason_code> codes_for(packet_type t) {
    std::vector<reason_code> v;
    for (unsigned c = 0; c < 256; ++c)
      if (is_valid_for(static_cast<reason_code>(c), t)) v.push_back(static_cast<reason_code>(c));
    return v;
  }
  reason_code code_for(packet_type t) {
    auto v = codes_for(t);
    if (v.empty()) return reason_code::success;
    return v[uniform(0, static_cast<std::uint32_t>(v.size() - 1))];
  }

  // One value for property `id`, valid for its type and range.
  property value_of(property_id id) {
    using p = property_id;
    switch (id) {
      case p::payload_format_indicator:
      case p::request_problem_information:
      case p::request_response_information:
      case p::maximum_qos:
      case p::retain_available:
      case p::wildcard_subscription_available:
      case p::subscription_identifier_available:
      case p::shared_subscription_available: return property::integer(id, uniform(0, 1));
      case p::server_keep_alive:
      case p::topic_alias_maximum: return property::integer(id, edgy(0, 65535));
      case p::receive_maximum:
      case p::topic_alias: return property::integer(id, edgy(1, 65535));
      case p::message_expiry_interval:
      case p::session_expiry_interval:
      case p::will_delay_interval: return property::integer(id, edgy(0, 0xFFFFFFFFu));
      case p::maximum_packet_size: return property::integer(id, edgy(1, 0xFFFFFFFFu));
      case p::subscription_identifier:
        return property::integer(id, edgy(1, max_variable_integer));
      case p::response_topic: return property::string(id, store_.keep(topic_name()));
      case p::correlation_data:
      case p::authentication_data:
        return property::binary_data(id, store_.keep_bytes(binary(24)));
      case p::user_property: return property::user(store_.keep(text(12)), store_.keep(text(12)));
      default: return property::string(id, store_.keep(text(16)));
    }
  }

  // A random property list valid for the place (packet type, or Will Properties).
  properties props(packet_type t, bool will = false) {
    const std::uint32_t place = will ? 1u : (1u << static_cast<unsigned>(t));
    std::vector<property> list;
    const double p = chance(0.3) ? 0.0 : 0.35;  // often none at all
    bool has_method = false;
    for (auto id : all_property_ids) {
      if (!(property_places(id) & place)) continue;
      if (id == property_id::user_property) {
        if (p > 0)
          for (auto n = uniform(0, 3); n > 0; --n) list.push_back(value_of(id));
        continue;
      }
      if (id == property_id::authentication_data) continue;  // below, needs a method
      if (!chance(p)) continue;
      const auto repeat =
          (id == property_id::subscription_identifier && t == packet_type::publish && !will)
              ? uniform(1, 3)
              : 1u;
      for (std::uint32_t i = 0; i < repeat; ++i) list.push_back(value_of(id));
      if (id == property_id::authentication_method) has_method = true;
    }
    if (has_method && chance(0.6)) list.push_back(value_of(property_id::authentication_data));
    std::shuffle(list.begin(), list.end(), rng_);
    return store_.keep(std::move(list));
  }

  // A packet of kind `t`, valid for `v` (a CONNECT carries `v` as its own version).
  // Precondition: t is not AUTH unless v is 5.0.
  packet make(packet_type t, protocol_version v) {
    const bool v5 = v == protocol_version::v5;
    auto maybe_props = [&](packet_type pt) { return v5 ? props(pt) : properties{}; };
    auto id = [&] { return static_cast<std::uint16_t>(edgy(1, 65535)); };
    switch (t) {
      case packet_type::connect: {
        connect c;
        c.version = v;
        c.keep_alive = static_cast<std::uint16_t>(edgy(0, 65535));
        c.client_id = store_.keep(ascii(v == protocol_version::v3_1 ? 1 : 0, 23));
        c.clean_start = c.client_id.empty() || chance(0.5);
        if (chance(0.5)) c.username = store_.keep(text(16));
        if ((v5 || c.username) && chance(0.5)) c.password = store_.keep_bytes(binary(16));
        if (chance(0.5)) {
          will_message w;
          w.topic = store_.keep(topic_name());
          w.payload = store_.keep_bytes(payload(64));
          w.q = static_cast<qos>(uniform(0, 2));
          w.retain = chance(0.5);
          if (v5) w.props = props(packet_type::connect, true);
          c.will = w;
        }
        c.props = maybe_props(t);
        return c;
      }
      case packet_type::connack: {
        connack c;
        if (v5) {
          c.code = code_for(t);
        } else {
          static constexpr reason_code v3[] = {
              reason_code::success, reason_code::unsupported_protocol_version,
              reason_code::client_identifier_not_valid, reason_code::server_unavailable,
              reason_code::bad_user_name_or_password, reason_code::not_authorized};
          c.code = v3[uniform(0, 5)];
        }
        c.session_present = c.code == reason_code::success && chance(0.5);
        c.props = maybe_props(t);
        return c;
      }
      case packet_type::publish: {
        publish p;
        p.q = static_cast<qos>(uniform(0, 2));
        p.retain = chance(0.5);
        if (p.q != qos::at_most_once) {
          p.packet_id = id();
          p.dup = chance(0.3);
        }
        p.props = maybe_props(t);
        const bool has_alias = p.props.contains(property_id::topic_alias);
        p.topic = (has_alias && chance(0.5)) ? std::string_view{} : store_.keep(topic_name());
        // Payload Format Indicator 1 announces UTF-8: keep such payloads text.
        const bool utf8 = p.props.number(property_id::payload_format_indicator) == 1u;
        p.payload = store_.keep_bytes(utf8 ? text(200) : payload(2048));
        return p;
      }
      case packet_type::puback: return ack<puback>(v5, id());
      case packet_type::pubrec: return ack<pubrec>(v5, id());
      case packet_type::pubrel: return ack<pubrel>(v5, id());
      case packet_type::pubcomp: return ack<pubcomp>(v5, id());
      case packet_type::subscribe: {
        subscribe s;
        s.packet_id = id();
        std::vector<subscription> subs(uniform(1, 5));
        for (auto& e : subs) {
          const std::string f = topic_filter(v5);
          e.filter = store_.keep(f);
          e.options.max_qos = static_cast<qos>(uniform(0, 2));
          if (v5) {
            e.options.no_local = !f.starts_with("$share/") && chance(0.5);
            e.options.retain_as_published = chance(0.5);
            e.options.retain = static_cast<retain_handling>(uniform(0, 2));
          }
        }
        s.subscriptions = store_.keep(std::move(subs));
        s.props = maybe_props(t);
        return s;
      }
      case packet_type::suback: {
        suback s;
        s.packet_id = id();
        std::vector<reason_code> codes(uniform(1, 5));
        for (auto& c : codes) {
          static constexpr reason_code v3[] = {reason_code::granted_qos_0,
                                               reason_code::granted_qos_1,
                                               reason_code::granted_qos_2,
                                               reason_code::unspecified_error};
          c = v5 ? code_for(t) : v3[uniform(0, 3)];
        }
        s.codes = store_.keep(std::move(codes));
        s.props = maybe_props(t);
        return s;
      }
      case packet_type::unsubscribe: {
        unsubscribe u;
        u.packet_id = id();
        std::vector<std::string_view> filters(uniform(1, 5));
        for (auto& f : filters) f = store_.keep(topic_filter(v5));
        u.filters = store_.keep(std::move(filters));
        u.props = maybe_props(t);
        return u;
      }
      case packet_type::unsuback: {
        unsuback u;
        u.packet_id = id();
        if (v5) {
          std::vector<reason_code> codes(uniform(1, 5));
          for (auto& c : codes) c = code_for(t);
          u.codes = store_.keep(std::move(codes));
        }
        u.props = maybe_props(t);
        return u;
      }
      case packet_type::pingreq: return pingreq{};
      case packet_type::pingresp: return pingresp{};
      case packet_type::disconnect: {
        disconnect d;
        if (v5) {
          d.code = code_for(t);
          d.props = props(t);
        }
        return d;
      }
      case packet_type::auth: {
        auth a;
        a.code = code_for(t);
        a.props = props(t);
        return a;
      }
    }
    return pingreq{};
  }

  // A packet of a random kind the version has.
  packet make_any(protocol_version v) {
    const auto last = v == protocol_version::v5 ? 15u : 14u;
    return make(static_cast<packet_type>(uniform(1, last)), v);
  }

 private:
  template <class Ack>
  Ack ack(bool v5, std::uint16_t packet_id) {
    Ack a;
    a.packet_id = packet_id;
    if (v5) {
      a.code = code_for(Ack::type);
      a.props = props(Ack::type);
    }
    return a;
  }

  std::mt19937_64 rng_;
  packet_store& store_;
};

}  // namespace tern::test
