// Every client example in examples/ runs here, as a child process, against a server this test
// starts (fixture.hpp), and what it printed and did is checked:
//   * the ones that finish by themselves (basic_publisher, qos_levels, tls_client,
//     websocket_client, loop_start_publish, manual_loop, logging, oneshot_helpers,
//     epoll_loop, libuv_loop) must exit 0 with the output that shows their work, and a test
//     client sees what they published;
//   * basic_subscriber prints what the test publishes and leaves after `count` messages;
//   * reconnect is started, its broker killed and started again on the same port, and it must
//     report the loss, the failed attempts, connect and subscribe again and receive again;
//   * graceful_shutdown gets SIGINT and must exit 0 after a clean DISCONNECT (mosquitto logs
//     "disconnected", not a closed socket; the retained status is "offline", not the Will).
//
// The build passes TERN_EXAMPLE_DIR (where the example programs are) and
// TERN_EXAMPLE_LIBUV_LOOP (1 when libuv_loop was built); without the examples the cases are
// skipped.
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "integration/fixture.hpp"

using namespace tern;
using namespace tern::it;

namespace {

#ifdef TERN_EXAMPLE_DIR
constexpr bool examples_built = true;
constexpr const char* example_dir = TERN_EXAMPLE_DIR;
#else
constexpr bool examples_built = false;
constexpr const char* example_dir = "";
#endif
#if defined(TERN_EXAMPLE_LIBUV_LOOP) && TERN_EXAMPLE_LIBUV_LOOP
constexpr bool libuv_loop_built = true;
#else
constexpr bool libuv_loop_built = false;
#endif

doctest::skip unless_built(bool built = examples_built) {
  static std::once_flag said;
  if (!built) {
    std::call_once(said, [] {
      std::fprintf(stderr, "tern_integration_tests: SKIPPING example programs that were not "
                           "built (TERN_BUILD_EXAMPLES / meson -Dexamples, libuv for libuv_loop)\n");
    });
  }
  return doctest::skip(!built);
}

// One run of an example program; stdout and stderr both go to a file in a scratch directory.
class example_run {
 public:
  example_run(std::string name, std::vector<std::string> args)
      : name_(std::move(name)), args_(std::move(args)), dir_("tern-it-example") {}

  void start() {
    const std::string program = std::string(example_dir) + "/" + name_;
    REQUIRE_MESSAGE(::access(program.c_str(), X_OK) == 0,
                    program << " is missing: build the example targets");
    std::vector<std::string> argv{program};
    argv.insert(argv.end(), args_.begin(), args_.end());
    REQUIRE_MESSAGE(process_.spawn(argv, output_file()), "could not start " << program);
  }

  // Waits until the output holds `needle` at least `times` times. False when the program ended
  // without printing it, or after `timeout`.
  bool await_output(std::string_view needle, std::size_t times = 1,
                    milliseconds timeout = patience) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const bool ended = !process_.running();
      if (count_of(output(), needle) >= times) return true;
      if (ended || std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(10ms);
    }
  }

  // Waits for the program to exit by itself (it is killed after `timeout`): "exit 0", ...
  std::string finish(milliseconds timeout = patience) {
    process_.wait(timeout);
    return process_.exit_status();
  }

  // Starts it and waits until it exits; fails the test case unless it exits with 0.
  std::string run_to_success() {
    start();
    const std::string status = finish();
    REQUIRE_MESSAGE(status == "exit 0", name_ << " ended with " << status << "; its output:\n"
                                              << output());
    return output();
  }

  void signal(int sig) { process_.signal(sig); }
  void terminate() { process_.stop(); }
  std::string output() const { return read_file(output_file()); }

 private:
  std::string output_file() const { return dir_.file(name_ + ".out"); }

  std::string name_;
  std::vector<std::string> args_;
  scratch_dir dir_;
  child_process process_;
};

std::string port_arg(std::uint16_t port) { return std::to_string(port); }

// A client of the test's own on a plain listener, subscribed to `filter` at QoS 2.
struct observer {
  client c{client_options{"it-example-observer"}};
  recorder r;

  observer(std::uint16_t port, const std::string& filter) {
    r.attach(c);
    connect_and_start(c, r, port);
    REQUIRE(subscribe_and_wait(c, r, filter, qos::exactly_once) == granted(qos::exactly_once));
  }
  ~observer() { disconnect_and_stop(c); }
  observer(const observer&) = delete;
  observer& operator=(const observer&) = delete;

