// tern::session — the MQTT client as a deterministic, sans-IO state machine.
//
// The session never touches a socket, a clock or a thread. The adapter feeds it what happened
// (handle_*), the application gives it commands (connect, publish, subscribe, ...), and both
// then drain what it produced (poll_*). Every call that can start or check a timer takes `now`,
// which must never go backwards.
//
// Drain order after every handle_* call and every command:
//   1. poll_action()    until empty — open or close a transport;
//   2. poll_event()     until empty — application events (the application may publish from
//                       here: what it sends joins the same write);
//   3. poll_transmit()  and write the slices; commit_transmit(n) with what was written
//                       (partial writes are fine), until nothing is left or the transport
//                       would block;
//   4. poll_timeout()   and arm one timer for it; when it passes call handle_timeout(now).
//                       A spurious or early handle_timeout() does nothing.
//
// Views handed out (event contents, receive_buffer()) stay valid until the next non-const call
// on the session, unless stated otherwise. Transmit slices are the exception made for
// asynchronous writes: they stay valid, showing the same bytes, until the next
// commit_transmit() or handle_transport_closed(), whatever else is called in between
// (commands, handle_received(), handle_timeout(), ...).
//
// Thread model: none. A session is used from one thread at a time; adapters serialise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>
#include <span>
#include <string_view>

#include "tern/bytes.hpp"
#include "tern/errc.hpp"
#include "tern/packets.hpp"
#include "tern/result.hpp"
#include "tern/session_config.hpp"
#include "tern/session_events.hpp"
#include "tern/time.hpp"

namespace tern {

enum class session_state : std::uint8_t {
  idle,           // not started, or stopped for good (disconnect(), or no reconnect)
  waiting,        // a reconnection is scheduled (backoff)
  opening,        // open_transport was requested; waiting for the adapter
  connecting,     // CONNECT sent; waiting for CONNACK (and AUTH exchanges)
  connected,      // CONNACK accepted
  disconnecting,  // DISCONNECT queued; the transport closes once it is written
};

std::string_view to_string(session_state s) noexcept;

class session {
 public:
  // Copies what it needs from `config`. All memory comes from `memory`.
  explicit session(const session_config& config,
                   std::pmr::memory_resource* memory = std::pmr::get_default_resource());
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  session(session&& other) noexcept;
  session& operator=(session&& other) noexcept;

  // ---- Commands ---------------------------------------------------------------------------

  // Starts connecting: asks for a transport (poll_action). errc::invalid_state unless idle.
  result<void, errc> connect(time_point now);

  // Publishes a message: topic, payload, QoS, retain and 5.0 properties from `msg` (its
  // packet_id and dup must be 0: the session assigns them; Topic Alias is the session's to
  // manage, so it must not be given). The bytes are copied before the call returns.
  // QoS 0 goes straight to the transmit buffer when connected. QoS 1/2 enter the in-flight
  // window (at most min(max_inflight, server Receive Maximum)) or wait in the pending queue,
  // as do all messages while offline. Messages of one QoS leave in publish order (a QoS 0
  // message waits behind an older queued QoS 0 one, not behind QoS 1/2 held by the window).
  // Its publish_completed event carries the returned id.
  // Errors (nothing changes): invalid topic / properties / QoS (errc from the encoder),
  // qos_not_supported, retain_not_supported, packet_too_large (over the server's Maximum
  // Packet Size), queue_full, would_block (transmit buffer full, QoS 0), not_connected (QoS 0
  // offline without queue_qos0_while_offline).
  result<message_id, errc> publish(const publish& msg, time_point now);
  // Takes back a publish still waiting in the queue (offline, or behind the window): it is
  // freed and no publish_completed event follows. unknown_message when it is not waiting (never
  // queued, already sent, or completed) — a message that went out can no longer be recalled.
  result<void, errc> withdraw(message_id id);

  // Subscribes to `subscriptions` with SUBSCRIBE properties `props` (a Subscription
  // Identifier, User Properties). Returns the packet id that its `subscribed` event carries.
  // Errors: not_connected, invalid filters/options, wildcard/shared/subscription-identifier
  // not supported by the server, packet_ids_exhausted, packet_too_large, would_block.
  result<std::uint16_t, errc> subscribe(std::span<const subscription> subscriptions,
                                        time_point now, const properties& props = {});

