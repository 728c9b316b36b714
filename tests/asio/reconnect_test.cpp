// tern::asio::client: cancellation of async_receive and of a pending publish, and a broker
// restart with automatic reconnection that loses no QoS 1/2 message.
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>

#include <map>
#include <optional>
#include <set>
#include <variant>

#include "helpers.hpp"

using namespace tern;
using namespace tern::asio_test;
namespace ta = tern::asio;

namespace {

// A subscriber whose session outlives connections (and a broker restart with persistence).
ta::client_options persistent(std::uint16_t port, protocol_version v, const std::string& id) {
  ta::client_options o = options_for(port, v, id);
  o.session.clean_start = clean_start_policy::never;
  o.session.session_expiry_interval = 600;  // 5.0; 3.1.1 keeps it by clean session 0
  return o;
}

}  // namespace

TEST_CASE("asio: cancelling async_receive consumes no message") {
  TERN_FOR_EACH_VERSION(v);
  it::broker b;
  b.start();
  ::asio::io_context io;
  const std::string id = "asio-cancel-rx-" + it::tag_of(v);
  ta::client c(io, options_for(b.port(), v, id));

  run_coroutine(io, [&]() -> ::asio::awaitable<void> {
    using namespace ::asio::experimental::awaitable_operators;
    co_await c.async_connect(use_awaitable);
    co_await c.async_subscribe("asio/rx", {.max_qos = qos::at_least_once}, use_awaitable);

    // A timer that wins the race cancels the receive (terminal cancellation).
    ::asio::steady_timer timer(io, 50ms);
    auto first = co_await (c.async_receive(use_awaitable) || timer.async_wait(use_awaitable));
    CHECK(first.index() == 1);

    // Through an explicit slot: completes with operation_aborted at once.
    ::asio::cancellation_signal signal;
    std::optional<std::error_code> aborted;
    c.async_receive(::asio::bind_cancellation_slot(
        signal.slot(), [&](std::error_code ec, const ta::received_message&) { aborted = ec; }));
    ::asio::steady_timer pause(io, 20ms);
    co_await pause.async_wait(use_awaitable);
    signal.emit(::asio::cancellation_type::terminal);
    pause.expires_after(20ms);
    co_await pause.async_wait(use_awaitable);
    REQUIRE(aborted.has_value());
    CHECK(*aborted == ::asio::error::operation_aborted);

    // The next message goes to the next receive: none was lost to the cancelled ones.
    co_await c.async_publish("asio/rx", "after", qos::at_least_once, use_awaitable);
    const ta::received_message m = co_await c.async_receive(use_awaitable);
    CHECK(m.payload == "after");
    co_await c.async_disconnect(use_awaitable);
  });
}

TEST_CASE("asio: client::cancel() aborts every operation, the connection stays") {
  TERN_FOR_EACH_VERSION(v);
  it::broker b;
  b.start();
  ::asio::io_context io;
  const std::string id = "asio-cancel-all-" + it::tag_of(v);
  ta::client c(io, options_for(b.port(), v, id));

  run_coroutine(io, [&]() -> ::asio::awaitable<void> {
    co_await c.async_connect(use_awaitable);
    co_await c.async_subscribe("asio/all", {.max_qos = qos::at_least_once}, use_awaitable);
    std::vector<std::error_code> aborted;
    for (int i = 0; i < 3; ++i)
      c.async_receive(
          [&](std::error_code ec, const ta::received_message&) { aborted.push_back(ec); });
    c.cancel();
    ::asio::steady_timer pause(io, 50ms);
    co_await pause.async_wait(use_awaitable);
    REQUIRE(aborted.size() == 3);
    for (const auto& ec : aborted) CHECK(ec == ::asio::error::operation_aborted);
    CHECK(c.state() == session_state::connected);

    // Nothing was consumed and the connection still works.
    co_await c.async_publish("asio/all", "after", qos::at_least_once, use_awaitable);
    const ta::received_message m = co_await c.async_receive(use_awaitable);
    CHECK(m.payload == "after");
    co_await c.async_disconnect(use_awaitable);
  });
}

