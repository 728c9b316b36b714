// Private: the session's state and the functions its source files share.
//
// Theory of operation. The session is a set of small queues around the codec:
//   * `transmit` — what to write, as segments: runs of bytes in its own buffer (control
//     packets, QoS 0 publishes, rebuilt headers) or views of stored QoS 1/2 messages, so a
//     large payload is never copied again. Markers ride in the queue to act when the bytes
//     before them are written (QoS 0 "sent" events, closing after DISCONNECT).
//   * `inflight` — outgoing QoS 1/2 messages holding packet ids, in send order; `pending` —
//     messages waiting for the window or for a connection. Each is one allocation holding
//     the encoded PUBLISH; DUP and the packet id are patched in place.
//   * `events`, `actions` — what the application and the adapter drain.
//   * `timers` — absolute deadlines; poll_timeout() is their minimum.
// Inputs are decoded in place from the receive buffer and dispatched by packet kind.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "packet_id_set.hpp"
#include "ring.hpp"
#include "tern/backoff.hpp"
#include "tern/decoder.hpp"
#include "tern/encoder.hpp"
#include "tern/session.hpp"

namespace tern {

namespace detail {

// An outgoing PUBLISH kept encoded (canonical form: full topic, no Topic Alias).
struct stored_message {
  enum class stage : std::uint8_t { pending, awaiting_ack, awaiting_pubcomp };

  message_id id = 0;
  std::uint16_t packet_id = 0;
  qos q = qos::at_most_once;
  stage at = stage::pending;
  bool sent_before = false;       // a resend must carry DUP [MQTT-3.3.1-1]
  bool sent_this_connection = false;
  bool acked_while_queued = false;  // freed once its bytes leave the transmit queue
  bool restored = false;            // from restore_state(): queued_at is set by connect()
  std::uint32_t in_transmit = 0;    // transmit segments that view these bytes
  std::uint32_t size = 0;           // bytes of the encoded packet
  std::uint32_t id_offset = 0;      // packet identifier (QoS > 0)
  std::uint32_t topic_offset = 0;   // topic string, after its length
  std::uint32_t topic_size = 0;
  std::uint32_t properties_offset = 0;  // the Property Length field (5.0)
  std::uint32_t payload_offset = 0;
  std::uint32_t expiry_offset = 0;  // Message Expiry Interval value, 0 when absent
  std::uint32_t expiry = 0;         // as given, in seconds
  time_point queued_at{};
  time_point sent_at{};

  std::byte* bytes() noexcept { return reinterpret_cast<std::byte*>(this + 1); }
  const std::byte* bytes() const noexcept { return reinterpret_cast<const std::byte*>(this + 1); }
};

// One entry of the transmit queue.
struct segment {
  enum class kind : std::uint8_t {
    owned,         // bytes [offset, offset + size) of the transmit buffer
    stored,        // bytes [offset, offset + size) of `message`
    qos0_sent,     // marker: QoS 0 message `id` has been written
    close_after,   // marker: everything before is written; close the transport
  };
  kind k = kind::owned;
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
  stored_message* message = nullptr;
  message_id id = 0;
};

// Finds topic, packet id, properties and payload of an encoded PUBLISH (session_publish.cpp).
void locate_stored_fields(stored_message& m, protocol_version v) noexcept;

// A PUBLISH's first byte with the DUP flag [MQTT 3.3.1.1] set or cleared.
inline std::byte with_dup(std::byte first, bool dup) noexcept {
  return dup ? (first | std::byte{0x08}) : (first & ~std::byte{0x08});
}

struct subscription_record {
  std::pmr::string filter;
  subscribe_options options;
  std::uint32_t identifier = 0;  // Subscription Identifier, 0 for none
};

struct request_record {
  std::uint16_t packet_id = 0;
  bool unsubscribe = false;
  bool resubscribe = false;
  std::uint32_t identifier = 0;
  std::pmr::vector<std::pair<std::pmr::string, subscribe_options>> entries;
};

struct incoming_qos2 {
  std::uint16_t packet_id = 0;
  bool acknowledged = false;  // PUBREC sent (or to be sent on the redelivery)
};

struct alias_entry {
  std::pmr::string topic;
  std::uint16_t alias = 0;
  std::uint64_t last_used = 0;
};

// connect_wait: transport opened to CONNACK; close_wait: close asked to transport closed.
enum timer : std::uint8_t { reconnect, connect_wait, ping_wait, close_wait, timer_count };

// The timer table: a deadline per timer, each set or not. The set bits live in one byte, so it
// is half the size of std::optional<time_point>[timer_count]; slots read like optionals.
class timer_table {
 public:
  class slot {
   public:
    slot(timer_table& t, timer i) noexcept : table_(t), i_(i) {}
    slot& operator=(time_point at) noexcept {
      table_.at_[i_] = at;
      table_.set_ = static_cast<std::uint8_t>(table_.set_ | (1u << i_));
      return *this;
    }
    void reset() noexcept { table_.set_ = static_cast<std::uint8_t>(table_.set_ & ~(1u << i_)); }
    explicit operator bool() const noexcept { return (table_.set_ >> i_) & 1u; }
    time_point operator*() const noexcept { return table_.at_[i_]; }

