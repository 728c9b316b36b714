// Shared options of pub and sub, and the client that runs a command with them.
//
// The flow of a command: resolve() checks the command line; command_client configures a
// tern::client (identity, will, TLS, WebSocket, proxy), start() connects and runs the loop on
// a background thread, the command's callbacks decide the exit code with finish(), and the
// main thread waits for it, then stop() disconnects cleanly.
#include "connect_options.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <limits>

#include "tern/net/proxy.hpp"
#include "tern/net/tls.hpp"
#include "tern/net/url.hpp"
#include "tern/topic.hpp"

namespace tern::cli {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A whole decimal number in [0, max]; std::nullopt otherwise.
std::optional<std::uint64_t> parse_unsigned(const std::string& text, std::uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  if (v > max) return std::nullopt;
  return v;
}

// ---- -D command identifier value ---------------------------------------------------------

// The packets -D can add properties to, by mosquitto's command names.
enum class property_target { connect, publish, subscribe, unsubscribe, disconnect, will };

struct property_spec {
  std::string_view name;  // mosquitto's spelling: the specification's name, '-' between words
  property_id id;
  unsigned targets;  // bits of property_target
};

using pt = property_target;

constexpr unsigned bit(property_target t) { return 1u << static_cast<unsigned>(t); }

// The properties a command line can give, and where. Authentication Method / Data are left
// out: they start an enhanced authentication exchange, which needs an authenticator the
// command line has no way to supply. Topic Alias is left out: the session assigns aliases.
const property_spec property_specs[] = {
    {"payload-format-indicator", property_id::payload_format_indicator,
     bit(pt::publish) | bit(pt::will)},
    {"message-expiry-interval", property_id::message_expiry_interval,
     bit(pt::publish) | bit(pt::will)},
    {"content-type", property_id::content_type, bit(pt::publish) | bit(pt::will)},
    {"response-topic", property_id::response_topic, bit(pt::publish) | bit(pt::will)},
    {"correlation-data", property_id::correlation_data, bit(pt::publish) | bit(pt::will)},
    {"session-expiry-interval", property_id::session_expiry_interval,
     bit(pt::connect) | bit(pt::disconnect)},
    {"request-problem-information", property_id::request_problem_information, bit(pt::connect)},
    {"will-delay-interval", property_id::will_delay_interval, bit(pt::will)},
    {"request-response-information", property_id::request_response_information, bit(pt::connect)},
    {"receive-maximum", property_id::receive_maximum, bit(pt::connect)},
    {"topic-alias-maximum", property_id::topic_alias_maximum, bit(pt::connect)},
    {"user-property", property_id::user_property,
     bit(pt::connect) | bit(pt::publish) | bit(pt::subscribe) | bit(pt::unsubscribe) |
         bit(pt::disconnect) | bit(pt::will)},
    {"maximum-packet-size", property_id::maximum_packet_size, bit(pt::connect)},
};

std::optional<property_target> parse_target(const std::string& command) {
  const std::string c = lower(command);
  if (c == "connect") return pt::connect;
  if (c == "publish") return pt::publish;
  if (c == "subscribe") return pt::subscribe;
  if (c == "unsubscribe") return pt::unsubscribe;
  if (c == "disconnect") return pt::disconnect;
  if (c == "will") return pt::will;
  return std::nullopt;
}

property_list& list_for(property_sets& sets, property_target t) {
  switch (t) {
    case pt::connect: return sets.connect;
    case pt::publish: return sets.publish;
    case pt::subscribe: return sets.subscribe;
    case pt::unsubscribe: return sets.unsubscribe;
    case pt::disconnect: return sets.disconnect;
    case pt::will: return sets.will;
  }
  return sets.connect;
}

void add_property(property_sets& sets, const std::vector<std::string>& args, tool which) {
  std::string shown = "-D";
  for (const auto& a : args) shown += " " + a;
  if (args.size() < 3)
    throw usage_error("-D/--property needs a command, a property name and a value: '" + shown +
                      "'");
  const auto target = parse_target(args[0]);
  if (!target)
    throw usage_error("unknown command '" + args[0] + "' in '" + shown +
                      "' (connect, publish, subscribe, unsubscribe, disconnect or will)");
  const bool for_tool = which == tool::pub
                            ? (*target != pt::subscribe && *target != pt::unsubscribe)
                            : (*target != pt::publish);
  if (!for_tool)
    throw usage_error("'" + args[0] + "' properties do not apply to " +
                      (which == tool::pub ? std::string("tern pub") : std::string("tern sub")));
  const std::string name = lower(args[1]);
  const property_spec* spec = nullptr;
  for (const auto& s : property_specs)
    if (s.name == name) spec = &s;
  if (spec == nullptr) {
    if (name == "topic-alias")
      throw usage_error("topic-alias cannot be set with -D: Tern assigns topic aliases itself");
    if (name == "authentication-method" || name == "authentication-data")
      throw usage_error(name +
                        " is not available: enhanced authentication needs an exchange "
                        "that tern pub/sub cannot carry out");
    throw usage_error("unknown property '" + args[1] + "' in '" + shown + "'");
  }
  if ((spec->targets & bit(*target)) == 0)
    throw usage_error(std::string(spec->name) + " is not allowed on " + lower(args[0]) + " in '" +
                      shown + "'");
  const bool pair = spec->id == property_id::user_property;
  if (args.size() != (pair ? 4u : 3u))
    throw usage_error("'" + shown + "' needs " + (pair ? "a name and a value" : "one value"));
  property_list& list = list_for(sets, *target);
  const std::string& v = args[2];
  switch (type_of(spec->id)) {
    case property_type::byte:
    case property_type::two_byte_integer:
    case property_type::four_byte_integer:
    case property_type::variable_byte_integer: {
      const std::uint64_t max = type_of(spec->id) == property_type::byte               ? 0xFF
                                : type_of(spec->id) == property_type::two_byte_integer ? 0xFFFF
                                                                                       : 0xFFFFFFFF;
      const auto n = parse_unsigned(v, max);
      if (!n)
        throw usage_error("invalid value '" + v + "' for " + std::string(spec->name) +
                          " (a number from 0 to " + std::to_string(max) + ")");
      list.add(spec->id, static_cast<std::uint32_t>(*n));
      break;
    }
    case property_type::utf8_string: list.add(spec->id, std::string_view(v)); break;
    case property_type::binary_data:
      list.add_binary(spec->id, as_bytes(std::string_view(v)));
      break;
    case property_type::utf8_string_pair: list.add_user(args[2], args[3]); break;
  }
}

// -x: seconds, or -1 / 4294967295 / ∞ for "never expires".
std::uint32_t parse_session_expiry(const std::string& text) {
  if (text == "-1" || text == "\xE2\x88\x9E") return 0xFFFFFFFF;
  const auto n = parse_unsigned(text, 0xFFFFFFFF);
  if (!n)
    throw usage_error("invalid session expiry interval '" + text +
                      "' (0 to 4294967294 seconds, or -1 for no expiry)");
  return static_cast<std::uint32_t>(*n);
}

protocol_version parse_version(const std::string& text) {
  const std::string v = lower(text);
  if (v == "mqttv31" || v == "31") return protocol_version::v3_1;
  if (v == "mqttv311" || v == "311") return protocol_version::v3_1_1;
  if (v == "mqttv5" || v == "5") return protocol_version::v5;
  throw usage_error("invalid protocol version '" + text + "' (mqttv5, mqttv311 or mqttv31)");
}

// SIGINT / SIGTERM end a command cleanly (DISCONNECT is sent); wait() notices the flag.
std::atomic<bool> interrupted{false};
void on_interrupt(int) { interrupted.store(true); }

}  // namespace

