// Certificates generated at test time with the OpenSSL API, into a temporary directory that is
// removed when the test process ends. Nothing is checked in, nothing expires between runs.
//
//   ca        — the trusted test CA
//   server    — signed by ca, SAN DNS:localhost, IP:127.0.0.1, IP:::1
//   client    — signed by ca, for mutual TLS; its key also stored encrypted ("secret")
//   rogue_ca  — an unrelated CA; rogue_server is signed by it (SAN DNS:localhost)
//   other     — signed by ca, SAN DNS:broker.invalid only (hostname mismatch)
#pragma once

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace tern::test {

class pki {
 public:
  static const pki& get() {
    static const pki instance;
    return instance;
  }

  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  std::string ca() const { return file("ca.pem"); }
  std::string server_cert() const { return file("server.pem"); }
  std::string server_key() const { return file("server.key"); }
  std::string client_cert() const { return file("client.pem"); }
  std::string client_key() const { return file("client.key"); }
  std::string client_key_encrypted() const { return file("client-encrypted.key"); }
  std::string rogue_ca() const { return file("rogue-ca.pem"); }
  std::string rogue_server_cert() const { return file("rogue-server.pem"); }
  std::string rogue_server_key() const { return file("rogue-server.key"); }
  std::string other_cert() const { return file("other.pem"); }
  std::string other_key() const { return file("other.key"); }
  static constexpr const char* key_password = "secret";

  ~pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  pki(const pki&) = delete;
  pki& operator=(const pki&) = delete;

 private:
  pki() {
    std::string templ = (std::filesystem::temp_directory_path() / "tern-pki-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = templ;

    EVP_PKEY* ca_key = new_key();
    X509* ca_cert = make_cert(ca_key, "Tern Test CA", nullptr, ca_key, true, nullptr);
    write_cert(ca_cert, "ca.pem");

    EVP_PKEY* server_key = new_key();
    X509* server = make_cert(server_key, "localhost", ca_cert, ca_key, false,
                             "DNS:localhost,IP:127.0.0.1,IP:::1");
    write_cert(server, "server.pem");
    write_key(server_key, "server.key", nullptr);

    EVP_PKEY* client_key = new_key();
    X509* client = make_cert(client_key, "tern-client", ca_cert, ca_key, false, nullptr);
    write_cert(client, "client.pem");
    write_key(client_key, "client.key", nullptr);
    write_key(client_key, "client-encrypted.key", key_password);

    EVP_PKEY* rogue_key = new_key();
    X509* rogue = make_cert(rogue_key, "Rogue CA", nullptr, rogue_key, true, nullptr);
    write_cert(rogue, "rogue-ca.pem");
    EVP_PKEY* rogue_server_key = new_key();
    X509* rogue_server = make_cert(rogue_server_key, "localhost", rogue, rogue_key, false,
                                   "DNS:localhost,IP:127.0.0.1");
    write_cert(rogue_server, "rogue-server.pem");
    write_key(rogue_server_key, "rogue-server.key", nullptr);

    EVP_PKEY* other_key = new_key();
    X509* other =
        make_cert(other_key, "broker.invalid", ca_cert, ca_key, false, "DNS:broker.invalid");
    write_cert(other, "other.pem");
    write_key(other_key, "other.key", nullptr);

    for (X509* c : {ca_cert, server, client, rogue, rogue_server, other}) X509_free(c);
    for (EVP_PKEY* k : {ca_key, server_key, client_key, rogue_key, rogue_server_key, other_key})
      EVP_PKEY_free(k);
  }

  static EVP_PKEY* new_key() {  // P-256: small and fast to make
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    EVP_PKEY* key = nullptr;
    if (ctx == nullptr || EVP_PKEY_keygen_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_group_name(ctx, "P-256") <= 0 || EVP_PKEY_keygen(ctx, &key) <= 0)
      throw std::runtime_error("EC key generation failed");
    EVP_PKEY_CTX_free(ctx);
    return key;
  }

  static void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) throw std::runtime_error("X509V3_EXT_conf_nid failed");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }

  static X509* make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                         const char* san) {
    static long serial = 1;
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 7L * 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
    X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
    add_ext(cert, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    add_ext(cert, issuer, NID_key_usage,
            ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment");
    add_ext(cert, issuer, NID_subject_key_identifier, "hash");
    if (issuer != nullptr) add_ext(cert, issuer, NID_authority_key_identifier, "keyid:always");
    if (san != nullptr) add_ext(cert, issuer, NID_subject_alt_name, san);
    if (X509_sign(cert, issuer_key, EVP_sha256()) == 0) throw std::runtime_error("X509_sign");
    return cert;
  }

  void write_cert(X509* cert, const char* name) const {
    FILE* f = std::fopen(file(name).c_str(), "w");
    if (f == nullptr || PEM_write_X509(f, cert) != 1) throw std::runtime_error("write cert");
    std::fclose(f);
  }

  void write_key(EVP_PKEY* key, const char* name, const char* password) const {
    FILE* f = std::fopen(file(name).c_str(), "w");
    const EVP_CIPHER* cipher = password != nullptr ? EVP_aes_256_cbc() : nullptr;
    if (f == nullptr ||
        PEM_write_PrivateKey(
            f, key, cipher, reinterpret_cast<const unsigned char*>(password),
            password != nullptr ? static_cast<int>(std::char_traits<char>::length(password)) : 0,
            nullptr, nullptr) != 1)
      throw std::runtime_error("write key");
    std::fclose(f);
  }

  std::filesystem::path dir_;
};

}  // namespace tern::test