   private:
    timer_table& table_;
    timer i_;
  };
  slot operator[](timer i) noexcept { return {*this, i}; }
  std::optional<time_point> operator[](timer i) const noexcept {
    if (((set_ >> i) & 1u) == 0) return std::nullopt;
    return at_[i];
  }

 private:
  std::array<time_point, timer_count> at_{};
  std::uint8_t set_ = 0;
};

// What the session keeps of its session_config: the values it reads after construction
// (backoff and seed live in `retry`; will and CONNECT user properties in session_extras).
struct settings {
  explicit settings(const session_config& c) noexcept;

  std::string_view client_id;  // views into config_text, like username and password
  std::optional<std::string_view> username;
  std::optional<bytes_view> password;
  authenticator* auth;
  std::size_t max_queued_messages;
  std::size_t max_queued_bytes;
  std::size_t max_transmit_bytes;
  duration connect_timeout;
  duration ping_timeout;
  duration ack_timeout;
  duration stable_after;  // backoff.stable_after
  log_sink log;
  std::uint32_t session_expiry_interval;
  std::uint32_t maximum_packet_size;
  std::uint16_t keep_alive;  // seconds, as CONNECT carries it (at most 65,535)
  std::uint16_t receive_maximum;
  std::uint16_t topic_alias_maximum;
  std::uint16_t max_inflight;
  std::uint16_t max_outgoing_topic_aliases;
  protocol_version version;
  clean_start_policy clean_start;
  queue_full_policy when_queue_full;
  bool request_response_information;
  bool request_problem_information;
  bool queue_qos0_while_offline;
  bool auto_reconnect;
  bool retry_first_connection;
  bool auto_resubscribe;
  bool republish_after_session_loss;
  bool manual_ack;
};

// State only some sessions use (a will, CONNECT user properties, a broker-assigned id, a
// redirect, topic aliases, manual acks): one block from the session's resource, taken on first
// use, because each empty pmr container would cost every session 32-40 bytes.
struct session_extras {
  explicit session_extras(std::pmr::memory_resource* memory) noexcept
      : connect_user_props(memory),
        will_props(memory),
        assigned_client_id(memory),
        server_reference(memory),
        out_aliases(memory),
        in_aliases(memory),
        retired_aliases(memory),
        qos1_unacked(memory) {}

