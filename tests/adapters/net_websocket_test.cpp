// websocket_layer against a server written by hand from RFC 6455 (ws_peer.hpp): the upgrade
// request and the checks on the response, binary frames both ways (masked from the client),
// fragmentation, ping/pong, close, and every way a server can get it wrong.
#include <doctest/doctest.h>

#include <string>

#include "adapters/ws_peer.hpp"
#include "tern/net/error.hpp"
#include "tern/net/websocket.hpp"

namespace {

using namespace tern;
using namespace tern::net;
using namespace tern::test;
using namespace std::literals;

std::string take_writable(layer& l) {
  std::string s(as_chars(l.writable()));
  l.consume_writable(s.size());
  return s;
}

std::string take_readable(layer& l) {
  std::string s(as_chars(l.readable()));
  l.consume_readable(s.size());
  return s;
}

websocket_options with_headers() {
  websocket_options o;
  o.headers = {{"Authorization", "Bearer token"}, {"X-Client", "tern"}};
  return o;
}

// A client whose upgrade the server accepted; `request` is what the client sent.
struct upgraded {
  websocket_layer client;
  ws_request request;
  std::string to_server;  // client frames not decoded yet

  explicit upgraded(websocket_options o = {}, std::uint64_t seed = 7)
      : client(std::move(o), "localhost", 8080, seed) {
    REQUIRE_FALSE(client.start());
    std::string sent = take_writable(client);
    auto r = ws_take_request(sent);
    REQUIRE(r);
    request = *r;
    REQUIRE_FALSE(client.received(as_bytes(ws_response(request))));
    REQUIRE(client.established());
  }

  ws_client_frame next_frame() {
    to_server += take_writable(client);
    auto f = ws_take_frame(to_server);
    REQUIRE(f);
    return *f;
  }
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 + (i >> 10));
  return s;
}

}  // namespace