qos parse_qos(const std::string& text, std::string_view what) {
  if (text == "0") return qos::at_most_once;
  if (text == "1") return qos::at_least_once;
  if (text == "2") return qos::exactly_once;
  throw usage_error("invalid " + std::string(what) + " '" + text + "' (0, 1 or 2)");
}

void add_connect_options(CLI::App& app, connect_options& o, tool which) {
  app.add_option("-h,--host", o.host, "broker host (default localhost)");
  app.add_option("-p,--port", o.port, "broker port (default 1883, 8883 with TLS)");
  app.add_option(
      "-L,--url", o.url,
      which == tool::pub
          ? "mqtt(s)://[user[:password]@]host[:port]/topic, or ws(s)://host[:port]/path"
          : "mqtt(s)://[user[:password]@]host[:port]/topic, or ws(s)://host[:port]/path");
  app.add_option("-i,--id", o.client_id, "client id (default: one the broker assigns)");
  app.add_option("-I,--id-prefix", o.id_prefix, "client id: this prefix and the process id");
  app.add_option("-k,--keepalive", o.keepalive, "keep-alive in seconds (default 60)");
  app.add_flag("-c,--disable-clean-session", o.keep_session,
               "keep the session (needs -i; with MQTT 5 it never expires unless -x)");
  app.add_option("-x", o.session_expiry, "MQTT 5 session expiry interval in seconds, -1 for never");
  app.add_option("-u,--username", o.username, "user name");
  app.add_option("-P,--pw", o.password, "password");
  app.add_option("-V,--protocol-version", o.version_text,
                 "mqttv5, mqttv311 or mqttv31 (also 5, 311, 31); default mqttv311");
  app.add_option("-q,--qos", o.qos_text,
                 which == tool::pub ? "QoS of the messages (default 0)"
                                    : "QoS of the subscriptions (default 0)");
  app.add_flag("-d,--debug", o.debug, "print what the client does");
  app.add_flag("--quiet", o.quiet, "print no error messages");
  app.add_option("-D,--property", o.property_args,
                 "MQTT 5 property: -D command identifier value (user-property: name value)")
      ->expected(3, 4);
  app.add_option("--will-topic", o.will_topic, "topic of the Will message");
  app.add_option("--will-payload", o.will_payload, "payload of the Will (default empty)");
  app.add_option("--will-qos", o.will_qos_text, "QoS of the Will");
  app.add_flag("--will-retain", o.will_retain, "retain the Will");
  app.add_option("--cafile", o.ca_file, "trusted CA certificates (PEM): enables TLS");
  app.add_option("--capath", o.ca_path, "directory of trusted CA certificates: enables TLS");
  app.add_option("--cert", o.cert_file, "client certificate (PEM)");
  app.add_option("--key", o.key_file, "client private key (PEM)");
  app.add_option("--ciphers", o.ciphers, "OpenSSL cipher list for TLS 1.2");
  app.add_option("--tls-version", o.tls_version, "lowest TLS version: tlsv1.2 or tlsv1.3");
  app.add_option("--tls-alpn", o.tls_alpn, "ALPN protocol to request");
  app.add_flag("--tls-use-os-certs", o.tls_use_os_certs, "enable TLS trusting the system's CAs");
  app.add_flag("--insecure", o.insecure,
               "do not check that the server certificate names the host (testing only)");
  app.add_option("--proxy", o.proxy, "proxy URL: socks5h://[user[:password]@]host[:port]");
  app.add_flag("--nodelay", o.nodelay, "disable Nagle's algorithm (Tern always does)");
  // mosquitto options that need something Tern does not have: accepted by the parser so the
  // error can say why, rather than "unknown option".
  for (const char* name : {"-A", "--unix", "--psk", "--psk-identity", "--tls-engine", "--keyform",
                           "--tls-engine-kpass-sha1"}) {
    app.add_option_function<std::string>(
           name, [&o, name](const std::string&) { o.unavailable.emplace_back(name); },
           "not available in Tern")
        ->group("");
  }
  app.add_flag_function(
         "-S", [&o](std::int64_t) { o.unavailable.emplace_back("-S"); }, "not available in Tern")
      ->group("");
}

