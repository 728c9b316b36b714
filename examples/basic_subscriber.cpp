// Basic subscriber: paho's first example in C++. Subscribing in on_connect means a
// reconnection subscribes again; loop_forever() runs the client on this thread (and
// reconnects) until disconnect(). With a count, it disconnects after that many messages, as
// paho's example does after ten; without one it runs until killed.
//
//   basic_subscriber [host=localhost] [port=1883] [topic=$SYS/#] [count=0: no limit]
#include <cstdlib>
#include <iostream>
#include <string>

#include "tern/client.hpp"

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "localhost";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  const std::string topic = argc > 3 ? argv[3] : "$SYS/#";
  const int count = argc > 4 ? std::atoi(argv[4]) : 0;

  // Each line out at once, also into a pipe or a file (as mosquitto_sub does).
  std::cout << std::unitbuf;

  tern::client mqttc;
  int received = 0;
  mqttc.on_connect = [&](tern::client& c, tern::connect_flags, tern::reason_code rc,
                         const tern::properties&) {
    if (tern::is_failure(rc)) {
      std::cout << "connection refused: " << tern::describe(rc, tern::packet_type::connack) << '\n';
      return;
    }
    std::cout << "connected; subscribing to " << topic << '\n';
    c.subscribe(topic);
  };
  mqttc.on_subscribe = [](tern::client&, std::uint16_t, const tern::reason_code_list& granted,
                          const tern::properties&) {
    for (const tern::reason_code g : granted)
      std::cout << "subscribed: " << tern::describe(g, tern::packet_type::suback) << '\n';
  };
  mqttc.on_message = [&](tern::client& c, const tern::publish& msg) {
    std::cout << msg.topic << ' ' << tern::as_chars(msg.payload) << '\n';
    if (++received == count) c.disconnect();  // loop_forever() returns once it is sent
  };

  std::cout << "connecting to " << host << ':' << port << '\n';
  if (const auto ec = mqttc.connect(host, port, std::chrono::seconds(60))) {
    std::cerr << "connect failed: " << ec.message() << '\n';
    return 1;
  }
  const auto ec = mqttc.loop_forever();
  if (ec) std::cerr << "loop ended: " << ec.message() << '\n';
  return ec ? 1 : 0;
}