  std::vector<std::string> payloads_on(const std::string& topic) {
    std::vector<std::string> out;
    for (const auto& m : r.messages_on(topic)) out.emplace_back(m.payload_text());
    return out;
  }
  bool await_count(std::size_t n) {
    return r.wait([&] { return r.messages.size() >= n; });
  }
};

// A publishing client of the test's own, connected to a plain listener.
struct test_publisher {
  client c{client_options{"it-example-publisher"}};
  recorder r;

  explicit test_publisher(std::uint16_t port) {
    r.attach(c);
    connect_and_start(c, r, port);
  }
  ~test_publisher() { disconnect_and_stop(c); }
  test_publisher(const test_publisher&) = delete;
  test_publisher& operator=(const test_publisher&) = delete;

  void publish(const std::string& topic, const std::string& payload) {
    CAPTURE(topic);
    REQUIRE(c.publish(topic, payload, qos::at_least_once).wait_for_publish(patience));
  }
};

}  // namespace

TEST_CASE("example basic_publisher: five QoS 1 messages, each acknowledged" * unless_built()) {
  broker b;
  b.start();
  observer watch(b.port(), "examples/publisher");
  example_run run("basic_publisher", {loopback, port_arg(b.port()), "examples/publisher"});
  const std::string out = run.run_to_success();
  for (int i = 1; i <= 5; ++i)
    CHECK(count_of(out, "published \"message " + std::to_string(i) + "\"") == 1);
  CHECK(count_of(out, "disconnected") == 1);
  REQUIRE(watch.await_count(5));
  CHECK(watch.payloads_on("examples/publisher") ==
        std::vector<std::string>{"message 1", "message 2", "message 3", "message 4", "message 5"});
}

TEST_CASE("example basic_subscriber: prints what arrives, leaves after `count`" * unless_built()) {
  broker b;
  b.start();
  example_run run("basic_subscriber", {loopback, port_arg(b.port()), "examples/basic/#", "3"});
  run.start();
  REQUIRE_MESSAGE(run.await_output("subscribed: "), run.output());
  CHECK(count_of(run.output(), "connected; subscribing to examples/basic/#") == 1);
  {
    test_publisher publisher(b.port());
    publisher.publish("examples/basic/a", "first");
    publisher.publish("examples/basic/b", "second");
    publisher.publish("examples/basic/c", "third");
  }
  const std::string status = run.finish();
  const std::string out = run.output();
  INFO(out);
  CHECK(status == "exit 0");
  const auto first = out.find("examples/basic/a first\n");
  const auto second = out.find("examples/basic/b second\n");
  const auto third = out.find("examples/basic/c third\n");
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(third != std::string::npos);
  CHECK((first < second && second < third));
}

TEST_CASE("example qos_levels: one message at each QoS, delivered at that QoS" * unless_built()) {
  broker b;
  b.start();
  example_run run("qos_levels", {loopback, port_arg(b.port()), "examples/qos"});
  const std::string out = run.run_to_success();
  INFO(out);
  CHECK(count_of(out, "subscription granted: ") == 1);
  for (const char* q : {"0", "1", "2"})
    CHECK(count_of(out, std::string("received at QoS ") + q + ": sent at QoS " + q + "\n") == 1);
  // on_publish reports the three completions: written (QoS 0), PUBACK (1) and PUBCOMP (2).
  CHECK(count_of(out, " complete: ") == 3);
  CHECK(count_of(out, "3 of 3 messages received") == 1);
}

TEST_CASE("example reconnect: the broker is killed and restarted, the client comes back" *
          unless_built()) {
  broker b;
  b.start();
  example_run run("reconnect", {loopback, port_arg(b.port()), "examples/reconnect"});
  run.start();
  REQUIRE_MESSAGE(run.await_output("subscribed to examples/reconnect"), run.output());
  {
    test_publisher publisher(b.port());
    publisher.publish("examples/reconnect", "before the crash");
  }
  REQUIRE_MESSAGE(run.await_output("examples/reconnect: before the crash\n"), run.output());

  b.kill();
  REQUIRE_MESSAGE(run.await_output("disconnected: "), run.output());
  // Stays down until the example has seen an attempt fail, so the retry path is the one tested.
  REQUIRE_MESSAGE(run.await_output("connection attempt failed; retrying later"), run.output());
  b.start();  // the same port
  REQUIRE_MESSAGE(run.await_output("subscribed to examples/reconnect", 2), run.output());
  {
    test_publisher publisher(b.port());
    publisher.publish("examples/reconnect", "after the restart");
  }
  REQUIRE_MESSAGE(run.await_output("examples/reconnect: after the restart\n"), run.output());
  const std::string out = run.output();
  INFO(out);
  // A new broker process has no session for it: each CONNACK says so.
  CHECK(count_of(out, "connected (session present: 0)") == 2);
  run.terminate();
}

