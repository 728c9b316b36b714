// Many tern::asio clients sharing one io_context, run by several threads. Each client is a
// coroutine that connects, subscribes to its own topic, publishes one QoS 1 message there,
// waits for it and disconnects. Nothing per client needs a thread: a client costs a socket,
// a timer and its session's buffers.
//
//   asio_many_clients [host] [port] [clients] [threads]    (defaults: 127.0.0.1 1883 100 2)
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tern/asio/client.hpp"

namespace {

// Every step of one client awaits the one before: its coroutine is never run by two threads at
// once, although any thread of the pool may resume it.
asio::awaitable<bool> round_trip(tern::asio::client& client, std::string topic) {
  using asio::use_awaitable;
  co_await client.async_connect(use_awaitable);
  co_await client.async_subscribe(topic, {.max_qos = tern::qos::at_least_once}, use_awaitable);
  co_await client.async_publish(topic, topic, tern::qos::at_least_once, use_awaitable);
  const tern::asio::received_message m = co_await client.async_receive(use_awaitable);
  co_await client.async_disconnect(use_awaitable);
  co_return m.topic == topic&& m.payload == topic;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "127.0.0.1";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  const int count = argc > 3 ? std::atoi(argv[3]) : 100;
  const int thread_count = argc > 4 ? std::atoi(argv[4]) : 2;

  asio::io_context io(thread_count);  // a hint: how many threads will run it
  std::vector<std::unique_ptr<tern::asio::client>> clients;
  for (int i = 0; i < count; ++i) {
    tern::asio::client_options options;
    options.host = host;
    options.port = port;
    const std::string id = "tern-many-" + std::to_string(i);
    options.session.client_id = id;  // copied by the constructor
    clients.push_back(std::make_unique<tern::asio::client>(io, std::move(options)));
  }

  // The only state the coroutines share; they may finish on any thread.
  std::atomic<int> succeeded{0};
  for (int i = 0; i < count; ++i) {
    const std::string topic = "tern/examples/many/" + std::to_string(i);
    asio::co_spawn(io, round_trip(*clients[static_cast<std::size_t>(i)], topic),
                   [&succeeded, topic](std::exception_ptr e, bool ok) {
                     if (!e && ok) {
                       ++succeeded;
                       return;
                     }
                     try {
                       if (e) std::rethrow_exception(e);
                       std::printf("%s: a different message came back\n", topic.c_str());
                     } catch (const std::exception& x) {
                       std::printf("%s: %s\n", topic.c_str(), x.what());
                     }
                   });
  }

  // run() returns on each thread once every coroutine has finished (or after the time limit).
  std::vector<std::thread> pool;
  for (int t = 1; t < thread_count; ++t)
    pool.emplace_back([&io] { io.run_for(std::chrono::seconds(60)); });
  io.run_for(std::chrono::seconds(60));
  for (auto& t : pool) t.join();

  std::printf("%d of %d clients sent and received their message on %d threads\n", succeeded.load(),
              count, thread_count);
  return succeeded == count ? 0 : 1;
}
