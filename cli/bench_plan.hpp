// `tern bench`'s validated settings and the plan made from them before any connection: each
// client's id, each publisher's topic, each subscriber's filter, and which subscriber should
// receive which publisher's messages (the basis of the loss count).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/net/tls.hpp"
#include "tern/packets.hpp"
#include "tern/protocol.hpp"

namespace tern::cli {

struct bench_settings {
  // ---- broker
  std::string host = "localhost";
  std::uint16_t port = 1883;
  bool websocket = false;
  std::string websocket_path = "/mqtt";
  std::optional<net::tls_options> tls;  // set: connect over TLS
  std::optional<std::string> username;
  std::optional<std::string> password;
  protocol_version version = protocol_version::v5;
  std::chrono::seconds keepalive{60};
  std::string id_prefix;  // client ids are <prefix>-p<i> and <prefix>-s<i>

  // ---- load
  std::size_t publishers = 1;
  std::size_t subscribers = 1;
  qos q = qos::at_most_once;
  std::size_t payload_size = 64;
  std::string topic_pattern = "tern/bench/%i";
  std::string subscription_pattern;  // empty: derived from topic_pattern
  double rate = 0;                   // per publisher, messages/s; 0: as fast as the window allows
  std::optional<std::uint64_t> count;  // per publisher
  std::optional<std::chrono::nanoseconds> duration;
  std::uint16_t inflight = 64;  // unacknowledged (QoS 1/2) or unwritten (QoS 0) per publisher
  unsigned threads = 1;

  // ---- phases
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds drain_timeout{10'000};

  std::uint32_t run_id = 0;  // tells this run's payloads from others'
};

struct bench_plan {
  std::vector<std::string> publisher_ids;
  std::vector<std::string> publisher_topics;
  std::vector<std::string> subscriber_ids;
  std::vector<std::string> subscriber_filters;
  std::vector<std::uint32_t> fanout;  // per publisher: the subscribers whose filter matches
  std::vector<std::uint8_t> matches;  // [subscriber * publishers + publisher]

  bool subscriber_matches(std::size_t subscriber, std::size_t publisher) const noexcept {
    return matches[subscriber * publisher_topics.size() + publisher] != 0;
  }
};

// `pattern` with %i replaced by `index`, %c by `client_id` and %% by %. std::nullopt (and
// `error` says why) for any other % sequence.
std::optional<std::string> expand_pattern(std::string_view pattern, std::size_t index,
                                          std::string_view client_id, std::string& error);

// The subscribers' default filter: the topic pattern with every level that holds %i or %c
// replaced by '+', so each subscriber receives every publisher ("t/%i/x" → "t/+/x").
std::string default_subscription_pattern(std::string_view topic_pattern);

// Expands and validates every topic and filter. On a bad one returns std::nullopt and sets
// `error` to a message naming the option (-t or --sub-topic).
std::optional<bench_plan> make_plan(const bench_settings& settings, std::string& error);

}  // namespace tern::cli