void resolve(connect_options& o, tool which) {
  if (!o.unavailable.empty()) {
    const std::string& flag = o.unavailable.front();
    std::string why = "is not available in Tern";
    if (flag == "-A") why += " (binding to a local address)";
    else if (flag == "--unix") why += " (Unix domain sockets)";
    else if (flag == "--psk" || flag == "--psk-identity") why += " (TLS-PSK)";
    else if (flag == "-S") why += " (DNS SRV lookup)";
    else why += " (OpenSSL engines)";
    throw usage_error(flag + " " + why);
  }
  // -D makes the client an MQTT 5 client, as in mosquitto; asking for 3.1.1 as well is a
  // contradiction.
  if (o.version_text) o.version = parse_version(*o.version_text);
  else if (!o.property_args.empty()) o.version = protocol_version::v5;
  if (!o.property_args.empty() && o.version != protocol_version::v5)
    throw usage_error("-D/--property needs MQTT v5 (-V mqttv5)");
  for (const auto& args : o.property_args) add_property(o.properties, args, which);

  o.q = parse_qos(o.qos_text, "QoS");
  if (o.keepalive < 5 || o.keepalive > 65535)
    throw usage_error("invalid keepalive " + std::to_string(o.keepalive) +
                      ": it must be between 5 and 65535 seconds");
  if (o.port && *o.port == 0) throw usage_error("invalid port 0");
  if (!o.id_prefix.empty()) {
    if (!o.client_id.empty()) throw usage_error("-i and -I cannot be used together");
    o.client_id = o.id_prefix + std::to_string(::getpid());
  }
  // MQTT 3.1 brokers need a client id (3.1.1 and 5 may assign one): make one as mosquitto's
  // clients do, from the program and the process id (within 3.1's 23 characters).
  if (o.client_id.empty() && o.version == protocol_version::v3_1)
    o.client_id = (which == tool::pub ? "tern_pub_" : "tern_sub_") + std::to_string(::getpid());
  if (o.client_id.size() > 65535) throw usage_error("client id longer than 65535 bytes");

  // Session: -c keeps it (and with MQTT 5 it then never expires unless -x says otherwise).
  if (o.session_expiry) o.session_expiry_interval = parse_session_expiry(*o.session_expiry);
  else if (o.keep_session) o.session_expiry_interval = 0xFFFFFFFF;
  if (o.keep_session && o.client_id.empty())
    throw usage_error("-c needs a client id (-i or -I): the session is found by it");
  if (o.version == protocol_version::v5 && o.session_expiry_interval == 0xFFFFFFFF &&
      o.client_id.empty())
    throw usage_error("a session that never expires (-x -1) needs a client id (-i or -I)");
  if (o.version == protocol_version::v5 && o.session_expiry_interval != 0)
    o.properties.connect.add(property_id::session_expiry_interval, o.session_expiry_interval);

  if (o.password && !o.username) throw usage_error("-P/--pw given without -u/--username");

  if (o.will_topic) {
    if (auto r = validate_topic_name(*o.will_topic); !r)
      throw usage_error("invalid will topic '" + *o.will_topic +
                        "': " + std::string(to_string(r.error())));
  } else if (o.will_payload || o.will_retain || o.will_qos_text != "0") {
    throw usage_error("--will-payload, --will-qos and --will-retain need --will-topic");
  }
  (void)parse_qos(o.will_qos_text, "will QoS");
  if (!o.properties.will.empty() && !o.will_topic)
    throw usage_error("-D will properties need --will-topic");

  // -L: the URL gives the broker (and for mqtt:// and mqtts:// the topic, as its path).
  if (!o.url.empty()) {
    std::string address = o.url;
    const auto scheme_end = o.url.find("://");
    if (scheme_end != std::string::npos) {
      const std::string scheme = lower(o.url.substr(0, scheme_end));
      const auto slash = o.url.find('/', scheme_end + 3);
      if ((scheme == "mqtt" || scheme == "mqtts") && slash != std::string::npos) {
        address = o.url.substr(0, slash);
        if (slash + 1 < o.url.size()) o.url_topic = o.url.substr(slash + 1);
      }
    }
    const auto u = net::parse_broker_url(address);
    if (!u)
      throw usage_error("invalid URL '" + o.url +
                        "' (mqtt://, mqtts://, ws:// or wss://[user[:password]@]host[:port]/...)");
    o.host = u->host;
    o.port = u->port;
    o.tls = u->tls();
    o.websocket = u->websocket();
    o.websocket_path = u->path;
    if (u->username) {
      o.username = u->username;
      if (u->password) o.password = u->password;
    }
  }

  if (!o.ca_file.empty() || !o.ca_path.empty() || o.tls_use_os_certs) o.tls = true;
  const bool tls_detail = !o.cert_file.empty() || !o.key_file.empty() || o.insecure ||
                          !o.tls_version.empty() || !o.tls_alpn.empty() || !o.ciphers.empty();
  if (tls_detail && !o.tls)
    throw usage_error(
        "TLS options need TLS: give --cafile, --capath, --tls-use-os-certs or an mqtts:// URL");
  if (o.cert_file.empty() != o.key_file.empty())
    throw usage_error("--cert and --key must be given together");
  if (!o.tls_version.empty() && o.tls_version != "tlsv1.2" && o.tls_version != "tlsv1.3")
    throw usage_error("unsupported --tls-version '" + o.tls_version +
                      "' (tlsv1.2 or tlsv1.3; Tern does not offer older versions)");
  if (!o.proxy.empty() && !net::parse_proxy_url(o.proxy))
    throw usage_error("invalid proxy URL '" + o.proxy +
                      "' (socks5h://[user[:password]@]host[:port] or http://host[:port])");
  if (!o.port) o.port = o.tls ? 8883 : 1883;
}

