// Proxy layers against scripted replies fed byte by byte: SOCKS5 (RFC 1928, RFC 1929) and
// HTTP CONNECT; proxy URLs; proxy selection from the environment, NO_PROXY included.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <map>
#include <string>

#include "support/hex.hpp"
#include "tern/net/error.hpp"
#include "tern/net/proxy.hpp"

namespace {

using namespace tern;
using namespace tern::net;
using tern::test::hex;
using namespace std::literals;

std::string take_writable(layer& l) {
  std::string s(as_chars(l.writable()));
  l.consume_writable(s.size());
  return s;
}

std::string str(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Feeds `reply` one byte at a time; the first error, or none.
std::error_code feed_bytewise(layer& l, std::string_view reply) {
  for (std::size_t i = 0; i < reply.size(); ++i)
    if (auto ec = l.received(as_bytes(reply.substr(i, 1)))) return ec;
  return {};
}

proxy_options socks(std::string user = {}, std::string password = {}, bool remote_dns = true) {
  proxy_options o;
  o.type = proxy_type::socks5;
  o.host = "127.0.0.1";
  o.port = 1080;
  o.username = std::move(user);
  o.password = std::move(password);
  o.remote_dns = remote_dns;
  return o;
}

proxy_options http(std::string user = {}, std::string password = {}) {
  proxy_options o;
  o.type = proxy_type::http;
  o.host = "127.0.0.1";
  o.port = 3128;
  o.username = std::move(user);
  o.password = std::move(password);
  return o;
}

// Runs a SOCKS5 proxy layer up to the CONNECT request; returns the layer.
std::unique_ptr<layer> socks_at_connect(const proxy_options& o, const std::string& host,
                                        std::uint16_t port) {
  auto l = make_proxy_layer(o, host, port);
  REQUIRE_FALSE(l->start());
  take_writable(*l);
  REQUIRE_FALSE(feed_bytewise(*l, "\x05\x00"sv));
  take_writable(*l);
  return l;
}

// Sets environment variables for one scope and restores what was there.
class env_guard {
 public:
  env_guard() {
    for (const char* name : {"ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
                             "http_proxy", "NO_PROXY", "no_proxy"}) {
      const char* v = std::getenv(name);
      saved_[name] = v != nullptr ? std::optional<std::string>(v) : std::nullopt;
      ::unsetenv(name);
    }
  }
  ~env_guard() {
    for (const auto& [name, value] : saved_) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
      else ::unsetenv(name.c_str());
    }
  }
  void set(const char* name, const char* value) { ::setenv(name, value, 1); }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace

TEST_CASE("socks5: no authentication, CONNECT by name, reply byte by byte [RFC 1928]") {
  auto l = make_proxy_layer(socks(), "localhost", 1883);
  CHECK(l->describe() == "SOCKS5 proxy");
  REQUIRE_FALSE(l->start());
  CHECK(take_writable(*l) == str(hex("05 01 00")));  // version 5, one method: no auth
  REQUIRE_FALSE(feed_bytewise(*l, "\x05\x00"sv));
  CHECK(take_writable(*l) == str(hex("05 01 00"  // version, CONNECT, reserved
                                     "03 09 6c 6f 63 61 6c 68 6f 73 74"  // name "localhost"
                                     "07 5b")));                         // port 1883
  CHECK_FALSE(l->established());
  // Reply: succeeded, bound to 10.0.0.1:4242; then the broker's first bytes (CONNACK).
  const std::string reply = str(hex("05 00 00 01 0a 00 00 01 10 92")) + "\x20\x02\x00\x00"s;
  REQUIRE_FALSE(feed_bytewise(*l, std::string_view(reply).substr(0, 9)));
  CHECK_FALSE(l->established());
  REQUIRE_FALSE(l->received(as_bytes(std::string_view(reply).substr(9))));
  CHECK(l->established());
  CHECK(as_chars(l->readable()) == "\x20\x02\x00\x00"sv);

  // Pass-through from now on.
  l->consume_readable(4);
  REQUIRE_FALSE(l->received(as_bytes("\x30\x00"sv)));
  CHECK(as_chars(l->readable()) == "\x30\x00"sv);
  const bytes_view b = as_bytes("\xe0\x00"sv);
  std::error_code ec;
  CHECK(l->send(std::span(&b, 1), ec) == 2);
  CHECK(take_writable(*l) == "\xe0\x00"sv);
  l->shutdown();  // nothing to say
  CHECK(l->writable().empty());
}

TEST_CASE("socks5: the bound address of every type is skipped") {
  const std::string replies[] = {
      str(hex("05 00 00 01  7f 00 00 01  07 5b")),
      str(hex("05 00 00 03  0b")) + "example.com" + str(hex("07 5b")),
      str(hex("05 00 00 04  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01  07 5b")),
  };
  for (const std::string& reply : replies) {
    auto l = socks_at_connect(socks(), "localhost", 1883);
    REQUIRE_FALSE(feed_bytewise(*l, reply + "MQ"));
    CHECK(l->established());
    CHECK(as_chars(l->readable()) == "MQ");
  }
}

TEST_CASE("socks5: address literals, and socks5:// resolving locally") {
  {
    auto l = make_proxy_layer(socks(), "127.0.0.1", 8883);
    REQUIRE_FALSE(l->start());
    take_writable(*l);
    REQUIRE_FALSE(l->received(as_bytes("\x05\x00"sv)));
    CHECK(take_writable(*l) == str(hex("05 01 00 01 7f 00 00 01 22 b3")));
  }
  {
    auto l = make_proxy_layer(socks(), "[::1]", 1883);
    REQUIRE_FALSE(l->start());
    take_writable(*l);
    REQUIRE_FALSE(l->received(as_bytes("\x05\x00"sv)));
    CHECK(take_writable(*l) ==
          str(hex("05 01 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 07 5b")));
  }
  {
    auto l = make_proxy_layer(socks({}, {}, false), "localhost", 1883);
    REQUIRE_FALSE(l->start());
    take_writable(*l);
    REQUIRE_FALSE(l->received(as_bytes("\x05\x00"sv)));
    const std::string req = take_writable(*l);
    const bool v4 = req == str(hex("05 01 00 01 7f 00 00 01 07 5b"));
    const bool v6 =
        req == str(hex("05 01 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 07 5b"));
    CHECK((v4 || v6));
  }
}

TEST_CASE("socks5: username/password [RFC 1929]") {
  auto l = make_proxy_layer(socks("user", "pass"), "localhost", 1883);
  REQUIRE_FALSE(l->start());
  CHECK(take_writable(*l) == str(hex("05 02 00 02")));  // offers no-auth and username/password
  REQUIRE_FALSE(feed_bytewise(*l, "\x05\x02"sv));
  CHECK(take_writable(*l) == "\x01\x04user\x04pass"sv);
  REQUIRE_FALSE(feed_bytewise(*l, "\x01\x00"sv));
  CHECK(take_writable(*l).substr(0, 4) == str(hex("05 01 00 03")));
  REQUIRE_FALSE(feed_bytewise(*l, str(hex("05 00 00 01 00 00 00 00 00 00"))));
  CHECK(l->established());

  // The proxy may still choose "no authentication".
  auto m = make_proxy_layer(socks("user", "pass"), "localhost", 1883);
  REQUIRE_FALSE(m->start());
  take_writable(*m);
  REQUIRE_FALSE(m->received(as_bytes("\x05\x00"sv)));
  CHECK(take_writable(*m).substr(0, 4) == str(hex("05 01 00 03")));
}

TEST_CASE("socks5: every failure") {
  const auto failing = [](const proxy_options& o, std::string_view script) {
    auto l = make_proxy_layer(o, "localhost", 1883);
    REQUIRE_FALSE(l->start());
    const std::error_code ec = feed_bytewise(*l, script);
    CHECK_FALSE(l->established());
    CHECK_FALSE(l->last_error_message().empty());
    return std::pair{ec, l->last_error_message()};
  };
  CHECK(failing(socks(), "\x04\x00"sv).first == net_errc::proxy_handshake_failed);  // SOCKS4?
  CHECK(failing(socks(), "\x05\xff"sv).first == net_errc::proxy_auth_failed);
  CHECK(failing(socks("u", "p"), "\x05\xff"sv).first == net_errc::proxy_auth_failed);
  CHECK(failing(socks(), "\x05\x02"sv).first == net_errc::proxy_handshake_failed);  // not offered
  CHECK(failing(socks(), "\x05\x01"sv).first == net_errc::proxy_handshake_failed);  // GSSAPI
  CHECK(failing(socks("u", "p"), "\x05\x02\x01\x01"sv).first == net_errc::proxy_auth_failed);
  CHECK(failing(socks("u", "p"), "\x05\x02\x07\x00"sv).first == net_errc::proxy_handshake_failed);
  const char* reasons[] = {nullptr,
                           "general SOCKS server failure",
                           "connection not allowed by ruleset",
                           "network unreachable",
                           "host unreachable",
                           "connection refused",
                           "TTL expired",
                           "command not supported",
                           "address type not supported"};
  for (int code = 1; code <= 9; ++code) {
    INFO(code);
    std::string script = "\x05\x00\x05"s + static_cast<char>(code);
    const auto [ec, message] = failing(socks(), script);
    CHECK(ec == net_errc::proxy_refused);
    if (code <= 8) CHECK(message.find(reasons[code]) != std::string::npos);
  }
  CHECK(failing(socks(), "\x05\x00\x04\x00"sv).first == net_errc::proxy_handshake_failed);
  CHECK(failing(socks(), str(hex("05 00 05 00 00 07"))).first == net_errc::proxy_handshake_failed);

  // Credentials longer than RFC 1929 allows.
  auto l = make_proxy_layer(socks(std::string(256, 'u'), "p"), "localhost", 1883);
  CHECK(l->start() == net_errc::invalid_options);
  auto m = make_proxy_layer(socks(), std::string(256, 'h'), 1883);
  CHECK(m->start() == net_errc::invalid_options);

  // Once failed, it stays failed.
  auto f = make_proxy_layer(socks(), "localhost", 1883);
  REQUIRE_FALSE(f->start());
  CHECK(f->received(as_bytes("\x05\xff"sv)) == net_errc::proxy_auth_failed);
  CHECK(f->received(as_bytes("\x05\x00"sv)) == net_errc::proxy_auth_failed);
}

TEST_CASE("http connect: request, 200 byte by byte, bytes after the headers passed up") {
  auto l = make_proxy_layer(http(), "broker.example", 8883);
  CHECK(l->describe() == "HTTP proxy");
  REQUIRE_FALSE(l->start());
  CHECK(take_writable(*l) ==
        "CONNECT broker.example:8883 HTTP/1.1\r\nHost: broker.example:8883\r\n\r\n");
  const std::string reply = "HTTP/1.1 200 Connection established\r\nVia: tinyproxy\r\n\r\n\x16\x03";
  REQUIRE_FALSE(feed_bytewise(*l, std::string_view(reply).substr(0, reply.size() - 2)));
  CHECK(l->established());
  CHECK(l->readable().empty());
  REQUIRE_FALSE(l->received(as_bytes(std::string_view(reply).substr(reply.size() - 2))));
  CHECK(as_chars(l->readable()) == "\x16\x03");
  const bytes_view b = as_bytes("abc");
  std::error_code ec;
  CHECK(l->send(std::span(&b, 1), ec) == 3);
  CHECK(take_writable(*l) == "abc");

  // Trailing bytes in the same read as the headers; HTTP/1.0 proxies too.
  auto m = make_proxy_layer(http(), "::1", 1883);
  REQUIRE_FALSE(m->start());
  CHECK(take_writable(*m) == "CONNECT [::1]:1883 HTTP/1.1\r\nHost: [::1]:1883\r\n\r\n");
  REQUIRE_FALSE(m->received(as_bytes("HTTP/1.0 200 OK\r\n\r\nMQ")));
  CHECK(as_chars(m->readable()) == "MQ");
}

TEST_CASE("http connect: Basic credentials, 407, other refusals, malformed replies") {
  auto l = make_proxy_layer(http("user", "pass"), "localhost", 1883);
  REQUIRE_FALSE(l->start());
  CHECK(take_writable(*l) ==
        "CONNECT localhost:1883 HTTP/1.1\r\nHost: localhost:1883\r\n"
        "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n");
  const std::string denied =
      "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n";
  CHECK(feed_bytewise(*l, denied) == net_errc::proxy_auth_failed);
  CHECK(l->last_error_message().find("407 Proxy Authentication Required") != std::string::npos);

  const auto reply = [](std::string_view r) {
    auto p = make_proxy_layer(http(), "localhost", 1883);
    REQUIRE_FALSE(p->start());
    const std::error_code ec = p->received(as_bytes(r));
    return std::pair{ec, p->last_error_message()};
  };
  CHECK(reply("HTTP/1.1 403 Forbidden\r\n\r\n").first == net_errc::proxy_refused);
  CHECK(reply("HTTP/1.1 403 Forbidden\r\n\r\n").second.find("403 Forbidden") != std::string::npos);
  CHECK(reply("HTTP/1.1 502 Bad Gateway\r\n\r\n").first == net_errc::proxy_refused);
  CHECK(reply("HTTP/1.1 101 Switching\r\n\r\n").first == net_errc::proxy_refused);
  CHECK(reply("SSH-2.0-OpenSSH_9.2\r\n\r\n").first == net_errc::proxy_handshake_failed);
  CHECK(reply("HTTP/1.1 2x0 Huh\r\n\r\n").first == net_errc::proxy_handshake_failed);
  CHECK(reply("HTTP/1.1 200 OK\r\n" + std::string(17'000, 'x')).first ==
        net_errc::proxy_handshake_failed);
  CHECK(reply("HTTP/1.1 200 OK\r\n").first == std::error_code());  // not complete yet

  auto bad = make_proxy_layer(http("us\r\ner", "p"), "localhost", 1883);
  CHECK(bad->start() == net_errc::invalid_options);
}

TEST_CASE("parse_proxy_url") {
  auto p = parse_proxy_url("socks5h://user:p%40ss@127.0.0.1:1081");
  REQUIRE(p);
  CHECK(p->type == proxy_type::socks5);
  CHECK(p->remote_dns);
  CHECK(p->host == "127.0.0.1");
  CHECK(p->port == 1081);
  CHECK(p->username == "user");
  CHECK(p->password == "p@ss");

  p = parse_proxy_url("socks5://localhost");
  REQUIRE(p);
  CHECK_FALSE(p->remote_dns);
  CHECK(p->port == 1080);

  p = parse_proxy_url("http://proxy.local/");
  REQUIRE(p);
  CHECK(p->type == proxy_type::http);
  CHECK(p->port == 3128);
  CHECK(p->username.empty());

  p = parse_proxy_url("HTTP://[::1]:8080");
  REQUIRE(p);
  CHECK(p->host == "::1");
  CHECK(p->port == 8080);

  p = parse_proxy_url("[::1]");  // no scheme: HTTP, like curl
  REQUIRE(p);
  CHECK(p->type == proxy_type::http);
  CHECK(p->port == 3128);

  for (const char* bad : {"https://proxy:443", "socks4://proxy", "socks5://", "http://:80",
                          "http://proxy:99999", "http://proxy/path", "socks5://::1:1080"}) {
    INFO(std::string(bad));
    CHECK_FALSE(parse_proxy_url(bad));
  }
}

TEST_CASE("proxy_from_environment: ALL_PROXY, then HTTPS_PROXY or HTTP_PROXY by scheme") {
  env_guard env;
  CHECK_FALSE(proxy_from_environment("mqtt", "localhost"));

  env.set("HTTP_PROXY", "http://127.0.0.1:3128");
  env.set("https_proxy", "socks5h://127.0.0.1:1080");
  auto p = proxy_from_environment("mqtt", "broker");
  REQUIRE(p);
  CHECK(p->type == proxy_type::http);
  p = proxy_from_environment("ws", "broker");
  REQUIRE(p);
  CHECK(p->type == proxy_type::http);
  p = proxy_from_environment("mqtts", "broker");
  REQUIRE(p);
  CHECK(p->type == proxy_type::socks5);
  p = proxy_from_environment("wss", "broker");
  REQUIRE(p);
  CHECK(p->type == proxy_type::socks5);

  env.set("all_proxy", "socks5://127.0.0.1:9050");
  for (const char* scheme : {"mqtt", "mqtts", "ws", "wss"}) {
    p = proxy_from_environment(scheme, "broker");
    REQUIRE(p);
    CHECK(p->port == 9050);
  }
  env.set("ALL_PROXY", "http://127.0.0.1:1");
  CHECK(proxy_from_environment("mqtt", "broker")->port == 1);  // upper case first

  // Loopback is not special: only NO_PROXY exempts it.
  CHECK(proxy_from_environment("mqtt", "localhost"));
  CHECK(proxy_from_environment("mqtt", "127.0.0.1"));
}

TEST_CASE("proxy_from_environment: NO_PROXY") {
  env_guard env;
  env.set("HTTP_PROXY", "http://127.0.0.1:3128");
  env.set("NO_PROXY", " localhost, .example.com,internal.net ,10.1.2.3,[::1]");
  CHECK_FALSE(proxy_from_environment("mqtt", "localhost"));
  CHECK_FALSE(proxy_from_environment("mqtt", "LocalHost"));
  CHECK_FALSE(proxy_from_environment("mqtt", "example.com"));
  CHECK_FALSE(proxy_from_environment("mqtt", "broker.example.com"));
  CHECK_FALSE(proxy_from_environment("mqtt", "internal.net"));
  CHECK_FALSE(proxy_from_environment("mqtt", "a.b.internal.net"));
  CHECK_FALSE(proxy_from_environment("mqtt", "10.1.2.3"));
  CHECK_FALSE(proxy_from_environment("mqtt", "::1"));
  CHECK_FALSE(proxy_from_environment("mqtt", "[::1]"));
  CHECK(proxy_from_environment("mqtt", "notexample.com"));
  CHECK(proxy_from_environment("mqtt", "myinternal.net"));
  CHECK(proxy_from_environment("mqtt", "10.1.2.30"));
  CHECK(proxy_from_environment("mqtt", "127.0.0.1"));

  env.set("NO_PROXY", "");
  env.set("no_proxy", "*");
  CHECK_FALSE(proxy_from_environment("mqtt", "anything"));
}
