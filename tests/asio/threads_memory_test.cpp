// tern::asio::client with an io_context run by several threads while other threads call it,
// and where its memory comes from: all the session's from the resource the user passed.
#include <asio/executor_work_guard.hpp>
#include <asio/use_future.hpp>
#include <atomic>
#include <future>
#include <memory_resource>
#include <thread>
#include <vector>

#include "helpers.hpp"
#include "support/counting_resource.hpp"

using namespace tern;
using namespace tern::asio_test;
namespace ta = tern::asio;

namespace {

template <class T>
bool ready(std::future<T>& f) {
  return f.wait_for(15s) == std::future_status::ready;
}

// Runs an io_context on `count` threads until destroyed (bounded by the work guard's reset).
class thread_pool_runner {
 public:
  thread_pool_runner(::asio::io_context& io, int count) : io_(io), work_(io.get_executor()) {
    for (int i = 0; i < count; ++i) threads_.emplace_back([this] { io_.run_for(120s); });
  }
  ~thread_pool_runner() {
    work_.reset();
    for (auto& t : threads_) t.join();
  }
  thread_pool_runner(const thread_pool_runner&) = delete;
  thread_pool_runner& operator=(const thread_pool_runner&) = delete;

 private:
  ::asio::io_context& io_;
  ::asio::executor_work_guard<::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace

TEST_CASE("asio: an io_context run by 3 threads, clients called from 4 others at once") {
  it::broker b;
  b.start();
  ::asio::io_context io;
  constexpr int clients = 2;
  constexpr int messages = 50;
  std::atomic<int> events_off_strand{0};
  {
    thread_pool_runner runner(io, 3);  // destroyed after the clients: their shutdown runs on it
    std::vector<std::string> ids;
    std::vector<std::unique_ptr<ta::client>> cs;
    cs.reserve(clients);  // stable while the handlers below read it (none runs before connect)
    for (int i = 0; i < clients; ++i) {
      ids.push_back("asio-mt-" + std::to_string(i));
      ta::client_options o = options_for(b.port(), protocol_version::v5, ids.back());
      o.on_connection_event = [&events_off_strand, &cs, i](const ta::connection_event&) {
        if (!cs[static_cast<std::size_t>(i)]->get_executor().running_in_this_thread())
          ++events_off_strand;
      };
      cs.push_back(std::make_unique<ta::client>(io, o));
    }
    for (auto& c : cs) {
      auto connected = c->async_connect(::asio::use_future);
      REQUIRE(ready(connected));
      (void)connected.get();
      auto subscribed =
          c->async_subscribe("asio/mt/#", {.max_qos = qos::at_least_once}, ::asio::use_future);
      REQUIRE(ready(subscribed));
      CHECK(subscribed.get().codes.at(0) == reason_code::granted_qos_1);
    }

    // Per client, one thread publishes while another receives, on the same client object.
    std::atomic<int> published{0};
    std::atomic<int> publish_failures{0};
    std::vector<std::vector<std::string>> got(clients);
    std::vector<std::thread> users;
    for (int i = 0; i < clients; ++i) {
      ta::client& c = *cs[static_cast<std::size_t>(i)];
      users.emplace_back([&, i] {
        for (int n = 0; n < messages; ++n) {
          auto f = c.async_publish("asio/mt/" + std::to_string(i), std::to_string(n),
                                   qos::at_least_once, ::asio::use_future);
          if (!ready(f)) {
            ++publish_failures;
            return;
          }
          try {
            if (f.get().outcome == publish_outcome::acknowledged) ++published;
          } catch (const std::system_error&) {
            ++publish_failures;
          }
        }
      });
      users.emplace_back([&, i] {
        // Every client receives every client's messages.
        for (int n = 0; n < clients * messages; ++n) {
          auto f = c.async_receive(::asio::use_future);
          if (!ready(f)) return;
          try {
            const ta::received_message m = f.get();
            got[static_cast<std::size_t>(i)].push_back(m.topic + ":" + m.payload);
          } catch (const std::exception&) {
            return;
          }
        }
      });
    }
    for (auto& t : users) t.join();
    CHECK(publish_failures == 0);
    CHECK(published == clients * messages);
    for (int i = 0; i < clients; ++i) {
      const auto& mine = got[static_cast<std::size_t>(i)];
      REQUIRE(mine.size() == std::size_t{clients * messages});
      // Each publisher's messages arrive in the order it sent them.
      for (int from = 0; from < clients; ++from) {
        int expected = 0;
        const std::string prefix = "asio/mt/" + std::to_string(from) + ":";
        for (const auto& m : mine) {
          if (m.rfind(prefix, 0) != 0) continue;
          CHECK(m == prefix + std::to_string(expected));
          ++expected;
        }
        CHECK(expected == messages);
      }
    }
    for (auto& c : cs) {
      auto done = c->async_disconnect(::asio::use_future);
      REQUIRE(ready(done));
      done.get();
    }
  }
  CHECK(events_off_strand == 0);
}

TEST_CASE("asio: all the session's memory comes from the resource the client was given") {
  TERN_FOR_EACH_VERSION(v);
  it::broker b;
  b.start();
  test::counting_resource mine;
  // Anything taken from the default resource instead would show here.
  test::counting_resource fallback;
  std::pmr::memory_resource* const previous = std::pmr::set_default_resource(&fallback);
  struct restore_default {
    std::pmr::memory_resource* r;
    ~restore_default() { std::pmr::set_default_resource(r); }
  } restore{previous};
  {
    ::asio::io_context io;
    const std::string id = "asio-memory-" + it::tag_of(v);
    ta::client c(io, options_for(b.port(), v, id), &mine);
    run_coroutine(io, [&]() -> ::asio::awaitable<void> {
      co_await c.async_connect(use_awaitable);
      co_await c.async_subscribe("asio/memory", {.max_qos = qos::exactly_once}, use_awaitable);
      for (const qos q : {qos::at_most_once, qos::at_least_once, qos::exactly_once}) {
        const std::string payload = payload_of(100 * 1024, static_cast<std::uint64_t>(q));
        (void)co_await c.async_publish("asio/memory", payload, q, use_awaitable);
        const ta::received_message m = co_await c.async_receive(use_awaitable);
        CHECK(m.payload == payload);
      }
      co_await c.async_disconnect(use_awaitable);
    });
    CHECK(mine.allocations() > 0);
    CHECK(mine.peak() >= 100 * 1024);  // the receive buffer held a whole PUBLISH
  }
  CHECK(fallback.allocations() == 0);
  CHECK(mine.bytes_in_use() == 0);  // the client and the io_context are gone: all returned
  CHECK(mine.bad_deallocations() == 0);
}
