// tls_layer against an OpenSSL server on memory BIOs (tls_peer), with certificates made at test
// time (pki). Every byte moves by hand, so each case is deterministic and needs no socket.
#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <string>

#include "adapters/pki.hpp"
#include "adapters/tls_peer.hpp"
#include "tern/net/error.hpp"
#include "tern/net/tls.hpp"

namespace {

using namespace tern;
using namespace tern::net;
using tern::test::pki;
using tern::test::tls_peer;
using tern::test::tls_peer_options;

tls_options trusting_ca() {
  tls_options o;
  o.ca_file = pki::get().ca();
  return o;
}

// Moves bytes both ways until neither side has anything to say; the client's first error.
std::error_code pump(tls_layer& client, tls_peer& server, std::string* plaintext = nullptr) {
  for (int round = 0; round < 10'000; ++round) {
    bool progress = false;
    const bytes_view w = client.writable();
    if (!w.empty()) {
      server.feed(w);
      client.consume_writable(w.size());
      progress = true;
    }
    const std::string out = server.take_output();
    if (!out.empty()) {
      if (auto ec = client.received(as_bytes(out))) return ec;
      progress = true;
    }
    if (plaintext != nullptr) {
      const bytes_view r = client.readable();
      plaintext->append(as_chars(r));
      client.consume_readable(r.size());
    }
    if (!progress) return {};
  }
  return {};
}

// Starts `client` and runs the handshake against `server`.
std::error_code handshake(tls_layer& client, tls_peer& server) {
  if (auto ec = client.start()) return ec;
  return pump(client, server);
}

void check_round_trip(tls_layer& client, tls_peer& server) {
  const bytes_view hello = as_bytes("CONNECT");
  std::error_code ec;
  CHECK(client.send(std::span(&hello, 1), ec) == hello.size());
  CHECK_FALSE(ec);
  server.write("CONNACK");
  std::string got;
  CHECK_FALSE(pump(client, server, &got));
  CHECK(server.received() == "CONNECT");
  CHECK(got == "CONNACK");
}

}  // namespace

TEST_CASE("tls: verified handshake by host name, SNI sent, data both ways") {
  tls_layer client(trusting_ca(), "localhost");
  tls_peer server;
  CHECK(client.describe() == "TLS");
  REQUIRE_FALSE(handshake(client, server));
  CHECK(client.established());
  CHECK(server.handshake_done());
  CHECK(client.describe() == "TLS 1.3");
  const char* sni = SSL_get_servername(server.ssl(), TLSEXT_NAMETYPE_host_name);
  REQUIRE(sni != nullptr);
  CHECK(std::string(sni) == "localhost");
  check_round_trip(client, server);
  CHECK(client.last_error_message().empty());
}

TEST_CASE("tls: verified by IP address, no SNI for address literals [RFC 6066 3]") {
  for (const char* host : {"127.0.0.1", "[::1]", "::1"}) {
    INFO(std::string(host));
    tls_layer client(trusting_ca(), host);
    tls_peer server;
    REQUIRE_FALSE(handshake(client, server));
    CHECK(client.established());
    CHECK(SSL_get_servername(server.ssl(), TLSEXT_NAMETYPE_host_name) == nullptr);
  }
}

TEST_CASE("tls: unknown CA -> tls_certificate_invalid with OpenSSL's reason") {
  tls_peer_options so;
  so.cert = pki::get().rogue_server_cert();
  so.key = pki::get().rogue_server_key();
  tls_layer client(trusting_ca(), "localhost");
  tls_peer server(so);
  CHECK(handshake(client, server) == net_errc::tls_certificate_invalid);
  CHECK_FALSE(client.established());
  CHECK(client.last_error_message().find("unable to get local issuer certificate") !=
        std::string::npos);
  // The alert is in writable(), so the server can learn why.
  CHECK_FALSE(client.writable().empty());
  server.feed(client.writable());
  CHECK(server.failed());

  // The system store does not know the test CA either.
  tls_layer system_store(tls_options{}, "localhost");
  tls_peer server2;
  CHECK(handshake(system_store, server2) == net_errc::tls_certificate_invalid);
}

