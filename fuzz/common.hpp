// Shared by the fuzz targets: a failing check that says what failed, a counting memory resource,
// "touch every view" (so ASan sees every byte a decoded packet points at), and the invariants
// every packet the decoder accepts must satisfy whatever the input was.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory_resource>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "tern/tern.hpp"

namespace tern::fuzz {

[[noreturn]] inline void check_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
  std::abort();
}

#define TERN_FUZZ_CHECK(cond)                                                \
  do {                                                                       \
    if (!(cond)) [[unlikely]] ::tern::fuzz::check_failed(#cond, __FILE__, __LINE__); \
  } while (false)

inline void print_hex(const char* label, bytes_view b) {
  std::fprintf(stderr, "%s (%zu bytes):", label, b.size());
  for (std::byte x : b) std::fprintf(stderr, " %02x", static_cast<unsigned>(x));
  std::fprintf(stderr, "\n");
}

// Counts what a decoder takes from the heap, and checks that every deallocation matches an
// allocation (pointer, size and alignment).
class counting_resource final : public std::pmr::memory_resource {
 public:
  std::size_t in_use() const noexcept { return in_use_; }
  std::size_t peak() const noexcept { return peak_; }
  std::size_t allocations() const noexcept { return allocations_; }

 private:
  struct block {
    std::size_t bytes;
    std::size_t align;
  };
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    void* p = std::pmr::new_delete_resource()->allocate(bytes, align);
    live_.emplace(p, block{bytes, align});
    in_use_ += bytes;
    if (in_use_ > peak_) peak_ = in_use_;
    ++allocations_;
    return p;
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
    const auto it = live_.find(p);
    TERN_FUZZ_CHECK(it != live_.end());
    TERN_FUZZ_CHECK(it->second.bytes == bytes && it->second.align == align);
    live_.erase(it);
    in_use_ -= bytes;
    std::pmr::new_delete_resource()->deallocate(p, bytes, align);
  }
  bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override {
    return this == &o;
  }

  std::unordered_map<void*, block> live_;
  std::size_t in_use_ = 0;
  std::size_t peak_ = 0;
  std::size_t allocations_ = 0;
};

// --- touching views ------------------------------------------------------------------------------

inline std::uint64_t touch(std::string_view s) noexcept {
  std::uint64_t h = s.size();
  for (const char c : s) h = h * 131 + static_cast<unsigned char>(c);
  return h;
}
inline std::uint64_t touch(bytes_view b) noexcept { return touch(as_chars(b)); }

// Iterates the list, reads every byte of every property, and checks size() and find() agree with
// the iteration.
inline std::uint64_t touch(const properties& ps) {
  std::uint64_t h = 0;
  std::size_t n = 0;
  std::array<bool, 256> seen{};
  for (const property p : ps) {
    ++n;
    h += static_cast<std::uint8_t>(p.id) + p.number + touch(p.text) + touch(p.value);
    auto& s = seen[static_cast<std::uint8_t>(p.id)];
    if (!s) {
      s = true;
      const auto f = ps.find(p.id);
      TERN_FUZZ_CHECK(f && *f == p);
      TERN_FUZZ_CHECK(ps.contains(p.id));
    }
  }
  TERN_FUZZ_CHECK(n == ps.size());
  TERN_FUZZ_CHECK(ps.empty() == (n == 0));
  return h;
}

template <class T>
std::size_t count(const packet_list<T>& l) {
  std::size_t n = 0;
  for (auto it = l.begin(); it != l.end(); ++it) ++n;
  TERN_FUZZ_CHECK(n == l.size());
  TERN_FUZZ_CHECK(l.empty() == (n == 0));
  return n;
}

