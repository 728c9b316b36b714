// TLS client over OpenSSL 3 with memory BIOs.
//
// Theory of operation: the SSL object reads records from `in_bio` and writes records to
// `out_bio`, both memory BIOs, so no socket is involved. received() appends the bytes that came
// from below to `in_bio` and then lets OpenSSL run: SSL_do_handshake while the handshake is in
// progress, SSL_read until it wants more input once established. Whatever OpenSSL wrote
// (handshake flights, alerts, records, session ticket replies) is moved from `out_bio` into the
// `out` queue that writable() shows. Plaintext goes into the `in` queue that readable() shows.
// send() turns plaintext into records, coalescing small slices into full records, and stops
// taking bytes while `out` holds more than output_bound.
//
// Errors: verification failures are told apart with SSL_get_verify_result (hostname / IP
// mismatch versus every other certificate problem); everything OpenSSL reports is kept, in its
// words, in last_error_message(). Once failed, the layer stays failed.
#include "tern/net/tls.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>

#include "byte_queue.hpp"
#include "tern/net/error.hpp"

namespace tern::net {

namespace {

// send() takes nothing more once this many record bytes wait to be written below.
constexpr std::size_t output_bound = std::size_t{1} << 20;
// The largest TLS record payload: small slices are gathered up to this before SSL_write.
constexpr std::size_t max_record = 16 * 1024;
constexpr std::size_t read_chunk = 16 * 1024;

// Drains the thread's OpenSSL error queue into one line.
std::string openssl_errors() {
  std::string s;
  while (const unsigned long e = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!s.empty()) s += "; ";
    s += buf.data();
  }
  return s;
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

// The connection passes "[::1]" as it was written in a URL; certificates name "::1".
std::string strip_brackets(std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return host;
}

// Always installed: without it OpenSSL would prompt for a key password on the terminal.
int password_callback(char* buf, int size, int /*rwflag*/, void* user) {
  const auto* password = static_cast<const std::string*>(user);
  if (password == nullptr || size <= 0) return 0;
  const std::size_t n = std::min(password->size(), static_cast<std::size_t>(size));
  std::memcpy(buf, password->data(), n);
  return static_cast<int>(n);
}

std::string pretty_version(const char* v) {  // "TLSv1.3" -> "TLS 1.3"
  std::string s = v != nullptr ? v : "";
  if (s.rfind("TLSv", 0) == 0) return "TLS " + s.substr(4);
  return s.empty() ? "TLS" : s;
}

}  // namespace

struct tls_layer::impl {
  tls_options options;
  std::string host;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  BIO* in_bio = nullptr;                      // records from the network, owned by `ssl`
  BIO* out_bio = nullptr;                     // records for the network, owned by `ssl`
  detail::byte_queue in;                      // plaintext for the layer above
  detail::byte_queue out;                     // records for the layer below
  std::array<std::byte, max_record> stage{};  // small slices gathered into one record
  bool established = false;
  bool peer_closed = false;  // close_notify received
  bool shutdown_sent = false;
  std::error_code error;
  std::string message;

  impl(tls_options o, std::string h) : options(std::move(o)), host(strip_brackets(std::move(h))) {}
  ~impl() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  const std::string& verified_name() const {
    return options.server_name.empty() ? host : options.server_name;
  }

  std::error_code fail(net_errc e, std::string why) {
    error = e;
    message = std::move(why);
    ERR_clear_error();
    return error;
  }

  std::error_code setup_failed(const std::string& what) {
    const std::string reason = openssl_errors();
    return fail(net_errc::tls_setup_failed, reason.empty() ? what : what + ": " + reason);
  }

  std::error_code setup() {
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr) return setup_failed("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(
        ctx, options.min_version == tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
    // Renegotiation would let SSL_write need input; MQTT has no use for it.
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_default_passwd_cb(ctx, password_callback);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, &options.key_password);
    if (!options.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, options.ciphers.c_str()) != 1)
      return setup_failed("cipher list \"" + options.ciphers + "\"");
    if (!options.ciphersuites.empty() &&
        SSL_CTX_set_ciphersuites(ctx, options.ciphersuites.c_str()) != 1)
      return setup_failed("TLS 1.3 cipher suites \"" + options.ciphersuites + "\"");

    if (!options.ca_file.empty() || !options.ca_path.empty()) {
      const char* file = options.ca_file.empty() ? nullptr : options.ca_file.c_str();
      const char* path = options.ca_path.empty() ? nullptr : options.ca_path.c_str();
      if (SSL_CTX_load_verify_locations(ctx, file, path) != 1)
        return setup_failed("CA " + (file ? "file " + options.ca_file : "path " + options.ca_path));
    } else if (!options.insecure_skip_verify) {
      SSL_CTX_set_default_verify_paths(ctx);  // the system store
    }
    SSL_CTX_set_verify(ctx, options.insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                       nullptr);

