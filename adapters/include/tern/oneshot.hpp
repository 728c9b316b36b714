// One-shot helpers, like paho's publish.single / publish.multiple and subscribe.simple /
// subscribe.callback: connect, do one thing, disconnect cleanly.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "tern/client.hpp"

namespace tern {

struct oneshot_options {
  std::string host = "localhost";
  std::uint16_t port = 1883;
  std::string client_id;
  std::chrono::seconds keepalive{60};
  protocol_version version = protocol_version::v5;
  transport_kind transport = transport_kind::tcp;
  std::optional<std::pair<std::string, std::string>> auth;  // username, password
  std::optional<net::tls_options> tls;
  std::optional<net::proxy_options> proxy;
  struct will_spec {
    std::string topic;
    std::string payload;
    qos q = qos::at_most_once;
    bool retain = false;
  };
  std::optional<will_spec> will;
  std::chrono::milliseconds timeout{30'000};  // for the whole operation
};

struct outgoing_message {
  std::string topic;
  std::string payload;
  qos q = qos::at_most_once;
  bool retain = false;
};

// Publishes and returns once every message is acknowledged (or written, QoS 0).
std::error_code publish_single(const std::string& topic, std::string_view payload,
                               qos q = qos::at_most_once, bool retain = false,
                               const oneshot_options& options = {});
std::error_code publish_multiple(const std::vector<outgoing_message>& messages,
                                 const oneshot_options& options = {});

// Subscribes and returns the first `count` messages (retained ones too unless `retained` is
// false).
std::error_code subscribe_simple(const std::vector<std::string>& filters, qos q,
                                 std::size_t count, bool retained,
                                 std::vector<owned_message>& out,
                                 const oneshot_options& options = {});

// Subscribes and calls `callback` for each message until it returns false (or the timeout, if
// options.timeout passes; a zero timeout runs until the callback returns false).
std::error_code subscribe_callback(const std::function<bool(client&, const publish&)>& callback,
                                   const std::vector<std::string>& filters,
                                   qos q = qos::at_most_once,
                                   const oneshot_options& options = {});

}  // namespace tern