TEST_CASE("example tls_client: server verified with the test CA, with and without a client "
          "certificate" * unless_built()) {
  broker_options o;
  o.tls = true;
  broker b(o);
  b.start();
  const pki& p = pki::get();
  observer watch(b.port(), "tern/examples/tls");
  auto expect_published = [&](example_run& run) {
    CHECK(count_of(run.run_to_success(), "published over TLS") == 1);
    REQUIRE(watch.await_count(1));
    CHECK(watch.payloads_on("tern/examples/tls") == std::vector<std::string>{"hello over TLS"});
  };

  SUBCASE("server certificate") {
    example_run run("tls_client", {loopback, port_arg(b.tls_port()), p.ca()});
    expect_published(run);
  }
  SUBCASE("client certificate required") {
    example_run run("tls_client", {loopback, port_arg(b.mtls_port()), p.ca(), p.client_cert(),
                                   p.client_key()});
    expect_published(run);
  }
  SUBCASE("a server from an unknown CA is refused") {
    example_run run("tls_client", {loopback, port_arg(b.rogue_port()), p.ca()});
    run.start();
    const std::string status = run.finish();
    INFO(run.output());
    CHECK(status == "exit 1");
    CHECK(count_of(run.output(), "connect failed: ") == 1);
  }
}

// (One skip decorator: of two, the last would decide alone.)
TEST_CASE("example websocket_client: its message comes back over ws://" *
          (examples_built ? needs_node() : unless_built())) {
  broker b;
  b.start();
  ws_servers servers;
  ws_server_options o;
  o.aedes = true;
  o.bridge_target = b.port();
  servers.start(o);

  SUBCASE("aedes") {
    example_run run("websocket_client", {loopback, port_arg(servers.aedes_ws()), "/mqtt"});
    const std::string out = run.run_to_success();
    INFO(out);
    CHECK(count_of(out, "connected over WebSocket") == 1);
    CHECK(count_of(out, "received: hello over WebSocket") == 1);
  }
  SUBCASE("mosquitto behind the WebSocket bridge") {
    observer watch(b.port(), "tern/examples/ws");
    example_run run("websocket_client", {loopback, port_arg(servers.bridge_ws()), "/mqtt"});
    const std::string out = run.run_to_success();
    INFO(out);
    CHECK(count_of(out, "received: hello over WebSocket") == 1);
    REQUIRE(watch.await_count(1));
    CHECK(watch.payloads_on("tern/examples/ws") ==
          std::vector<std::string>{"hello over WebSocket"});
  }
}

TEST_CASE("example loop_start_publish: the main thread publishes, the loop thread acknowledges" *
          unless_built()) {
  broker b;
  b.start();
  observer watch(b.port(), "tern/examples/temperature");
  example_run run("loop_start_publish", {loopback, port_arg(b.port()), "4"});
  const std::string out = run.run_to_success();
  INFO(out);
  CHECK(count_of(out, "[main thread] published ") == 4);
  CHECK(count_of(out, "[loop thread] message ") == 4);
  CHECK(count_of(out, "4 of 4 acknowledged") == 1);
  REQUIRE(watch.await_count(4));
  CHECK(watch.payloads_on("tern/examples/temperature").size() == 4);
}

TEST_CASE("example manual_loop: poll() drives the client until it disconnects" * unless_built()) {
  broker b;
  b.start();
  example_run run("manual_loop", {loopback, port_arg(b.port()), "4"});
  const std::string out = run.run_to_success();
  INFO(out);
  for (int i = 1; i <= 4; ++i)
    CHECK(count_of(out, "received message " + std::to_string(i) + "\n") == 1);
  CHECK(count_of(out, "socket closed after 4 messages") == 1);
}

TEST_CASE("example logging: the client's log reaches both stderr and on_log" * unless_built()) {
  broker b;
  b.start();
  observer watch(b.port(), "tern/examples/logging");
  example_run run("logging", {loopback, port_arg(b.port())});
  const std::string out = run.run_to_success();
  INFO(out);
  // enable_logger() writes "tern <level>: <text>" to stderr, and on_log (here) prints
  // "[on_log <level>] <text>": every line of the one must be there as a line of the other.
  std::vector<std::string> logged;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("tern ", 0) == 0) logged.push_back(line);
  CHECK(logged.size() >= 3);  // at least: connecting, the transport, the CONNACK
  for (const auto& line : logged) {
    CAPTURE(line);
    const auto colon = line.find(": ");
    REQUIRE(colon != std::string::npos);
    const std::string level = line.substr(5, colon - 5);
    CHECK(count_of(out, "[on_log " + level + "] " + line.substr(colon + 2) + "\n") == 1);
  }
  REQUIRE(watch.await_count(1));
  CHECK(watch.payloads_on("tern/examples/logging") == std::vector<std::string>{"hello"});
}

