// The client inside a Linux epoll loop, through the user-event-loop API. The socket
// callbacks keep the epoll set in step with the client (open: add; want write: modify;
// close: delete — it is called before the fd closes), epoll_wait() sleeps until
// next_timeout(), and readiness goes to loop_read() / loop_write(), timers to loop_misc().
// Reconnections (a new socket) need nothing extra.
//
//   epoll_loop [host=localhost] [port=1883] [count=5]
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <iostream>
#include <string>

#include "tern/client.hpp"

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "localhost";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  const int count = argc > 3 ? std::atoi(argv[3]) : 5;
  const std::string topic = "tern/examples/epoll";

  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return 1;
  auto watch = [ep](int op, int fd, bool writable) {
    epoll_event ev{};
    ev.events = EPOLLIN | (writable ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    ::epoll_ctl(ep, op, fd, &ev);
  };

  tern::client mqttc;
  bool stopping = false;
  bool finished = false;
  int received = 0;
  mqttc.on_socket_open = [&](tern::client&, int fd) {
    std::cout << "socket " << fd << " opened: added to epoll\n";
    watch(EPOLL_CTL_ADD, fd, false);
  };
  mqttc.on_socket_register_write = [&](tern::client&, int fd) { watch(EPOLL_CTL_MOD, fd, true); };
  mqttc.on_socket_unregister_write = [&](tern::client&, int fd) {
    watch(EPOLL_CTL_MOD, fd, false);
  };
  mqttc.on_socket_close = [&](tern::client&, int fd) {
    std::cout << "socket " << fd << " closing: removed from epoll\n";
    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    if (stopping) finished = true;
  };
  mqttc.on_connect = [&](tern::client& c, tern::connect_flags, tern::reason_code rc,
                         const tern::properties&) {
    if (tern::is_failure(rc)) return;
    std::cout << "connected; subscribing to " << topic << '\n';
    c.subscribe(topic, tern::qos::at_least_once);
  };
  mqttc.on_subscribe = [&](tern::client& c, std::uint16_t, const tern::reason_code_list&,
                           const tern::properties&) {
    for (int i = 1; i <= count; ++i)
      c.publish(topic, "message " + std::to_string(i), tern::qos::at_least_once);
  };
  mqttc.on_message = [&](tern::client& c, const tern::publish& msg) {
    std::cout << "received " << tern::as_chars(msg.payload) << '\n';
    if (++received == count) {
      stopping = true;
      c.disconnect();
    }
  };

  std::cout << "connecting to " << host << ':' << port << '\n';
  if (const auto ec = mqttc.connect(host, port)) {
    std::cerr << "connect failed: " << ec.message() << '\n';
    return 1;
  }
  std::array<epoll_event, 8> events{};
  while (!finished) {
    int timeout = -1;
    if (const auto t = mqttc.next_timeout())
      timeout = static_cast<int>(std::min<long long>(t->count(), 60'000));
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout);
    for (int i = 0; i < n; ++i) {
      if ((events[static_cast<std::size_t>(i)].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0)
        mqttc.loop_read();
      if ((events[static_cast<std::size_t>(i)].events & EPOLLOUT) != 0) mqttc.loop_write();
    }
    mqttc.loop_misc();
  }
  ::close(ep);
  std::cout << "done: " << received << " messages\n";
  return received == count ? 0 : 1;
}