int report_usage_error(std::string_view program, std::string_view message) {
  std::fprintf(stderr, "Error: %.*s\n\nUse '%.*s --help' to see usage.\n",
               static_cast<int>(message.size()), message.data(), static_cast<int>(program.size()),
               program.data());
  return exit_code::failure;
}

// ---- command_client ------------------------------------------------------------------------

command_client::command_client(const connect_options& options, tool which) : options_(options) {
  client_options co;
  co.client_id = options_.client_id;
  co.version = options_.version;
  co.transport = options_.websocket ? transport_kind::websockets : transport_kind::tcp;
  co.clean_start = options_.keep_session ? clean_start_policy::never : clean_start_policy::always;
  // sub keeps running over a lost connection, as mosquitto_sub does; pub reports it.
  co.reconnect_on_failure = which == tool::sub;
  client_ = std::make_unique<tern::client>(co);
  tern::client& c = *client_;
  shown_id_ = options_.client_id.empty() ? "(null)" : options_.client_id;

  if (options_.username) c.username_pw_set(*options_.username, options_.password);
  if (options_.will_topic)
    c.will_set(*options_.will_topic, options_.will_payload.value_or(""),
               parse_qos(options_.will_qos_text, "will QoS"), options_.will_retain,
               options_.properties.will);
  if (options_.tls) {
    net::tls_options t;
    t.ca_file = options_.ca_file;
    t.ca_path = options_.ca_path;
    t.cert_file = options_.cert_file;
    t.key_file = options_.key_file;
    t.ciphers = options_.ciphers;
    if (options_.tls_version == "tlsv1.3") t.min_version = net::tls_version::tls1_3;
    if (!options_.tls_alpn.empty()) t.alpn.push_back(options_.tls_alpn);
    t.skip_hostname_check = options_.insecure;  // as mosquitto: the chain is still verified
    c.tls_set(std::move(t));
  }
  if (options_.websocket) c.ws_set_options(options_.websocket_path);
  if (!options_.proxy.empty()) c.proxy_set(*net::parse_proxy_url(options_.proxy));
  install_callbacks();
}

