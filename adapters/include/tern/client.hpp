// tern::client — an MQTT client with paho-mqtt's API and behaviour, on the sans-IO session.
//
// Three ways to run it, as in paho:
//   * loop_forever(): this thread runs the client (and reconnects) until disconnect();
//   * loop_start() / loop_stop(): a background thread runs it; any thread may publish,
//     subscribe and disconnect meanwhile;
//   * your own event loop: watch socket() for reading (and for writing while want_write()),
//     call loop_read() / loop_write() when it is ready and loop_misc() when next_timeout()
//     passes. on_socket_open/close/register_write/unregister_write tell a loop what to watch.
//     Once the socket has taken less than it was offered, only loop_write() writes again:
//     other calls spend no system call on a socket that is still full.
//
// Thread model: every public function may be called from any thread. Callbacks run on the
// thread that runs the loop, WITHOUT the client's lock held, so a callback may publish,
// subscribe, disconnect or even reconnect (nothing deadlocks). Views passed to callbacks
// (topic, payload, properties) are valid only during the callback; copy what you keep
// (owned_message). Exceptions: on_socket_register_write / unregister_write may also run on a
// thread that publishes or subscribes (as in paho), and disconnect() with no loop running
// writes the DISCONNECT and runs on_disconnect on the calling thread. loop(), loop_read(),
// loop_write() and loop_misc() called from a callback return resource_deadlock_would_occur.
//
// Differences from paho worth knowing: subscribe() before CONNACK is sent once connected (the
// id it returns is the one on_subscribe reports); QoS 0 messages published before CONNACK or
// while reconnecting are queued (max_queued_messages_set), not refused; auto-resubscription is
// off by default (subscribe in on_connect, as paho's examples do; session_options() turns it
// on).
#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "tern/error_code.hpp"
#include "tern/net/connection.hpp"
#include "tern/net/error.hpp"
#include "tern/packets.hpp"
#include "tern/session_config.hpp"
#include "tern/session_events.hpp"

namespace tern {

enum class transport_kind { tcp, websockets };

struct client_options {
  std::string client_id;  // empty: 5.0 lets the broker assign one; 3.1.1 needs clean_start
  protocol_version version = protocol_version::v5;
  transport_kind transport = transport_kind::tcp;
  clean_start_policy clean_start = clean_start_policy::first_only;
  bool manual_ack = false;
  bool reconnect_on_failure = true;  // loop_forever() and loop_start() reconnect
};

// A message that owns its bytes, for keeping beyond a callback.
struct owned_message {
  std::string topic;
  std::vector<std::byte> payload;
  qos q = qos::at_most_once;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;
  std::vector<std::pair<std::string, std::string>> user_properties;
  std::optional<std::string> content_type;
  std::optional<std::string> response_topic;
  std::optional<std::vector<std::byte>> correlation_data;
  std::optional<std::uint32_t> message_expiry_interval;
  std::optional<std::uint8_t> payload_format_indicator;
  std::vector<std::uint32_t> subscription_identifiers;

  static owned_message from(const publish& p);
  std::string_view payload_text() const noexcept { return as_chars(payload); }
};

// Properties that own their strings, for building commands conveniently.
class property_list {
 public:
  property_list() = default;
  // A copy owns copies of the strings (its views never point into the original).
  property_list(const property_list& other);
  property_list& operator=(const property_list& other);
  property_list(property_list&&) noexcept = default;
  property_list& operator=(property_list&&) noexcept = default;

  property_list& add(property_id id, std::uint32_t number);
  property_list& add(property_id id, std::string_view text);
  property_list& add_binary(property_id id, bytes_view data);
  property_list& add_user(std::string_view name, std::string_view value);
  properties view() const noexcept;  // valid while this list lives unchanged
  bool empty() const noexcept { return items_.empty(); }

 private:
  std::vector<std::unique_ptr<std::string>> texts_;  // stable addresses for the views
  std::vector<property> items_;
};

// The result of publish(): paho's MQTTMessageInfo.
class message_info {
 public:
  message_info() = default;
  message_id mid() const noexcept;
  std::error_code rc() const noexcept;  // why publish() failed, if it did
  bool is_published() const noexcept;   // QoS 0 written, or QoS 1/2 acknowledged
  // Blocks until published, a failure, or the timeout. True when published. From a callback
  // (or any thread inside the client's loop) it does not wait — the loop could not run to
  // complete the message — and returns is_published().
  bool wait_for_publish(std::optional<std::chrono::milliseconds> timeout = std::nullopt) const;
  publish_outcome outcome() const noexcept;  // valid once complete
  reason_code reason() const noexcept;       // the broker's PUBACK/PUBCOMP reason (5.0)

  struct state;
  explicit message_info(std::shared_ptr<state> s) : state_(std::move(s)) {}