TEST_CASE("example graceful_shutdown: SIGINT ends it with a clean DISCONNECT" * unless_built()) {
  broker b;
  b.start();
  example_run run("graceful_shutdown", {loopback, port_arg(b.port()), "examples/shutdown"});
  run.start();
  // It prints its own retained "online" once its subscription is in place.
  REQUIRE_MESSAGE(run.await_output("examples/shutdown/status: online\n"), run.output());
  {
    test_publisher publisher(b.port());
    publisher.publish("examples/shutdown/chat", "still there?");
  }
  REQUIRE_MESSAGE(run.await_output("examples/shutdown/chat: still there?\n"), run.output());

  run.signal(SIGINT);
  const std::string status = run.finish();
  const std::string out = run.output();
  INFO(out);
  CHECK(status == "exit 0");
  CHECK(count_of(out, "signal " + std::to_string(SIGINT) + ": shutting down") == 1);
  CHECK(count_of(out, "bye\n") == 1);
  // mosquitto logs "disconnected" only for a DISCONNECT packet; a socket closed without one
  // would have published the Will instead.
  const auto logged = [&] { return b.log().find("Client tern-shutdown-example disconnected.") !=
                                   std::string::npos; };
  const auto until = std::chrono::steady_clock::now() + patience;
  while (!logged() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
  CHECK_MESSAGE(logged(), b.log());
  // What the broker kept: the example's last word, not its Will.
  observer watch(b.port(), "examples/shutdown/status");
  REQUIRE(watch.await_count(1));
  CHECK(watch.payloads_on("examples/shutdown/status") == std::vector<std::string>{"offline"});
}

TEST_CASE("example oneshot_helpers: publish_single, publish_multiple, subscribe_simple" *
          unless_built()) {
  broker b;
  b.start();
  observer watch(b.port(), "tern/examples/oneshot/#");
  example_run run("oneshot_helpers", {loopback, port_arg(b.port())});
  const std::string out = run.run_to_success();
  INFO(out);
  CHECK(count_of(out, "tern/examples/oneshot/state = ready (retained)") == 1);
  // "ready", a, b, c, and the empty retained message that clears "ready" again.
  REQUIRE(watch.await_count(5));
  CHECK(watch.payloads_on("tern/examples/oneshot/state") == std::vector<std::string>{"ready", ""});
  CHECK(watch.payloads_on("tern/examples/oneshot/a") == std::vector<std::string>{"1"});
  CHECK(watch.payloads_on("tern/examples/oneshot/b") == std::vector<std::string>{"2"});
  CHECK(watch.payloads_on("tern/examples/oneshot/c") == std::vector<std::string>{"3"});
}

TEST_CASE("example epoll_loop: the socket callbacks keep an epoll set in step" * unless_built()) {
  broker b;
  b.start();
  example_run run("epoll_loop", {loopback, port_arg(b.port()), "4"});
  const std::string out = run.run_to_success();
  INFO(out);
  CHECK(count_of(out, "opened: added to epoll") == 1);
  for (int i = 1; i <= 4; ++i)
    CHECK(count_of(out, "received message " + std::to_string(i) + "\n") == 1);
  CHECK(count_of(out, "closing: removed from epoll") == 1);
  CHECK(count_of(out, "done: 4 messages") == 1);
}

TEST_CASE("example libuv_loop: a uv_poll_t and a uv_timer_t drive the client" *
          unless_built(examples_built && libuv_loop_built)) {
  broker b;
  b.start();
  example_run run("libuv_loop", {loopback, port_arg(b.port()), "4"});
  const std::string out = run.run_to_success();
  INFO(out);
  CHECK(count_of(out, "opened: uv_poll_start") == 1);
  for (int i = 1; i <= 4; ++i)
    CHECK(count_of(out, "received message " + std::to_string(i) + "\n") == 1);
  CHECK(count_of(out, "closing: uv_poll_stop") == 1);
  CHECK(count_of(out, "done: 4 messages") == 1);
}