  std::optional<will_message> will;  // its views point into config_text; props: will_props
  std::pmr::vector<property> connect_user_props;
  std::pmr::vector<property> will_props;
  std::pmr::string assigned_client_id;
  std::pmr::string server_reference;
  std::pmr::vector<alias_entry> out_aliases;
  std::uint64_t alias_clock = 0;
  // Incoming Topic Alias mappings, index alias-1, and replaced mappings events may still view.
  // Character vectors, not strings: a moved vector keeps its buffer, while a short string's
  // characters move with the object and would leave those views reading the new mapping.
  std::pmr::vector<std::pmr::vector<char>> in_aliases;
  std::pmr::vector<std::pmr::vector<char>> retired_aliases;
  std::pmr::vector<std::uint16_t> qos1_unacked;  // manual_ack only
};

}  // namespace detail

struct session::impl {
  impl(const session_config& config, std::pmr::memory_resource* memory);
  ~impl();

  // Members run from 8-byte to 1-byte alignment within each group, so padding stays small:
  // an idle session is little more than this object (see trim_memory()).

  // ---- configuration (owned copies) ----
  std::pmr::memory_resource* mem;
  detail::settings cfg;
  std::pmr::vector<char> config_text;  // every string and byte string of the config, copied once
  detail::session_extras* extra = nullptr;  // see extras()

  // ---- connection ----
  time_point connected_at{};
  time_point last_write{};
  time_point last_now{};
  backoff retry;
  detail::timer_table timers;
  server_limits limits;
  std::uint16_t keep_alive = 0;  // seconds in effect
  session_state st = session_state::idle;
  bool reference_once = false;  // Use another server: for the next connection only
  bool redirected = false;      // a redirect arrived with the refusal or DISCONNECT at hand
  bool resume_next = false;  // the next CONNECT may resume (clean_start first_only / restore)
  bool sent_clean_start = true;
  bool transport_open = false;
  bool stop_after_close = false;  // user disconnect: no reconnection
  bool connected_once = false;    // a CONNACK accepted since connect()
  bool retry_after_close = false;  // the decision lose_connection() reported
  bool reauthenticating = false;
  bool ping_outstanding = false;
  // Slices handed out by poll_transmit() point into tbuf until the next commit: while they
  // are out, growing tbuf moves on to a copy and keeps the old buffer in retired_tbufs.
  mutable bool slices_out = false;
  // Every packet id in use is <= last_packet_id: the next one is free without a search. False
  // after the ids wrap around (or a restore) until a search finds it true again.
  bool ids_below_last = true;
  // Reads offer 2 KiB << read_shift: a read that fills its buffer doubles the next one (up to
  // 64 KiB), so a busy connection reads many packets per call; trim_memory() starts over.
  std::uint8_t read_shift = 0;
  std::uint16_t last_packet_id = 0;
  decoder_options dopts;

  // ---- receive ----
  std::pmr::vector<std::byte> rbuf;
  std::size_t rstart = 0;
  std::size_t rend = 0;
  std::size_t rneeded = 0;  // size of the packet at rstart, once its header is known

  // ---- transmit ----
  std::pmr::vector<std::byte> tbuf;
  std::pmr::vector<std::pmr::vector<std::byte>> retired_tbufs;
  std::size_t thead = 0;  // first unwritten byte of tbuf owned by a segment
  detail::ring<detail::segment> segments;
  std::size_t tsize = 0;  // bytes waiting in all segments
  // Where queued packets end in the stream, so a connection that must end knows whether a
  // packet is half written (then nothing may follow it: the stream would be corrupt).
  detail::ring<std::uint64_t> packet_ends;
  std::uint64_t written_total = 0;  // bytes committed on this connection
  std::uint64_t last_boundary = 0;  // the last packet end that was fully written

  // ---- outgoing messages ----
  detail::ring<detail::stored_message*> inflight;
  detail::ring<detail::stored_message*> pending;
  std::size_t pending_bytes = 0;
  std::size_t pending_qos0 = 0;  // QoS 0 messages among them (a new one must queue behind)
  // Both count inflight messages, which each hold a packet id: 32 bits are plenty.
  std::uint32_t window_used = 0;  // inflight messages sent on this connection
  std::uint32_t unsent_inflight = 0;  // inflight messages not (re)sent on this connection yet
  message_id next_message_id = 1;