TEST_CASE("tls: hostname and IP mismatch -> tls_hostname_mismatch") {
  {
    tls_peer_options so;
    so.cert = pki::get().other_cert();  // names broker.invalid only
    so.key = pki::get().other_key();
    tls_layer client(trusting_ca(), "localhost");
    tls_peer server(so);
    CHECK(handshake(client, server) == net_errc::tls_hostname_mismatch);
    CHECK(client.last_error_message().find("localhost") != std::string::npos);
  }
  {
    tls_layer client(trusting_ca(), "127.0.0.2");  // the certificate names 127.0.0.1
    tls_peer server;
    CHECK(handshake(client, server) == net_errc::tls_hostname_mismatch);
    CHECK(client.last_error_message().find("IP address mismatch") != std::string::npos);
  }
  {
    // server_name overrides the host for SNI and verification.
    tls_peer_options so;
    so.cert = pki::get().other_cert();
    so.key = pki::get().other_key();
    tls_options o = trusting_ca();
    o.server_name = "broker.invalid";
    tls_layer client(o, "127.0.0.1");
    tls_peer server(so);
    CHECK_FALSE(handshake(client, server));
    CHECK(std::string(SSL_get_servername(server.ssl(), TLSEXT_NAMETYPE_host_name)) ==
          "broker.invalid");
  }
}

TEST_CASE("tls: skip_hostname_check accepts a wrong name, never an unknown CA") {
  tls_options o = trusting_ca();
  o.skip_hostname_check = true;
  {
    tls_peer_options so;
    so.cert = pki::get().other_cert();  // names broker.invalid only
    so.key = pki::get().other_key();
    tls_layer client(o, "localhost");
    tls_peer server(so);
    REQUIRE_FALSE(handshake(client, server));
    check_round_trip(client, server);
  }
  {
    tls_peer_options so;
    so.cert = pki::get().rogue_server_cert();
    so.key = pki::get().rogue_server_key();
    tls_layer client(o, "localhost");
    tls_peer server(so);
    CHECK(handshake(client, server) == net_errc::tls_certificate_invalid);
  }
}

TEST_CASE("tls: insecure_skip_verify accepts an unknown CA and a wrong name") {
  tls_options o;
  o.insecure_skip_verify = true;
  {
    tls_peer_options so;
    so.cert = pki::get().rogue_server_cert();
    so.key = pki::get().rogue_server_key();
    tls_layer client(o, "localhost");
    tls_peer server(so);
    REQUIRE_FALSE(handshake(client, server));
    check_round_trip(client, server);
  }
  {
    tls_peer_options so;
    so.cert = pki::get().other_cert();
    so.key = pki::get().other_key();
    tls_layer client(o, "127.0.0.9");
    tls_peer server(so);
    CHECK_FALSE(handshake(client, server));
    CHECK(client.established());
  }
}

TEST_CASE("tls: client certificate required by the server") {
  tls_peer_options so;
  so.require_client_cert = true;
  {
    // TLS 1.3: the client finishes first, the server's alert ends it on the next read.
    tls_layer client(trusting_ca(), "localhost");
    tls_peer server(so);
    const std::error_code ec = handshake(client, server);
    CHECK(ec);
    CHECK((ec == net_errc::tls_error || ec == net_errc::tls_handshake_failed));
    CHECK(client.last_error_message().find("certificate required") != std::string::npos);
    CHECK(server.failed());
  }
  {
    tls_options o = trusting_ca();
    o.cert_file = pki::get().client_cert();
    o.key_file = pki::get().client_key();
    tls_layer client(o, "localhost");
    tls_peer server(so);
    REQUIRE_FALSE(handshake(client, server));
    check_round_trip(client, server);
    X509* peer = SSL_get1_peer_certificate(server.ssl());
    CHECK(peer != nullptr);
    X509_free(peer);
  }
}