    if (!options.cert_file.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1)
        return setup_failed("client certificate " + options.cert_file);
      // Like paho's tls_set: without a key file the key is in the certificate file.
      const std::string& key = options.key_file.empty() ? options.cert_file : options.key_file;
      if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
        return setup_failed("private key " + key + " (wrong password?)");
      if (SSL_CTX_check_private_key(ctx) != 1)
        return setup_failed("private key " + key + " does not match " + options.cert_file);
    } else if (!options.key_file.empty()) {
      return fail(net_errc::tls_setup_failed, "a key file was given without a certificate file");
    }

    ssl = SSL_new(ctx);
    in_bio = BIO_new(BIO_s_mem());
    out_bio = BIO_new(BIO_s_mem());
    if (ssl == nullptr || in_bio == nullptr || out_bio == nullptr) {
      BIO_free(in_bio);
      BIO_free(out_bio);
      in_bio = out_bio = nullptr;
      return setup_failed("SSL_new");
    }
    // An empty memory BIO means "retry later", not end of stream.
    BIO_set_mem_eof_return(in_bio, -1);
    BIO_set_mem_eof_return(out_bio, -1);
    SSL_set_bio(ssl, in_bio, out_bio);
    SSL_set_connect_state(ssl);

    const std::string& name = verified_name();
    const bool ip = is_ip_literal(name);
    // RFC 6066: SNI carries host names only, never address literals.
    if (!ip && !name.empty() && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1)
      return setup_failed("server name " + name);
    if (!options.insecure_skip_verify && !options.skip_hostname_check && !name.empty()) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                        : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
      if (ok != 1) return setup_failed("host name " + name);
    }
    if (!options.alpn.empty()) {
      std::string wire;  // RFC 7301: length-prefixed protocol names
      for (const std::string& p : options.alpn) {
        if (p.empty() || p.size() > 255)
          return fail(net_errc::tls_setup_failed, "ALPN protocol names are 1 to 255 bytes");
        wire += static_cast<char>(p.size());
        wire += p;
      }
      // SSL_set_alpn_protos returns 0 on success.
      if (SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned>(wire.size())) != 0)
        return setup_failed("ALPN");
    }
    return {};
  }

  void flush_output() {
    for (;;) {
      const std::size_t pending = BIO_ctrl_pending(out_bio);
      if (pending == 0) return;
      const std::size_t want = std::min<std::size_t>(pending, INT_MAX);
      std::byte* p = out.prepare(want);
      const int n = BIO_read(out_bio, p, static_cast<int>(want));
      out.commit(n > 0 ? static_cast<std::size_t>(n) : 0);
      if (n <= 0) return;
    }
  }

  std::error_code handshake_error(int ssl_error) {
    flush_output();  // the alert, so the server learns why
    const long verify = SSL_get_verify_result(ssl);
    std::string reason = openssl_errors();
    if (!options.insecure_skip_verify && verify != X509_V_OK) {
      std::string what = X509_verify_cert_error_string(verify);
      if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH)
        return fail(net_errc::tls_hostname_mismatch,
                    "the server certificate does not name " + verified_name() + ": " + what);
      return fail(net_errc::tls_certificate_invalid, "server certificate: " + what);
    }
    if (reason.empty())
      reason = ssl_error == SSL_ERROR_SYSCALL ? "the peer ended the handshake" : "handshake failed";
    return fail(net_errc::tls_handshake_failed, reason);
  }

  // Runs the handshake, then decrypts every complete record.
  std::error_code advance() {
    if (!established) {
      ERR_clear_error();
      const int r = SSL_do_handshake(ssl);
      if (r != 1) {
        const int e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return handshake_error(e);
        flush_output();
        return {};
      }
      established = true;
    }
    while (!peer_closed) {
      ERR_clear_error();
      std::byte* p = in.prepare(read_chunk);
      std::size_t n = 0;
      const int r = SSL_read_ex(ssl, p, read_chunk, &n);
      in.commit(r == 1 ? n : 0);
      if (r == 1) continue;
      const int e = SSL_get_error(ssl, r);
      if (e == SSL_ERROR_WANT_READ) break;
      if (e == SSL_ERROR_ZERO_RETURN) {
        // close_notify: answer it, keep what was decrypted; the TCP end follows.
        peer_closed = true;
        if (!shutdown_sent) {
          shutdown_sent = true;
          SSL_shutdown(ssl);
        }
        break;
      }
      flush_output();
      const std::string reason = openssl_errors();
      return fail(net_errc::tls_error, reason.empty() ? "TLS record layer failed" : reason);
    }
    flush_output();
    ERR_clear_error();
    return {};
  }

  // One SSL_write of a whole record's worth (or less); false on failure.
  bool write_record(const std::byte* data, std::size_t size) {
    ERR_clear_error();
    std::size_t written = 0;
    const int r = SSL_write_ex(ssl, data, size, &written);
    flush_output();
    if (r == 1 && written == size) return true;
    const std::string reason = openssl_errors();
    fail(net_errc::tls_error, reason.empty() ? "SSL_write failed" : reason);
    return false;
  }
};

