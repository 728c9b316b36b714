// The fifteen MQTT control packets as plain structs of views, one struct per packet kind for
// every protocol version. A decoder fills them with views into its input; a caller fills them
// with views of its own data to encode. Nothing here owns memory.
#pragma once

#include <cstdint>
#include <iterator>
#include <optional>
#include <ranges>
#include <span>
#include <string_view>
#include <variant>

#include "tern/bytes.hpp"
#include "tern/properties.hpp"
#include "tern/protocol.hpp"
#include "tern/reason_code.hpp"

namespace tern {

// Retain Handling subscription option [MQTT 3.8.3.1] (5.0 only).
enum class retain_handling : std::uint8_t {
  send_on_subscribe = 0,
  send_if_new_subscription = 1,
  do_not_send = 2,
};

// The Subscription Options byte. Before 5.0 only max_qos exists; the rest must stay default.
struct subscribe_options {
  qos max_qos = qos::at_most_once;
  bool no_local = false;
  bool retain_as_published = false;
  retain_handling retain = retain_handling::send_on_subscribe;
  friend bool operator==(const subscribe_options&, const subscribe_options&) = default;
};

struct subscription {
  std::string_view filter;
  subscribe_options options;
  friend bool operator==(const subscription&, const subscription&) = default;
};

namespace detail {
template <class T>
struct list_wire;  // how one element is read from validated wire bytes
template <>
struct list_wire<subscription> {
  static subscription read(const std::byte*& p) noexcept;
};
template <>
struct list_wire<std::string_view> {
  static std::string_view read(const std::byte*& p) noexcept;
};
template <>
struct list_wire<reason_code> {
  static reason_code read(const std::byte*& p) noexcept {
    return static_cast<reason_code>(*p++);
  }
};
}  // namespace detail

// The payload list of SUBSCRIBE, UNSUBSCRIBE, SUBACK or UNSUBACK: validated wire bytes or a
// view of the caller's array, read the same way.
template <class T>
class packet_list {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = T;

    iterator() = default;
    T operator*() const noexcept {
      if (!wire_) return *static_cast<const T*>(pos_);
      const auto* p = static_cast<const std::byte*>(pos_);
      return detail::list_wire<T>::read(p);
    }
    iterator& operator++() noexcept {
      if (!wire_) {
        pos_ = static_cast<const T*>(pos_) + 1;
      } else {
        const auto* p = static_cast<const std::byte*>(pos_);
        (void)detail::list_wire<T>::read(p);
        pos_ = p;
      }
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator t = *this;
      ++*this;
      return t;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.pos_ == b.pos_;
    }

   private:
    friend class packet_list;
    iterator(const void* pos, bool wire) noexcept : pos_(pos), wire_(wire) {}
    const void* pos_ = nullptr;
    bool wire_ = false;
  };

  constexpr packet_list() noexcept = default;
  constexpr packet_list(std::span<const T> items) noexcept  // NOLINT: a view, like span
      : data_(items.data()),
        size_(static_cast<std::uint32_t>(items.size())),
        count_(static_cast<std::uint32_t>(items.size())) {}
  // Any contiguous range of T: an array, std::vector, std::array. Not a temporary.
  template <class R>
    requires std::ranges::contiguous_range<R> && std::same_as<std::ranges::range_value_t<R>, T>
  constexpr packet_list(const R& items) noexcept  // NOLINT: a view, like span
      : packet_list(std::span<const T>(std::ranges::data(items), std::ranges::size(items))) {}

  // Precondition: `validated` holds exactly `count` well-formed entries.
  static packet_list from_wire(bytes_view validated, std::uint32_t count) noexcept {
    packet_list l;
    l.data_ = validated.data();
    l.size_ = static_cast<std::uint32_t>(validated.size());
    l.count_ = count;
    l.wire_ = true;
    return l;
  }

  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }
  bool is_wire() const noexcept { return wire_; }
  bytes_view wire() const noexcept { return {static_cast<const std::byte*>(data_), size_}; }

  iterator begin() const noexcept { return {data_, wire_}; }
  iterator end() const noexcept {
    if (wire_) return {static_cast<const std::byte*>(data_) + size_, true};
    return {static_cast<const T*>(data_) + count_, false};
  }

  friend bool operator==(const packet_list& a, const packet_list& b) noexcept {
    if (a.count_ != b.count_) return false;
    auto j = b.begin();
    for (auto i = a.begin(); i != a.end(); ++i, ++j)
      if (!(*i == *j)) return false;
    return true;
  }

 private:
  const void* data_ = nullptr;
  std::uint32_t size_ = 0;  // bytes when wire, elements otherwise
  std::uint32_t count_ = 0;
  bool wire_ = false;
};

using subscription_list = packet_list<subscription>;
using topic_filter_list = packet_list<std::string_view>;
using reason_code_list = packet_list<reason_code>;

inline bool equal_optional_bytes(const std::optional<bytes_view>& a,
                                 const std::optional<bytes_view>& b) noexcept {
  if (a.has_value() != b.has_value()) return false;
  return !a || equal_bytes(*a, *b);
}

