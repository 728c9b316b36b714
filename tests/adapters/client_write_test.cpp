// tern::client in a user event loop, when the socket is full: the calls that only may write
// (loop_misc, loop_read, publish) must not try again until loop_write() says the socket is
// writable, and nothing queued meanwhile may be lost. The writes are counted by interposing
// sendmsg() for the client's socket only.
#include <dlfcn.h>
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "support/scripted_broker.hpp"
#include "tern/client.hpp"

namespace {
std::atomic<int> watched_fd{-1};
std::atomic<int> writes_to_watched{0};
}  // namespace

// Every sendmsg() of this test program passes here (tern::net writes with it); the real one
// is the next definition in lookup order (libc's, or a sanitizer's interceptor).
extern "C" ssize_t sendmsg(int fd, const msghdr* message, int flags) {
  using sendmsg_fn = ssize_t (*)(int, const msghdr*, int);
  static const sendmsg_fn real = [] {
    sendmsg_fn f = nullptr;
    void* symbol = ::dlsym(RTLD_NEXT, "sendmsg");
    std::memcpy(&f, &symbol, sizeof f);
    return f;
  }();
  if (fd == watched_fd.load()) writes_to_watched.fetch_add(1);
  return real(fd, message, flags);
}

namespace {

using namespace std::chrono_literals;
using tern::client;
using tern::client_options;
using tern::protocol_version;
using tern::test::packet_of;
using tern::test::scripted_broker;

TEST_CASE("client: a full socket is written again only by loop_write(), and loses nothing") {
  scripted_broker broker;
  client c(client_options{"tern-full-socket", protocol_version::v5});
  c.session_options().keep_alive = 0s;
  bool connected = false;
  c.on_connect = [&](client&, tern::connect_flags, tern::reason_code rc, const tern::properties&) {
    connected = !tern::is_failure(rc);
  };

  std::atomic<bool> drain{false};
  std::atomic<int> received{0};
  std::thread server([&] {
    REQUIRE(broker.accept());
    const auto connect_bytes = broker.read();
    REQUIRE(connect_bytes);
    CHECK(std::holds_alternative<tern::connect>(packet_of(*connect_bytes)));
    broker.send(tern::connack{false, tern::reason_code::success, {}});
    // Reads nothing more until the client has found its socket full.
    while (!drain.load()) std::this_thread::sleep_for(1ms);
    while (const auto bytes = broker.read()) {
      if (std::holds_alternative<tern::disconnect>(packet_of(*bytes))) break;
      received.fetch_add(1);
    }
  });

  REQUIRE_FALSE(c.connect("127.0.0.1", broker.port()));
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!connected && std::chrono::steady_clock::now() < until) {
    pollfd p{c.socket(), POLLIN, 0};
    if (::poll(&p, 1, 100) == 1) REQUIRE_FALSE(c.loop_read());
  }
  REQUIRE(connected);
  const int fd = c.socket();
  const int small = 16 * 1024;
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  watched_fd = fd;

  // QoS 0 messages of 64 KiB until a write leaves bytes behind.
  const std::string payload(64 * 1024, 'p');
  int published = 0;
  bool full = false;
  for (int i = 0; i < 4000 && !full; ++i) {
    const auto info = c.publish("t/full", payload, tern::qos::at_most_once);
    REQUIRE_FALSE(info.rc());
    ++published;
    REQUIRE_FALSE(c.loop_write());
    full = c.want_write();
  }
  REQUIRE(full);

  // Full: nothing but loop_write() spends a system call on the socket.
  writes_to_watched = 0;
  for (int i = 0; i < 5; ++i) {
    CHECK_FALSE(c.loop_misc());
    CHECK_FALSE(c.loop_read());  // nothing to read: the broker sends nothing now
  }
  REQUIRE_FALSE(c.publish("t/full", payload, tern::qos::at_most_once).rc());
  ++published;
  CHECK_FALSE(c.loop_misc());
  CHECK(writes_to_watched.load() == 0);
  CHECK(c.want_write());  // a user loop keeps watching for POLLOUT
  CHECK_FALSE(c.loop_write());
  CHECK(writes_to_watched.load() >= 1);

  // The broker reads again: writability drives the rest out, every message arrives.
  drain = true;
  const auto drained_by = std::chrono::steady_clock::now() + 20s;
  while (c.want_write() && std::chrono::steady_clock::now() < drained_by) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 100) == 1) REQUIRE_FALSE(c.loop_write());
  }
  CHECK_FALSE(c.want_write());
  watched_fd = -1;
  CHECK_FALSE(c.disconnect());
  server.join();
  CHECK(received.load() == published);
}

}  // namespace
