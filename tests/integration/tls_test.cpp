// TLS against a real mosquitto with certificates made by make_pki.sh (openssl CLI), MQTT 3.1.1
// and 5.0: server verification with our CA (by name and by IP address, also through
// connect_url("mqtts://...")), mutual TLS with a client certificate (plain and encrypted key),
// a refused client without a certificate, and the refusals a client must make by itself —
// hostname mismatch, a certificate from an unknown CA, the system store by default — each with
// an error that names the reason. The insecure switch skips exactly those checks.
#include <string>

#include "integration/fixture.hpp"
#include "tern/net/error.hpp"

namespace {

using namespace tern;
using namespace tern::it;
using net::net_errc;

net::tls_options trusting(const std::string& ca) {
  net::tls_options o;
  o.ca_file = ca;
  return o;
}

net::tls_options with_client_certificate() {
  const pki& p = pki::get();
  net::tls_options o = trusting(p.ca());
  o.cert_file = p.client_cert();
  o.key_file = p.client_key();
  return o;
}

// Subscribes, publishes to itself at QoS 2 and checks the message came back.
void echo(client& c, recorder& r, const std::string& topic, std::string_view payload) {
  CHECK(subscribe_and_wait(c, r, topic, qos::exactly_once) == reason_code::granted_qos_2);
  CHECK(c.publish(topic, payload, qos::exactly_once).wait_for_publish(patience));
  REQUIRE(r.wait([&] {
    for (const auto& m : r.messages)
      if (m.topic == topic) return true;
    return false;
  }));
  CHECK(r.messages_on(topic).front().payload_text() == payload);
}

// A connection the client must refuse by itself: connect() fails with `expected`, and the
// error's message and the client's log say why.
void expect_refused(client& c, recorder& r, std::uint16_t port, const std::string& host,
                    net_errc expected, const std::string& words) {
  const std::error_code ec = c.connect(host, port, 10s);
  CAPTURE(ec.message());
  CHECK(ec == expected);
  CHECK(ec.category() == net::net_category());
  CHECK_MESSAGE(lower(ec.message()).find(words) != std::string::npos,
                "the message should name the reason (" << words << ")");
  CHECK_FALSE(c.is_connected());
  CHECK(c.socket() == -1);
  // OpenSSL's own words (the verification error) are kept for the application.
  const std::string detail = c.last_error_message();
  CAPTURE(detail);
  CHECK_FALSE(detail.empty());
  CHECK(lower(detail).find("certificate") != std::string::npos);
  const std::string logs = r.all_logs();
  CHECK_MESSAGE(lower(logs).find(words) != std::string::npos,
                "the log should name the reason (" << words << "):\n" << logs);
}

}  // namespace

TEST_CASE("TLS: server certificate verified against the test CA, by name and by address") {
  broker_options bo;
  bo.tls = true;
  broker b(bo);
  b.start();
  const pki& p = pki::get();

  SUBCASE("127.0.0.1 (IP SAN)") {
    for_each_version([&](protocol_version v) {
      client c(client_options{"it-tls-ip-" + tag_of(v), v});
      recorder r;
      r.attach(c);
      c.tls_set(trusting(p.ca()));
      connect_and_start(c, r, b.tls_port(), loopback);
      echo(c, r, "tls/ip", "over TLS");
      disconnect_and_stop(c);
    });
  }
  SUBCASE("mqtts://localhost (DNS SAN, connect_url)") {
    for_each_version([&](protocol_version v) {
      client c(client_options{"it-tls-url-" + tag_of(v), v});
      recorder r;
      r.attach(c);
      c.tls_set(trusting(p.ca()));
      const std::string url = "mqtts://localhost:" + std::to_string(b.tls_port());
      const std::error_code ec = c.connect_url(url, 10s);
      REQUIRE_MESSAGE(!ec, url << ": " << ec.message() << "\n" << r.all_logs());
      REQUIRE_FALSE(c.loop_start());
      REQUIRE(r.wait([&] { return r.connects == 1; }));
      echo(c, r, "tls/url", "over TLS by name");
      disconnect_and_stop(c);
    });
  }
}

