// Enhanced authentication [MQTT 4.12] through tern::client: the first exchange during CONNECT
// and reauthenticate() later. mosquitto needs a plugin for AUTH, so the broker here is a
// scripted one on a loopback socket, speaking through Tern's own codec.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/mosquitto.hpp"
#include "support/scripted_broker.hpp"
#include "tern/client.hpp"
#include "tern/decoder.hpp"
#include "tern/encoder.hpp"

namespace {

using namespace std::chrono_literals;
using tern::client;
using tern::client_options;
using tern::protocol_version;
using tern::reason_code;
using tern::test::auth_data;
using tern::test::auth_method;
using tern::test::packet_of;
using tern::test::scripted_broker;

constexpr std::string_view method = "TERN-TEST";

// Answers each challenge with "response:<challenge>"; counts what it saw.
class test_authenticator final : public tern::authenticator {
 public:
  std::string_view method() const noexcept override { return ::method; }
  std::optional<tern::bytes_view> initial_data(bool reauthenticating) noexcept override {
    initial_ = reauthenticating ? "again" : "hello";
    ++initials;
    return tern::as_bytes(std::string_view(initial_));
  }
  tern::result<std::optional<tern::bytes_view>, reason_code> challenge(
      std::optional<tern::bytes_view> data) noexcept override {
    response_ = "response:" + std::string(data ? tern::as_chars(*data) : std::string_view{});
    ++challenges;
    return std::optional<tern::bytes_view>(tern::as_bytes(std::string_view(response_)));
  }
  tern::result<void, reason_code> finished(std::optional<tern::bytes_view>) noexcept override {
    ++finishes;
    return {};
  }
  std::atomic<int> initials{0}, challenges{0}, finishes{0};

 private:
  std::string initial_, response_;
};

}  // namespace

TEST_CASE("client auth: a challenge during CONNECT, then reauthenticate() [MQTT 4.12]") {
  scripted_broker broker;
  test_authenticator authenticator;
  client c(client_options{"tern-auth", protocol_version::v5});
  c.session_options().auth = &authenticator;
  c.session_options().keep_alive = 0s;

  std::mutex mu;
  std::condition_variable cv;
  int connects = 0;
  c.on_connect = [&](client&, tern::connect_flags, reason_code rc, const tern::properties&) {
    const std::lock_guard<std::mutex> lock(mu);
    if (!tern::is_failure(rc)) ++connects;
    cv.notify_all();
  };
  CHECK(c.reauthenticate() == tern::errc::not_connected);  // nothing to re-authenticate yet

  std::thread server([&] {
    REQUIRE(broker.accept());
    // CONNECT carries the method and the initial data; the server challenges once.
    const auto connect_bytes = broker.read();
    REQUIRE(connect_bytes);
    const auto connect = std::get<tern::connect>(packet_of(*connect_bytes));
    CHECK(auth_method(connect.props) == method);
    CHECK(auth_data(connect.props) == "hello");
    const std::array<tern::property, 2> challenge{
        tern::property::string(tern::property_id::authentication_method, method),
        tern::property::binary_data(tern::property_id::authentication_data,
                                    tern::as_bytes(std::string_view("nonce-1")))};
    broker.send(tern::auth{reason_code::continue_authentication, tern::properties(challenge)});
    const auto reply_bytes = broker.read();
    REQUIRE(reply_bytes);
    const auto reply = std::get<tern::auth>(packet_of(*reply_bytes));
    CHECK(reply.code == reason_code::continue_authentication);
    CHECK(auth_data(reply.props) == "response:nonce-1");
    const std::array<tern::property, 1> accepted{
        tern::property::string(tern::property_id::authentication_method, method)};
    broker.send(tern::connack{false, reason_code::success, tern::properties(accepted)});

    // Re-authentication: AUTH 0x19 with the method and fresh initial data; success ends it.
    const auto again_bytes = broker.read();
    REQUIRE(again_bytes);
    const auto again = std::get<tern::auth>(packet_of(*again_bytes));
    CHECK(again.code == reason_code::re_authenticate);
    CHECK(auth_method(again.props) == method);
    CHECK(auth_data(again.props) == "again");
    broker.send(tern::auth{reason_code::success, tern::properties(accepted)});

    // The client stays connected and goes on normally: its DISCONNECT ends the script.
    const auto last_bytes = broker.read();
    REQUIRE(last_bytes);
    CHECK(std::holds_alternative<tern::disconnect>(packet_of(*last_bytes)));
  });

  REQUIRE_FALSE(c.connect("127.0.0.1", broker.port()));
  REQUIRE_FALSE(c.loop_start());
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, 10s, [&] { return connects == 1; }));
  }
  CHECK(authenticator.challenges == 1);
  CHECK(authenticator.finishes == 1);

  CHECK_FALSE(c.reauthenticate());
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (authenticator.finishes < 2 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  CHECK(authenticator.finishes == 2);
  CHECK(authenticator.initials == 2);
  CHECK(c.is_connected());

  CHECK_FALSE(c.disconnect());
  CHECK_FALSE(c.loop_stop());
  server.join();
}

TEST_CASE("client auth: reauthenticate() needs MQTT 5.0 and an authenticator") {
  tern::test::mosquitto broker;
  REQUIRE(broker.start());
  for (const protocol_version v : {protocol_version::v3_1_1, protocol_version::v5}) {
    CAPTURE(v);
    client c(client_options{"tern-auth-plain", v});
    CHECK(c.reauthenticate() == tern::errc::not_connected);
    std::mutex mu;
    std::condition_variable cv;
    bool connected = false;
    c.on_connect = [&](client&, tern::connect_flags, reason_code, const tern::properties&) {
      const std::lock_guard<std::mutex> lock(mu);
      connected = true;
      cv.notify_all();
    };
    REQUIRE_FALSE(c.connect("127.0.0.1", broker.port()));
    REQUIRE_FALSE(c.loop_start());
    {
      std::unique_lock<std::mutex> lock(mu);
      REQUIRE(cv.wait_for(lock, 10s, [&] { return connected; }));
    }
    // 3.1.1 has no AUTH packet; a 5.0 client without an authenticator has no method to use.
    CHECK(c.reauthenticate() == tern::errc::unsupported_by_version);
    CHECK(c.is_connected());
    CHECK_FALSE(c.disconnect());
    CHECK_FALSE(c.loop_stop());
  }
}
