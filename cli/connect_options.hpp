// Options shared by `tern pub` and `tern sub` (those of mosquitto_pub / mosquitto_sub that
// concern the connection: broker, identity, session, will, TLS, proxy, MQTT 5 properties) and
// running a tern::client with them until a command is done.
//
// Exit codes follow mosquitto's clients, so scripts that test them keep working:
//   0    success;
//   1    a usage error, a broker that cannot be reached, unreadable input, a refused publish
//        or subscription (mosquitto also uses 1 for usage errors; its --help exits 1 too, ours
//        exits 0 because asking for help is not an error);
//   1-5  with MQTT 3.1.1, the CONNACK return code of a refused connection;
//   128+ with MQTT 5, the CONNACK reason code of a refused connection (its Reason String is
//        printed with it);
//   7    the connection was lost while publishing (libmosquitto's MOSQ_ERR_CONN_LOST);
//   8    TLS failed: certificate, host name, handshake, settings (libmosquitto's MOSQ_ERR_TLS;
//        mosquitto_pub itself exits 1 for some of these);
//   27   `tern sub -W` timed out (libmosquitto's MOSQ_ERR_TIMEOUT).
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tern/client.hpp"

namespace tern::cli {

// A mistake on the command line: printed as "Error: <what>" followed by a pointer to --help.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class tool { pub, sub };

namespace exit_code {
inline constexpr int success = 0;
inline constexpr int failure = 1;
inline constexpr int connection_lost = 7;
inline constexpr int tls = 8;
inline constexpr int timed_out = 27;
}  // namespace exit_code

// MQTT 5 properties given with -D, per packet they go into.
struct property_sets {
  property_list connect;
  property_list publish;
  property_list subscribe;
  property_list unsubscribe;
  property_list disconnect;
  property_list will;
};

// An empty list to pick where MQTT 3.1.1 carries no properties (a temporary would be a copy).
inline const property_list& no_properties() {
  static const property_list empty;
  return empty;
}

struct connect_options {
  // What the command line says, as given.
  std::string host = "localhost";
  std::optional<std::uint16_t> port;
  std::string url;  // -L
  std::string client_id;
  std::string id_prefix;
  std::int64_t keepalive = 60;
  bool keep_session = false;                  // -c: no clean session
  std::optional<std::string> session_expiry;  // -x
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<std::string> version_text;  // -V
  std::string qos_text = "0";               // -q (kept here: both tools have it)
  bool debug = false;
  bool quiet = false;
  std::optional<std::string> will_topic;
  std::optional<std::string> will_payload;
  std::string will_qos_text = "0";
  bool will_retain = false;
  std::string ca_file, ca_path, cert_file, key_file, ciphers, tls_version, tls_alpn;
  bool insecure = false;
  bool tls_use_os_certs = false;
  bool nodelay = false;  // accepted for compatibility: Tern always disables Nagle
  std::string proxy;
  std::vector<std::vector<std::string>> property_args;  // -D command identifier [name] value
  std::vector<std::string> unavailable;  // flags of mosquitto that Tern cannot honour

  // Resolved by resolve().
  protocol_version version = protocol_version::v3_1_1;
  qos q = qos::at_most_once;
  std::optional<std::string> url_topic;  // the topic part of an mqtt:// or mqtts:// URL
  bool tls = false;
  bool websocket = false;
  std::string websocket_path;
  std::uint32_t session_expiry_interval = 0;
  property_sets properties;
};

// Declares the shared options on `app` (which must have had its -h help flag removed).
void add_connect_options(CLI::App& app, connect_options& options, tool which);

// Checks the parsed values and derives the resolved fields. Throws usage_error.
void resolve(connect_options& options, tool which);

// Parses a QoS argument ("0", "1", "2"); throws usage_error mentioning `what` (e.g. "QoS").
qos parse_qos(const std::string& text, std::string_view what);

// Runs a tern::client for one command: connects with the options, reports CONNACK refusals,
// prints -d debug lines in mosquitto's style, and lets the command's main thread wait until a
// callback decides the exit code.
class command_client {
 public:
  command_client(const connect_options& options, tool which);
  ~command_client();
  command_client(const command_client&) = delete;
  command_client& operator=(const command_client&) = delete;

  tern::client& client() noexcept { return *client_; }
  const connect_options& options() const noexcept { return options_; }

  // Called on the loop thread after every accepted CONNACK (sub subscribes there).
  std::function<void()> on_connected;
  // Called on the loop thread when an established connection ends without disconnect().
  std::function<void(reason_code)> on_connection_lost;

  // Opens the connection and starts the loop thread. Returns std::nullopt once the broker has
  // accepted the connection, or the exit code to end with (the error already printed).
  std::optional<int> start(std::chrono::milliseconds connack_timeout = std::chrono::seconds(30));

  // Decides the exit code (first call wins) and wakes wait().
  void finish(int code);
  bool finished() const;
  // Waits until finish(); std::nullopt when `timeout` passes first.
  std::optional<int> wait(std::optional<std::chrono::steady_clock::duration> timeout);

  // Sends DISCONNECT (with -D disconnect properties), stops the loop thread.
  void stop();

  // A "-d" line: "Client <id> <text>" on stdout, as mosquitto's clients print them.
  void debug(std::string_view text) const;
  bool debugging() const noexcept { return options_.debug; }
  // An error line on stderr unless --quiet.
  void error(std::string_view text) const;

 private:
  void install_callbacks();

  const connect_options& options_;  // the caller's, outliving this
  std::unique_ptr<tern::client> client_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<int> exit_code_;
  bool connected_ = false;
  bool stopping_ = false;
  std::string shown_id_;  // the id in debug lines ("(null)" until known)
};

// Reports a usage error as mosquitto's clients do and returns the exit code.
int report_usage_error(std::string_view program, std::string_view message);

}  // namespace tern::cli
