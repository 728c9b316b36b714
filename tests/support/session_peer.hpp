// A scripted broker for session tests, on a virtual clock: no sockets, no threads.
//
// session_peer owns a tern::session and plays both the adapter and the broker. It drains the
// session after every input in the order session.hpp prescribes (actions, events, transmit),
// writes what the client transmits to a virtual wire (optionally a few bytes per write, or not
// at all while the transport is blocked), decodes those bytes as a broker would (sender::client)
// and queues the packets for expect<P>(). Replies are encoded for the session's version and fed
// whole, byte by byte, or through receive_buffer()/handle_received().
//
//   session_peer p(test_config(protocol_version::v5));
//   p.start();                                    // connect(): open_transport, CONNECT queued
//   auto c = p.expect<tern::connect>();           // what the client wrote, decoded
//   p.reply(tern::connack{});                     // the broker answers
//   p.expect_event<ev_connected>();               // what the application saw
//   p.advance(std::chrono::seconds(60));          // time passes; timers fire on the way
//   p.expect<tern::pingreq>();
//
// Events are copied into owned values (ev_*) as they are drained, so their contents outlive the
// session's view lifetime. Open and close actions are recorded (actions()) and, by default,
// carried out at once: open succeeds (open_mode), close closes (auto_close).
#pragma once

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "support/codec_check.hpp"
#include "support/hex.hpp"
#include "tern/tern.hpp"

