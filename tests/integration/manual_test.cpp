// The socket driver for a user's own event loop (paho's manual mode), driven by this test's
// poll() loop against a real mosquitto, MQTT 3.1.1 and 5.0: socket(), want_write(),
// loop_read() / loop_write() / loop_misc() and next_timeout(), with the on_socket_* hooks.
// A 1 MiB message goes out through partial writes (want_write), messages come back, the
// keep-alive (1 s) is kept by loop_misc() at next_timeout() alone across an idle spell in which
// mosquitto would otherwise drop the client (after 1.5 × keep-alive), and a clean disconnect
// closes the socket and tells the loop.
#include <poll.h>

#include <functional>
#include <string>
#include <vector>

#include "integration/fixture.hpp"

using namespace tern;
using namespace tern::it;

namespace {

// The user's event loop: one poll() over the client's socket, honouring want_write() and
// next_timeout(), calling the client back for what happened.
struct user_loop {
  client& c;
  int turns = 0;
  int write_turns = 0;     // turns in which want_write() was true
  int timeouts = 0;        // turns that ended by the timeout next_timeout() gave
  long longest_wait = 0;   // ms
  bool saw_no_timeout_while_connected = false;

  // Runs until `done()` or `limit`; false on the limit.
  bool run_until(const std::function<bool()>& done, milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= until) return false;
      const int fd = c.socket();
      const auto next = c.next_timeout();
      if (fd >= 0 && !next && c.is_connected()) saw_no_timeout_while_connected = true;
      // The loop sleeps no longer than the client asks (and never more than 2 s here).
      int wait = next ? static_cast<int>(std::min<long>(next->count(), 2000)) : 2000;
      longest_wait = std::max<long>(longest_wait, wait);
      ++turns;
      if (fd < 0) {
        // No socket: only timers (a reconnection) could be pending.
        ::poll(nullptr, 0, std::min(wait, 20));
        (void)c.loop_misc();
        continue;
      }
      const bool write = c.want_write();
      if (write) ++write_turns;
      pollfd p{fd, static_cast<short>(POLLIN | (write ? POLLOUT : 0)), 0};
      const int ready = ::poll(&p, 1, wait);
      REQUIRE(ready >= 0);
      if (ready == 0) ++timeouts;
      if ((p.revents & (POLLIN | POLLERR | POLLHUP)) != 0) (void)c.loop_read();
      if ((p.revents & POLLOUT) != 0) (void)c.loop_write();
      (void)c.loop_misc();
    }
    return true;
  }
};

}  // namespace

