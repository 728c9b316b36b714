// Values that tern::asio operations take and hand back. Unlike the session's events, which
// view the session's buffers, everything here owns its bytes: a result outlives the call into
// the session that produced it, and may be used on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/bytes.hpp"
#include "tern/packets.hpp"
#include "tern/properties.hpp"
#include "tern/reason_code.hpp"
#include "tern/session_events.hpp"

namespace tern::asio {

// MQTT 5 properties that own their strings. view() is valid while the object lives unchanged
// (copies and moves rebuild it).
class owned_properties {
 public:
  owned_properties() = default;
  explicit owned_properties(const properties& from);
  owned_properties(const owned_properties& other);
  owned_properties(owned_properties&& other) noexcept;
  owned_properties& operator=(const owned_properties& other);
  owned_properties& operator=(owned_properties&& other) noexcept;
  ~owned_properties() = default;

  owned_properties& add(property_id id, std::uint32_t number);
  owned_properties& add(property_id id, std::string_view text);
  owned_properties& add_binary(property_id id, bytes_view data);
  owned_properties& add_user(std::string_view name, std::string_view value);

  properties view() const noexcept { return properties(std::span<const property>(items_)); }
  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  std::optional<std::uint32_t> number(property_id id) const noexcept { return view().number(id); }
  std::optional<std::string_view> text(property_id id) const noexcept { return view().text(id); }

 private:
  struct entry {
    property_id id{};
    std::uint32_t number = 0;
    std::string text;
    std::string value;
  };
  void rebuild();

  std::vector<entry> entries_;
  std::vector<property> items_;  // views into entries_
};

// A message to publish.
struct outgoing_message {
  std::string topic;
  std::string payload;  // any bytes
  qos q = qos::at_most_once;
  bool retain = false;
  owned_properties props;  // 5.0 PUBLISH properties (not Topic Alias: the session assigns it)
};

// A message the broker delivered.
struct received_message {
  std::string topic;  // resolved from a Topic Alias
  std::string payload;
  qos q = qos::at_most_once;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;
  owned_properties props;  // as received (5.0), Subscription Identifiers included

  bytes_view payload_bytes() const noexcept { return as_bytes(payload); }
};

struct subscribe_topic {
  std::string filter;
  subscribe_options options;
};

// async_connect: the first CONNACK that accepted the connection.
struct connect_result {
  bool session_present = false;
  std::string assigned_client_id;  // 5.0, when the broker chose the identifier
  server_limits limits;
  owned_properties props;  // all CONNACK properties
};

// async_publish: how the message ended. `code` is the PUBACK / PUBREC / PUBCOMP reason (5.0).
struct publish_result {
  message_id id = 0;
  std::uint16_t packet_id = 0;
  publish_outcome outcome = publish_outcome::sent;
  reason_code code = reason_code::success;
  bool reached_broker = false;
  owned_properties props;  // of the acknowledgement
};

// async_subscribe / async_unsubscribe: one reason code per filter, in order (an UNSUBACK of
// MQTT 3.1.1 carries none: `codes` is then one success per filter).
struct subscribe_result {
  std::vector<reason_code> codes;
  owned_properties props;
};
using unsubscribe_result = subscribe_result;

// What on_connection_event reports (on the client's strand).
struct connection_event {
  enum class kind : std::uint8_t {
    connected,     // a CONNACK accepted the connection
    disconnected,  // a connection ended or an attempt failed; reconnect_at tells what is next
  };
  kind what = kind::connected;
  bool session_present = false;              // connected
  disconnect_cause cause{};                  // disconnected
  reason_code code = reason_code::success;   // disconnected: the broker's or ours
  std::error_code error;                     // disconnected: the transport's error, if any
  std::optional<time_point> reconnect_at;    // disconnected: when the next attempt starts
};

}  // namespace tern::asio
