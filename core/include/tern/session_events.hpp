// What a session reports: actions for the adapter (open or close a transport) and events for
// the application. Views inside events (topics, payloads, properties, reason code lists) stay
// valid until the next call to a handle_* function or receive_buffer() of the session.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "tern/decode_error.hpp"
#include "tern/packets.hpp"
#include "tern/reason_code.hpp"
#include "tern/time.hpp"

namespace tern {

// ---- Actions: the adapter must carry these out ------------------------------------------

// Open a transport (TCP, TLS, WebSocket) to the broker, then call handle_transport_opened()
// or handle_transport_closed(). `server_reference` is empty for the configured broker, or the
// Server Reference a broker sent with Use another server / Server moved.
struct open_transport {
  std::string_view server_reference;
};
// Close the transport, then call handle_transport_closed(). Whatever poll_transmit() still
// holds then is not needed (a final DISCONNECT is written before this action is given).
struct close_transport {};
using action = std::variant<open_transport, close_transport>;

// ---- Events: the application reads these ------------------------------------------------

// The broker's limits and features, from CONNACK (5.0) or the 3.1.1 defaults.
struct server_limits {
  std::uint16_t receive_maximum = 65'535;
  qos maximum_qos = qos::exactly_once;
  bool retain_available = true;
  std::uint32_t maximum_packet_size = max_packet_size_limit;
  std::uint16_t topic_alias_maximum = 0;
  bool wildcard_subscription_available = true;
  bool subscription_identifier_available = true;
  bool shared_subscription_available = true;
  std::uint16_t keep_alive = 0;  // seconds in effect (Server Keep Alive overrides ours)
  std::uint32_t session_expiry_interval = 0;
};

struct connected {
  bool session_present = false;
  std::string_view assigned_client_id;  // 5.0, when the broker chose the identifier
  server_limits limits;
  properties props;  // all CONNACK properties, e.g. Response Information, User Properties
};

// Why a connection ended, or an attempt failed.
enum class disconnect_cause : std::uint8_t {
  client_disconnect,   // disconnect() completed
  server_disconnect,   // the broker sent DISCONNECT (5.0)
  connection_refused,  // CONNACK with a failure reason code
  transport_closed,    // the transport closed or failed (or could not be opened)
  protocol_error,      // the broker sent something invalid; see `error`
  keep_alive_timeout,  // no PINGRESP in time
  connect_timeout,     // no CONNACK in time
  ack_timeout,         // a PUBLISH was not acknowledged in time
  authentication_failed,  // the authenticator rejected the exchange
};

std::string_view to_string(disconnect_cause c) noexcept;

struct disconnected {
  disconnect_cause cause{};
  reason_code code = reason_code::success;  // the broker's or the one we sent
  std::optional<decode_error> error;        // for protocol_error from a decode failure
  properties props;                         // DISCONNECT or CONNACK properties (5.0)
  std::string_view reason_string;           // from props, when the broker sent one
  std::optional<time_point> reconnect_at;   // when a reconnection is scheduled
};

// An application message. With manual_ack, a QoS 1/2 message must be passed to ack().
struct message {
  publish packet;  // topic resolved from a topic alias; packet.props as received
  bool needs_ack = false;
};

// Outgoing publish identifiers, returned by publish() and carried by its completion.
using message_id = std::uint64_t;

enum class publish_outcome : std::uint8_t {
  sent,          // QoS 0 written to the transport
  acknowledged,  // PUBACK / PUBCOMP arrived; `code` says whether the broker accepted it
  session_lost,  // the broker had no session and the message was not republished
  expired,       // its Message Expiry Interval passed while it waited in the queue
  dropped,       // removed from a full queue (drop_oldest) or too large for the server
  offline_discarded,  // QoS 0 pending when the connection dropped
};

std::string_view to_string(publish_outcome o) noexcept;

struct publish_completed {
  message_id id = 0;
  std::uint16_t packet_id = 0;
  qos q = qos::at_most_once;
  publish_outcome outcome = publish_outcome::sent;
  reason_code code = reason_code::success;  // PUBACK/PUBREC/PUBCOMP reason (5.0)
  bool reached_broker = false;              // the broker acknowledged receipt at least once
  properties props;                         // of the ack, when any
};

struct subscribed {
  std::uint16_t packet_id = 0;
  reason_code_list codes;  // granted QoS or failure per filter, in order
  properties props;
  bool resubscribe = false;  // sent by auto_resubscribe after the broker lost the session
  bool aborted = false;      // the connection ended before the broker answered (no codes)
};

struct unsubscribed {
  std::uint16_t packet_id = 0;
  reason_code_list codes;  // empty before 5.0
  properties props;
  bool aborted = false;  // the connection ended before the broker answered
};

// A re-authentication finished (5.0 AUTH Success after reauthenticate()).
struct reauthenticated {
  properties props;
};

using event =
    std::variant<connected, disconnected, message, publish_completed, subscribed, unsubscribed,
                 reauthenticated>;

}  // namespace tern
