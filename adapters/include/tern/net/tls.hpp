// TLS over OpenSSL as a byte-transforming layer (memory BIOs: no socket inside).
// Server certificate and hostname verification are on unless switched off explicitly.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tern/net/layer.hpp"

namespace tern::net {

enum class tls_version { tls1_2, tls1_3 };

struct tls_options {
  std::string ca_file;    // PEM bundle of trusted CAs; empty with ca_path empty: system store
  std::string ca_path;    // directory of hashed CA certificates (c_rehash)
  std::string cert_file;  // client certificate chain (PEM), for mutual TLS
  std::string key_file;   // its private key (PEM)
  std::string key_password;  // for an encrypted key
  tls_version min_version = tls_version::tls1_2;
  std::string ciphers;         // TLS 1.2 cipher list (OpenSSL syntax); empty: OpenSSL default
  std::string ciphersuites;    // TLS 1.3 suites; empty: OpenSSL default
  std::string server_name;     // SNI and the name verified; empty: the host connected to
  std::vector<std::string> alpn;  // e.g. {"mqtt"} (AWS IoT on 443 uses "x-amzn-mqtt-ca")
  // Skips certificate AND hostname verification. Only for tests against self-signed brokers:
  // anyone on the path can then read and change the traffic.
  bool insecure_skip_verify = false;
  // Verifies the certificate chain but not that it names the host (mosquitto's --insecure).
  // Also for tests only: any certificate the CA ever signed is then accepted for any host.
  bool skip_hostname_check = false;
};

class tls_layer final : public layer {
 public:
  // `host` is what the connection was opened to: used for SNI and verification unless
  // options.server_name is set. Errors in the options (files, key password) are reported by
  // start() as tls_setup_failed with OpenSSL's message in last_error_message().
  tls_layer(tls_options options, std::string host);
  ~tls_layer() override;

  std::error_code start() override;
  bool established() const noexcept override;
  std::error_code received(bytes_view data) override;
  bytes_view readable() const noexcept override;
  void consume_readable(std::size_t n) noexcept override;
  std::size_t send(std::span<const bytes_view> data, std::error_code& ec) override;
  bytes_view writable() const noexcept override;
  void consume_writable(std::size_t n) noexcept override;
  void shutdown() noexcept override;
  std::string describe() const override;

  // OpenSSL's reason for the last failure (verification result, alert), for error messages.
  const std::string& last_error_message() const noexcept override;
  // The protocol ALPN selected, when any.
  std::string negotiated_alpn() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tern::net
