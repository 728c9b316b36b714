// Everything a session is configured with. Views given here are copied by the session when it
// is constructed: the caller's strings need not outlive the constructor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "tern/authenticator.hpp"
#include "tern/bytes.hpp"
#include "tern/log.hpp"
#include "tern/packets.hpp"
#include "tern/properties.hpp"
#include "tern/protocol.hpp"
#include "tern/time.hpp"

namespace tern {

// When CONNECT asks for a new session [MQTT 3.1.2.4].
enum class clean_start_policy : std::uint8_t {
  always,      // every connection starts a new session (3.1.1 "clean session")
  first_only,  // the first connection starts clean, reconnections resume
  never,       // always resume (a persistent session across restarts, with restore_state)
};

// What publish() does when the pending queue is at its bound.
enum class queue_full_policy : std::uint8_t {
  reject,       // publish() fails with errc::queue_full; nothing is lost silently
  drop_oldest,  // the oldest queued message is dropped and reported with outcome dropped
};

// Reconnection delays: initial * factor^n, capped at maximum, each shortened by up to
// `jitter` (a fraction) at random so that many clients do not reconnect in lock step.
struct backoff_config {
  duration initial = std::chrono::seconds(1);
  duration maximum = std::chrono::minutes(2);
  double factor = 2.0;
  double jitter = 0.25;
  // A connection that stayed up at least this long resets the delay to `initial`.
  duration stable_after = std::chrono::seconds(30);
};

struct session_config {
  // ---- CONNECT ---------------------------------------------------------------------------
  protocol_version version = protocol_version::v5;
  std::string_view client_id;  // empty: the broker assigns one (5.0) or 3.1.1 needs clean start
  clean_start_policy clean_start = clean_start_policy::first_only;
  std::chrono::seconds keep_alive{60};  // 0 turns keep-alive off
  std::optional<std::string_view> username;
  std::optional<bytes_view> password;
  std::optional<will_message> will;  // topic, payload, QoS, retain, Will Properties (5.0)
  // 5.0 CONNECT properties
  std::uint32_t session_expiry_interval = 0;  // seconds; 0xFFFFFFFF never expires
  // The incoming QoS 1/2 window we accept (5.0); a broker that sends more is disconnected with
  // 0x93, counting a QoS 2 message until its PUBCOMP [MQTT 4.9]. mosquitto 2.0.x frees the slot
  // at PUBREC already, so against it keep this above its max_inflight_messages.
  std::uint16_t receive_maximum = 65'535;
  std::uint32_t maximum_packet_size = 0;      // largest packet we accept; 0 = protocol limit
  std::uint16_t topic_alias_maximum = 0;      // incoming topic aliases we accept
  bool request_response_information = false;
  bool request_problem_information = true;
  std::span<const property> user_properties;  // User Properties of CONNECT
  authenticator* auth = nullptr;              // enhanced authentication (5.0); not owned

  // ---- Flow control and queues -----------------------------------------------------------
  std::uint16_t max_inflight = 20;         // own cap on the outgoing QoS 1/2 window
  std::size_t max_queued_messages = 1000;  // publishes waiting for the window or a connection
  std::size_t max_queued_bytes = 16u << 20;
  queue_full_policy when_queue_full = queue_full_policy::reject;
  bool queue_qos0_while_offline = false;   // otherwise QoS 0 publish while offline fails
  // Unwritten bytes before publish() / subscribe() report would_block; a packet larger than
  // this is still taken when nothing waits to be written (it could never go otherwise).
  std::size_t max_transmit_bytes = 4u << 20;
  std::uint16_t max_outgoing_topic_aliases = 16;  // 0: never send topic aliases

  // ---- Behaviour -------------------------------------------------------------------------
  bool auto_reconnect = true;
  bool retry_first_connection = false;  // reconnect also when the first attempt fails
  bool auto_resubscribe = true;         // replay subscriptions when the broker lost them
  // When the broker has no session for us, unacknowledged QoS 1 and not-yet-received QoS 2
  // messages are published again as new messages (at-least-once kept); otherwise they are
  // reported as lost. QoS 2 messages the broker already acknowledged with PUBREC are never
  // sent again: that would deliver them twice.
  bool republish_after_session_loss = true;
  bool manual_ack = false;  // incoming QoS 1/2 are acknowledged by ack(), not on delivery

  // ---- Timers ----------------------------------------------------------------------------
  duration connect_timeout = std::chrono::seconds(30);  // transport opened to CONNACK
  duration ping_timeout{};           // PINGREQ due to PINGRESP; 0 = the keep-alive interval
  duration ack_timeout{};             // PUBLISH written to its ack; 0 = wait forever
  backoff_config backoff;
  std::uint64_t random_seed = 0;  // jitter randomness; give each client its own

  log_sink log;
};

}  // namespace tern