 private:
  std::shared_ptr<state> state_;
};

struct connect_flags {
  bool session_present = false;
};

struct disconnect_flags {
  bool is_disconnect_packet_from_server = false;
};

class client {
 public:
  explicit client(client_options options = {});
  explicit client(std::string client_id, protocol_version version = protocol_version::v5,
                  transport_kind transport = transport_kind::tcp);
  ~client();  // stops the loop thread, closes the connection
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // ---- configuration (before connect) ---------------------------------------------------
  void username_pw_set(std::string username, std::optional<std::string> password = std::nullopt);
  void will_set(std::string topic, std::string_view payload = {}, qos q = qos::at_most_once,
                bool retain = false, const property_list& props = {});
  void will_clear();
  void tls_set(net::tls_options options = {});
  // Skips certificate and hostname verification: for tests only (see tls_options).
  void tls_insecure_set(bool insecure);
  void ws_set_options(std::string path = "/mqtt",
                      std::vector<std::pair<std::string, std::string>> headers = {});
  void proxy_set(net::proxy_options proxy);
  void proxy_from_environment(bool enabled = true);
  void reconnect_delay_set(std::chrono::milliseconds min_delay = std::chrono::seconds(1),
                           std::chrono::milliseconds max_delay = std::chrono::seconds(120));
  void max_inflight_messages_set(std::uint16_t inflight);
  void max_queued_messages_set(std::size_t count);  // 0: paho's "unlimited" → a large bound
  void connect_timeout_set(std::chrono::milliseconds timeout);
  void enable_logger(log_level min_level = log_level::info);  // logs to stderr
  void disable_logger();
  void user_data_set(std::any data);
  std::any& user_data() noexcept;
  // Everything else the session and the transport offer (5.0 properties, queue policies,
  // ack timeout, topic aliases, TLS details): adjust before connect.
  session_config& session_options() noexcept;
  net::transport_options& transport_options() noexcept;

  // ---- connection -----------------------------------------------------------------------
  // Opens the transport (blocking until TCP, proxy, TLS and WebSocket are established or the
  // connect timeout) and sends CONNECT; CONNACK is handled by the loop (on_connect).
  std::error_code connect(const std::string& host, std::uint16_t port = 1883,
                          std::chrono::seconds keepalive = std::chrono::seconds(60),
                          const property_list& properties = {});
  // "mqtt://user:pw@host:1883", "mqtts://host", "ws://host:8080/mqtt", "wss://host/mqtt".
  std::error_code connect_url(const std::string& url,
                              std::chrono::seconds keepalive = std::chrono::seconds(60));
  // Like connect() but the loop opens the connection (never blocks the caller).
  std::error_code connect_async(const std::string& host, std::uint16_t port = 1883,
                                std::chrono::seconds keepalive = std::chrono::seconds(60),
                                const property_list& properties = {});
  std::error_code reconnect();
  std::error_code disconnect(reason_code code = reason_code::normal_disconnection,
                             const property_list& properties = {});
  bool is_connected() const;
  // MQTT 5.0 re-authentication (AUTH, reason Re-authenticate) through the authenticator set in
  // session_options().auth; the outcome arrives like the first exchange (a failure ends the
  // connection with the broker's reason code).
  std::error_code reauthenticate();
  // The transport's own words for the last connection failure (OpenSSL's verification error,
  // a proxy's reply, a refused WebSocket upgrade's HTTP status); empty when it had none.
  std::string last_error_message() const;

  // ---- running ----------------------------------------------------------------------------
  std::error_code loop(std::chrono::milliseconds timeout = std::chrono::seconds(1));
  std::error_code loop_forever(std::chrono::milliseconds timeout = std::chrono::seconds(1),
                               bool retry_first_connection = false);
  std::error_code loop_start();
  std::error_code loop_stop();

  int socket() const;      // -1 when not connected
  bool want_write() const;
  std::error_code loop_read();
  std::error_code loop_write();
  std::error_code loop_misc();
  std::optional<std::chrono::milliseconds> next_timeout() const;

  // ---- messaging ----------------------------------------------------------------------------
  message_info publish(std::string_view topic, bytes_view payload, qos q = qos::at_most_once,
                       bool retain = false, const property_list& properties = {});
  message_info publish(std::string_view topic, std::string_view payload,
                       qos q = qos::at_most_once, bool retain = false,
                       const property_list& properties = {});
  // Returns the error and the packet id its on_subscribe carries.
  std::pair<std::error_code, std::uint16_t> subscribe(std::string_view filter,
                                                      qos q = qos::at_most_once,
                                                      const property_list& properties = {});
  std::pair<std::error_code, std::uint16_t> subscribe(std::string_view filter,
                                                      subscribe_options options,
                                                      const property_list& properties = {});
  std::pair<std::error_code, std::uint16_t> subscribe(
      const std::vector<std::pair<std::string, subscribe_options>>& filters,
      const property_list& properties = {});
  std::pair<std::error_code, std::uint16_t> unsubscribe(std::string_view filter,
                                                        const property_list& properties = {});
  std::pair<std::error_code, std::uint16_t> unsubscribe(const std::vector<std::string>& filters,
                                                        const property_list& properties = {});
  // Acknowledges a message received with manual_ack.
  std::error_code ack(std::uint16_t packet_id, reason_code code = reason_code::success);

  // ---- callbacks (paho VERSION2 shapes) -----------------------------------------------------
  std::function<void(client&, connect_flags, reason_code, const properties&)> on_connect;
  // Why the transport failed, in its own words: last_error_message() (on_log has said it too).
  std::function<void(client&, reason_code)> on_connect_fail;
  std::function<void(client&, disconnect_flags, reason_code, const properties&)> on_disconnect;
  std::function<void(client&, const tern::publish&)> on_message;
  std::function<void(client&, message_id, reason_code, const properties&)> on_publish;
  std::function<void(client&, std::uint16_t, const reason_code_list&, const properties&)>
      on_subscribe;
  std::function<void(client&, std::uint16_t, const reason_code_list&, const properties&)>
      on_unsubscribe;
  std::function<void(client&, log_level, std::string_view)> on_log;
  std::function<void(client&, int fd)> on_socket_open;
  std::function<void(client&, int fd)> on_socket_close;
  std::function<void(client&, int fd)> on_socket_register_write;
  std::function<void(client&, int fd)> on_socket_unregister_write;

  // A callback for messages whose topic matches `filter` (instead of on_message).
  void message_callback_add(std::string filter, std::function<void(client&, const tern::publish&)> cb);
  void message_callback_remove(const std::string& filter);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tern