  // ---- subscriptions ----
  std::pmr::vector<detail::request_record> requests;
  std::pmr::vector<detail::subscription_record> active_subscriptions;

  // ---- incoming messages ----
  detail::packet_id_set qos2_in;  // flag: PUBREC sent (or to be sent on the redelivery)

  // ---- outputs ----
  detail::ring<event> events;
  detail::ring<action> actions;

  // ---- rarely used state (session.cpp) ----
  // The extras block, allocated from `mem` on first use (never per message: each feature
  // takes it once, e.g. the first alias assigned or a will in the configuration).
  detail::session_extras& extras();
  std::string_view assigned_client_id() const noexcept {
    return extra != nullptr ? std::string_view(extra->assigned_client_id) : std::string_view();
  }
  std::string_view server_reference() const noexcept {
    return extra != nullptr ? std::string_view(extra->server_reference) : std::string_view();
  }
  std::size_t qos1_unacked_count() const noexcept {
    return extra != nullptr ? extra->qos1_unacked.size() : 0;
  }

  // ---- session_connection.cpp ----
  result<void, errc> start(time_point now);
  void on_transport_opened(time_point now);
  void on_transport_closed(time_point now);
  void on_connack(const connack& p, time_point now);
  void on_auth(const tern::auth& p, time_point now);
  void on_server_disconnect(const tern::disconnect& p, time_point now);
  void follow_reference(reason_code code, const properties& props);
  void on_timeout(time_point now);
  void queue_connect();
  tern::connect build_connect(std::pmr::vector<property>& props) const;
  result<void, errc> validate_connect() const;
  // Ends the connection for `report`'s reason: reports it now (with the reconnection time,
  // if one follows), sends DISCONNECT first when `code_to_send` is given (5.0), and asks the
  // adapter to close. The rest happens in after_connection_end() once the transport closed.
  void lose_connection(disconnected report, std::optional<reason_code> code_to_send,
                       bool may_retry, time_point now);
  void after_connection_end(time_point now);
  result<void, errc> user_disconnect(time_point now, reason_code code, const properties& props);
  result<void, errc> start_reauthentication(time_point now);
  void protocol_violation(decode_error e, time_point now);
  void protocol_violation(reason_code code, time_point now);
  std::optional<time_point> next_deadline() const noexcept;

  // ---- session_publish.cpp ----
  result<message_id, errc> publish(const tern::publish& msg, time_point now);
  result<void, errc> withdraw(message_id id) noexcept;
  void on_puback(std::uint16_t id, reason_code code, const properties& props, packet_type kind,
                 time_point now);
  void on_pubcomp(std::uint16_t id, reason_code code, const properties& props, time_point now);
  void fill_window(time_point now);
  void recount_unsent() noexcept;
  detail::stored_message* take_inflight(std::size_t i) noexcept;
  bool transmit_full(std::size_t more) const noexcept {
    return tsize != 0 && tsize + more > cfg.max_transmit_bytes;
  }
  void queue_pending(detail::stored_message* m) noexcept;
  detail::stored_message* take_pending(std::size_t i) noexcept;
  std::optional<reason_code> over_limits(const detail::stored_message& m) const noexcept;
  void send_stored(detail::stored_message* m, time_point now);
  void resume_inflight(bool session_present, time_point now);
  void complete(detail::stored_message* m, publish_outcome outcome, reason_code code,
                const properties& props, bool reached_broker);
  void release(detail::stored_message* m) noexcept;
  std::uint16_t allocate_packet_id() noexcept;
  bool packet_id_in_use(std::uint16_t id) const noexcept;
  std::size_t window_limit() const noexcept;