TEST_CASE("websocket: the accept key of RFC 6455 1.3") {
  CHECK(ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("websocket: upgrade request [RFC 6455 4.1]") {
  websocket_layer client(with_headers(), "localhost", 8080, 42);
  CHECK_FALSE(client.established());
  REQUIRE_FALSE(client.start());
  std::string sent = take_writable(client);
  auto r = ws_take_request(sent);
  REQUIRE(r);
  CHECK(sent.empty());
  CHECK(r->request_line == "GET /mqtt HTTP/1.1");
  CHECK(r->header("Host") == "localhost:8080");
  CHECK(r->header("Upgrade") == "websocket");
  CHECK(r->header("Connection") == "Upgrade");
  CHECK(r->header("Sec-WebSocket-Version") == "13");
  CHECK(r->header("Sec-WebSocket-Protocol") == "mqtt");
  CHECK(r->header("Authorization") == "Bearer token");
  CHECK(r->header("X-Client") == "tern");
  const std::string key = r->header("Sec-WebSocket-Key");
  CHECK(key.size() == 24);  // base64 of 16 bytes
  CHECK(key.substr(22) == "==");

  // The key comes from the seed: the same seed, the same key; another seed, another key.
  websocket_layer same(with_headers(), "localhost", 8080, 42);
  websocket_layer other(with_headers(), "localhost", 8080, 43);
  REQUIRE_FALSE(same.start());
  REQUIRE_FALSE(other.start());
  std::string s1 = take_writable(same);
  std::string s2 = take_writable(other);
  CHECK(ws_take_request(s1)->header("Sec-WebSocket-Key") == key);
  CHECK(ws_take_request(s2)->header("Sec-WebSocket-Key") != key);

  // Default ports stay out of Host; IPv6 literals are bracketed.
  websocket_options path;
  path.path = "/ws?token=1";
  websocket_layer v6(path, "::1", 443, 1);
  REQUIRE_FALSE(v6.start());
  std::string s3 = take_writable(v6);
  auto r3 = ws_take_request(s3);
  CHECK(r3->request_line == "GET /ws?token=1 HTTP/1.1");
  CHECK(r3->header("Host") == "[::1]");
}

TEST_CASE("websocket: bad options -> invalid_options") {
  websocket_options o;
  o.headers = {{"X-Evil", "a\r\nInjected: yes"}};
  websocket_layer a(o, "localhost", 80, 1);
  CHECK(a.start() == net_errc::invalid_options);
  websocket_options p;
  p.path = "mqtt";  // must start with '/'
  websocket_layer b(p, "localhost", 80, 1);
  CHECK(b.start() == net_errc::invalid_options);
}

TEST_CASE("websocket: response byte by byte, frames in the same read as the headers") {
  websocket_layer client({}, "localhost", 8080, 9);
  REQUIRE_FALSE(client.start());
  std::string sent = take_writable(client);
  const auto request = ws_take_request(sent);
  REQUIRE(request);
  const std::string reply =
      ws_response(*request) + ws_frame(2, "\x20\x02\x00\x00"sv) + ws_frame(2, "\xd0");
  for (std::size_t i = 0; i + 1 < reply.size(); ++i) {
    REQUIRE_FALSE(client.received(as_bytes(std::string_view(reply).substr(i, 1))));
  }
  REQUIRE_FALSE(client.received(as_bytes(std::string_view(reply).substr(reply.size() - 1))));
  CHECK(client.established());
  CHECK(take_readable(client) == std::string("\x20\x02\x00\x00\xd0", 5));
}

TEST_CASE("websocket: refused upgrades -> websocket_handshake_failed with the status line") {
  struct bad {
    const char* name;
    std::string (*response)(const ws_request&);
    const char* message;
  };
  const bad cases[] = {
      {"wrong accept",
       [](const ws_request&) {
         return std::string(
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\n"
             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
       },
       "Sec-WebSocket-Accept"},
      {"not found", [](const ws_request&) { return std::string("HTTP/1.1 404 Not Found\r\n\r\n"); },
       "HTTP/1.1 404 Not Found"},
      {"plain 200", [](const ws_request&) { return std::string("HTTP/1.0 200 OK\r\n\r\n"); },
       "HTTP/1.0 200 OK"},
      {"wrong subprotocol", [](const ws_request& r) { return ws_response(r, "mqttv3.1"); },
       "subprotocol"},
      {"no subprotocol", [](const ws_request& r) { return ws_response(r, ""); }, "subprotocol"},
      {"no upgrade header",
       [](const ws_request& r) {
         std::string s = ws_response(r);
         s.replace(s.find("Upgrade: websocket"), 18, "X-Nothing: here");
         return s;
       },
       "Upgrade"},
      {"unrequested extension",
       [](const ws_request& r) {
         std::string s = ws_response(r);
         return s.insert(s.size() - 2, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
       },
       "extension"},
      {"not HTTP", [](const ws_request&) { return std::string("SSH-2.0-OpenSSH\r\n\r\n"); },
       "not an HTTP response"},
  };
  for (const bad& c : cases) {
    INFO(std::string(c.name));
    websocket_layer client({}, "localhost", 8080, 3);
    REQUIRE_FALSE(client.start());
    std::string sent = take_writable(client);
    const auto request = ws_take_request(sent);
    CHECK(client.received(as_bytes(c.response(*request))) == net_errc::websocket_handshake_failed);
    CHECK_FALSE(client.established());
    CHECK(client.last_error_message().find(c.message) != std::string::npos);
  }

  // Headers that never end.
  websocket_layer client({}, "localhost", 8080, 3);
  REQUIRE_FALSE(client.start());
  REQUIRE_FALSE(client.received(as_bytes("HTTP/1.1 101 Switching Protocols\r\n")));
  const std::string filler = "X-Filler: " + std::string(1000, 'a') + "\r\n";
  std::error_code ec;
  for (int i = 0; i < 20 && !ec; ++i) ec = client.received(as_bytes(filler));
  CHECK(ec == net_errc::websocket_handshake_failed);
  CHECK(client.last_error_message().find("exceed") != std::string::npos);
}

TEST_CASE("websocket: MQTT bytes go out in masked binary frames [RFC 6455 5.3]") {
  upgraded u;
  std::error_code ec;
  const bytes_view slices[] = {as_bytes("\x30\x05"sv), as_bytes("\x00\x01t"sv), as_bytes("hi"sv)};
  CHECK(u.client.send(slices, ec) == 7);
  CHECK_FALSE(ec);
  const ws_client_frame f = u.next_frame();
  CHECK(f.fin);
  CHECK(f.opcode == 2);
  CHECK(f.masked);
  CHECK(f.payload == std::string("\x30\x05\x00\x01thi", 7));
  CHECK(u.client.describe() == "WebSocket");
}

TEST_CASE("websocket: 1 MiB in many frames both ways") {
  upgraded u;
  const std::string big = pattern(1 << 20);
  // Up: many send() calls of odd sizes, reassembled by the server.
  std::size_t offset = 0;
  std::string got;
  int frames = 0;
  while (offset < big.size()) {
    const bytes_view part =
        as_bytes(big).subspan(offset, std::min<std::size_t>(big.size() - offset, 10'007));
    std::error_code ec;
    offset += u.client.send(std::span(&part, 1), ec);
    REQUIRE_FALSE(ec);
    u.to_server += take_writable(u.client);
    while (auto f = ws_take_frame(u.to_server)) {
      CHECK(f->masked);
      got += f->payload;
      ++frames;
    }
  }
  CHECK(frames > 100);
  CHECK(got == big);

  // Down: frames of 1000 bytes, delivered in chunks that cut frames anywhere.
  std::string wire;
  for (std::size_t i = 0; i < big.size(); i += 1000)
    wire += ws_frame(2, std::string_view(big).substr(i, 1000));
  std::string down;
  for (std::size_t i = 0; i < wire.size(); i += 4093) {
    REQUIRE_FALSE(u.client.received(as_bytes(std::string_view(wire).substr(i, 4093))));
    down += take_readable(u.client);
  }
  CHECK(down == big);

  // One big frame, up and down.
  const bytes_view all = as_bytes(big);
  std::error_code ec;
  CHECK(u.client.send(std::span(&all, 1), ec) == big.size());
  const ws_client_frame f = u.next_frame();
  CHECK(f.payload == big);
  REQUIRE_FALSE(u.client.received(as_bytes(ws_frame(2, big))));
  CHECK(take_readable(u.client) == big);
}

TEST_CASE("websocket: send() stops taking when the output is full") {
  upgraded u;
  const std::string chunk(300'000, 'm');
  const bytes_view v = as_bytes(chunk);
  std::error_code ec;
  std::size_t taken = 0;
  for (int i = 0; i < 10; ++i) taken += u.client.send(std::span(&v, 1), ec);
  CHECK_FALSE(ec);
  CHECK(taken <= (1u << 20));
  CHECK(u.client.send(std::span(&v, 1), ec) == 0);
  take_writable(u.client);
  CHECK(u.client.send(std::span(&v, 1), ec) == chunk.size());
}

TEST_CASE("websocket: server ping -> pong with the same payload [RFC 6455 5.5.2]") {
  upgraded u;
  REQUIRE_FALSE(u.client.received(as_bytes(ws_frame(9, "are you there"))));
  const ws_client_frame pong = u.next_frame();
  CHECK(pong.opcode == 10);
  CHECK(pong.masked);
  CHECK(pong.payload == "are you there");
  CHECK(take_readable(u.client).empty());
}

TEST_CASE("websocket: fragmented message with a ping between fragments [RFC 6455 5.4]") {
  upgraded u;
  const std::string wire = ws_frame(2, "ab", false) + ws_frame(9, "p") + ws_frame(0, "cd", false) +
                           ws_frame(0, "ef", true) + ws_frame(2, "gh");
  REQUIRE_FALSE(u.client.received(as_bytes(wire)));
  CHECK(take_readable(u.client) == "abcdefgh");
  CHECK(u.next_frame().opcode == 10);
}

TEST_CASE("websocket: text frames are refused [MQTT-6.0.0-1]") {
  for (const std::string& wire :
       {ws_frame(1, "hello"), ws_frame(1, "he", false) + ws_frame(0, "llo")}) {
    upgraded u;
    CHECK(u.client.received(as_bytes(wire)) == net_errc::websocket_protocol_error);
    CHECK(u.client.last_error_message().find("text") != std::string::npos);
    const ws_client_frame close = u.next_frame();  // tells the server why: 1003
    CHECK(close.opcode == 8);
    CHECK(close.payload.substr(0, 2) == "\x03\xeb");
    CHECK(take_readable(u.client).empty());
  }
}

TEST_CASE("websocket: malformed server frames -> websocket_protocol_error") {
  {
    upgraded u;  // servers must not mask [RFC 6455 5.1]
    CHECK(u.client.received(as_bytes(ws_frame(2, "x", true, true))) ==
          net_errc::websocket_protocol_error);
  }
  {
    upgraded u;  // a continuation with nothing to continue
    CHECK(u.client.received(as_bytes(ws_frame(0, "x"))) == net_errc::websocket_protocol_error);
  }
  {
    upgraded u;  // reserved opcode
    CHECK(u.client.received(as_bytes(ws_frame(3, "x"))) == net_errc::websocket_protocol_error);
  }
  {
    websocket_options o;
    o.max_frame_payload = 1024;
    upgraded u(o);
    REQUIRE_FALSE(u.client.received(as_bytes(ws_frame(2, std::string(1024, 'a')))));
    CHECK(u.client.received(as_bytes(ws_frame(2, std::string(1025, 'a')))) ==
          net_errc::websocket_protocol_error);
    CHECK(u.client.last_error_message().find("1025") != std::string::npos);
    const ws_client_frame close = u.next_frame();
    CHECK(close.opcode == 8);
    CHECK(close.payload.substr(0, 2) == "\x03\xf1");  // 1009 message too big
  }
}

TEST_CASE("websocket: close handshake [RFC 6455 5.5.1]") {
  {
    // The server closes: the client answers and reports websocket_closed.
    upgraded u;
    const std::string close = ws_frame(8, std::string("\x03\xe8", 2) + "bye");
    CHECK(u.client.received(as_bytes(close)) == net_errc::websocket_closed);
    CHECK(u.client.last_error_message().find("1000") != std::string::npos);
    CHECK(u.client.last_error_message().find("bye") != std::string::npos);
    const ws_client_frame reply = u.next_frame();
    CHECK(reply.opcode == 8);
    CHECK(reply.masked);
  }
  {
    // Payload before the close frame stays readable; the close is reported afterwards.
    upgraded u;
    const std::string wire = ws_frame(2, "\xe0\x00"sv) + ws_frame(8, "\x03\xe8");
    CHECK_FALSE(u.client.received(as_bytes(wire)));
    CHECK(take_readable(u.client) == std::string("\xe0\x00", 2));
    CHECK(u.next_frame().opcode == 8);
    std::error_code ec;
    const bytes_view b = as_bytes("x");
    CHECK(u.client.send(std::span(&b, 1), ec) == 0);
    CHECK(ec == net_errc::websocket_closed);
    CHECK(u.client.received(as_bytes("")) == net_errc::websocket_closed);
  }
  {
    // The client closes with 1000; the server's answer ends it.
    upgraded u;
    u.client.shutdown();
    const ws_client_frame close = u.next_frame();
    CHECK(close.opcode == 8);
    CHECK(close.masked);
    CHECK(close.payload == "\x03\xe8");
    u.client.shutdown();  // again: nothing more
    CHECK(u.client.writable().empty());
    CHECK(u.client.received(as_bytes(ws_frame(8, "\x03\xe8"))) == net_errc::websocket_closed);
  }
}
