// Every tern::asio example in examples/ runs here as a child process against a server this test
// starts (integration/fixture.hpp); each must exit 0 with the output that shows its work. The
// examples publish to themselves, so what they print proves the round trip.
//
// The build passes TERN_ASIO_EXAMPLE_DIR (where the programs are); without it the cases are
// skipped.
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "helpers.hpp"

using namespace tern;
using namespace tern::it;

namespace {

#ifdef TERN_ASIO_EXAMPLE_DIR
constexpr bool examples_built = true;
constexpr const char* example_dir = TERN_ASIO_EXAMPLE_DIR;
#else
constexpr bool examples_built = false;
constexpr const char* example_dir = "";
#endif

doctest::skip unless_built() {
  static std::once_flag said;
  if (!examples_built) {
    std::call_once(said, [] {
      std::fprintf(stderr,
                   "tern_asio_tests: SKIPPING the example programs, which were not built "
                   "(TERN_BUILD_EXAMPLES / meson -Dexamples)\n");
    });
  }
  return doctest::skip(!examples_built);
}

// Runs examples/<name> with `args` until it exits (killed after `limit`); its stdout and
// stderr together, and how it ended ("exit 0", "signal 9", ...).
struct example_result {
  std::string status;
  std::string output;
};
example_result run_example(const std::string& name, std::vector<std::string> args,
                           milliseconds limit = 60s) {
  const std::string program = std::string(example_dir) + "/" + name;
  REQUIRE_MESSAGE(::access(program.c_str(), X_OK) == 0,
                  program << " is missing: build the example targets");
  scratch_dir dir("tern-asio-example");
  const std::string log = dir.file(name + ".out");
  args.insert(args.begin(), program);
  child_process process;
  REQUIRE_MESSAGE(process.spawn(args, log), "could not start " << program);
  process.wait(limit);
  return {process.exit_status(), read_file(log)};
}

std::string port_arg(std::uint16_t port) { return std::to_string(port); }

}  // namespace

TEST_CASE("example asio_pubsub: every message published and received" * unless_built()) {
  broker b;
  b.start();
  const auto r = run_example("asio_pubsub", {loopback, port_arg(b.port()), "6"});
  INFO(r.output);
  CHECK(r.status == "exit 0");
  CHECK(count_of(r.output, "tern-example-sub: connected") == 1);
  CHECK(count_of(r.output, "tern-example-pub: connected") == 1);
  for (int i = 0; i < 6; ++i) {
    const std::string n = std::to_string(i);
    const std::string q = std::to_string(i % 3);
    CHECK(count_of(r.output,
                   "received tern/example/" + n + ": message " + n + " (QoS " + q + ")\n") == 1);
    CHECK(count_of(r.output, "published " + n + " at QoS " + q + ": ") == 1);
  }
}

TEST_CASE("example asio_callbacks: connect, subscribe, publish, receive, disconnect" *
          unless_built()) {
  broker b;
  b.start();
  const auto r = run_example("asio_callbacks", {loopback, port_arg(b.port()), "examples/cb"});
  INFO(r.output);
  CHECK(r.status == "exit 0");
  const auto connected = r.output.find("connected (session present: 0)\n");
  const auto subscribed = r.output.find("subscribed to examples/cb (");
  const auto received = r.output.find("received examples/cb: hello from a callback\n");
  const auto disconnected = r.output.find("disconnected\n");
  CHECK(connected != std::string::npos);
  CHECK(subscribed != std::string::npos);
  CHECK(received != std::string::npos);
  CHECK(disconnected != std::string::npos);
  CHECK((connected < subscribed && subscribed < received && received < disconnected));
  CHECK(count_of(r.output, "published (acknowledged)") == 1);
  CHECK(count_of(r.output, "failed") == 0);
}

TEST_CASE("example asio_callbacks: a broker that is not there" * unless_built()) {
  const auto r =
      run_example("asio_callbacks", {loopback, port_arg(tern::test::free_loopback_port())});
  INFO(r.output);
  CHECK(r.status == "exit 1");
  CHECK(count_of(r.output, "connect failed: ") == 1);
}

TEST_CASE("example asio_many_clients: 200 clients on one io_context run by 3 threads" *
          unless_built()) {
  broker b;
  b.start();
  const auto r = run_example("asio_many_clients", {loopback, port_arg(b.port()), "200", "3"});
  INFO(r.output);
  CHECK(r.status == "exit 0");
  CHECK(count_of(r.output, "200 of 200 clients sent and received their message on 3 threads\n") ==
        1);
}

TEST_CASE(
    "example asio_tls: server verified with the test CA, with and without a client "
    "certificate" *
    unless_built()) {
  broker_options o;
  o.tls = true;
  broker b(o);
  b.start();
  const pki& p = pki::get();
  auto expect_round_trip = [](const example_result& r) {
    INFO(r.output);
    CHECK(r.status == "exit 0");
    CHECK(count_of(r.output, "connected over TLS\n") == 1);
    CHECK(count_of(r.output, "published over TLS\n") == 1);
    CHECK(count_of(r.output, "received: hello over TLS\n") == 1);
  };

  SUBCASE("server certificate") {
    expect_round_trip(run_example("asio_tls", {loopback, port_arg(b.tls_port()), p.ca()}));
  }
  SUBCASE("client certificate required") {
    expect_round_trip(run_example(
        "asio_tls", {loopback, port_arg(b.mtls_port()), p.ca(), p.client_cert(), p.client_key()}));
  }
  SUBCASE("a server from an unknown CA is refused") {
    const auto r = run_example("asio_tls", {loopback, port_arg(b.rogue_port()), p.ca()});
    INFO(r.output);
    CHECK(r.status == "exit 1");
    CHECK(count_of(r.output, "error: ") == 1);
    CHECK(count_of(r.output, "connected over TLS") == 0);
  }
}

// (One skip decorator: of two, the last would decide alone.)
TEST_CASE("example asio_websocket: its message comes back over ws://" *
          (examples_built ? needs_node() : unless_built())) {
  broker b;
  b.start();
  ws_servers servers;
  ws_server_options o;
  o.aedes = true;
  o.bridge_target = b.port();
  servers.start(o);
  auto expect_round_trip = [](const example_result& r) {
    INFO(r.output);
    CHECK(r.status == "exit 0");
    CHECK(count_of(r.output, "connected over WebSocket\n") == 1);
    CHECK(count_of(r.output, "received: hello over WebSocket\n") == 1);
  };

  SUBCASE("aedes (MQTT 3.1.1)") {
    expect_round_trip(
        run_example("asio_websocket", {loopback, port_arg(servers.aedes_ws()), "/mqtt", "3"}));
  }
  SUBCASE("mosquitto behind the WebSocket bridge (MQTT 5.0)") {
    expect_round_trip(
        run_example("asio_websocket", {loopback, port_arg(servers.bridge_ws()), "/mqtt"}));
  }
}