TEST_CASE("asio: client::cancel() stops a connection attempt that keeps retrying") {
  ::asio::io_context io;
  const std::string id = "asio-cancel-connect";
  ta::client_options o = options_for(tern::test::free_loopback_port(), protocol_version::v5, id);
  o.session.retry_first_connection = true;  // nobody listens: it would retry forever
  ta::client c(io, o);
  std::optional<std::error_code> connected;
  c.async_connect([&](std::error_code ec, const ta::connect_result&) { connected = ec; });
  REQUIRE_FALSE(run_until(io, [&] { return connected.has_value(); }, 300ms));
  c.cancel();
  REQUIRE(run_until(io, [&] { return connected.has_value(); }));
  CHECK(*connected == ::asio::error::operation_aborted);
  CHECK(run_until(io, [&] { return c.state() == session_state::idle; }));
}

TEST_CASE("asio: a cancelled publish is detached, and still delivered") {
  TERN_FOR_EACH_VERSION(v);
  it::broker_options with_persistence;
  with_persistence.persistence = true;
  it::broker b(with_persistence);
  b.start();
  ::asio::io_context io;
  const std::string id = "asio-cancel-pub-" + it::tag_of(v);
  std::vector<ta::connection_event> events;
  ta::client_options o = persistent(b.port(), v, id);
  o.on_connection_event = [&](const ta::connection_event& e) { events.push_back(e); };
  ta::client c(io, o);

  run_coroutine(io, [&]() -> ::asio::awaitable<void> {
    co_await c.async_connect(use_awaitable);
    co_await c.async_subscribe("asio/detached", {.max_qos = qos::exactly_once}, use_awaitable);
    b.stop();  // the client notices and keeps reconnecting (backoff) meanwhile
    ::asio::steady_timer pause(io, 100ms);
    co_await pause.async_wait(use_awaitable);
    CHECK(c.state() != session_state::connected);

    for (const qos q : {qos::at_least_once, qos::exactly_once}) {
      ::asio::cancellation_signal signal;
      std::optional<std::error_code> outcome;
      c.async_publish("asio/detached", "q" + std::to_string(static_cast<int>(q)), q,
                      ::asio::bind_cancellation_slot(
                          signal.slot(), [&](std::error_code ec, const ta::publish_result&) {
                            outcome = ec;
                          }));
      pause.expires_after(20ms);
      co_await pause.async_wait(use_awaitable);
      CHECK_FALSE(outcome.has_value());  // waiting for the broker
      signal.emit(::asio::cancellation_type::terminal);
      pause.expires_after(20ms);
      co_await pause.async_wait(use_awaitable);
      REQUIRE(outcome.has_value());
      CHECK(*outcome == ::asio::error::operation_aborted);
    }

    b.start();
    std::set<std::string> got;
    while (got.size() < 2) {
      const ta::received_message m = co_await c.async_receive(use_awaitable);
      got.insert(m.payload);
    }
    CHECK(got == std::set<std::string>{"q1", "q2"});
    co_await c.async_disconnect(use_awaitable);
  });
  // Connected, lost, at least one failed attempt while the broker was down, connected.
  REQUIRE(events.size() >= 3);
  CHECK(events.front().what == ta::connection_event::kind::connected);
  CHECK(events[1].what == ta::connection_event::kind::disconnected);
  CHECK(events[1].reconnect_at.has_value());
  int connects = 0;
  for (const auto& e : events) connects += e.what == ta::connection_event::kind::connected;
  CHECK(connects == 2);
}

