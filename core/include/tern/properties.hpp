// MQTT 5.0 properties [MQTT 2.2.2]: identifiers, wire types, where each may appear, and a
// zero-copy list type that is either wire bytes a decoder has validated or a caller's array.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <ranges>
#include <span>
#include <string_view>

#include "tern/bytes.hpp"
#include "tern/protocol.hpp"

namespace tern {

enum class property_id : std::uint8_t {
  payload_format_indicator = 0x01,
  message_expiry_interval = 0x02,
  content_type = 0x03,
  response_topic = 0x08,
  correlation_data = 0x09,
  subscription_identifier = 0x0B,
  session_expiry_interval = 0x11,
  assigned_client_identifier = 0x12,
  server_keep_alive = 0x13,
  authentication_method = 0x15,
  authentication_data = 0x16,
  request_problem_information = 0x17,
  will_delay_interval = 0x18,
  request_response_information = 0x19,
  response_information = 0x1A,
  server_reference = 0x1C,
  reason_string = 0x1F,
  receive_maximum = 0x21,
  topic_alias_maximum = 0x22,
  topic_alias = 0x23,
  maximum_qos = 0x24,
  retain_available = 0x25,
  user_property = 0x26,
  maximum_packet_size = 0x27,
  wildcard_subscription_available = 0x28,
  subscription_identifier_available = 0x29,
  shared_subscription_available = 0x2A,
};

enum class property_type : std::uint8_t {
  byte,
  two_byte_integer,
  four_byte_integer,
  variable_byte_integer,
  utf8_string,
  binary_data,
  utf8_string_pair,
};

// Where properties are carried: a packet, or the Will Properties inside CONNECT.
struct property_scope {
  packet_type packet;
  bool will = false;
};

bool is_known(property_id id) noexcept;
// Precondition: is_known(id).
property_type type_of(property_id id) noexcept;
// "payload_format_indicator", ...; "unknown" for an undefined identifier.
std::string_view name(property_id id) noexcept;
// Whether MQTT 5.0 permits the property in that place.
bool is_allowed(property_id id, property_scope where) noexcept;
// Whether it may appear more than once there: User Property anywhere, Subscription Identifier
// on PUBLISH only (one per matching subscription).
bool may_repeat(property_id id, property_scope where) noexcept;

// One property. Integers of every width live in `number`; a UTF-8 string or binary data in
// `text`; a User Property's name in `text` and its value in `value`. Views, never owners.
struct property {
  property_id id{};
  std::uint32_t number = 0;
  std::string_view text;
  std::string_view value;

  bytes_view binary() const noexcept { return as_bytes(text); }

  static constexpr property integer(property_id id, std::uint32_t n) noexcept {
    return {id, n, {}, {}};
  }
  static constexpr property string(property_id id, std::string_view s) noexcept {
    return {id, 0, s, {}};
  }
  static property binary_data(property_id id, bytes_view b) noexcept {
    return {id, 0, as_chars(b), {}};
  }
  static constexpr property user(std::string_view name, std::string_view value) noexcept {
    return {property_id::user_property, 0, name, value};
  }

  friend bool operator==(const property&, const property&) = default;
};

// A property list in wire order, which keeps User Properties in the order they were given.
// Either a view of Property bytes a decoder has already validated (from_wire) or a view of the
// caller's array (which the encoder validates). Iteration yields property values.
class properties {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = property;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = property;

    iterator() = default;
    property operator*() const noexcept;
    iterator& operator++() noexcept;
    iterator operator++(int) noexcept {
      iterator t = *this;
      ++*this;
      return t;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.pos_ == b.pos_;
    }

   private:
    friend class properties;
    iterator(const void* pos, bool wire) noexcept : pos_(pos), wire_(wire) {}
    const void* pos_ = nullptr;
    bool wire_ = false;
  };

  constexpr properties() noexcept = default;
  constexpr properties(std::span<const property> list) noexcept  // NOLINT: a view, like span
      : data_(list.data()), size_(static_cast<std::uint32_t>(list.size())), count_(size_) {}
  // Any contiguous range of property: an array, std::vector, std::array. Not a temporary.
  template <class R>
    requires std::ranges::contiguous_range<R> &&
             std::same_as<std::ranges::range_value_t<R>, property>
  constexpr properties(const R& list) noexcept  // NOLINT: a view, like span
      : properties(std::span<const property>(std::ranges::data(list), std::ranges::size(list))) {}

  // Precondition: `validated` is a sequence of well-formed properties (what the decoder checked)
  // and `count` is how many there are.
  static properties from_wire(bytes_view validated, std::uint32_t count) noexcept {
    properties p;
    p.data_ = validated.data();
    p.size_ = static_cast<std::uint32_t>(validated.size());
    p.count_ = count;
    p.wire_ = true;
    return p;
  }

  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }
  bool is_wire() const noexcept { return wire_; }
  // The wire bytes (without the Property Length). Precondition: is_wire().
  bytes_view wire() const noexcept { return {static_cast<const std::byte*>(data_), size_}; }

  iterator begin() const noexcept { return {data_, wire_}; }
  iterator end() const noexcept;

  // The first property with that identifier.
  std::optional<property> find(property_id id) const noexcept;
  bool contains(property_id id) const noexcept { return find(id).has_value(); }
  std::optional<std::uint32_t> number(property_id id) const noexcept;
  std::optional<std::string_view> text(property_id id) const noexcept;

  // Same properties in the same order, whatever their storage.
  friend bool operator==(const properties& a, const properties& b) noexcept;

 private:
  const void* data_ = nullptr;
  std::uint32_t size_ = 0;   // bytes when wire, elements otherwise
  std::uint32_t count_ = 0;  // properties
  bool wire_ = false;
};

}  // namespace tern
