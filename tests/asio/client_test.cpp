// tern::asio::client against mosquitto: every operation at QoS 0/1/2 for MQTT 3.1.1 and 5.0,
// with each kind of completion token (use_awaitable, callbacks, use_future, deferred).
#include <asio/experimental/deferred.hpp>
#include <asio/use_future.hpp>

#include <future>
#include <optional>
#include <thread>

#include "helpers.hpp"

using namespace tern;
using namespace tern::asio_test;
namespace ta = tern::asio;

TEST_CASE("asio: connect, subscribe, publish, receive, unsubscribe, disconnect (coroutines)") {
  TERN_FOR_EACH_VERSION(v);
  it::broker b;
  b.start();
  ::asio::io_context io;
  const std::string id = "asio-co-" + it::tag_of(v);
  ta::client c(io, options_for(b.port(), v, id));
  CHECK(c.state() == session_state::idle);

  run_coroutine(io, [&]() -> ::asio::awaitable<void> {
    const ta::connect_result cr = co_await c.async_connect(use_awaitable);
    CHECK_FALSE(cr.session_present);
    CHECK(c.state() == session_state::connected);

    const ta::subscribe_result sr =
        co_await c.async_subscribe("asio/co/#", {.max_qos = qos::exactly_once}, use_awaitable);
    REQUIRE(sr.codes.size() == 1);
    CHECK(sr.codes[0] == reason_code::granted_qos_2);

    std::uint64_t seed = 1;
    for (const qos q : {qos::at_most_once, qos::at_least_once, qos::exactly_once}) {
      for (const std::size_t size : {std::size_t{0}, std::size_t{10}, std::size_t{300} * 1024}) {
        CAPTURE(static_cast<int>(q));
        CAPTURE(size);
        const std::string topic = "asio/co/" + std::to_string(static_cast<int>(q));
        const std::string payload = payload_of(size, seed++);
        const ta::publish_result pr = co_await c.async_publish(topic, payload, q, use_awaitable);
        CHECK(pr.outcome ==
              (q == qos::at_most_once ? publish_outcome::sent : publish_outcome::acknowledged));
        CHECK_FALSE(is_failure(pr.code));
        const ta::received_message m = co_await c.async_receive(use_awaitable);
        CHECK(m.topic == topic);
        CHECK(m.payload == payload);
        CHECK(m.q == q);
      }
    }

    // 5.0 properties travel both ways.
    if (v == protocol_version::v5) {
      ta::outgoing_message out{"asio/co/props", "p", qos::at_least_once, false, {}};
      out.props.add(property_id::content_type, "text/plain").add_user("k", "v");
      (void)co_await c.async_publish(std::move(out), use_awaitable);
      const ta::received_message m = co_await c.async_receive(use_awaitable);
      CHECK(m.props.text(property_id::content_type) == "text/plain");
      CHECK(m.props.view().contains(property_id::user_property));
    }

    const ta::subscribe_result ur = co_await c.async_unsubscribe("asio/co/#", use_awaitable);
    CHECK(ur.codes.size() == 1);
    CHECK_FALSE(is_failure(ur.codes[0]));

    // A failed SUBACK entry is the operation's error (and its code in the result).
    if (v == protocol_version::v5) {
      std::error_code ec;
      try {
        (void)co_await c.async_subscribe("$share/group", {}, use_awaitable);
      } catch (const std::system_error& e) {
        ec = e.code();
      }
      CHECK(ec);  // an invalid shared filter: refused before anything is sent
    }

    co_await c.async_disconnect(use_awaitable);
    CHECK(c.state() == session_state::idle);
  });
}

TEST_CASE("asio: callbacks") {
  TERN_FOR_EACH_VERSION(v);
  it::broker b;
  b.start();
  ::asio::io_context io;
  const std::string id = "asio-cb-" + it::tag_of(v);
  ta::client c(io, options_for(b.port(), v, id));

  std::vector<std::string> steps;
  std::optional<ta::received_message> got;
  bool disconnected = false;
  // Disconnecting drops what still waits for an ack: only once all four are done.
  auto maybe_disconnect = [&] {
    if (!got || steps.size() != 5) return;
    c.async_disconnect([&](std::error_code dec) {
      CHECK_FALSE(dec);
      disconnected = true;
    });
  };
  c.async_connect([&](std::error_code ec, const ta::connect_result&) {
    REQUIRE_FALSE(ec);
    steps.push_back("connected");
    c.async_subscribe(
        "asio/cb", {.max_qos = qos::at_least_once},
        [&](std::error_code sec, const ta::subscribe_result& r) {
          REQUIRE_FALSE(sec);
          CHECK(r.codes.at(0) == reason_code::granted_qos_1);
          c.async_receive([&](std::error_code rec, ta::received_message m) {
            REQUIRE_FALSE(rec);
            got = std::move(m);
            maybe_disconnect();
          });
          for (const qos q : {qos::at_least_once, qos::exactly_once}) {
            c.async_publish("asio/cb/other", "x", q,
                            [&](std::error_code pec, const ta::publish_result& p) {
                              CHECK_FALSE(pec);
                              CHECK(p.outcome == publish_outcome::acknowledged);
                              steps.push_back("published");
                              maybe_disconnect();
                            });
          }
          c.async_publish("asio/cb", "hello", qos::at_least_once,
                          [&](std::error_code pec, const ta::publish_result&) {
                            CHECK_FALSE(pec);
                            steps.push_back("published");
                            maybe_disconnect();
                          });
          steps.push_back("subscribed");
          maybe_disconnect();
        });
  });
  REQUIRE(run_until(io, [&] { return disconnected; }));
  REQUIRE(got.has_value());
  CHECK(got->topic == "asio/cb");
  CHECK(got->payload == "hello");
  CHECK(got->q == qos::at_least_once);
  CHECK(steps.size() == 5);
  CHECK(steps.front() == "connected");
}

