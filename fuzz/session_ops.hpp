// Helpers of fuzz_session (session.cpp): the input reader, the configuration the first bytes
// choose, a scripted authenticator, and well-formed server packets built with tern's encoder
// from fields the input chooses, so the fuzzer reaches deep session states without having to
// discover valid wire bytes first.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "common.hpp"

namespace tern::fuzz {

using namespace std::chrono_literals;

// Reads choices from the fuzz input; past the end every read returns 0.
class reader {
 public:
  reader(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  bool done() const { return n_ == 0; }
  std::uint8_t byte() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  std::uint16_t u16() {
    const unsigned high = byte();
    return static_cast<std::uint16_t>(high << 8 | byte());
  }
  std::uint32_t u32() {
    const std::uint32_t high = u16();
    return high << 16 | u16();
  }
  template <class T, std::size_t N>
  T pick(const T (&table)[N]) {
    return table[byte() % N];
  }
  // Up to `max` bytes of the input as they are.
  bytes_view raw(std::size_t max) {
    const std::size_t n = std::min<std::size_t>(byte() % (max + 1), n_);
    const bytes_view b(reinterpret_cast<const std::byte*>(p_), n);
    p_ += n;
    n_ -= n;
    return b;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

inline bool starts_with_x(std::optional<bytes_view> d) {
  return d && !d->empty() && (*d)[0] == std::byte{'x'};
}

// Method "FZ". Data starting with 'x' from the server makes challenge() and finished() refuse.
class fuzz_authenticator final : public authenticator {
 public:
  std::uint8_t mode = 0;  // bit 0: no initial data; bit 1: empty replies
  std::string_view method() const noexcept override { return "FZ"; }
  std::optional<bytes_view> initial_data(bool) noexcept override {
    if (mode & 1) return std::nullopt;
    return as_bytes(std::string_view("SECRET-i"));
  }
  result<std::optional<bytes_view>, reason_code> challenge(
      std::optional<bytes_view> data) noexcept override {
    if (starts_with_x(data)) return unexpected{reason_code::not_authorized};
    if (mode & 2) return std::optional<bytes_view>{};
    return std::optional<bytes_view>(as_bytes(std::string_view("SECRET-r")));
  }
  result<void, reason_code> finished(std::optional<bytes_view> data) noexcept override {
    if (starts_with_x(data)) return unexpected{reason_code::bad_authentication_method};
    return {};
  }
};

// The log hook: messages fit the documented buffer and never carry credentials or
// authentication data (all of which contain "SECRET" here).
inline void check_log(void*, log_level, std::string_view message) {
  TERN_FUZZ_CHECK(message.size() <= 256 && message.find("SECRET") == std::string_view::npos);
  (void)touch(message);
}

struct harness_options {
  session_config cfg;
  bool auto_write = false;    // after every step write everything unless the transport blocks
  bool prompt_close = false;  // carry out close_transport at once
};

// Bytes 0..7 of the input choose the configuration (see session.cpp for the layout).
inline harness_options read_config(reader& r, fuzz_authenticator& auth) {
  static constexpr std::uint16_t inflight[] = {0, 1, 2, 3, 5, 8, 20, 65'535};
  static constexpr std::uint16_t receive_max[] = {1, 2, 3, 5, 20, 100, 65'535, 65'535};
  static constexpr std::size_t queued[] = {0, 1, 2, 4, 16, 1000, 3, 8};
  static constexpr std::size_t queued_bytes[] = {64, 256, 1024, 4096, 16u << 20, 200, 600, 2048};
  static constexpr std::uint16_t aliases[] = {0, 1, 2, 8};
  static constexpr std::uint32_t max_packet[] = {0, 64, 128, 256, 1024, 4096, 65'536, 300};
  static constexpr std::size_t transmit[] = {4u << 20, 32, 128, 1024};
  static constexpr duration timeouts[] = {30s, 1s, 5s, 100ms};
  static constexpr duration acks[] = {0s, 1s, 10s, 100ms};
  static constexpr duration pings[] = {0s, 1s, 10s, 0s};
  static constexpr duration backoffs[] = {1s, 10ms, 100ms, 5s};
  static constexpr std::int64_t keep_alive[] = {0, 1, 2, 5, 10, 30, 60, 65'535};
  static constexpr std::uint32_t expiry[] = {0, 60, 0xFFFF'FFFF, 10};
  static constexpr std::string_view ids[] = {"", "fz", "c", "client-with-a-longer-identifier"};

  harness_options o;
  session_config& c = o.cfg;
  const std::uint8_t b0 = r.byte(), b1 = r.byte(), b2 = r.byte(), b3 = r.byte();
  const std::uint8_t b4 = r.byte(), b5 = r.byte(), b6 = r.byte();
  c.version = (b0 & 1) ? protocol_version::v5 : protocol_version::v3_1_1;
  c.manual_ack = b0 & 2;
  c.auto_resubscribe = b0 & 4;
  c.republish_after_session_loss = b0 & 8;
  c.queue_qos0_while_offline = b0 & 16;
  c.when_queue_full = (b0 & 32) ? queue_full_policy::drop_oldest : queue_full_policy::reject;
  c.auto_reconnect = !(b0 & 64);
  c.retry_first_connection = b0 & 128;
  static constexpr clean_start_policy cleans[] = {
      clean_start_policy::always, clean_start_policy::first_only, clean_start_policy::never,
      clean_start_policy::first_only};
  c.clean_start = cleans[b1 & 3];
  c.keep_alive = std::chrono::seconds(keep_alive[(b1 >> 2) & 7]);
  if ((b1 & 32) && c.version == protocol_version::v5) c.auth = &auth;
  if (b1 & 64)
    c.will =
        will_message{"will/t", as_bytes(std::string_view("bye")), qos::at_least_once, false, {}};
  o.auto_write = b1 & 128;
  c.max_inflight = inflight[b2 & 7];
  c.receive_maximum = receive_max[(b2 >> 3) & 7];
  auth.mode = static_cast<std::uint8_t>(b2 >> 6);
  c.max_queued_messages = queued[b3 & 7];
  c.max_queued_bytes = queued_bytes[(b3 >> 3) & 7];
  c.topic_alias_maximum = aliases[(b3 >> 6) & 3];
  c.max_outgoing_topic_aliases = aliases[b4 & 3];
  c.ack_timeout = acks[(b4 >> 2) & 3];
  c.maximum_packet_size = max_packet[(b4 >> 4) & 7];
  c.request_problem_information = !(b4 & 128);
  c.max_transmit_bytes = transmit[b5 & 3];
  c.connect_timeout = timeouts[(b5 >> 2) & 3];
  c.ping_timeout = pings[(b5 >> 4) & 3];
  c.backoff.initial = backoffs[(b5 >> 6) & 3];
  c.backoff.maximum = 30s;
  c.backoff.stable_after = 10s;
  c.session_expiry_interval = expiry[b6 & 3];
  c.client_id = ids[(b6 >> 2) & 3];
  if (b6 & 16) {
    c.username = "user";
    c.password = as_bytes(std::string_view("SECRET-pw"));
  }
  o.prompt_close = b6 & 32;
  if (b6 & 64) c.log = {check_log, nullptr, log_level::debug};
  c.request_response_information = b6 & 128;
  c.random_seed = r.byte();
  return o;
}

// ---- well-formed server packets ----------------------------------------------------------------

inline bool encode_into(const packet& p, protocol_version v, std::vector<std::byte>& out) {
  const auto m = measure(p, v);
  if (!m) return false;
  out.resize(m->total);
  write(p, v, *m, out.data());
  return true;
}

inline std::uint16_t pick_id(reader& r, const std::vector<std::uint16_t>& known) {
  const std::uint8_t b = r.byte();
  if (b < 200 && !known.empty()) return known[b % known.size()];
  if (b < 248) return static_cast<std::uint16_t>(1 + b % 8);
  return r.u16();
}

inline reason_code pick_code(reader& r, packet_type t, bool v5) {
  static constexpr std::uint8_t connack5[] = {0x80, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A,
                                              0x8C, 0x95, 0x97, 0x9C, 0x9D, 0x9F, 0x82, 0x99};
  static constexpr std::uint8_t connack3[] = {0x84, 0x85, 0x88, 0x86, 0x87};
  static constexpr std::uint8_t pub[] = {0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
  static constexpr std::uint8_t rel[] = {0x92};
  static constexpr std::uint8_t sub[] = {0x01, 0x02, 0x80, 0x83, 0x87, 0x8F,
                                         0x91, 0x97, 0x9E, 0xA1, 0xA2};
  static constexpr std::uint8_t sub3[] = {0x01, 0x02, 0x80};
  static constexpr std::uint8_t unsub[] = {0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
  static constexpr std::uint8_t disc[] = {0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D,
                                          0x8E, 0x93, 0x94, 0x95, 0x9C, 0x9D, 0x9F, 0x97};
  static constexpr std::uint8_t auth[] = {0x18, 0x19, 0x18};
  const std::uint8_t b = r.byte();
  if (b < 128) return reason_code::success;
  auto from = [&](const auto& table) {
    return static_cast<reason_code>(table[b % std::size(table)]);
  };
  switch (t) {
    case packet_type::connack: return v5 ? from(connack5) : from(connack3);
    case packet_type::suback: return v5 ? from(sub) : from(sub3);
    case packet_type::unsuback: return from(unsub);
    case packet_type::disconnect: return from(disc);
    case packet_type::auth: return from(auth);
    case packet_type::pubrel:
    case packet_type::pubcomp: return v5 ? from(rel) : reason_code::success;
    default: return v5 ? from(pub) : reason_code::success;
  }
}

// Ids the harness has seen, so that acknowledgements usually match something.
struct id_pools {
  std::vector<std::uint16_t> out;  // the client's recent QoS 1/2 PUBLISH, SUBSCRIBE, UNSUBSCRIBE
  std::vector<std::uint16_t> in;   // recent QoS 1/2 PUBLISH fed to the client
  static void remember(std::vector<std::uint16_t>& v, std::uint16_t id) {
    if (v.size() >= 16) v.erase(v.begin());
    v.push_back(id);
  }
};

// Properties for a server packet: up to 5, each from `allowed` (indexes into the generator).
inline void add_props(reader& r, std::vector<property>& out,
                      std::span<const std::uint8_t> allowed) {
  static constexpr std::uint32_t small[] = {0, 1, 2, 3, 5, 8, 60, 65'535};
  static constexpr std::uint32_t sizes[] = {20, 40, 64, 128, 1024, 65'536, 12, 300};
  static constexpr std::string_view texts[] = {"FZ",     "other", "x", "ok",
                                               "srv-id", "a/b",   "",  "r/t"};
  std::uint64_t used = 0;
  for (unsigned n = r.byte() % 6; n > 0; --n) {
    const std::uint8_t which = allowed[r.byte() % allowed.size()];
    if (which != 15 && (used >> which & 1)) continue;  // only User Property may repeat
    used |= std::uint64_t{1} << which;
    const std::uint8_t v = r.byte();
    const std::uint32_t num = small[v & 7];
    const std::string_view text = texts[v & 7];
    using id = property_id;
    switch (which) {
      case 0: out.push_back(property::integer(id::receive_maximum, num == 0 ? 1 : num)); break;
      case 1: out.push_back(property::integer(id::maximum_qos, v & 1)); break;
      case 2: out.push_back(property::integer(id::retain_available, v & 1)); break;
      case 3: out.push_back(property::integer(id::maximum_packet_size, sizes[v & 7])); break;
      case 4: out.push_back(property::integer(id::topic_alias_maximum, v & 7)); break;
      case 5: out.push_back(property::string(id::assigned_client_identifier, text)); break;
      case 6: out.push_back(property::integer(id::server_keep_alive, num)); break;
      case 7: out.push_back(property::integer(id::wildcard_subscription_available, v & 1)); break;
      case 8: out.push_back(property::integer(id::subscription_identifier_available, v & 1)); break;
      case 9: out.push_back(property::integer(id::shared_subscription_available, v & 1)); break;
      case 10: out.push_back(property::integer(id::session_expiry_interval, num)); break;
      case 11:
        out.push_back(property::string(id::authentication_method, v & 1 ? "FZ" : text));
        break;
      case 12: out.push_back(property::string(id::authentication_data, text)); break;
      case 13: out.push_back(property::string(id::server_reference, "other:1883")); break;
      case 14: out.push_back(property::string(id::reason_string, "why")); break;
      case 15: out.push_back(property::user("k", text)); break;
      case 16: out.push_back(property::integer(id::topic_alias, v % 10)); break;
      case 17: out.push_back(property::integer(id::message_expiry_interval, num)); break;
      case 18:
        out.push_back(property::integer(id::subscription_identifier, num == 0 ? 7 : num));
        break;
      case 19: out.push_back(property::integer(id::payload_format_indicator, v & 1)); break;
      case 20: out.push_back(property::string(id::content_type, text)); break;
      case 21: out.push_back(property::string(id::response_topic, "r/t")); break;
      case 22: out.push_back(property::string(id::correlation_data, text)); break;
      case 23: out.push_back(property::string(id::response_information, "resp")); break;
      default: break;
    }
  }
}

// A server packet of a fuzz-chosen kind and fields, encoded for `v`; false when the choices do
// not encode (then nothing is fed).
inline bool build_server_packet(reader& r, protocol_version v, id_pools& ids,
                                std::vector<std::byte>& out) {
  static constexpr std::uint8_t connack_props[] = {0,  1,  2,  3,  4,  5,  6,  7, 8, 9,
                                                   10, 11, 12, 13, 14, 15, 23, 0, 3, 4};
  static constexpr std::uint8_t publish_props[] = {16, 16, 17, 18, 19, 20, 21, 22, 15};
  static constexpr std::uint8_t ack_props[] = {14, 15};
  static constexpr std::uint8_t disconnect_props[] = {13, 14, 15, 10};
  static constexpr std::uint8_t auth_props[] = {11, 11, 12, 12, 14, 15};
  static constexpr std::string_view topics[] = {"a/b", "x", "sensors/a1/temp0", "", "$SYS/x", "a"};
  const bool v5 = v == protocol_version::v5;
  std::vector<property> props;
  auto with = [&](std::span<const std::uint8_t> allowed) {
    if (v5) add_props(r, props, allowed);
    return properties(props);
  };
  std::vector<reason_code> codes;
  const std::uint8_t kind = r.byte() % 13;
  switch (kind) {
    case 0:
    case 11: {
      const std::uint8_t flags = r.byte();
      const reason_code code = pick_code(r, packet_type::connack, v5);
      return encode_into(connack{(flags & 1) && !is_failure(code), code, with(connack_props)}, v,
                         out);
    }
    case 1:
    case 12: {
      publish p;
      const std::uint8_t flags = r.byte();
      p.q = static_cast<qos>(flags % 3);
      p.dup = (flags & 4) && p.q != qos::at_most_once;
      p.retain = flags & 8;
      p.topic = topics[(flags >> 4) % std::size(topics)];
      if (p.q != qos::at_most_once) {
        p.packet_id = pick_id(r, ids.in);
        id_pools::remember(ids.in, p.packet_id);
      }
      std::string big;
      const std::uint8_t size = r.byte();
      if (size < 240) {
        p.payload = r.raw(size % 64);
      } else {
        big.assign(std::size_t{100} << (size % 8), 'p');
        p.payload = as_bytes(big);
      }
      p.props = with(publish_props);
      return encode_into(p, v, out);
    }
    case 2:
      return encode_into(
          puback{pick_id(r, ids.out), pick_code(r, packet_type::puback, v5), with(ack_props)}, v,
          out);
    case 3:
      return encode_into(
          pubrec{pick_id(r, ids.out), pick_code(r, packet_type::pubrec, v5), with(ack_props)}, v,
          out);
    case 4:
      return encode_into(
          pubrel{pick_id(r, ids.in), pick_code(r, packet_type::pubrel, v5), with(ack_props)}, v,
          out);
    case 5:
      return encode_into(
          pubcomp{pick_id(r, ids.out), pick_code(r, packet_type::pubcomp, v5), with(ack_props)}, v,
          out);
    case 6:
    case 7: {
      const std::uint16_t id = pick_id(r, ids.out);
      const bool sub = kind == 6;
      for (unsigned n = 1 + r.byte() % 3; n > 0; --n)
        codes.push_back(pick_code(r, sub ? packet_type::suback : packet_type::unsuback, v5));
      if (sub) return encode_into(suback{id, reason_code_list(codes), with(ack_props)}, v, out);
      if (!v5) codes.clear();
      return encode_into(unsuback{id, reason_code_list(codes), with(ack_props)}, v, out);
    }
    case 8:
    case 9: return encode_into(pingresp{}, v, out);
    case 10: {
      if (r.byte() & 1) {
        const reason_code code = pick_code(r, packet_type::auth, v5);
        return encode_into(tern::auth{code, with(auth_props)}, v, out);
      }
      const reason_code code = pick_code(r, packet_type::disconnect, v5);
      return encode_into(disconnect{code, with(disconnect_props)}, v, out);
    }
    default: return false;
  }
}

// ---- what the harness reads back --------------------------------------------------------------

// Every publish() payload starts with 'T' 'Z' and the harness's serial of the call (u32).
constexpr std::size_t k_tag = 6;
inline std::vector<std::byte> tagged(std::uint32_t serial) {
  std::vector<std::byte> b{std::byte{'T'}, std::byte{'Z'}};
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::byte>(serial >> (24 - 8 * i)));
  return b;
}
// The serial of a payload, ~0u when it carries none.
inline std::uint32_t serial_of(bytes_view payload) {
  if (payload.size() < k_tag || payload[0] != std::byte{'T'} || payload[1] != std::byte{'Z'})
    return ~0u;
  std::uint32_t serial = 0;
  for (int i = 0; i < 4; ++i) serial = serial << 8 | static_cast<std::uint8_t>(payload[2 + i]);
  return serial;
}

inline std::uint64_t hash(bytes_view b) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::byte x : b) h = (h ^ static_cast<std::uint8_t>(x)) * 1099511628211ull;
  return h;
}

// What the first CONNACK of a connection grants (5.0 properties, or the 3.1.1 defaults).
struct server_view {
  bool success = false, session_present = false;
  std::uint16_t receive_maximum = 65'535, topic_alias_maximum = 0;
  std::uint32_t maximum_packet_size = max_packet_size_limit;
  qos maximum_qos = qos::exactly_once;
  bool retain = true, wildcard = true, subscription_ids = true, shared = true;
  std::map<std::uint16_t, std::uint32_t> releases;  // PUBREL counts before it (session.cpp)
};

inline server_view read_connack(const connack& c, bool v5) {
  server_view v;
  v.success = !is_failure(c.code);
  v.session_present = c.session_present;
  if (!v5) return v;
  const properties& ps = c.props;
  auto flag = [&](property_id id) { return ps.number(id).value_or(1) != 0; };
  v.receive_maximum =
      static_cast<std::uint16_t>(ps.number(property_id::receive_maximum).value_or(65'535));
  v.maximum_packet_size =
      ps.number(property_id::maximum_packet_size).value_or(max_packet_size_limit);
  v.maximum_qos = static_cast<qos>(ps.number(property_id::maximum_qos).value_or(2));
  v.retain = flag(property_id::retain_available);
  v.wildcard = flag(property_id::wildcard_subscription_available);
  v.subscription_ids = flag(property_id::subscription_identifier_available);
  v.shared = flag(property_id::shared_subscription_available);
  v.topic_alias_maximum =
      static_cast<std::uint16_t>(ps.number(property_id::topic_alias_maximum).value_or(0));
  return v;
}

// A packet waiting in the transmit queue: its kind, packet id, and the serial of a PUBLISH.
struct peeked {
  packet_type type;
  std::uint16_t id;
  std::uint32_t serial;
  bool success;  // PUBREL reason code
};

inline std::vector<peeked> decode_queued(bytes_view rest, protocol_version v) {
  std::vector<peeked> out;
  for (;;) {
    std::size_t used = 0;
    const auto r = decode_packet(rest, {v, sender::client, max_packet_size_limit}, used);
    if (!r || !*r) return out;
    rest = rest.subspan(used);
    peeked x{type_of(**r), 0, ~0u, true};
    if (const auto* p = std::get_if<publish>(&**r)) {
      x.id = p->packet_id;
      x.serial = serial_of(p->payload);
    } else if (const auto* sub = std::get_if<subscribe>(&**r)) {
      x.id = sub->packet_id;
    } else if (const auto* uns = std::get_if<unsubscribe>(&**r)) {
      x.id = uns->packet_id;
    } else if (const auto* rel = std::get_if<pubrel>(&**r)) {
      x.id = rel->packet_id;
      x.success = !is_failure(rel->code);
    }
    out.push_back(x);
  }
}

// ---- commands ----------------------------------------------------------------------------------

// clang-format off
constexpr const char* k_op_names[24] = {
    "connect", "opened", "opened", "closed", "feed raw", "feed raw", "feed pkt", "feed pkt",
    "feed pkt", "publish", "publish/withdraw", "subscribe", "unsubscribe", "ack", "disconnect",
    "reauthenticate", "write", "write", "toggle block", "advance", "to deadline",
    "advance (no timer)", "early timeout", "restart"};
// clang-format on

struct publish_choice {
  publish p;
  std::vector<std::byte> payload;  // the serial's tag, then bytes of the input or filler
  std::vector<property> props;
};

// Arguments for publish(), invalid ones included (QoS 3, wildcards, a packet id, Topic Alias).
inline publish_choice read_publish(reader& r, std::uint32_t serial) {
  static constexpr std::string_view topics[] = {
      "a", "a/b", "sensors/a1/temp0", "x/y/z", "$SYS/t", "a/+", "", "t/long/long/long/long/long"};
  static constexpr std::size_t big[] = {256, 1000, 5000, 70'000};
  static constexpr std::uint8_t allowed_props[] = {17, 17, 15, 19, 20, 21, 22, 16, 18};
  publish_choice c;
  const std::uint8_t flags = r.byte();
  c.p.topic = topics[flags & 7];
  c.p.q = static_cast<qos>((flags >> 3) % 4);
  c.p.retain = flags & 32;
  if (flags == 0xFF) c.p.packet_id = 9;  // not the caller's to give
  c.payload = tagged(serial);
  const std::uint8_t size = r.byte();
  if (size < 200) {
    const bytes_view extra = r.raw(size % 65);
    c.payload.insert(c.payload.end(), extra.begin(), extra.end());
  } else {
    c.payload.resize(k_tag + big[size % 4], std::byte{'p'});
  }
  c.p.payload = c.payload;
  if (r.byte() & 1) add_props(r, c.props, allowed_props);
  c.p.props = c.props;
  return c;
}

struct subscribe_choice {
  std::vector<subscription> subs;
  std::vector<std::string_view> filters;
  std::vector<property> props;
  std::size_t bytes = 160;  // what a request record may take
};

inline subscribe_choice read_subscribe(reader& r) {
  static constexpr std::string_view filters[] = {"a/b",       "a/+",   "#", "$share/g/a/#", "+/x/#",
                                                 "sensors/#", "a/#/b", "",  "$SYS/#",       "x"};
  subscribe_choice c;
  for (unsigned n = 1 + r.byte() % 3; n > 0; --n) {
    const std::uint8_t o = r.byte();
    const std::string_view f = filters[r.byte() % std::size(filters)];
    c.subs.push_back({f,
                      {static_cast<qos>(o & 3), (o & 4) != 0, (o & 8) != 0,
                       static_cast<retain_handling>((o >> 4) & 3)}});
    c.filters.push_back(f);
    c.bytes += f.size() + 96;
  }
  const std::uint8_t p = r.byte();
  if (p & 1)
    c.props.push_back(property::integer(property_id::subscription_identifier, 1 + (p >> 1)));
  if (p & 2) c.props.push_back(property::user("k", "v"));
  return c;
}

// ---- bounded memory ----------------------------------------------------------------------------

// What the harness saw that the session's memory may depend on.
struct usage {
  std::size_t base = 0;       // in use right after construction (the session, its config)
  std::size_t fed_total = 0;  // bytes fed over the run
  std::size_t max_chunk = 0;  // the largest handle_bytes / handle_received
  std::size_t s_max = 0;      // the largest PUBLISH publish() accepted, encoded
  std::size_t owed = 0;       // packets fed since the transmit queue was last empty
  std::size_t max_owed = 0;
  std::size_t late_pending = 0;  // messages acked before they were written, not written yet
  std::size_t sub_total = 0;     // request records of every subscribe() (the list grows)
  std::map<std::uint16_t, std::size_t> requests;  // outstanding SUBSCRIBE / UNSUBSCRIBE records
};

// The most the session may hold. Configured: the receive buffer (one packet up to our Maximum
// Packet Size, but never more than twice what arrived plus 64 KiB), the assigned client id,
// Server Reference and incoming alias topics (each one packet at most), the transmit buffer
// (max_transmit_bytes of commands plus one packet), stored messages (the queue bounds, twice the
// in-flight window for a session-loss requeue), outgoing alias topics, incoming QoS 1/2 ids
// (receive_maximum), rings of segments and events twice their fill, 64 KiB of constants.
// Unconfigured, from the peer or the application: control replies owed while the transport is
// blocked, messages acked before they were written (freed once written), SUBSCRIBE records
// outstanding and the subscription list. Doubled wherever a vector may have doubled.
inline std::size_t memory_bound(const session_config& cfg, const usage& u) {
  const std::size_t maxp =
      cfg.maximum_packet_size ? cfg.maximum_packet_size : max_packet_size_limit;
  const std::size_t arrived = 2 * u.fed_total + (64u << 10);
  const std::size_t packet_in = std::min<std::size_t>(maxp, arrived);
  const std::size_t topic_max = std::min<std::size_t>(packet_in, 65'540);
  const std::size_t window = std::max<std::size_t>(cfg.max_inflight, 1);
  const std::size_t unit = u.s_max + 256;  // a stored message and its bookkeeping
  const std::size_t stored = cfg.max_queued_messages + 2 * window + u.late_pending;
  const std::size_t stored_bytes =
      std::min(stored * unit, cfg.max_queued_bytes + stored * 256 + 2 * window * unit);
  const std::size_t transmit_items = cfg.max_transmit_bytes / 5 + 2 * stored + u.max_owed + 64;
  std::size_t request_bytes = 0;
  for (const auto& r : u.requests) request_bytes += r.second;
  return u.base + (64u << 10) + 2 * (packet_in + 2048) + 3 * u.max_chunk +
         2 * (2 + cfg.topic_alias_maximum) * topic_max +
         2 * (cfg.max_transmit_bytes + u.s_max + 2048) + 2 * 8 * u.max_owed + 2 * stored_bytes +
         4 * 32 * transmit_items +
         2 * sizeof(event) * (stored + u.requests.size() + u.max_chunk / 2 + 64) + stored_bytes +
         64 * stored + 2 * cfg.max_outgoing_topic_aliases * unit + 2 * request_bytes +
         3 * u.sub_total + 16 * std::size_t{cfg.receive_maximum};
}

}  // namespace tern::fuzz