TEST_CASE("tls: encrypted client key with the right and the wrong password") {
  tls_peer_options so;
  so.require_client_cert = true;
  tls_options o = trusting_ca();
  o.cert_file = pki::get().client_cert();
  o.key_file = pki::get().client_key_encrypted();
  {
    o.key_password = pki::key_password;
    tls_layer client(o, "localhost");
    tls_peer server(so);
    REQUIRE_FALSE(handshake(client, server));
    check_round_trip(client, server);
  }
  for (const char* wrong : {"wrong", ""}) {  // "" must not prompt on the terminal
    INFO(std::string(wrong));
    o.key_password = wrong;
    tls_layer client(o, "localhost");
    CHECK(client.start() == net_errc::tls_setup_failed);
    CHECK(client.last_error_message().find("private key") != std::string::npos);
    CHECK(client.writable().empty());
  }
}

TEST_CASE("tls: bad files and settings -> tls_setup_failed from start()") {
  const auto fails = [](tls_options o) {
    tls_layer client(std::move(o), "localhost");
    const std::error_code ec = client.start();
    CHECK(!client.last_error_message().empty());
    return ec;
  };
  tls_options o = trusting_ca();
  o.ca_file = "/nonexistent/ca.pem";
  CHECK(fails(o) == net_errc::tls_setup_failed);
  o = trusting_ca();
  o.cert_file = "/nonexistent/client.pem";
  CHECK(fails(o) == net_errc::tls_setup_failed);
  o = trusting_ca();
  o.cert_file = pki::get().client_cert();
  o.key_file = pki::get().server_key();  // not this certificate's key
  CHECK(fails(o) == net_errc::tls_setup_failed);
  o = trusting_ca();
  o.ciphers = "NO-SUCH-CIPHER";
  CHECK(fails(o) == net_errc::tls_setup_failed);
  o = trusting_ca();
  o.ciphersuites = "TLS_NO_SUCH_SUITE";
  CHECK(fails(o) == net_errc::tls_setup_failed);
  o = trusting_ca();
  o.alpn = {""};
  CHECK(fails(o) == net_errc::tls_setup_failed);
}

TEST_CASE("tls: minimum version and cipher suites") {
  tls_peer_options tls12_only;
  tls12_only.max_version = TLS1_2_VERSION;
  {
    tls_options o = trusting_ca();
    o.min_version = tls_version::tls1_3;
    tls_layer client(o, "localhost");
    tls_peer server(tls12_only);
    CHECK(handshake(client, server) == net_errc::tls_handshake_failed);
    CHECK(client.last_error_message().find("protocol version") != std::string::npos);
  }
  {
    tls_options o = trusting_ca();
    o.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    tls_layer client(o, "localhost");
    tls_peer server(tls12_only);
    REQUIRE_FALSE(handshake(client, server));
    CHECK(client.describe() == "TLS 1.2");
    CHECK(std::string(SSL_get_cipher_name(server.ssl())) == "ECDHE-ECDSA-AES128-GCM-SHA256");
    check_round_trip(client, server);
  }
  {
    tls_options o = trusting_ca();
    o.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
    tls_layer client(o, "localhost");
    tls_peer server;
    REQUIRE_FALSE(handshake(client, server));
    CHECK(std::string(SSL_get_cipher_name(server.ssl())) == "TLS_CHACHA20_POLY1305_SHA256");
  }
}

TEST_CASE("tls: ALPN negotiated") {
  tls_peer_options so;
  so.alpn = {"mqtt"};
  tls_options o = trusting_ca();
  o.alpn = {"x-amzn-mqtt-ca", "mqtt"};
  {
    tls_layer client(o, "localhost");
    tls_peer server(so);
    REQUIRE_FALSE(handshake(client, server));
    CHECK(client.negotiated_alpn() == "mqtt");
  }
  {
    tls_layer client(o, "localhost");
    tls_peer server;  // no ALPN on the server: nothing selected, no failure
    REQUIRE_FALSE(handshake(client, server));
    CHECK(client.negotiated_alpn().empty());
  }
}