TEST_CASE("asio: use_future from another thread than the io_context's") {
  TERN_FOR_EACH_VERSION(v);
  it::broker b;
  b.start();
  ::asio::io_context io;
  auto work = ::asio::make_work_guard(io);
  std::thread runner([&] { io.run_for(60s); });
  struct join {
    std::thread& t;
    ::asio::executor_work_guard<::asio::io_context::executor_type>& w;
    ~join() {
      w.reset();
      t.join();
    }
  };
  {
    join joiner{runner, work};  // after the client is gone, whose shutdown runs on the runner
    const std::string id = "asio-future-" + it::tag_of(v);
    ta::client c(io, options_for(b.port(), v, id));
    auto ready = [](auto& f) { return f.wait_for(15s) == std::future_status::ready; };

    auto connected = c.async_connect(::asio::use_future);
    REQUIRE(ready(connected));
    (void)connected.get();
    auto subscribed = c.async_subscribe("asio/future", {.max_qos = qos::exactly_once},
                                        ::asio::use_future);
    REQUIRE(ready(subscribed));
    CHECK(subscribed.get().codes.at(0) == reason_code::granted_qos_2);
    for (const qos q : {qos::at_most_once, qos::at_least_once, qos::exactly_once}) {
      auto published = c.async_publish("asio/future", "f", q, ::asio::use_future);
      auto received = c.async_receive(::asio::use_future);
      REQUIRE(ready(published));
      CHECK_FALSE(is_failure(published.get().code));
      REQUIRE(ready(received));
      CHECK(received.get().q == q);
    }
    // A refused command: the future throws the session's error.
    auto bad = c.async_publish("bad/#", "x", qos::at_least_once, ::asio::use_future);
    REQUIRE(ready(bad));
    CHECK_THROWS_AS(bad.get(), std::system_error);
    auto done = c.async_disconnect(::asio::use_future);
    REQUIRE(ready(done));
    done.get();
  }
}

TEST_CASE("asio: deferred operations") {
  TERN_FOR_EACH_VERSION(v);
  it::broker b;
  b.start();
  ::asio::io_context io;
  const std::string id = "asio-deferred-" + it::tag_of(v);
  ta::client c(io, options_for(b.port(), v, id));
  // Nothing happens until a deferred operation is launched.
  auto connect = c.async_connect(::asio::experimental::deferred);
  auto publish = c.async_publish("asio/deferred", "d", qos::exactly_once,
                                 ::asio::experimental::deferred);
  CHECK(c.state() == session_state::idle);
  std::error_code connect_ec = make_error_code(errc::invalid_state);
  std::optional<ta::publish_result> published;
  std::move(connect)([&](std::error_code ec, const ta::connect_result&) {
    connect_ec = ec;
    std::move(publish)([&](std::error_code ec2, ta::publish_result r) {
      CHECK_FALSE(ec2);
      published = std::move(r);
    });
  });
  REQUIRE(run_until(io, [&] { return published.has_value(); }));
  CHECK_FALSE(connect_ec);
  CHECK(published->outcome == publish_outcome::acknowledged);
  bool disconnected = false;
  c.async_disconnect(::asio::experimental::deferred)([&](std::error_code) { disconnected = true; });
  REQUIRE(run_until(io, [&] { return disconnected; }));
}

TEST_CASE("asio: 1,000 clients on one io_context, each publishing and receiving") {
  it::broker b;
  b.start();
  ::asio::io_context io;
  constexpr int count = 1000;
  std::vector<std::string> ids;
  std::vector<std::unique_ptr<ta::client>> clients;
  for (int i = 0; i < count; ++i) {
    ids.push_back("asio-many-" + std::to_string(i));
    clients.push_back(
        std::make_unique<ta::client>(io, options_for(b.port(), protocol_version::v5, ids.back())));
  }
  int done = 0;
  int failed = 0;
  for (int i = 0; i < count; ++i) {
    ::asio::co_spawn(
        io,
        [&, i]() -> ::asio::awaitable<void> {
          ta::client& c = *clients[static_cast<std::size_t>(i)];
          const std::string topic = "asio/many/" + std::to_string(i);
          co_await c.async_connect(use_awaitable);
          co_await c.async_subscribe(topic, {.max_qos = qos::at_least_once}, use_awaitable);
          co_await c.async_publish(topic, std::to_string(i), qos::at_least_once, use_awaitable);
          const ta::received_message m = co_await c.async_receive(use_awaitable);
          if (m.topic != topic || m.payload != std::to_string(i)) ++failed;
          co_await c.async_disconnect(use_awaitable);
          ++done;
        },
        [&](std::exception_ptr e) {
          if (e) ++failed;
        });
  }
  REQUIRE(run_until(io, [&] { return done + failed == count; }, 120s));
  CHECK(failed == 0);
  CHECK(done == count);
}