TEST_CASE("TLS: mutual TLS with a client certificate") {
  broker_options bo;
  bo.tls = true;
  broker b(bo);
  b.start();
  const pki& p = pki::get();

  SUBCASE("plain key; a megabyte each way") {
    for_each_version([&](protocol_version v) {
      client c(client_options{"it-mtls-" + tag_of(v), v});
      recorder r;
      r.attach(c);
      c.tls_set(with_client_certificate());
      connect_and_start(c, r, b.mtls_port());
      const std::vector<std::byte> big = pattern_bytes(1024 * 1024, 5);
      CHECK(subscribe_and_wait(c, r, "mtls/big", qos::at_least_once) == reason_code::granted_qos_1);
      CHECK(c.publish("mtls/big", bytes_view(big), qos::at_least_once).wait_for_publish(patience));
      REQUIRE(r.wait([&] { return r.messages.size() == 1; }));
      CHECK(r.messages_on("mtls/big").front().payload == big);
      disconnect_and_stop(c);
    });
  }
  SUBCASE("encrypted key with its password") {
    for_each_version([&](protocol_version v) {
      client c(client_options{"it-mtls-enc-" + tag_of(v), v});
      recorder r;
      r.attach(c);
      net::tls_options o = with_client_certificate();
      o.key_file = p.client_key_encrypted();
      o.key_password = pki::client_key_password;
      c.tls_set(o);
      connect_and_start(c, r, b.mtls_port());
      echo(c, r, "mtls/encrypted", "decrypted key");
      disconnect_and_stop(c);
    });
  }
  SUBCASE("encrypted key with a wrong password: a setup error") {
    client c(client_options{"it-mtls-badpw"});
    recorder r;
    r.attach(c);
    net::tls_options o = with_client_certificate();
    o.key_file = p.client_key_encrypted();
    o.key_password = "not the password";
    c.tls_set(o);
    const std::error_code ec = c.connect(loopback, b.mtls_port(), 10s);
    CAPTURE(ec.message());
    CHECK(ec == net_errc::tls_setup_failed);
    CHECK_FALSE(c.is_connected());
  }
  SUBCASE("no client certificate: the broker refuses the connection") {
    for_each_version([&](protocol_version v) {
      client_options o{"it-mtls-none-" + tag_of(v), v};
      o.reconnect_on_failure = false;
      client c(o);
      recorder r;
      r.attach(c);
      c.tls_set(trusting(p.ca()));
      // With TLS 1.3 the client's handshake may complete before the server checks for a
      // certificate; the broker's alert then ends the connection right after. Either way the
      // client never gets a CONNACK.
      const std::error_code ec = c.connect(loopback, b.mtls_port(), 10s);
      if (!ec) {
        REQUIRE_FALSE(c.loop_start());
        CHECK_MESSAGE(r.wait([&] { return !r.connect_failures.empty() || r.disconnects > 0; }),
                      "the client should learn that the broker ended the connection\n"
                          << r.all_logs());
        CHECK_FALSE(c.loop_stop());
      } else {
        CAPTURE(ec.message());
        CHECK(ec.category() == net::net_category());
      }
      const std::lock_guard<std::mutex> lock(r.mu);
      CHECK(r.connects == 0);
    });
  }
}

TEST_CASE("TLS: the client refuses a wrong server by itself, naming the reason") {
  broker_options bo;
  bo.tls = true;
  broker b(bo);
  b.start();
  const pki& p = pki::get();

  SUBCASE("hostname mismatch: the certificate names broker.invalid, we dialled 127.0.0.1") {
    for_each_version([&](protocol_version v) {
      client c(client_options{"it-tls-mismatch-" + tag_of(v), v});
      recorder r;
      r.attach(c);
      c.tls_set(trusting(p.ca()));
      expect_refused(c, r, b.mismatch_port(), loopback, net_errc::tls_hostname_mismatch, "host");
    });
  }
  SUBCASE("hostname mismatch: we dialled localhost") {
    client c(client_options{"it-tls-mismatch-name"});
    recorder r;
    r.attach(c);
    c.tls_set(trusting(p.ca()));
    expect_refused(c, r, b.mismatch_port(), "localhost", net_errc::tls_hostname_mismatch, "host");
  }
  SUBCASE("unknown CA: the server's certificate comes from a CA we do not trust") {
    for_each_version([&](protocol_version v) {
      client c(client_options{"it-tls-rogue-" + tag_of(v), v});
      recorder r;
      r.attach(c);
      c.tls_set(trusting(p.ca()));
      expect_refused(c, r, b.rogue_port(), loopback, net_errc::tls_certificate_invalid,
                     "certificate");
    });
  }
  SUBCASE("connect_async: on_connect_fail can already tell why (log and last_error_message)") {
    client c(client_options{"it-tls-async-rogue"});
    recorder r;
    r.attach(c);
    std::string logged_before, detail_inside;
    int failures = 0;
    c.on_connect_fail = [&](client& self, reason_code) {
      {
        const std::lock_guard<std::mutex> lock(r.mu);
        for (const auto& l : r.logs) logged_before += l + "\n";
        ++failures;
      }
      detail_inside = self.last_error_message();
      r.cv.notify_all();
    };
    c.tls_set(trusting(p.ca()));
    REQUIRE_FALSE(c.connect_async(loopback, b.rogue_port(), 10s));
    REQUIRE_FALSE(c.loop_start());
    CHECK(r.wait([&] { return failures >= 1; }));
    CHECK_FALSE(c.loop_stop());
    CAPTURE(logged_before);
    CHECK(lower(logged_before).find("certificate") != std::string::npos);
    CHECK(lower(detail_inside).find("certificate") != std::string::npos);
  }
  SUBCASE("unknown CA: we trust only an unrelated CA") {
    client c(client_options{"it-tls-unrelated"});
    recorder r;
    r.attach(c);
    c.tls_set(trusting(p.rogue_ca()));
    expect_refused(c, r, b.tls_port(), loopback, net_errc::tls_certificate_invalid, "certificate");
  }
  SUBCASE("verification is on by default: the system store does not know the test CA") {
    client c(client_options{"it-tls-default"});
    recorder r;
    r.attach(c);
    c.tls_set();
    expect_refused(c, r, b.tls_port(), loopback, net_errc::tls_certificate_invalid, "certificate");
  }
  SUBCASE("the insecure switch skips exactly these checks") {
    for_each_version([&](protocol_version v) {
      client c(client_options{"it-tls-insecure-" + tag_of(v), v});
      recorder r;
      r.attach(c);
      c.tls_set(trusting(p.rogue_ca()));
      c.tls_insecure_set(true);
      connect_and_start(c, r, b.mismatch_port());
      echo(c, r, "tls/insecure", "unverified");
      disconnect_and_stop(c);
    });
  }
}