namespace tern::test {

using namespace std::chrono_literals;

// An arbitrary start for the virtual clock: far from zero, so that code which confuses "no
// time" with "time zero" shows.
inline const time_point epoch = time_point{} + std::chrono::hours(1000);

// Whole seconds between two time points (for readable checks).
inline std::int64_t secs(duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

// ---- owned copies of what the session hands out --------------------------------------------

// A property list that owns its strings; copies stay valid on their own.
class owned_properties {
 public:
  owned_properties() = default;
  explicit owned_properties(const properties& props) {
    for (const property p : props) add(p);
  }
  owned_properties(const owned_properties& o) { copy_from(o); }
  owned_properties& operator=(const owned_properties& o) {
    if (this != &o) {
      list_.clear();
      text_.clear();
      copy_from(o);
    }
    return *this;
  }
  owned_properties(owned_properties&&) noexcept = default;
  owned_properties& operator=(owned_properties&&) noexcept = default;

  properties view() const { return properties(std::span<const property>(list_)); }
  std::size_t size() const { return list_.size(); }
  bool empty() const { return list_.empty(); }
  std::optional<std::uint32_t> number(property_id id) const { return view().number(id); }
  std::optional<std::string> text(property_id id) const {
    const auto t = view().text(id);
    return t ? std::optional<std::string>(std::string(*t)) : std::nullopt;
  }
  bool contains(property_id id) const { return view().contains(id); }
  const std::vector<property>& list() const { return list_; }

 private:
  void add(property p) {
    p.text = keep(p.text);
    p.value = keep(p.value);
    list_.push_back(p);
  }
  std::string_view keep(std::string_view s) {
    text_.push_back(std::make_unique<std::string>(s));
    return *text_.back();
  }
  void copy_from(const owned_properties& o) {
    for (const property& p : o.list_) add(p);
  }
  std::vector<std::unique_ptr<std::string>> text_;
  std::vector<property> list_;
};

struct ev_connected {
  bool session_present = false;
  std::string assigned_client_id;
  server_limits limits;
  owned_properties props;
};

struct ev_disconnected {
  disconnect_cause cause{};
  reason_code code = reason_code::success;
  std::optional<decode_error> error;
  owned_properties props;
  std::string reason_string;
  std::optional<time_point> reconnect_at;
};

struct ev_message {
  std::string topic;
  std::string payload;
  qos q = qos::at_most_once;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;
  owned_properties props;
  bool needs_ack = false;
};

struct ev_completed {
  message_id id = 0;
  std::uint16_t packet_id = 0;
  qos q = qos::at_most_once;
  publish_outcome outcome{};
  reason_code code = reason_code::success;
  bool reached_broker = false;
  owned_properties props;
};

struct ev_subscribed {
  std::uint16_t packet_id = 0;
  std::vector<reason_code> codes;
  owned_properties props;
  bool resubscribe = false;
  bool aborted = false;
};

struct ev_unsubscribed {
  std::uint16_t packet_id = 0;
  std::vector<reason_code> codes;
  owned_properties props;
  bool aborted = false;
};

struct ev_reauthenticated {
  owned_properties props;
};

using owned_event = std::variant<ev_connected, ev_disconnected, ev_message, ev_completed,
                                 ev_subscribed, ev_unsubscribed, ev_reauthenticated>;

inline std::string event_name(const owned_event& e) {
  static constexpr const char* names[] = {"connected",      "disconnected", "message",
                                          "completed",      "subscribed",   "unsubscribed",
                                          "reauthenticated"};
  return names[e.index()];
}

inline owned_event own(const event& e) {
  return std::visit(
      [](const auto& x) -> owned_event {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, connected>) {
          return ev_connected{x.session_present, std::string(x.assigned_client_id), x.limits,
                              owned_properties(x.props)};
        } else if constexpr (std::is_same_v<T, disconnected>) {
          return ev_disconnected{x.cause,
                                 x.code,
                                 x.error,
                                 owned_properties(x.props),
                                 std::string(x.reason_string),
                                 x.reconnect_at};
        } else if constexpr (std::is_same_v<T, message>) {
          return ev_message{std::string(x.packet.topic),
                            std::string(as_chars(x.packet.payload)),
                            x.packet.q,
                            x.packet.retain,
                            x.packet.dup,
                            x.packet.packet_id,
                            owned_properties(x.packet.props),
                            x.needs_ack};
        } else if constexpr (std::is_same_v<T, publish_completed>) {
          return ev_completed{x.id,
                              x.packet_id,
                              x.q,
                              x.outcome,
                              x.code,
                              x.reached_broker,
                              owned_properties(x.props)};
        } else if constexpr (std::is_same_v<T, subscribed>) {
          return ev_subscribed{x.packet_id,
                               std::vector<reason_code>(x.codes.begin(), x.codes.end()),
                               owned_properties(x.props), x.resubscribe, x.aborted};
        } else if constexpr (std::is_same_v<T, unsubscribed>) {
          return ev_unsubscribed{x.packet_id,
                                 std::vector<reason_code>(x.codes.begin(), x.codes.end()),
                                 owned_properties(x.props), x.aborted};
        } else {
          return ev_reauthenticated{owned_properties(x.props)};
        }
      },
      e);
}

// An open or close request, as the adapter saw it.
struct peer_action {
  enum class kind : std::uint8_t { open, close } k{};
  std::string server_reference;  // open only
  time_point at{};
};

// A packet the client wrote: its bytes (kept alive by the shared pointer, which the decoded
// views point into), the packet, and when its last byte was written.
template <class P>
struct sent {
  std::shared_ptr<const std::vector<std::byte>> bytes;
  P p;
  time_point written_at{};
  const P* operator->() const { return &p; }
  const P& operator*() const { return p; }
  std::string hex() const { return to_hex(*bytes); }
};

enum class feed_mode : std::uint8_t {
  whole,         // handle_bytes() with everything at once
  byte_by_byte,  // handle_bytes() one byte per call
  zero_copy,     // receive_buffer() + handle_received()
};

// ---- configuration -------------------------------------------------------------------------

inline session_config test_config(protocol_version v = protocol_version::v5) {
  session_config c;
  c.version = v;
  c.client_id = "tern-test";
  c.keep_alive = 60s;
  c.random_seed = 42;
  c.backoff.jitter = 0.0;  // deterministic delays unless a test asks for jitter
  return c;
}

// Runs the enclosing test case once per protocol version (call it at the top of a TEST_CASE).
inline protocol_version each_version() {
  protocol_version v = protocol_version::v5;
  SUBCASE("MQTT 3.1.1") { v = protocol_version::v3_1_1; }
  SUBCASE("MQTT 5.0") { v = protocol_version::v5; }
  return v;
}

// Runs the enclosing test case once per way of feeding received bytes.
inline feed_mode each_feed() {
  feed_mode f = feed_mode::whole;
  SUBCASE("fed whole") { f = feed_mode::whole; }
  SUBCASE("fed byte by byte") { f = feed_mode::byte_by_byte; }
  SUBCASE("fed through receive_buffer") { f = feed_mode::zero_copy; }
  return f;
}

template <class P>
std::vector<std::byte> encoded(const P& p, protocol_version v) {
  const auto size = measure(p, v);
  REQUIRE_MESSAGE(size.has_value(),
                  "the test's packet does not encode: " << to_string(size.error()));
  std::vector<std::byte> out(size->total);
  write(p, v, *size, out.data());
  return out;
}

inline bytes_view text_bytes(std::string_view s) { return as_bytes(s); }

// A PUBLISH built for a test (topic and payload are views of string literals or test strings).
inline tern::publish make_publish(std::string_view topic, std::string_view payload,
                                  qos q = qos::at_most_once, properties props = {}) {
  tern::publish p;
  p.topic = topic;
  p.payload = as_bytes(payload);
  p.q = q;
  p.props = props;
  return p;
}

// ---- the peer ------------------------------------------------------------------------------

enum class open_mode : std::uint8_t {
  accept,  // open_transport succeeds at once
  refuse,  // open_transport fails at once (handle_transport_closed)
  manual,  // the test calls opened() / close() itself
};

class session_peer {
 public:
  explicit session_peer(const session_config& config,
                        std::pmr::memory_resource* memory = std::pmr::get_default_resource())
      : version(config.version), s(config, memory) {}