  // Unsubscribes; returns the packet id its `unsubscribed` event carries.
  result<std::uint16_t, errc> unsubscribe(std::span<const std::string_view> filters,
                                          time_point now, const properties& props = {});

  // Ends the session gracefully: DISCONNECT with `code` and `props` (e.g. a new Session Expiry
  // Interval), then close_transport; no reconnection. While not connected it just stops.
  // 5.0 code disconnect_with_will_message asks the broker to publish the Will.
  result<void, errc> disconnect(time_point now,
                                reason_code code = reason_code::normal_disconnection,
                                const properties& props = {});

  // Acknowledges an incoming QoS 1/2 message (manual_ack): PUBACK or PUBREC with `code`.
  // errc::unknown_message when no message with that id awaits an ack.
  result<void, errc> ack(std::uint16_t packet_id, time_point now,
                         reason_code code = reason_code::success);

  // Starts re-authentication (5.0, with an authenticator): AUTH Re-authenticate.
  result<void, errc> reauthenticate(time_point now);

  // ---- Inputs -----------------------------------------------------------------------------

  // The transport asked for by open_transport is up: the session queues CONNECT.
  void handle_transport_opened(time_point now);
  // The transport closed, failed, or could not be opened.
  void handle_transport_closed(time_point now);

  // Zero-copy receive: read into this buffer (at least one byte of room), then report how
  // many bytes arrived with handle_received().
  mutable_bytes receive_buffer();
  void handle_received(std::size_t bytes, time_point now);
  // Copying receive, for bytes that are already somewhere else.
  void handle_bytes(bytes_view data, time_point now);

  // A deadline from poll_timeout() passed (or any time: early calls do nothing).
  void handle_timeout(time_point now);

  // Gives back the storage of every buffer and queue that is empty (receive and transmit
  // buffers, event, action and transmit queues), so an idle connection holds little more than
  // the session object itself. The next bytes in or out take them again (a few allocations):
  // call it when the connection has gone quiet, not per message — tern::asio does after CONNACK
  // and after a read that ends a silence of a second or more. Ends the views handed out, like
  // any non-const call.
  void trim_memory() noexcept;

  // ---- Outputs ----------------------------------------------------------------------------

  std::optional<action> poll_action();
  std::optional<event> poll_event();
  // Fills `slices` with the next bytes to write, in order; returns how many slices it used.
  // Consecutive small packets share one slice; a large payload is its own slice.
  std::size_t poll_transmit(std::span<bytes_view> slices) const noexcept;
  // Bytes from the front of poll_transmit() that were written.
  void commit_transmit(std::size_t bytes, time_point now);
  std::size_t transmit_size() const noexcept;  // bytes waiting to be written
  // The earliest deadline, if any timer runs.
  std::optional<time_point> poll_timeout() const noexcept;

  // ---- Observers --------------------------------------------------------------------------

  session_state state() const noexcept;
  bool is_connected() const noexcept { return state() == session_state::connected; }
  const server_limits& limits() const noexcept;  // of the current or last connection
  std::string_view client_id() const noexcept;   // configured or assigned
  std::size_t inflight() const noexcept;         // outgoing QoS 1/2 awaiting acks
  std::size_t queued() const noexcept;           // publishes waiting for the window
  std::size_t queued_bytes() const noexcept;

  // ---- Durable state ----------------------------------------------------------------------

  // Serialises outgoing unacknowledged messages (with their stage), pending messages and
  // incoming QoS 2 packet ids, so a process restart loses nothing. state_size() bytes.
  std::size_t state_size() const noexcept;
  void save_state(std::byte* out) const noexcept;
  // Loads a saved state into an idle session (before connect()). errc::invalid_state_data for
  // bytes that are not a state of this format, errc::invalid_state when not idle.
  result<void, errc> restore_state(bytes_view saved);

 private:
  struct impl;
  std::pmr::memory_resource* memory_;
  impl* impl_;
};

}  // namespace tern
