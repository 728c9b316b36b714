// A publisher and a subscriber as C++20 coroutines on one io_context, with tern::asio.
//
//   asio_pubsub [host] [port] [count]     (defaults: 127.0.0.1 1883 10)
//
// The subscriber subscribes to "tern/example/#" and prints what arrives; the publisher sends
// `count` messages at QoS 0, 1 and 2 in turn and prints each outcome. Both end with a clean
// DISCONNECT once every message has arrived. Broker restarts in between are survived: the
// clients reconnect by themselves and QoS 1/2 messages wait for them.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "tern/asio/client.hpp"

namespace {

using ::asio::use_awaitable;

tern::asio::client_options options(const std::string& host, std::uint16_t port,
                                   const std::string& client_id) {
  tern::asio::client_options o;
  o.host = host;
  o.port = port;
  o.session.client_id = client_id;  // copied when the client is made
  o.on_connection_event = [client_id](const tern::asio::connection_event& e) {
    if (e.what == tern::asio::connection_event::kind::connected) {
      std::printf("%s: connected\n", client_id.c_str());
    } else {
      std::printf("%s: disconnected (%s)\n", client_id.c_str(),
                  e.error ? e.error.message().c_str() : "cleanly");
    }
  };
  return o;
}

::asio::awaitable<void> subscriber(tern::asio::client& c, int count, bool& subscribed) {
  co_await c.async_connect(use_awaitable);
  co_await c.async_subscribe("tern/example/#", {.max_qos = tern::qos::exactly_once},
                             use_awaitable);
  subscribed = true;
  for (int i = 0; i < count; ++i) {
    const tern::asio::received_message m = co_await c.async_receive(use_awaitable);
    std::printf("received %s: %s (QoS %d)\n", m.topic.c_str(), m.payload.c_str(),
                static_cast<int>(m.q));
  }
  co_await c.async_disconnect(use_awaitable);
}

::asio::awaitable<void> publisher(tern::asio::client& c, int count, const bool& subscribed) {
  co_await c.async_connect(use_awaitable);
  ::asio::steady_timer wait(co_await ::asio::this_coro::executor);
  while (!subscribed) {  // so that the subscriber sees every message
    wait.expires_after(std::chrono::milliseconds(10));
    co_await wait.async_wait(use_awaitable);
  }
  for (int i = 0; i < count; ++i) {
    const auto q = static_cast<tern::qos>(i % 3);
    const tern::asio::publish_result r = co_await c.async_publish(
        "tern/example/" + std::to_string(i), "message " + std::to_string(i), q, use_awaitable);
    std::printf("published %d at QoS %d: %s\n", i, static_cast<int>(q),
                std::string(tern::to_string(r.outcome)).c_str());
  }
  co_await c.async_disconnect(use_awaitable);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "127.0.0.1";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  const int count = argc > 3 ? std::atoi(argv[3]) : 10;

  ::asio::io_context io;
  tern::asio::client sub(io, options(host, port, "tern-example-sub"));
  tern::asio::client pub(io, options(host, port, "tern-example-pub"));
  bool subscribed = false;
  int failures = 0;
  auto report = [&failures](std::exception_ptr e) {
    if (!e) return;
    ++failures;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::fprintf(stderr, "error: %s\n", x.what());
    }
  };
  ::asio::co_spawn(io, subscriber(sub, count, subscribed), report);
  ::asio::co_spawn(io, publisher(pub, count, subscribed), report);
  io.run_for(std::chrono::seconds(60));
  return failures == 0 ? 0 : 1;
}