inline std::uint64_t touch(const packet& pkt) {
  std::uint64_t h = static_cast<std::uint64_t>(pkt.index());
  std::visit(
      [&](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (requires { p.props; }) h += touch(p.props);
        if constexpr (std::is_same_v<P, connect>) {
          h += touch(p.client_id) + p.keep_alive + p.clean_start;
          if (p.username) h += touch(*p.username);
          if (p.password) h += touch(*p.password);
          if (p.will) h += touch(p.will->topic) + touch(p.will->payload) + touch(p.will->props);
        } else if constexpr (std::is_same_v<P, publish>) {
          h += touch(p.topic) + touch(p.payload) + p.packet_id;
        } else if constexpr (std::is_same_v<P, subscribe>) {
          count(p.subscriptions);
          for (const subscription s : p.subscriptions)
            h += touch(s.filter) + static_cast<std::uint8_t>(s.options.max_qos);
        } else if constexpr (std::is_same_v<P, unsubscribe>) {
          count(p.filters);
          for (const std::string_view f : p.filters) h += touch(f);
        } else if constexpr (std::is_same_v<P, suback> || std::is_same_v<P, unsuback>) {
          count(p.codes);
          for (const reason_code c : p.codes) h += static_cast<std::uint8_t>(c);
        }
      },
      pkt);
  return h;
}

// --- invariants of decoded packets ---------------------------------------------------------------

inline bool is_bool_property(property_id id) {
  switch (id) {
    case property_id::request_problem_information:
    case property_id::request_response_information:
    case property_id::maximum_qos:
    case property_id::retain_available:
    case property_id::wildcard_subscription_available:
    case property_id::subscription_identifier_available:
    case property_id::shared_subscription_available:
      return true;
    default:
      return false;
  }
}

// What the decoder must have enforced for every property it accepted.
inline void check_decoded(const properties& ps, property_scope where, protocol_version v) {
  if (!has_properties(v)) {
    TERN_FUZZ_CHECK(ps.empty());
    return;
  }
  std::array<int, 256> seen{};
  for (const property p : ps) {
    TERN_FUZZ_CHECK(is_known(p.id));
    TERN_FUZZ_CHECK(is_allowed(p.id, where));
    if (seen[static_cast<std::uint8_t>(p.id)]++) TERN_FUZZ_CHECK(may_repeat(p.id, where));
    switch (type_of(p.id)) {
      case property_type::byte: TERN_FUZZ_CHECK(p.number <= 0xFF); break;
      case property_type::two_byte_integer: TERN_FUZZ_CHECK(p.number <= 0xFFFF); break;
      case property_type::four_byte_integer: break;
      case property_type::variable_byte_integer:
        TERN_FUZZ_CHECK(p.number <= max_variable_integer);
        break;
      case property_type::utf8_string: TERN_FUZZ_CHECK(is_valid_mqtt_utf8(p.text)); break;
      case property_type::binary_data: break;
      case property_type::utf8_string_pair:
        TERN_FUZZ_CHECK(is_valid_mqtt_utf8(p.text) && is_valid_mqtt_utf8(p.value));
        break;
    }
    // Values the specification calls a Protocol Error.
    if (is_bool_property(p.id)) TERN_FUZZ_CHECK(p.number <= 1);
    if (p.id == property_id::topic_alias || p.id == property_id::receive_maximum ||
        p.id == property_id::maximum_packet_size || p.id == property_id::subscription_identifier)
      TERN_FUZZ_CHECK(p.number != 0);
  }
  if (ps.contains(property_id::authentication_data))
    TERN_FUZZ_CHECK(ps.contains(property_id::authentication_method));
}

// Packets each side may send (DISCONNECT from a 3.1.1 server is left alone: the spec has none,
// but whether a decoder rejects it is a policy question, not memory safety).
inline bool may_send(sender from, packet_type t) {
  switch (t) {
    case packet_type::connect:
    case packet_type::subscribe:
    case packet_type::unsubscribe:
    case packet_type::pingreq: return from != sender::server;
    case packet_type::connack:
    case packet_type::suback:
    case packet_type::unsuback:
    case packet_type::pingresp: return from != sender::client;
    default: return true;
  }
}

