// Your own loop: watch socket() for reading (and for writing while want_write()), call
// loop_read() / loop_write() when it is ready and loop_misc() for keep-alive and timers;
// next_timeout() says how long poll() may sleep. This is the shape for any event loop.
//
//   manual_loop [host=localhost] [port=1883] [count=5]
#include <poll.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>

#include "tern/client.hpp"

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "localhost";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  const int count = argc > 3 ? std::atoi(argv[3]) : 5;
  const std::string topic = "tern/examples/manual";

  tern::client mqttc;
  int received = 0;
  mqttc.on_connect = [&](tern::client& c, tern::connect_flags, tern::reason_code rc,
                         const tern::properties&) {
    if (tern::is_failure(rc)) return;
    std::cout << "connected; subscribing\n";
    c.subscribe(topic, tern::qos::at_least_once);
  };
  mqttc.on_subscribe = [&](tern::client& c, std::uint16_t, const tern::reason_code_list&,
                           const tern::properties&) {
    for (int i = 1; i <= count; ++i)
      c.publish(topic, "message " + std::to_string(i), tern::qos::at_least_once);
  };
  mqttc.on_message = [&](tern::client& c, const tern::publish& msg) {
    std::cout << "received " << tern::as_chars(msg.payload) << '\n';
    if (++received == count) c.disconnect();
  };

  std::cout << "connecting to " << host << ':' << port << '\n';
  if (const auto ec = mqttc.connect(host, port)) {
    std::cerr << "connect failed: " << ec.message() << '\n';
    return 1;
  }
  while (mqttc.socket() >= 0) {
    pollfd p{mqttc.socket(), POLLIN, 0};
    if (mqttc.want_write()) p.events |= POLLOUT;
    int wait_ms = 1000;
    if (const auto t = mqttc.next_timeout())
      wait_ms = static_cast<int>(std::min<long long>(t->count(), wait_ms));
    if (::poll(&p, 1, wait_ms) < 0) break;
    if ((p.revents & (POLLIN | POLLERR | POLLHUP)) != 0) mqttc.loop_read();
    if ((p.revents & POLLOUT) != 0) mqttc.loop_write();
    mqttc.loop_misc();
  }
  std::cout << "socket closed after " << received << " messages\n";
  return received == count ? 0 : 1;
}
