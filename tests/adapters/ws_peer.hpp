// The server end of a WebSocket for tests, written by hand from RFC 6455 (not with wslay, which
// the client layer uses) so frames are checked bit by bit: the upgrade request is parsed and
// answered, client frames are decoded (and must be masked), server frames are built unmasked.
#pragma once

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern::test {

inline std::string ws_accept_for(std::string_view key) {
  const std::string text = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  unsigned char out[64] = {};
  const int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

// A frame as the server sends it: unmasked.
inline std::string ws_frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                            bool masked = false) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | opcode);
  const char mask_bit = masked ? '\x80' : '\0';
  if (payload.size() < 126) {
    f += static_cast<char>(mask_bit | static_cast<char>(payload.size()));
  } else if (payload.size() <= 0xffff) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xff);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((payload.size() >> (8 * i)) & 0xff);
  }
  if (masked) f += std::string("\0\0\0\0", 4);  // a zero mask: payload unchanged
  f += payload;
  return f;
}

struct ws_client_frame {
  bool fin = false;
  std::uint8_t opcode = 0;
  bool masked = false;
  std::string payload;  // unmasked
};

// Takes one complete frame off the front of `buf`, if there is one.
inline std::optional<ws_client_frame> ws_take_frame(std::string& buf) {
  if (buf.size() < 2) return std::nullopt;
  const auto b = [&](std::size_t i) { return static_cast<std::uint8_t>(buf[i]); };
  ws_client_frame f;
  f.fin = (b(0) & 0x80) != 0;
  f.opcode = b(0) & 0x0f;
  f.masked = (b(1) & 0x80) != 0;
  std::uint64_t len = b(1) & 0x7f;
  std::size_t pos = 2;
  if (len == 126) {
    if (buf.size() < 4) return std::nullopt;
    len = (std::uint64_t{b(2)} << 8) | b(3);
    pos = 4;
  } else if (len == 127) {
    if (buf.size() < 10) return std::nullopt;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | b(2 + static_cast<std::size_t>(i));
    pos = 10;
  }
  std::uint8_t mask[4] = {};
  if (f.masked) {
    if (buf.size() < pos + 4) return std::nullopt;
    for (int i = 0; i < 4; ++i) mask[i] = b(pos + static_cast<std::size_t>(i));
    pos += 4;
  }
  if (buf.size() < pos + len) return std::nullopt;
  f.payload = buf.substr(pos, static_cast<std::size_t>(len));
  if (f.masked)
    for (std::size_t i = 0; i < f.payload.size(); ++i)
      f.payload[i] = static_cast<char>(f.payload[i] ^ mask[i % 4]);
  buf.erase(0, pos + static_cast<std::size_t>(len));
  return f;
}

// The upgrade request as the server sees it.
struct ws_request {
  std::string request_line;
  std::string raw;
  std::string header(std::string_view name) const {
    std::size_t pos = raw.find("\r\n");
    while (pos != std::string::npos && pos + 2 < raw.size()) {
      const std::size_t end = raw.find("\r\n", pos + 2);
      const std::string line = raw.substr(pos + 2, end - pos - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos && colon == name.size()) {
        bool same = true;
        for (std::size_t i = 0; i < colon; ++i)
          same &= std::tolower(static_cast<unsigned char>(line[i])) ==
                  std::tolower(static_cast<unsigned char>(name[i]));
        if (same) {
          std::string v = line.substr(colon + 1);
          while (!v.empty() && v.front() == ' ') v.erase(0, 1);
          return v;
        }
      }
      pos = end;
    }
    return {};
  }
};

// Takes the request off the front of `buf` once its headers are complete.
inline std::optional<ws_request> ws_take_request(std::string& buf) {
  const auto end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  ws_request r;
  r.raw = buf.substr(0, end + 2);
  r.request_line = buf.substr(0, buf.find("\r\n"));
  buf.erase(0, end + 4);
  return r;
}

inline std::string ws_response(const ws_request& r, std::string_view protocol = "mqtt") {
  std::string s =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      ws_accept_for(r.header("Sec-WebSocket-Key")) + "\r\n";
  if (!protocol.empty()) s += "Sec-WebSocket-Protocol: " + std::string(protocol) + "\r\n";
  return s + "\r\n";
}

}  // namespace tern::test