TEST_CASE("tls: 1 MiB each way, output bounded") {
  tls_layer client(trusting_ca(), "localhost");
  tls_peer server;
  REQUIRE_FALSE(handshake(client, server));

  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + (i >> 9));

  // Up.
  std::size_t offset = 0;
  while (offset < big.size()) {
    // Three slices per call: a tiny one, a record-sized one, the rest.
    const bytes_view all = as_bytes(big).subspan(offset);
    const std::size_t a = std::min<std::size_t>(all.size(), 7);
    const std::size_t b = std::min<std::size_t>(all.size() - a, 16384);
    const bytes_view slices[] = {all.first(a), all.subspan(a, b), all.subspan(a + b)};
    std::error_code ec;
    const std::size_t n = client.send(slices, ec);
    REQUIRE_FALSE(ec);
    offset += n;
    REQUIRE_FALSE(pump(client, server));
  }
  CHECK(server.received() == big);

  // Down.
  server.write(big);
  std::string got;
  REQUIRE_FALSE(pump(client, server, &got));
  CHECK(got == big);

  // Without draining, send() stops taking once about 1 MiB of records waits.
  const std::string four(4 << 20, 'x');
  const bytes_view v = as_bytes(four);
  std::error_code ec;
  const std::size_t taken = client.send(std::span(&v, 1), ec);
  CHECK_FALSE(ec);
  CHECK(taken < four.size());
  CHECK(taken >= (1u << 20) - 16384);
  CHECK(client.writable().size() <= (1u << 20) + 32768);
  CHECK(client.send(std::span(&v, 1), ec) == 0);
  client.consume_writable(client.writable().size());
  CHECK(client.send(std::span(&v, 1), ec) > 0);
}

TEST_CASE("tls: close_notify both ways") {
  {
    tls_layer client(trusting_ca(), "localhost");
    tls_peer server;
    REQUIRE_FALSE(handshake(client, server));
    client.shutdown();
    CHECK_FALSE(client.writable().empty());
    CHECK_FALSE(pump(client, server));
    CHECK(server.got_close_notify());
    std::error_code ec;
    const bytes_view b = as_bytes("late");
    CHECK(client.send(std::span(&b, 1), ec) == 0);
    CHECK(ec == net_errc::connection_closed);
  }
  {
    // The server's last data and its close_notify in one flight: the data stays readable,
    // the client answers with its own close_notify.
    tls_layer client(trusting_ca(), "localhost");
    tls_peer server;
    REQUIRE_FALSE(handshake(client, server));
    server.write("DISCONNECT");
    server.shutdown();
    const std::string flight = server.take_output();
    CHECK_FALSE(client.received(as_bytes(flight)));
    CHECK(as_chars(client.readable()) == "DISCONNECT");
    CHECK_FALSE(client.writable().empty());
    server.feed(client.writable());
    client.consume_writable(client.writable().size());
    CHECK(server.got_close_notify());
    CHECK_FALSE(client.received(as_bytes("ignored")));
  }
}

TEST_CASE("tls: garbage from the server -> tls_handshake_failed; failures stick") {
  tls_layer client(trusting_ca(), "localhost");
  REQUIRE_FALSE(client.start());
  CHECK_FALSE(client.writable().empty());  // the ClientHello
  const std::error_code ec = client.received(as_bytes("HTTP/1.1 400 Bad Request\r\n\r\n"));
  CHECK(ec == net_errc::tls_handshake_failed);
  CHECK_FALSE(client.last_error_message().empty());
  CHECK(client.received(as_bytes("more")) == ec);
  std::error_code send_ec;
  const bytes_view b = as_bytes("x");
  CHECK(client.send(std::span(&b, 1), send_ec) == 0);
  CHECK(send_ec == ec);
}
