// tern::asio with plain callbacks (no coroutines): connect, subscribe, publish a message to
// ourselves at QoS 1, wait for it to come back, disconnect. Each step starts the next from its
// completion handler, the way paho's on_connect / on_subscribe / on_message callbacks chain.
//
//   asio_callbacks [host] [port] [topic]     (defaults: 127.0.0.1 1883 tern/examples/callbacks)
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

#include "tern/asio/client.hpp"

namespace {

// Every handler runs on the client's strand, one at a time: no locking is needed here.
class round_trip {
 public:
  round_trip(tern::asio::client& client, std::string topic)
      : client_(client), topic_(std::move(topic)) {}

  void start() {
    client_.async_connect(
        [this](std::error_code ec, const tern::asio::connect_result& r) { on_connect(ec, r); });
  }
  bool succeeded() const { return succeeded_; }

 private:
  void on_connect(std::error_code ec, const tern::asio::connect_result& connected) {
    if (ec) return fail("connect", ec);
    std::printf("connected (session present: %d)\n", connected.session_present ? 1 : 0);
    client_.async_subscribe(
        topic_, {.max_qos = tern::qos::at_least_once},
        [this](std::error_code e, const tern::asio::subscribe_result& r) { on_subscribe(e, r); });
  }

  void on_subscribe(std::error_code ec, const tern::asio::subscribe_result& granted) {
    if (ec) return fail("subscribe", ec);
    std::printf("subscribed to %s (%s)\n", topic_.c_str(),
                std::string(tern::name(granted.codes.at(0))).c_str());
    // Ask for the next message before publishing it, so that it cannot be missed.
    client_.async_receive(
        [this](std::error_code e, tern::asio::received_message m) { on_message(e, m); });
    client_.async_publish(
        topic_, "hello from a callback", tern::qos::at_least_once,
        [this](std::error_code e, const tern::asio::publish_result& r) { on_publish(e, r); });
  }

  void on_publish(std::error_code ec, const tern::asio::publish_result& r) {
    if (ec) return fail("publish", ec);
    std::printf("published (%s)\n", std::string(tern::to_string(r.outcome)).c_str());
    acknowledged_ = true;
    if (received_) finish();
  }

  void on_message(std::error_code ec, const tern::asio::received_message& m) {
    if (ec) return fail("receive", ec);
    std::printf("received %s: %s\n", m.topic.c_str(), m.payload.c_str());
    received_ = true;
    if (acknowledged_) finish();
  }

  // The broker may deliver our message before it acknowledges it: a disconnect on delivery
  // alone would abandon the publish still waiting for its PUBACK.
  void finish() {
    client_.async_disconnect([this](std::error_code e) { on_disconnect(e); });
  }

  void on_disconnect(std::error_code ec) {
    if (ec) return fail("disconnect", ec);
    std::printf("disconnected\n");
    succeeded_ = true;
  }

  void fail(const char* step, std::error_code ec) {
    std::printf("%s failed: %s\n", step, ec.message().c_str());
    client_.async_disconnect([](std::error_code) {});  // ends whatever still waits
  }

  tern::asio::client& client_;
  std::string topic_;
  bool succeeded_ = false;
  bool acknowledged_ = false;
  bool received_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  tern::asio::client_options options;
  options.host = argc > 1 ? argv[1] : "127.0.0.1";
  options.port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  options.session.client_id = "tern-asio-callbacks";

  asio::io_context io;
  tern::asio::client client(io, std::move(options));
  round_trip steps(client, argc > 3 ? argv[3] : "tern/examples/callbacks");
  steps.start();
  // run() returns once nothing is left to do: after the disconnect, or a failure.
  io.run_for(std::chrono::seconds(30));
  return steps.succeeded() ? 0 : 1;
}