// `v` is the version the packet was decoded with (a CONNECT uses its own).
inline void check_decoded(const packet& pkt, protocol_version v, sender from) {
  const packet_type t = type_of(pkt);
  TERN_FUZZ_CHECK(may_send(from, t));
  const bool v5 = v == protocol_version::v5;
  if (t == packet_type::auth) TERN_FUZZ_CHECK(v5);
  std::visit(
      [&](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, connect>) {
          TERN_FUZZ_CHECK(p.version == protocol_version::v3_1 ||
                          p.version == protocol_version::v3_1_1 ||
                          p.version == protocol_version::v5);
          const bool c5 = p.version == protocol_version::v5;
          check_decoded(p.props, {t}, p.version);
          TERN_FUZZ_CHECK(is_valid_mqtt_utf8(p.client_id));
          if (p.username) TERN_FUZZ_CHECK(is_valid_mqtt_utf8(*p.username));
          if (p.password && !c5) TERN_FUZZ_CHECK(p.username.has_value());
          if (p.will) {
            TERN_FUZZ_CHECK(is_valid_topic_name(p.will->topic));
            TERN_FUZZ_CHECK(p.will->q <= qos::exactly_once);
            check_decoded(p.will->props, {t, true}, p.version);
          }
        } else if constexpr (std::is_same_v<P, publish>) {
          check_decoded(p.props, {t}, v);
          TERN_FUZZ_CHECK(p.q <= qos::exactly_once);
          if (p.dup) TERN_FUZZ_CHECK(p.q != qos::at_most_once);
          if (p.q != qos::at_most_once) TERN_FUZZ_CHECK(p.packet_id != 0);
          if (p.topic.empty())
            TERN_FUZZ_CHECK(v5 && p.props.contains(property_id::topic_alias));
          else
            TERN_FUZZ_CHECK(is_valid_topic_name(p.topic));
        } else if constexpr (std::is_same_v<P, subscribe>) {
          check_decoded(p.props, {t}, v);
          TERN_FUZZ_CHECK(p.packet_id != 0 && !p.subscriptions.empty());
          for (const subscription s : p.subscriptions) {
            TERN_FUZZ_CHECK(validate_topic_filter(s.filter, v5).has_value());
            TERN_FUZZ_CHECK(s.options.max_qos <= qos::exactly_once);
            if (!v5) {
              TERN_FUZZ_CHECK(!s.options.no_local && !s.options.retain_as_published &&
                              s.options.retain == retain_handling::send_on_subscribe);
            } else {
              TERN_FUZZ_CHECK(s.options.retain <= retain_handling::do_not_send);
              if (s.options.no_local)
                TERN_FUZZ_CHECK(!parse_shared_subscription(s.filter).has_value());
            }
          }
        } else if constexpr (std::is_same_v<P, unsubscribe>) {
          check_decoded(p.props, {t}, v);
          TERN_FUZZ_CHECK(p.packet_id != 0 && !p.filters.empty());
          for (const std::string_view f : p.filters)
            TERN_FUZZ_CHECK(validate_topic_filter(f, v5).has_value());
        } else if constexpr (std::is_same_v<P, suback>) {
          check_decoded(p.props, {t}, v);
          TERN_FUZZ_CHECK(!p.codes.empty());
          for (const reason_code c : p.codes)
            TERN_FUZZ_CHECK(v5 ? is_valid_for(c, t) : to_v311_suback(c).has_value());
        } else if constexpr (std::is_same_v<P, unsuback>) {
          check_decoded(p.props, {t}, v);
          TERN_FUZZ_CHECK(v5 != p.codes.empty());
          for (const reason_code c : p.codes) TERN_FUZZ_CHECK(is_valid_for(c, t));
        } else if constexpr (std::is_same_v<P, connack>) {
          check_decoded(p.props, {t}, v);
          TERN_FUZZ_CHECK(v5 ? is_valid_for(p.code, t) : to_v311_connack(p.code).has_value());
          if (p.session_present) TERN_FUZZ_CHECK(!is_failure(p.code));
        } else if constexpr (std::is_same_v<P, pingreq> || std::is_same_v<P, pingresp>) {
        } else {  // the four acks, DISCONNECT, AUTH
          check_decoded(p.props, {t}, v);
          if (v5)
            TERN_FUZZ_CHECK(is_valid_for(p.code, t));
          else
            TERN_FUZZ_CHECK(p.code == reason_code::success);
        }
      },
      pkt);
}

}  // namespace tern::fuzz
