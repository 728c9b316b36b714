// Broker URLs (mqtt, mqtts, ws, wss and their aliases) and Server References [MQTT 4.11].
#include <doctest/doctest.h>

#include "tern/net/url.hpp"

using namespace tern::net;

TEST_CASE("parse_broker_url: schemes and default ports") {
  struct row {
    const char* url;
    const char* scheme;
    const char* host;
    std::uint16_t port;
    const char* path;
  };
  const row rows[] = {
      {"mqtt://broker", "mqtt", "broker", 1883, ""},
      {"tcp://broker", "mqtt", "broker", 1883, ""},
      {"mqtts://broker", "mqtts", "broker", 8883, ""},
      {"ssl://broker", "mqtts", "broker", 8883, ""},
      {"tls://broker", "mqtts", "broker", 8883, ""},
      {"ws://broker", "ws", "broker", 80, "/mqtt"},
      {"wss://broker", "wss", "broker", 443, "/mqtt"},
      {"MQTT://Broker:1884", "mqtt", "Broker", 1884, ""},
      {"mqtt://broker/", "mqtt", "broker", 1883, ""},
      {"ws://127.0.0.1:8080/", "ws", "127.0.0.1", 8080, "/"},
      {"wss://broker:8443/ws/mqtt?token=abc", "wss", "broker", 8443, "/ws/mqtt?token=abc"},
  };
  for (const row& r : rows) {
    INFO(std::string(r.url));
    const auto u = parse_broker_url(r.url);
    REQUIRE(u);
    CHECK(u->scheme == r.scheme);
    CHECK(u->host == r.host);
    CHECK(u->port == r.port);
    CHECK(u->path == r.path);
    CHECK_FALSE(u->username);
    CHECK_FALSE(u->password);
  }
  CHECK(parse_broker_url("mqtts://b")->tls());
  CHECK_FALSE(parse_broker_url("mqtts://b")->websocket());
  CHECK(parse_broker_url("wss://b")->tls());
  CHECK(parse_broker_url("wss://b")->websocket());
  CHECK_FALSE(parse_broker_url("ws://b")->tls());
  CHECK_FALSE(parse_broker_url("mqtt://b")->tls());
}

TEST_CASE("parse_broker_url: IPv6 literals in brackets") {
  auto u = parse_broker_url("mqtt://[::1]:1884");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == 1884);
  u = parse_broker_url("wss://[fe80::1%25lo]/mqtt");
  REQUIRE(u);
  CHECK(u->host == "fe80::1%lo");  // RFC 6874 zone id, decoded for getaddrinfo
  CHECK(u->port == 443);
  u = parse_broker_url("mqtts://[2001:db8::5]");
  REQUIRE(u);
  CHECK(u->host == "2001:db8::5");
  CHECK(u->port == 8883);
}

TEST_CASE("parse_broker_url: credentials, percent-decoded") {
  auto u = parse_broker_url("mqtt://alice:s%3Acret%40x@broker:1883");
  REQUIRE(u);
  CHECK(u->username == "alice");
  CHECK(u->password == "s:cret@x");
  CHECK(u->host == "broker");
  u = parse_broker_url("mqtt://bob@broker");
  REQUIRE(u);
  CHECK(u->username == "bob");
  CHECK_FALSE(u->password);
  u = parse_broker_url("mqtt://carol:@broker");
  REQUIRE(u);
  CHECK(u->password == "");
  u = parse_broker_url("mqtt://d:p@ss@broker");  // the last '@' ends the credentials
  REQUIRE(u);
  CHECK(u->password == "p@ss");
  CHECK(u->host == "broker");
}

TEST_CASE("parse_broker_url: bad inputs") {
  for (const char* bad : {"",
                          "broker",
                          "broker:1883",
                          "http://broker",
                          "mqtt:/broker",
                          "mqtt://",
                          "mqtt://:1883",
                          "mqtt://user@",
                          "mqtt://broker:",
                          "mqtt://broker:0",
                          "mqtt://broker:65536",
                          "mqtt://broker:123456",
                          "mqtt://broker:-1",
                          "mqtt://broker:+1",
                          "mqtt://broker:18x3",
                          "mqtt://::1",
                          "mqtt://::1:1883",
                          "mqtt://[::1",
                          "mqtt://[::1]x",
                          "mqtt://[::1]:",
                          "mqtt://[]:1883",
                          "mqtt://broker/topic",
                          "mqtts://broker/path"}) {
    INFO(std::string(bad));
    CHECK_FALSE(parse_broker_url(bad));
  }
  CHECK(parse_broker_url("mqtt://broker:65535")->port == 65535);
  CHECK(parse_broker_url("mqtt://broker:1")->port == 1);
}

TEST_CASE("parse_server_reference [MQTT 4.11]") {
  auto r = parse_server_reference("other.example");
  REQUIRE(r);
  CHECK(r->first == "other.example");
  CHECK(r->second == 0);  // keep the current port
  r = parse_server_reference("other.example:1884");
  REQUIRE(r);
  CHECK(r->second == 1884);
  r = parse_server_reference("[::1]:1885");
  REQUIRE(r);
  CHECK(r->first == "::1");
  CHECK(r->second == 1885);
  r = parse_server_reference("[::1]");
  REQUIRE(r);
  CHECK(r->first == "::1");
  CHECK(r->second == 0);
  r = parse_server_reference("  first:1 second:2");  // several: the first is used
  REQUIRE(r);
  CHECK(r->first == "first");
  CHECK(r->second == 1);
  for (const char* bad : {"", "   ", "host:", "host:0", "host:70000", "::1", "[::1", ":1883"}) {
    INFO(std::string(bad));
    CHECK_FALSE(parse_server_reference(bad));
  }
}