TEST_CASE("asio: manual acknowledgement; an unacknowledged message comes again") {
  TERN_FOR_EACH_VERSION(v);
  it::broker b;
  b.start();
  ::asio::io_context io;
  const std::string id = "asio-manual-ack-" + it::tag_of(v);
  ta::client_options o = persistent(b.port(), v, id);
  o.session.manual_ack = true;
  ta::client c(io, o);

  run_coroutine(io, [&]() -> ::asio::awaitable<void> {
    const auto ack_error = [&](const ta::received_message& m,
                               reason_code code) -> ::asio::awaitable<std::error_code> {
      try {
        co_await c.async_ack(m, code, use_awaitable);
      } catch (const std::system_error& e) {
        co_return e.code();
      }
      co_return std::error_code{};
    };
    co_await c.async_connect(use_awaitable);
    co_await c.async_subscribe("asio/ack", {.max_qos = qos::exactly_once}, use_awaitable);
    for (const qos q : {qos::at_least_once, qos::exactly_once}) {
      co_await c.async_publish("asio/ack", "acked", q, use_awaitable);
      const ta::received_message m = co_await c.async_receive(use_awaitable);
      CHECK(m.q == q);
      if (v == protocol_version::v3_1_1) {  // no failure codes before 5.0
        CHECK(co_await ack_error(m, reason_code::unspecified_error) ==
              make_error_code(errc::invalid_reason_code));
      }
      CHECK_FALSE(co_await ack_error(m, reason_code::success));
      CHECK(co_await ack_error(m, reason_code::success) == make_error_code(errc::unknown_message));
    }
    co_await c.async_publish("asio/ack", "qos 0", qos::at_most_once, use_awaitable);
    const ta::received_message q0 = co_await c.async_receive(use_awaitable);
    CHECK(co_await ack_error(q0, reason_code::success) == make_error_code(errc::unknown_message));

    // Left unacknowledged: the broker sends it again on the next connection of the session.
    co_await c.async_publish("asio/ack", "unacked", qos::at_least_once, use_awaitable);
    const ta::received_message first = co_await c.async_receive(use_awaitable);
    CHECK(first.payload == "unacked");
    CHECK_FALSE(first.dup);
    co_await c.async_disconnect(use_awaitable);
    const ta::connect_result cr = co_await c.async_connect(use_awaitable);
    CHECK(cr.session_present);
    const ta::received_message again = co_await c.async_receive(use_awaitable);
    CHECK(again.payload == "unacked");
    CHECK(again.dup);
    CHECK_FALSE(co_await ack_error(again, reason_code::success));
    co_await c.async_disconnect(use_awaitable);
  });
}

TEST_CASE("asio: broker restart, automatic reconnection, no QoS 1/2 message lost") {
  TERN_FOR_EACH_VERSION(v);
  it::broker_options with_persistence;
  with_persistence.persistence = true;
  it::broker b(with_persistence);
  b.start();
  ::asio::io_context io;
  const std::string sub_id = "asio-restart-sub-" + it::tag_of(v);
  const std::string pub_id = "asio-restart-pub-" + it::tag_of(v);
  ta::client sub(io, persistent(b.port(), v, sub_id));
  ta::client pub(io, persistent(b.port(), v, pub_id));

  constexpr int per_phase = 20;
  std::map<std::string, int> received;  // payload -> times
  int completed = 0;
  std::vector<std::error_code> failures;

  run_coroutine(
      io,
      [&]() -> ::asio::awaitable<void> {
        co_await sub.async_connect(use_awaitable);
        co_await sub.async_subscribe("asio/restart/#", {.max_qos = qos::exactly_once},
                                     use_awaitable);
        co_await pub.async_connect(use_awaitable);

        auto publish_phase = [&](int phase) {
          for (int i = 0; i < per_phase; ++i) {
            const qos q = i % 2 == 0 ? qos::at_least_once : qos::exactly_once;
            pub.async_publish("asio/restart/" + std::to_string(static_cast<int>(q)),
                              std::to_string(phase) + ":" + std::to_string(i), q,
                              [&](std::error_code ec, const ta::publish_result&) {
                                ++completed;
                                if (ec) failures.push_back(ec);
                              });
          }
        };
        publish_phase(0);  // before: some may be in flight when the broker goes
        ::asio::steady_timer pause(io, 5ms);
        co_await pause.async_wait(use_awaitable);
        b.stop();
        publish_phase(1);  // while it is down: queued by the session
        pause.expires_after(300ms);
        co_await pause.async_wait(use_awaitable);
        b.start();
        publish_phase(2);  // while reconnecting

        while (received.size() < 3 * per_phase) {
          const ta::received_message m = co_await sub.async_receive(use_awaitable);
          ++received[m.payload];
          if (m.q == qos::exactly_once) CHECK(received[m.payload] == 1);
        }
        while (completed < 3 * per_phase) {  // completions may trail the deliveries
          pause.expires_after(10ms);
          co_await pause.async_wait(use_awaitable);
        }
        co_await pub.async_disconnect(use_awaitable);
        co_await sub.async_disconnect(use_awaitable);
      },
      60s);
  CHECK(received.size() == 3 * per_phase);
  CHECK(failures.empty());
}
