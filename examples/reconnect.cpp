// Reconnect handling: on_disconnect says why the connection ended, on_connect_fail reports
// attempts that failed, and loop_forever() keeps reconnecting with an exponential backoff
// (reconnect_delay_set) until disconnect(). Stop the broker and start it again to watch.
// Subscriptions are made in on_connect, so they come back with every connection.
//
//   reconnect [host=localhost] [port=1883] [topic=tern/examples/reconnect]
#include <cstdlib>
#include <iostream>
#include <string>

#include "tern/client.hpp"

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "localhost";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  const std::string topic = argc > 3 ? argv[3] : "tern/examples/reconnect";

  // Each line out at once, also into a pipe or a file.
  std::cout << std::unitbuf;

  tern::client mqttc(tern::client_options{"tern-reconnect-example"});
  mqttc.reconnect_delay_set(std::chrono::seconds(1), std::chrono::seconds(30));
  mqttc.on_connect = [&](tern::client& c, tern::connect_flags flags, tern::reason_code rc,
                         const tern::properties&) {
    if (tern::is_failure(rc)) {
      std::cout << "refused: " << tern::describe(rc, tern::packet_type::connack) << '\n';
      return;
    }
    std::cout << "connected (session present: " << flags.session_present << "); subscribing\n";
    c.subscribe(topic, tern::qos::at_least_once);
  };
  mqttc.on_subscribe = [&](tern::client&, std::uint16_t, const tern::reason_code_list& granted,
                           const tern::properties&) {
    for (const tern::reason_code g : granted)
      std::cout << "subscribed to " << topic << ": "
                << tern::describe(g, tern::packet_type::suback) << '\n';
  };
  mqttc.on_connect_fail = [](tern::client&, tern::reason_code) {
    std::cout << "connection attempt failed; retrying later\n";
  };
  mqttc.on_disconnect = [](tern::client&, tern::disconnect_flags flags, tern::reason_code rc,
                           const tern::properties&) {
    std::cout << "disconnected: " << tern::describe(rc, tern::packet_type::disconnect)
              << (flags.is_disconnect_packet_from_server ? " (the broker sent DISCONNECT)" : "")
              << "; reconnecting with backoff\n";
  };
  mqttc.on_message = [](tern::client&, const tern::publish& msg) {
    std::cout << msg.topic << ": " << tern::as_chars(msg.payload) << '\n';
  };

  std::cout << "connecting to " << host << ':' << port << '\n';
  if (const auto ec = mqttc.connect(host, port, std::chrono::seconds(10)))
    std::cout << "first connection failed (" << ec.message() << "); loop_forever retries\n";
  // retry_first_connection: keep trying even if the very first attempt failed.
  const auto ec = mqttc.loop_forever(std::chrono::seconds(1), true);
  if (ec) std::cerr << "loop ended: " << ec.message() << '\n';
  return ec ? 1 : 0;
}