tls_layer::tls_layer(tls_options options, std::string host)
    : impl_(std::make_unique<impl>(std::move(options), std::move(host))) {}
tls_layer::~tls_layer() = default;

std::error_code tls_layer::start() {
  impl& t = *impl_;
  if (t.error) return t.error;
  if (t.ssl != nullptr) return {};  // started already
  if (auto ec = t.setup()) return ec;
  return t.advance();  // writes the ClientHello
}

bool tls_layer::established() const noexcept { return impl_->established && !impl_->error; }

std::error_code tls_layer::received(bytes_view data) {
  impl& t = *impl_;
  if (t.error) return t.error;
  if (t.ssl == nullptr) return t.fail(net_errc::tls_error, "bytes received before start()");
  if (t.peer_closed) return {};  // nothing follows a close_notify
  while (!data.empty()) {
    const std::size_t n = std::min<std::size_t>(data.size(), INT_MAX);
    if (BIO_write(t.in_bio, data.data(), static_cast<int>(n)) != static_cast<int>(n))
      return t.fail(net_errc::tls_error, "out of memory buffering TLS records");
    data = data.subspan(n);
  }
  return t.advance();
}

bytes_view tls_layer::readable() const noexcept { return impl_->in.view(); }
void tls_layer::consume_readable(std::size_t n) noexcept { impl_->in.consume(n); }

std::size_t tls_layer::send(std::span<const bytes_view> data, std::error_code& ec) {
  impl& t = *impl_;
  ec.clear();
  if (t.error) {
    ec = t.error;
    return 0;
  }
  if (!t.established) return 0;  // the connection sends only once established
  if (t.shutdown_sent) {
    ec = net_errc::connection_closed;
    return 0;
  }
  std::size_t taken = 0;
  std::size_t staged = 0;
  for (bytes_view s : data) {
    while (!s.empty() && t.out.size() < output_bound) {
      if (staged == 0 && s.size() >= max_record) {
        // A large slice goes out directly, one full record at a time.
        if (!t.write_record(s.data(), max_record)) break;
        s = s.subspan(max_record);
        taken += max_record;
        continue;
      }
      const std::size_t n = std::min(s.size(), max_record - staged);
      std::memcpy(t.stage.data() + staged, s.data(), n);
      staged += n;
      s = s.subspan(n);
      taken += n;
      if (staged == max_record) {
        if (!t.write_record(t.stage.data(), staged)) break;
        staged = 0;
      }
    }
    if (t.error || t.out.size() >= output_bound) break;
  }
  if (!t.error && staged != 0) t.write_record(t.stage.data(), staged);
  ec = t.error;
  return taken;
}

bytes_view tls_layer::writable() const noexcept { return impl_->out.view(); }
void tls_layer::consume_writable(std::size_t n) noexcept { impl_->out.consume(n); }

void tls_layer::shutdown() noexcept {
  impl& t = *impl_;
  if (t.ssl == nullptr || !t.established || t.shutdown_sent || t.error) return;
  t.shutdown_sent = true;
  ERR_clear_error();
  SSL_shutdown(t.ssl);  // queues close_notify; the peer's answer is not awaited
  try {
    t.flush_output();
  } catch (...) {  // out of memory: the close_notify is lost, the connection closes anyway
  }
  ERR_clear_error();
}

std::string tls_layer::describe() const {
  const impl& t = *impl_;
  if (t.ssl == nullptr || !t.established) return "TLS";
  return pretty_version(SSL_get_version(t.ssl));
}

const std::string& tls_layer::last_error_message() const noexcept { return impl_->message; }

std::string tls_layer::negotiated_alpn() const {
  const impl& t = *impl_;
  if (t.ssl == nullptr) return {};
  const unsigned char* p = nullptr;
  unsigned n = 0;
  SSL_get0_alpn_selected(t.ssl, &p, &n);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
}

}  // namespace tern::net