TEST_CASE("manual mode: the test's own poll() loop drives socket / want_write / loop_* / next_timeout") {
  TERN_FOR_EACH_VERSION(v);
  broker b;
  b.start();
  client c(client_options{"it-manual-" + tag_of(v), v});
  recorder r;
  r.attach(c);
  int opened = -1;
  int closed = -1;
  int registered = 0;
  bool watching_write = false;
  c.on_socket_open = [&](client&, int fd) { opened = fd; };
  c.on_socket_close = [&](client&, int fd) { closed = fd; };
  c.on_socket_register_write = [&](client&, int) {
    ++registered;
    watching_write = true;
  };
  c.on_socket_unregister_write = [&](client&, int) { watching_write = false; };

  REQUIRE_FALSE(c.connect(loopback, b.port(), 1s));  // keep-alive 1 s
  const int fd = c.socket();
  REQUIRE(fd >= 0);
  CHECK(opened == fd);
  user_loop loop{c};
  auto lock_and = [&](auto pred) {
    return [&r, pred] {
      const std::lock_guard<std::mutex> lock(r.mu);
      return pred();
    };
  };
  REQUIRE(loop.run_until(lock_and([&] { return r.connects == 1; }), patience));
  CHECK(c.is_connected());

  // Subscribe and send a megabyte and a few small messages to ourselves.
  const auto sub = c.subscribe("manual/#", qos::exactly_once);
  REQUIRE_FALSE(sub.first);
  REQUIRE(loop.run_until(lock_and([&] { return !r.subacks.empty(); }), patience));
  const std::vector<std::byte> big = pattern_bytes(1024 * 1024, 8);
  std::vector<message_info> infos;
  infos.push_back(c.publish("manual/big", bytes_view(big), qos::at_least_once));
  for (const qos q : {qos::at_most_once, qos::at_least_once, qos::exactly_once})
    infos.push_back(c.publish("manual/small", "q" + std::to_string(static_cast<int>(q)), q));
  CHECK(c.want_write());  // the bytes wait for the loop
  CHECK(watching_write);  // and the loop was told to watch for writability
  REQUIRE(loop.run_until(
      [&] {
        for (const auto& info : infos)
          if (!info.is_published()) return false;
        return r.message_count() == 4;
      },
      patience));
  CHECK(r.messages_on("manual/big").front().payload == big);
  CHECK(r.messages_on("manual/small").size() == 3);
  CHECK(loop.write_turns >= 1);
  CHECK(registered >= 1);
  // Nothing left to write: the loop watches for reading only.
  CHECK_FALSE(c.want_write());
  CHECK_FALSE(watching_write);

  // Idle for 2.5 keep-alive intervals: only next_timeout() wakes the loop; loop_misc() sends
  // PINGREQ and the connection stays up.
  const int turns_before = loop.turns;
  const int timeouts_before = loop.timeouts;
  const auto idle_until = std::chrono::steady_clock::now() + 2500ms;
  loop.run_until([&] { return std::chrono::steady_clock::now() >= idle_until; }, 5s);
  CHECK(c.is_connected());
  {
    const std::lock_guard<std::mutex> lock(r.mu);
    CHECK(r.disconnects == 0);
    CHECK(r.connects == 1);
  }
  CHECK_FALSE(loop.saw_no_timeout_while_connected);  // connected: a keep-alive deadline exists
  CHECK(loop.timeouts > timeouts_before);            // woken by the timeout it was given
  CHECK(loop.turns - turns_before < 200);            // no busy loop
  CHECK(c.socket() == fd);                           // the same connection all along

  // Still works after the idle spell.
  const message_info after = c.publish("manual/after", "still here", qos::exactly_once);
  REQUIRE(loop.run_until([&] { return after.is_published() && r.has_message_on("manual/after"); },
                         patience));

  // A clean disconnect: the loop writes the DISCONNECT, the socket closes, the hooks say so.
  CHECK_FALSE(c.disconnect());
  loop.run_until([&] { return c.socket() < 0; }, patience);
  CHECK(c.socket() == -1);
  CHECK(closed == fd);
  CHECK_FALSE(c.is_connected());
  const std::lock_guard<std::mutex> lock(r.mu);
  CHECK(r.disconnects == 1);
  CHECK(r.disconnect_codes.front() == reason_code::normal_disconnection);
}

TEST_CASE("manual mode: a connection cut under the user's loop is reported and reconnected") {
  TERN_FOR_EACH_VERSION(v);
  broker b;
  b.start();
  client c(client_options{"it-manual-cut-" + tag_of(v), v});
  c.reconnect_delay_set(10ms, 50ms);
  recorder r;
  r.attach(c);
  std::vector<int> opened;
  std::vector<int> closed;
  c.on_socket_open = [&](client&, int fd) { opened.push_back(fd); };
  c.on_socket_close = [&](client&, int fd) { closed.push_back(fd); };
  REQUIRE_FALSE(c.connect(loopback, b.port(), 5s));
  user_loop loop{c};
  REQUIRE(loop.run_until([&] { return c.is_connected(); }, patience));
  const int first = c.socket();
  ::shutdown(first, SHUT_RDWR);
  // The loop sees the end, closes the socket (hook), waits the reconnection delay through
  // next_timeout() with no socket, and opens a new one (hook).
  REQUIRE(loop.run_until(
      [&] {
        const std::lock_guard<std::mutex> lock(r.mu);
        return r.connects == 2;
      },
      patience));
  CHECK(closed.size() == 1);
  CHECK(closed.front() == first);
  CHECK(opened.size() == 2);
  CHECK(c.socket() == opened.back());
  {
    const std::lock_guard<std::mutex> lock(r.mu);
    CHECK(r.disconnects == 1);
    CHECK(is_failure(r.disconnect_codes.front()));
  }
  CHECK_FALSE(c.disconnect());
  loop.run_until([&] { return c.socket() < 0; }, patience);
  CHECK(c.socket() == -1);
}