command_client::~command_client() {
  if (client_) (void)client_->loop_stop();
}

void command_client::install_callbacks() {
  tern::client& c = *client_;
  c.on_connect = [this](tern::client&, connect_flags, reason_code code, const properties& props) {
    if (is_failure(code)) {
      // The broker refused: print its verdict (and MQTT 5 Reason String) and exit with the
      // code as the protocol version spells it.
      std::string text = "Connection error: " + std::string(describe(code, packet_type::connack));
      if (auto why = props.text(property_id::reason_string)) text += " (" + std::string(*why) + ")";
      error(text);
      int exit = static_cast<int>(code);
      if (options_.version != protocol_version::v5)
        exit = to_v311_connack(code).value_or(std::uint8_t{1});
      finish(exit);
      return;
    }
    {
      const std::lock_guard<std::mutex> lock(mu_);
      if (auto id = props.text(property_id::assigned_client_identifier))
        shown_id_ = std::string(*id);
      connected_ = true;
    }
    cv_.notify_all();
    debug("received CONNACK (0)");
    if (on_connected) on_connected();
  };
  c.on_connect_fail = [this](tern::client&, reason_code code) {
    bool was_connected = false;
    {
      const std::lock_guard<std::mutex> lock(mu_);
      was_connected = connected_;
    }
    if (was_connected) {
      debug("reconnection failed: " + std::string(describe(code, packet_type::connack)));
      return;
    }
    error("Error: connection failed: " + std::string(describe(code, packet_type::connack)));
    finish(exit_code::failure);
  };
  c.on_disconnect = [this](tern::client&, disconnect_flags flags, reason_code code,
                           const properties& props) {
    {
      const std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || exit_code_) return;
    }
    std::string text =
        flags.is_disconnect_packet_from_server ? "received DISCONNECT (" : "connection lost (";
    text += describe(code, packet_type::disconnect);
    if (auto why = props.text(property_id::reason_string)) text += ": " + std::string(*why);
    text += ")";
    debug(text);
    if (on_connection_lost) on_connection_lost(code);
  };
  c.on_log = [this](tern::client&, log_level level, std::string_view message) {
    if (!options_.debug) return;
    debug(std::string("[") + std::string(to_string(level)) + "] " + std::string(message));
  };
}