  // ---- session_receive.cpp ----
  mutable_bytes receive_space();
  void process_received(time_point now);
  void dispatch(packet& p, time_point now);
  void on_publish(tern::publish& p, time_point now);
  void on_pubrel(std::uint16_t id, time_point now);
  result<void, errc> manual_ack(std::uint16_t id, reason_code code, time_point now);
  void reset_receive() noexcept;
  void note_read(std::size_t offered, std::size_t received) noexcept;  // grows read_shift

  // ---- session_subscribe.cpp ----
  result<std::uint16_t, errc> subscribe(std::span<const subscription> subs,
                                        const properties& props, time_point now);
  result<std::uint16_t, errc> unsubscribe(std::span<const std::string_view> filters,
                                          const properties& props, time_point now);
  void on_suback(const suback& p, time_point now);
  void on_unsuback(const unsuback& p, time_point now);
  void resubscribe(time_point now);
  void abort_requests();

  // ---- session_transmit.cpp ----
  // Encodes `p` into the transmit buffer. Control packets are never refused for space: they
  // are small and the protocol needs them; publish() checks max_transmit_bytes itself.
  bool send_packet(const packet& p);
  std::byte* reserve_owned(std::size_t n);  // appends an owned run of n bytes
  void push_stored(detail::stored_message* m, std::uint32_t offset, std::uint32_t size);
  void push_marker(detail::segment::kind k, message_id id = 0);
  std::size_t fill_slices(std::span<bytes_view> out) const noexcept;
  // Marks the end of a whole packet just queued.
  void end_packet() { packet_ends.push_back(written_total + tsize); }
  bool mid_packet() const noexcept { return written_total != last_boundary; }
  void consume(std::size_t n, time_point now);
  void clear_transmit();
  // Builds the header of a stored PUBLISH with a Topic Alias (and the topic when the alias is
  // new) in the transmit buffer; the payload goes out as a view of the stored bytes.
  bool send_with_alias(detail::stored_message* m, bool dup);
  bool send_qos0_with_alias(const tern::publish& p);
  bool aliases_on() const noexcept {
    return v5() && cfg.max_outgoing_topic_aliases != 0 && limits.topic_alias_maximum != 0;
  }
  std::uint16_t alias_capacity() const noexcept {
    return std::min(cfg.max_outgoing_topic_aliases, limits.topic_alias_maximum);
  }
  std::optional<std::uint16_t> find_alias(std::string_view topic) noexcept;
  std::uint16_t assign_alias(std::string_view topic);

  // ---- session_persistence.cpp ----
  template <class Out>
  void save(Out& out) const noexcept;

  // ---- logging ----
  template <class... Parts>
  void log(log_level level, const Parts&... parts) const noexcept {
    if (!cfg.log.enabled(level)) return;
    char buffer[256];
    std::size_t n = 0;
    (append_log(buffer, n, parts), ...);
    cfg.log.write(cfg.log.context, level, std::string_view(buffer, n));
  }
  static void append_log(char (&buffer)[256], std::size_t& n, std::string_view s) noexcept;
  static void append_log(char (&buffer)[256], std::size_t& n, const char* s) noexcept {
    append_log(buffer, n, std::string_view(s));
  }
  static void append_log(char (&buffer)[256], std::size_t& n, std::uint64_t v) noexcept;
  static void append_log(char (&buffer)[256], std::size_t& n, std::uint32_t v) noexcept {
    append_log(buffer, n, std::uint64_t{v});
  }
  static void append_log(char (&buffer)[256], std::size_t& n, std::uint16_t v) noexcept {
    append_log(buffer, n, std::uint64_t{v});
  }
  static void append_log(char (&buffer)[256], std::size_t& n, int v) noexcept {
    append_log(buffer, n, static_cast<std::uint64_t>(v < 0 ? 0 : v));
  }

  bool v5() const noexcept { return cfg.version == protocol_version::v5; }
  void push_event(event e) { events.push_back(std::move(e)); }
};

}  // namespace tern