  session_peer(const session_peer&) = delete;
  session_peer& operator=(const session_peer&) = delete;

  // ---- knobs ----
  protocol_version version;
  tern::session s;
  time_point now = epoch;
  feed_mode feed = feed_mode::whole;
  open_mode opening = open_mode::accept;
  bool auto_close = true;  // carry out close_transport at once
  bool blocked = false;    // the transport accepts no bytes
  std::size_t write_chunk = std::numeric_limits<std::size_t>::max();  // bytes per write
  // Called for each event as it is drained (the application may act from here).
  std::function<void(session_peer&, const owned_event&)> on_event;

  bool transport_up() const { return up_; }
  std::size_t commits() const { return commits_; }              // commit_transmit calls with bytes
  std::size_t bytes_written() const { return bytes_written_; }  // on the current connection
  std::size_t connections() const { return connections_; }

  // ---- driving the session ----

  // connect(): expects the open_transport request; with open_mode::accept the transport
  // opens and CONNECT is written.
  void start() {
    const auto r = s.connect(now);
    REQUIRE_MESSAGE(r.has_value(), "connect() failed: " << to_string(r.error()));
    pump();
  }

  // The adapter reports the transport open (open_mode::manual).
  void opened() {
    up_ = true;
    wire_.clear();
    bytes_written_ = 0;
    ++connections_;
    s.handle_transport_opened(now);
    pump();
  }

  // The transport closed under the session (the broker hung up, a network failure).
  void close() {
    up_ = false;
    s.handle_transport_closed(now);
    pump();
  }

  // Starts, checks CONNECT, answers with `ack` and checks the connected event.
  ev_connected connect_with(tern::connack ack = {}) {
    start();
    (void)expect<tern::connect>();
    reply(ack);
    return expect_event<ev_connected>();
  }

  // The whole handshake after a reconnection was scheduled: the backoff passes, the transport
  // opens, CONNECT goes out and `ack` comes back.
  sent<tern::connect> reconnect_with(tern::connack ack = {}) {
    advance_to(s.poll_timeout().value_or(now));
    auto c = expect<tern::connect>();
    reply(ack);
    (void)expect_event<ev_connected>();
    return c;
  }

  // Feeds an encoded packet the way `feed` says.
  template <class P>
  void reply(const P& p) {
    feed_bytes(encoded(p, version));
  }
  // Several packets in one input call (views of earlier ones must survive later ones).
  void reply_bytes(const std::vector<std::byte>& bytes) { feed_bytes(bytes); }
  void raw(std::string_view hex_text) { feed_bytes(hex(hex_text)); }