std::optional<int> command_client::start(std::chrono::milliseconds connack_timeout) {
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  debug("sending CONNECT");
  const property_list& props =
      options_.version == protocol_version::v5 ? options_.properties.connect : no_properties();
  if (const std::error_code ec = client_->connect(
          options_.host, *options_.port, std::chrono::seconds(options_.keepalive), props)) {
    // The transport's own words (OpenSSL's verification error, a proxy's reply) say more.
    const std::string detail = client_->last_error_message();
    error("Error: " + ec.message() + (detail.empty() ? "" : ": " + detail));
    using net::net_errc;
    const bool tls_failed = ec == net_errc::tls_handshake_failed ||
                            ec == net_errc::tls_certificate_invalid ||
                            ec == net_errc::tls_hostname_mismatch || ec == net_errc::tls_error ||
                            ec == net_errc::tls_setup_failed;
    return tls_failed ? exit_code::tls : exit_code::failure;
  }
  if (const std::error_code ec = client_->loop_start()) {
    error("Error: " + ec.message());
    return exit_code::failure;
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, connack_timeout, [&] { return connected_ || exit_code_.has_value(); })) {
    lock.unlock();
    error("Error: the broker did not answer CONNECT");
    return exit_code::failure;
  }
  if (exit_code_) return exit_code_;
  return std::nullopt;
}

void command_client::finish(int code) {
  {
    const std::lock_guard<std::mutex> lock(mu_);
    if (exit_code_) return;
    exit_code_ = code;
  }
  cv_.notify_all();
}

bool command_client::finished() const {
  const std::lock_guard<std::mutex> lock(mu_);
  return exit_code_.has_value();
}

std::optional<int> command_client::wait(
    std::optional<std::chrono::steady_clock::duration> timeout) {
  const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                : std::chrono::steady_clock::time_point::max();
  std::unique_lock<std::mutex> lock(mu_);
  while (!exit_code_) {
    if (interrupted.load()) {
      exit_code_ = exit_code::success;
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    // Short slices: a signal handler cannot notify the condition variable.
    cv_.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(100)));
  }
  return exit_code_;
}

void command_client::stop() {
  {
    const std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  if (client_->is_connected()) {
    debug("sending DISCONNECT");
    const property_list& props =
        options_.version == protocol_version::v5 ? options_.properties.disconnect : no_properties();
    (void)client_->disconnect(reason_code::normal_disconnection, props);
  } else {
    (void)client_->disconnect();  // stops reconnection attempts
  }
  (void)client_->loop_stop();
}

void command_client::debug(std::string_view text) const {
  if (!options_.debug) return;
  std::string id;
  {
    const std::lock_guard<std::mutex> lock(mu_);
    id = shown_id_;
  }
  std::printf("Client %s %.*s\n", id.c_str(), static_cast<int>(text.size()), text.data());
  std::fflush(stdout);
}

void command_client::error(std::string_view text) const {
  if (options_.quiet) return;
  std::fprintf(stderr, "%.*s\n", static_cast<int>(text.size()), text.data());
}

}  // namespace tern::cli