struct will_message {
  std::string_view topic;
  bytes_view payload;
  qos q = qos::at_most_once;
  bool retain = false;
  properties props;  // Will Properties (5.0)

  friend bool operator==(const will_message& a, const will_message& b) noexcept {
    return a.topic == b.topic && equal_bytes(a.payload, b.payload) && a.q == b.q &&
           a.retain == b.retain && a.props == b.props;
  }
};

struct connect {
  static constexpr packet_type type = packet_type::connect;
  // CONNECT carries its own protocol level; the version given to the encoder is ignored.
  protocol_version version = protocol_version::v5;
  bool clean_start = true;  // Clean Session before 5.0
  std::uint16_t keep_alive = 60;
  std::string_view client_id;
  std::optional<std::string_view> username;
  std::optional<bytes_view> password;
  std::optional<will_message> will;
  properties props;

  friend bool operator==(const connect& a, const connect& b) noexcept {
    return a.version == b.version && a.clean_start == b.clean_start &&
           a.keep_alive == b.keep_alive && a.client_id == b.client_id &&
           a.username == b.username && equal_optional_bytes(a.password, b.password) &&
           a.will == b.will && a.props == b.props;
  }
};

struct connack {
  static constexpr packet_type type = packet_type::connack;
  bool session_present = false;
  reason_code code = reason_code::success;  // 3.1.1 return codes mapped to their 5.0 codes
  properties props;
  friend bool operator==(const connack&, const connack&) = default;
};

struct publish {
  static constexpr packet_type type = packet_type::publish;
  std::string_view topic;  // may be empty in 5.0 when props carry a Topic Alias
  bytes_view payload;
  qos q = qos::at_most_once;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;  // present on the wire only for QoS 1 and 2
  properties props;

  friend bool operator==(const publish& a, const publish& b) noexcept {
    return a.topic == b.topic && equal_bytes(a.payload, b.payload) && a.q == b.q &&
           a.retain == b.retain && a.dup == b.dup && a.packet_id == b.packet_id &&
           a.props == b.props;
  }
};

// PUBACK, PUBREC, PUBREL and PUBCOMP share one shape and one codec.
template <packet_type T>
struct basic_ack {
  static constexpr packet_type type = T;
  std::uint16_t packet_id = 0;
  reason_code code = reason_code::success;  // always success before 5.0
  properties props;
  friend bool operator==(const basic_ack&, const basic_ack&) = default;
};
using puback = basic_ack<packet_type::puback>;
using pubrec = basic_ack<packet_type::pubrec>;
using pubrel = basic_ack<packet_type::pubrel>;
using pubcomp = basic_ack<packet_type::pubcomp>;

struct subscribe {
  static constexpr packet_type type = packet_type::subscribe;
  std::uint16_t packet_id = 0;
  subscription_list subscriptions;  // at least one
  properties props;
  friend bool operator==(const subscribe&, const subscribe&) = default;
};

struct suback {
  static constexpr packet_type type = packet_type::suback;
  std::uint16_t packet_id = 0;
  reason_code_list codes;  // one per filter, in order; 3.1.1 Failure is 0x80
  properties props;
  friend bool operator==(const suback&, const suback&) = default;
};

struct unsubscribe {
  static constexpr packet_type type = packet_type::unsubscribe;
  std::uint16_t packet_id = 0;
  topic_filter_list filters;  // at least one
  properties props;
  friend bool operator==(const unsubscribe&, const unsubscribe&) = default;
};

struct unsuback {
  static constexpr packet_type type = packet_type::unsuback;
  std::uint16_t packet_id = 0;
  reason_code_list codes;  // one per filter in 5.0; none before (3.1.1 UNSUBACK has no payload)
  properties props;
  friend bool operator==(const unsuback&, const unsuback&) = default;
};

struct pingreq {
  static constexpr packet_type type = packet_type::pingreq;
  friend bool operator==(const pingreq&, const pingreq&) = default;
};

struct pingresp {
  static constexpr packet_type type = packet_type::pingresp;
  friend bool operator==(const pingresp&, const pingresp&) = default;
};

struct disconnect {
  static constexpr packet_type type = packet_type::disconnect;
  reason_code code = reason_code::normal_disconnection;  // 5.0 only
  properties props;
  friend bool operator==(const disconnect&, const disconnect&) = default;
};

struct auth {
  static constexpr packet_type type = packet_type::auth;
  reason_code code = reason_code::success;
  properties props;
  friend bool operator==(const auth&, const auth&) = default;
};

// Alternatives are in packet_type order: index() + 1 is the packet type.
using packet = std::variant<connect, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe,
                            suback, unsubscribe, unsuback, pingreq, pingresp, disconnect, auth>;

template <class P>
concept packet_kind = requires { P::type; } && requires(packet v) { std::get_if<P>(&v); };

inline packet_type type_of(const packet& p) noexcept {
  return static_cast<packet_type>(p.index() + 1);
}

}  // namespace tern