  void feed_bytes(const std::vector<std::byte>& bytes) {
    switch (feed) {
      case feed_mode::whole:
        s.handle_bytes(bytes, now);
        pump();
        break;
      case feed_mode::byte_by_byte:
        for (std::size_t i = 0; i < bytes.size(); ++i) {
          s.handle_bytes(bytes_view(bytes.data() + i, 1), now);
          pump();
        }
        break;
      case feed_mode::zero_copy: {
        std::size_t at = 0;
        while (at < bytes.size()) {
          const mutable_bytes space = s.receive_buffer();
          REQUIRE(!space.empty());
          const std::size_t n = std::min(space.size(), bytes.size() - at);
          std::memcpy(space.data(), bytes.data() + at, n);
          at += n;
          s.handle_received(n, now);
          pump();
        }
        break;
      }
    }
  }

  // Moves the clock forward by `d`, firing every deadline reached on the way, in order.
  void advance(duration d) { advance_to(now + d); }
  void advance_to(time_point target) {
    for (int fired = 0;; ++fired) {
      REQUIRE_MESSAGE(fired < 10'000, "a deadline keeps firing without being cleared");
      const auto deadline = s.poll_timeout();
      if (!deadline || *deadline > target) break;
      if (*deadline > now) now = *deadline;
      s.handle_timeout(now);
      pump();
    }
    if (target > now) now = target;
  }
  // Jumps to the next deadline and fires it; returns the deadline.
  time_point advance_to_next_deadline() {
    const auto deadline = s.poll_timeout();
    REQUIRE_MESSAGE(deadline.has_value(), "no timer runs");
    if (*deadline > now) now = *deadline;
    s.handle_timeout(now);
    pump();
    return *deadline;
  }

  // Lets a blocked transport write again.
  void unblock() {
    blocked = false;
    pump();
  }

  // The drain loop of session.hpp: actions, events, transmit, until nothing moves.
  void pump() {
    for (int round = 0;; ++round) {
      REQUIRE_MESSAGE(round < 100'000, "the session keeps producing output");
      bool progress = false;
      while (auto a = s.poll_action()) {
        progress = true;
        if (const auto* open = std::get_if<open_transport>(&*a)) {
          actions_.push_back({peer_action::kind::open, std::string(open->server_reference), now});
          if (opening == open_mode::accept) {
            opened_pending_ = true;
          } else if (opening == open_mode::refuse) {
            refused_pending_ = true;
          }
        } else {
          actions_.push_back({peer_action::kind::close, {}, now});
          if (auto_close) close_pending_ = true;
        }
      }
      while (auto e = s.poll_event()) {
        progress = true;
        events_.push_back(own(*e));
        if (on_event) {
          const owned_event copy = events_.back();
          on_event(*this, copy);
        }
      }
      if (close_pending_) {  // the adapter closes, then reports it
        close_pending_ = false;
        up_ = false;
        s.handle_transport_closed(now);
        continue;
      }
      if (opened_pending_) {
        opened_pending_ = false;
        up_ = true;
        wire_.clear();
        bytes_written_ = 0;
        ++connections_;
        s.handle_transport_opened(now);
        continue;
      }
      if (refused_pending_) {
        refused_pending_ = false;
        s.handle_transport_closed(now);
        continue;
      }
      if (up_ && !blocked && s.transmit_size() != 0) progress |= write_once();
      if (!progress) break;
    }
  }

  // ---- what the client wrote ----

  template <class P>
  sent<P> expect() {
    INFO("expected " << to_string(P::type));
    REQUIRE_MESSAGE(!written_.empty(), "the client wrote nothing (more)");
    written_packet w = std::move(written_.front());
    written_.pop_front();
    const P* p = std::get_if<P>(&w.p);
    REQUIRE_MESSAGE(p != nullptr, "the client wrote " << describe(w.p));
    return sent<P>{w.bytes, *p, w.at};
  }

  // The next packet's exact bytes.
  void expect_bytes(std::string_view hex_text) {
    REQUIRE_MESSAGE(!written_.empty(), "the client wrote nothing (more)");
    written_packet w = std::move(written_.front());
    written_.pop_front();
    CHECK(to_hex(*w.bytes) == to_hex(hex(hex_text)));
  }

  void expect_nothing() {
    if (!written_.empty()) FAIL("the client wrote " << describe(written_.front().p));
  }
  std::size_t packets_waiting() const { return written_.size(); }
  // The kind of the next packet the client wrote, without taking it.
  std::optional<packet_type> next_type() const {
    if (written_.empty()) return std::nullopt;
    return type_of(written_.front().p);
  }
  // Bytes of a packet the client began but did not finish writing.
  std::size_t partial_bytes() const { return wire_.size(); }

  // ---- what the application saw ----

  template <class E>
  E expect_event() {
    REQUIRE_MESSAGE(!events_.empty(), "no (more) events");
    owned_event e = std::move(events_.front());
    events_.pop_front();
    E* x = std::get_if<E>(&e);
    REQUIRE_MESSAGE(x != nullptr, "the next event is " << event_name(e));
    return std::move(*x);
  }
  void expect_no_event() {
    if (!events_.empty()) FAIL("unexpected event: " << event_name(events_.front()));
  }
  std::deque<owned_event> take_events() { return std::exchange(events_, {}); }
  std::size_t events_waiting() const { return events_.size(); }

  // Open / close requests in order, with their times.
  std::vector<peer_action>& actions() { return actions_; }
  std::vector<peer_action> take_actions() { return std::exchange(actions_, {}); }

  // Publishes and REQUIREs success; returns the message id.
  message_id publish(const tern::publish& p) {
    const auto r = s.publish(p, now);
    REQUIRE_MESSAGE(r.has_value(), "publish() failed: " << to_string(r.error()));
    pump();
    return *r;
  }
  message_id publish(std::string_view topic, std::string_view payload, qos q = qos::at_most_once,
                     properties props = {}) {
    return publish(make_publish(topic, payload, q, props));
  }
  std::uint16_t subscribe(std::span<const subscription> subs, const properties& props = {}) {
    const auto r = s.subscribe(subs, now, props);
    REQUIRE_MESSAGE(r.has_value(), "subscribe() failed: " << to_string(r.error()));
    pump();
    return *r;
  }

 private:
  struct written_packet {
    std::shared_ptr<const std::vector<std::byte>> bytes;
    packet p;
    time_point at{};
  };

  bool write_once() {
    std::array<bytes_view, 64> slices{};
    const std::size_t n = s.poll_transmit(slices);
    std::size_t total = 0;
    for (std::size_t i = 0; i < n; ++i) total += slices[i].size();
    if (n < slices.size()) {
      REQUIRE_MESSAGE(total == s.transmit_size(), "poll_transmit() and transmit_size() disagree");
    }
    std::size_t budget = write_chunk;
    std::size_t written = 0;
    for (std::size_t i = 0; i < n && budget != 0; ++i) {
      const std::size_t take = std::min(slices[i].size(), budget);
      wire_.insert(wire_.end(), slices[i].begin(),
                   slices[i].begin() + static_cast<std::ptrdiff_t>(take));
      written += take;
      budget -= take;
    }
    if (written == 0) return false;
    ++commits_;
    bytes_written_ += written;
    s.commit_transmit(written, now);
    parse_wire();
    return true;
  }

  void parse_wire() {
    for (;;) {
      std::size_t used = 0;
      decoder_options o;
      o.version = version;
      o.from = sender::client;
      const bytes_view in(wire_);
      auto r = decode_packet(in, o, used);
      REQUIRE_MESSAGE(r.has_value(), "the client wrote an invalid packet: "
                                         << describe(r.error()) << " in " << to_hex(wire_));
      if (!r->has_value()) return;
      auto bytes = std::make_shared<const std::vector<std::byte>>(
          wire_.begin(), wire_.begin() + static_cast<std::ptrdiff_t>(used));
      std::size_t again = 0;
      auto copy = decode_packet(*bytes, o, again);
      REQUIRE(copy.has_value());
      REQUIRE(copy->has_value());
      written_.push_back({bytes, **copy, now});
      wire_.erase(wire_.begin(), wire_.begin() + static_cast<std::ptrdiff_t>(used));
    }
  }

  bool up_ = false;
  bool opened_pending_ = false;
  bool refused_pending_ = false;
  bool close_pending_ = false;
  std::size_t commits_ = 0;
  std::size_t bytes_written_ = 0;
  std::size_t connections_ = 0;
  std::vector<std::byte> wire_;
  std::deque<written_packet> written_;
  std::deque<owned_event> events_;
  std::vector<peer_action> actions_;
};

}  // namespace tern::test
