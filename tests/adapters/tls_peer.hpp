// The server end of a TLS connection for tests: an OpenSSL server SSL object on memory BIOs,
// written directly against OpenSSL (not with tern's tls_layer), so the client layer is tested
// against an independent implementation. Bytes move by hand: feed() what the client wrote,
// take_output() what the server wrote.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/pki.hpp"
#include "tern/bytes.hpp"

namespace tern::test {

struct tls_peer_options {
  std::string cert = pki::get().server_cert();
  std::string key = pki::get().server_key();
  bool require_client_cert = false;
  int max_version = 0;            // e.g. TLS1_2_VERSION; 0: OpenSSL's highest
  std::vector<std::string> alpn;  // protocols the server accepts, in its preference order
};

class tls_peer {
 public:
  explicit tls_peer(const tls_peer_options& o = {}) : alpn_(o.alpn) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(ctx_, o.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, o.key.c_str(), SSL_FILETYPE_PEM) != 1)
      throw std::runtime_error("tls_peer: cannot load the server certificate");
    if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx_, o.max_version);
    if (o.require_client_cert) {
      SSL_CTX_load_verify_locations(ctx_, pki::get().ca().c_str(), nullptr);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    if (!alpn_.empty()) SSL_CTX_set_alpn_select_cb(ctx_, &tls_peer::select_alpn, this);
    ssl_ = SSL_new(ctx_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);
    BIO_set_mem_eof_return(out_, -1);
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_accept_state(ssl_);
  }
  ~tls_peer() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  tls_peer(const tls_peer&) = delete;
  tls_peer& operator=(const tls_peer&) = delete;

  // Bytes from the client; runs the handshake and decrypts what it can into received().
  void feed(bytes_view data) {
    if (!data.empty()) BIO_write(in_, data.data(), static_cast<int>(data.size()));
    advance();
  }

  void advance() {
    if (failed_) return;
    if (!done_) {
      ERR_clear_error();
      const int r = SSL_do_handshake(ssl_);
      if (r != 1) {
        const int e = SSL_get_error(ssl_, r);
        if (e != SSL_ERROR_WANT_READ) {
          failed_ = true;
          ERR_clear_error();
        }
        return;
      }
      done_ = true;
    }
    for (;;) {
      char buf[16384];
      std::size_t n = 0;
      ERR_clear_error();
      if (SSL_read_ex(ssl_, buf, sizeof buf, &n) == 1) {
        plaintext_.append(buf, n);
        continue;
      }
      const int e = SSL_get_error(ssl_, 0);
      if (e == SSL_ERROR_ZERO_RETURN) close_notify_ = true;
      else if (e != SSL_ERROR_WANT_READ) failed_ = true;
      ERR_clear_error();
      return;
    }
  }

  // Bytes the server wrote, for the client.
  std::string take_output() {
    std::string s;
    char buf[16384];
    int n = 0;
    while ((n = BIO_read(out_, buf, sizeof buf)) > 0) s.append(buf, static_cast<std::size_t>(n));
    return s;
  }

  void write(std::string_view plaintext) {
    std::size_t n = 0;
    if (!plaintext.empty() && SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &n) != 1)
      throw std::runtime_error("tls_peer: SSL_write failed");
  }
  void shutdown() { SSL_shutdown(ssl_); }

  bool handshake_done() const { return done_; }
  bool failed() const { return failed_; }
  bool got_close_notify() const { return close_notify_; }
  std::string& received() { return plaintext_; }
  std::string version() const { return SSL_get_version(ssl_); }
  SSL* ssl() const { return ssl_; }

 private:
  static int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen,
                         const unsigned char* in, unsigned inlen, void* arg) {
    auto* self = static_cast<tls_peer*>(arg);
    for (const std::string& mine : self->alpn_) {
      for (unsigned i = 0; i < inlen; i += 1u + in[i]) {
        if (in[i] == mine.size() &&
            std::string_view(reinterpret_cast<const char*>(in + i + 1), in[i]) == mine) {
          *out = in + i + 1;
          *outlen = in[i];
          return SSL_TLSEXT_ERR_OK;
        }
      }
    }
    return SSL_TLSEXT_ERR_NOACK;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
  std::vector<std::string> alpn_;
  bool done_ = false;
  bool failed_ = false;
  bool close_notify_ = false;
  std::string plaintext_;
};

}  // namespace tern::test
