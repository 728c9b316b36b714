// The one-shot helpers (paho's publish.single / publish.multiple, subscribe.simple /
// subscribe.callback) against a real mosquitto, MQTT 3.1.1 and 5.0, with broker-assigned
// (empty) client ids: retained messages, several messages in order at mixed QoS, a callback
// that stops the subscription, the timeout, TLS with a client certificate, and a broker that
// is not there.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "integration/fixture.hpp"
#include "tern/oneshot.hpp"

using namespace tern;
using namespace tern::it;

namespace {

oneshot_options at(std::uint16_t port, protocol_version v) {
  oneshot_options o;
  o.host = loopback;
  o.port = port;
  o.version = v;
  o.timeout = 10s;
  return o;
}

}  // namespace

TEST_CASE("one-shot: publish_single of a retained message, subscribe_simple picks it up") {
  TERN_FOR_EACH_VERSION(v);
  broker b;
  b.start();
  const oneshot_options o = at(b.port(), v);
  const std::vector<std::byte> big = pattern_bytes(256 * 1024, 21);
  const std::string big_text(reinterpret_cast<const char*>(big.data()), big.size());

  CHECK_FALSE(publish_single("one/retained", "kept", qos::exactly_once, true, o));
  CHECK_FALSE(publish_single("one/big", big_text, qos::at_least_once, true, o));
  std::vector<owned_message> out;
  CHECK_FALSE(subscribe_simple({"one/retained", "one/big"}, qos::exactly_once, 2, true, out, o));
  REQUIRE(out.size() == 2);
  for (const auto& m : out) {
    CHECK(m.retain);
    if (m.topic == "one/retained") {
      CHECK(m.payload_text() == "kept");
      CHECK(m.q == qos::exactly_once);
    } else {
      CHECK(m.topic == "one/big");
      CHECK(m.payload == big);
    }
  }
  // retained = false: retained messages are skipped; with nothing live, the timeout ends it.
  oneshot_options quick = o;
  quick.timeout = 400ms;
  const auto start = std::chrono::steady_clock::now();
  const std::error_code ec = subscribe_simple({"one/retained"}, qos::at_least_once, 1, false, out, quick);
  const auto took = std::chrono::steady_clock::now() - start;
  CAPTURE(ec.message());
  CHECK(ec == std::errc::timed_out);
  CHECK(out.empty());
  CHECK(took >= 350ms);
  CHECK(took < 5s);
}

TEST_CASE("one-shot: publish_multiple in order at mixed QoS; subscribe_callback stops when told") {
  TERN_FOR_EACH_VERSION(v);
  broker b;
  b.start();
  const oneshot_options o = at(b.port(), v);
  // A retained marker tells the test when the subscription is in place.
  REQUIRE_FALSE(publish_single("multi/ready", "ready", qos::at_least_once, true, o));

  std::atomic<bool> subscribed{false};
  std::vector<owned_message> got;  // only the subscriber thread touches it until join
  int calls_after_done = 0;
  bool done = false;
  std::error_code sub_ec;
  std::thread subscriber([&] {
    oneshot_options so = o;
    so.timeout = 0ms;  // no deadline: until the callback says stop
    sub_ec = subscribe_callback(
        [&](client&, const publish& m) {
          if (done) ++calls_after_done;
          if (m.topic == "multi/ready") {
            subscribed = true;
            return true;
          }
          got.push_back(owned_message::from(m));
          done = got.size() == 8;
          return !done;
        },
        {"multi/#"}, qos::exactly_once, so);
  });
  const auto until = std::chrono::steady_clock::now() + patience;
  while (!subscribed && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  REQUIRE(subscribed);
  const std::vector<outgoing_message> batch{
      {"multi/a", "0", qos::at_most_once, false},  {"multi/a", "1", qos::at_least_once, false},
      {"multi/a", "2", qos::exactly_once, false},  {"multi/b", "3", qos::exactly_once, false},
      {"multi/b", "4", qos::at_least_once, false}, {"multi/b", "", qos::exactly_once, false},
      {"multi/a", "6", qos::at_least_once, false}, {"multi/b", "7", qos::exactly_once, false},
  };
  CHECK_FALSE(publish_multiple(batch, o));
  subscriber.join();
  CHECK_FALSE(sub_ec);
  CHECK(calls_after_done == 0);
  REQUIRE(got.size() == batch.size());
  // Everything arrived once; per topic and QoS in the order published (the broker need not
  // keep the order across QoS levels: it releases a QoS 2 message only at PUBREL).
  for (const auto& sent : batch) {
    CAPTURE(sent.payload);
    int seen = 0;
    for (const auto& m : got) {
      if (m.topic != sent.topic || m.payload_text() != sent.payload) continue;
      ++seen;
      CHECK(m.q == sent.q);
      CHECK_FALSE(m.retain);
    }
    CHECK(seen == 1);
  }
  for (const std::string topic : {"multi/a", "multi/b"}) {
    for (const qos q : {qos::at_most_once, qos::at_least_once, qos::exactly_once}) {
      std::vector<std::string> sent_order;
      std::vector<std::string> got_order;
      for (const auto& m : batch)
        if (m.topic == topic && m.q == q) sent_order.push_back(m.payload);
      for (const auto& m : got)
        if (m.topic == topic && m.q == q) got_order.emplace_back(m.payload_text());
      CHECK(sent_order == got_order);
    }
  }
}

TEST_CASE("one-shot: over mutual TLS") {
  broker_options bo;
  bo.tls = true;
  broker b(bo);
  b.start();
  const pki& p = pki::get();
  for_each_version([&](protocol_version v) {
    oneshot_options o = at(b.mtls_port(), v);
    net::tls_options t;
    t.ca_file = p.ca();
    t.cert_file = p.client_cert();
    t.key_file = p.client_key();
    o.tls = t;
    CHECK_FALSE(publish_single("one/tls", "over mTLS " + tag_of(v), qos::at_least_once, true, o));
    std::vector<owned_message> out;
    CHECK_FALSE(subscribe_simple({"one/tls"}, qos::at_least_once, 1, true, out, o));
    REQUIRE(out.size() == 1);
    CHECK(out.front().payload_text() == "over mTLS " + tag_of(v));
  });
}

TEST_CASE("one-shot: no broker there is an error, not a hang") {
  const std::uint16_t nobody = free_port();
  for_each_version([&](protocol_version v) {
    oneshot_options o = at(nobody, v);
    o.timeout = 3s;
    const auto start = std::chrono::steady_clock::now();
    const std::error_code ec = publish_single("x", "y", qos::at_least_once, false, o);
    CAPTURE(ec.message());
    CHECK(ec);
    std::vector<owned_message> out;
    CHECK(subscribe_simple({"x"}, qos::at_least_once, 1, true, out, o));
    CHECK(std::chrono::steady_clock::now() - start < 8s);
  });
}
