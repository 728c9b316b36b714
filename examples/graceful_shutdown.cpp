// Graceful shutdown on Ctrl-C (SIGINT) or SIGTERM: the signals are blocked in every thread
// and this thread waits for them with sigwait(), so no work happens in a signal handler. Then
// disconnect() sends DISCONNECT (the broker drops the Will) and loop_stop() joins the loop
// thread once it is written.
//
//   graceful_shutdown [host=localhost] [port=1883] [topic=tern/examples/shutdown]
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "tern/client.hpp"

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "localhost";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  const std::string topic = argc > 3 ? argv[3] : "tern/examples/shutdown";

  // Each line out at once, also into a pipe or a file.
  std::cout << std::unitbuf;

  // Before any thread starts, so that the loop thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  tern::client mqttc(tern::client_options{"tern-shutdown-example"});
  // Published by the broker only if we vanish without DISCONNECT.
  mqttc.will_set(topic + "/status", "offline (crashed)", tern::qos::at_least_once, true);
  mqttc.on_connect = [&](tern::client& c, tern::connect_flags, tern::reason_code rc,
                         const tern::properties&) {
    if (tern::is_failure(rc)) return;
    c.publish(topic + "/status", "online", tern::qos::at_least_once, true);
    c.subscribe(topic + "/#");
  };
  mqttc.on_message = [](tern::client&, const tern::publish& msg) {
    std::cout << msg.topic << ": " << tern::as_chars(msg.payload) << '\n';
  };
  mqttc.on_disconnect = [](tern::client&, tern::disconnect_flags, tern::reason_code rc,
                           const tern::properties&) {
    std::cout << "disconnected: " << tern::describe(rc, tern::packet_type::disconnect) << '\n';
  };

  std::cout << "connecting to " << host << ':' << port << "; Ctrl-C to stop\n";
  if (const auto ec = mqttc.connect(host, port)) {
    std::cerr << "connect failed: " << ec.message() << '\n';
    return 1;
  }
  mqttc.loop_start();

  int received = 0;
  sigwait(&signals, &received);
  std::cout << "\nsignal " << received << ": shutting down\n";
  mqttc.publish(topic + "/status", "offline", tern::qos::at_least_once, true)
      .wait_for_publish(std::chrono::seconds(2));
  mqttc.disconnect();
  mqttc.loop_stop();
  std::cout << "bye\n";
  return 0;
}
