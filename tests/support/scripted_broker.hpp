// Test support: a one-connection MQTT 5.0 server played by the test, for what mosquitto cannot
// do without plugins (enhanced authentication): blocking calls, meant for a thread of the test,
// speaking through Tern's own codec. Uses doctest's REQUIRE.
#pragma once

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tern/decoder.hpp"
#include "tern/encoder.hpp"

namespace tern::test {

// A one-connection MQTT 5.0 server on 127.0.0.1 run by a test thread: read() returns the next
// packet the client sent (owning its bytes), send() writes one.
class scripted_broker {
 public:
  scripted_broker() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof a;
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd_, 1) == 0);
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &size) == 0);
    port_ = ntohs(a.sin_port);
  }
  ~scripted_broker() {
    if (fd_ >= 0) ::close(fd_);
    ::close(listen_fd_);
  }
  std::uint16_t port() const { return port_; }

  bool accept() {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) return false;
    fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    return fd_ >= 0;
  }

  // The next packet from the client, as its bytes (decode them with packet_of()).
  std::optional<std::vector<std::byte>> read() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      const tern::decoder_options from_client{protocol_version::v5, tern::sender::client};
      if (const auto frame = tern::decode_frame(buffer_, from_client); frame && *frame) {
        const std::size_t total = (*frame)->size();
        if (buffer_.size() >= total) {
          std::vector<std::byte> one(buffer_.begin(), buffer_.begin() + static_cast<long>(total));
          buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<long>(total));
          return one;
        }
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) != 1) continue;
      std::array<std::byte, 4096> chunk{};
      const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
      if (n <= 0) return std::nullopt;
      buffer_.insert(buffer_.end(), chunk.begin(), chunk.begin() + n);
    }
  }

  template <class P>
  void send(const P& packet) {
    const auto size = tern::measure(packet, protocol_version::v5);
    REQUIRE(size.has_value());
    std::vector<std::byte> out(size->total);
    tern::write(packet, protocol_version::v5, *size, out.data());
    REQUIRE(::send(fd_, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size()));
  }

 private:
  int listen_fd_ = -1;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<std::byte> buffer_;
};

inline tern::packet packet_of(const std::vector<std::byte>& bytes) {
  std::size_t consumed = 0;
  const auto p = tern::decode_packet(bytes, {protocol_version::v5, tern::sender::client}, consumed);
  REQUIRE(p.has_value());
  REQUIRE(p->has_value());
  CHECK(consumed == bytes.size());
  return **p;
}

inline std::string auth_data(const tern::properties& props) {
  for (const auto& p : props)
    if (p.id == tern::property_id::authentication_data) return std::string(p.text);
  return "<none>";
}

inline std::string auth_method(const tern::properties& props) {
  for (const auto& p : props)
    if (p.id == tern::property_id::authentication_method) return std::string(p.text);
  return "<none>";
}

}  // namespace tern::test
