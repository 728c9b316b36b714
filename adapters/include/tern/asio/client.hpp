// tern::asio::client — an MQTT 3.1.1 / 5.0 client that lives in an Asio io_context, driven by
// the sans-IO tern::session. Standalone Asio (1.22+); nothing in Tern's core includes it.
//
//   asio::io_context io;
//   tern::asio::client c(io.get_executor(), {.host = "127.0.0.1", .port = 1883});
//   co_await c.async_connect(asio::use_awaitable);
//   co_await c.async_subscribe("sensors/#", {.max_qos = tern::qos::at_least_once},
//                              asio::use_awaitable);
//   auto msg = co_await c.async_receive(asio::use_awaitable);
//   co_await c.async_publish("out", "21.5", tern::qos::exactly_once, asio::use_awaitable);
//   co_await c.async_disconnect(asio::use_awaitable);
//
// Every async_* function takes any completion token: a callback, asio::use_future,
// asio::use_awaitable, asio::experimental::deferred, ... Completion signatures:
//
//   async_connect       void(error_code, connect_result)   the first accepted CONNACK
//   async_publish       void(error_code, publish_result)   QoS 0: written; QoS 1: PUBACK;
//                                                          QoS 2: PUBCOMP
//   async_subscribe     void(error_code, subscribe_result) SUBACK
//   async_unsubscribe   void(error_code, subscribe_result) UNSUBACK
//   async_receive       void(error_code, received_message) the next message delivered
//   async_ack           void(error_code)                   PUBACK / PUBREC queued (manual_ack)
//   async_reauthenticate void(error_code, owned_properties) AUTH Success (5.0)
//   async_disconnect    void(error_code)                   DISCONNECT written, session stopped
//
// Errors (std::error_code): tern::errc for what the session refused (invalid topic,
// queue_full, not_connected, invalid_state, ...); tern::reason_code for a broker's verdict (a
// refused CONNACK, a failed SUBACK entry, a PUBACK/PUBCOMP failure code; for a publish that
// never reached the broker: session_lost / expired / offline_discarded give
// unspecified_error, dropped gives quota_exceeded — publish_result::outcome says which);
// tern::net::net_errc and system errors for the transport; asio::error::operation_aborted
// for a cancelled operation or a destroyed client.
//
// Thread model. The client runs on a strand of the executor it is given (get_executor()); the
// session and the connection are only ever touched there. Every public function may be called
// from any thread: it allocates the operation and queues it for the strand (calls made
// together are taken together: one post, one write). Handlers run on their associated
// executor (by default the client's strand), never inside the call that started them: the
// client invokes the completions of each batch from a handler it posts, dispatching each to
// its executor. Many clients may share one io_context, run by any number of threads.
//
// Lifetime. The client owns a shared core that outstanding handlers keep alive; destroying the
// client closes the connection (no DISCONNECT: call async_disconnect first for a clean end)
// and completes every waiting operation with operation_aborted. Destroy clients before their
// io_context; the memory resource must outlive the io_context's last run of their handlers.
//
// Memory. The session (buffers, queues, stored messages) allocates only from the memory
// resource passed to the constructor; operations use their handler's associated allocator.
// Per connection the adapter adds the socket (and TLS / WebSocket state when used), one timer
// (two while closing, see async_disconnect), and nothing per message beyond the operation
// object: MQTT bytes are read straight into the session's receive buffer and written from its
// transmit slices in one gather write. A connection that has gone quiet gives its session
// buffers back (session::trim_memory) and takes a receive buffer again only when the socket
// is readable.
//
// Back-pressure. Received messages wait in a queue for async_receive; while it holds
// max_received_messages (or max_received_bytes) the client stops reading from the socket,
// which leaves the broker to queue. One read may overshoot the bound by what it held. A client
// that stops receiving for longer than the keep-alive interval loses its connection, since
// PINGRESP is not read either. Publishing waits (no error) while the session's transmit
// buffer is full (session_config::max_transmit_bytes) and resumes as writes complete; a
// QoS 1/2 publish that finds the session's pending queue full (max_queued_messages /
// max_queued_bytes, reject policy) fails with errc::queue_full.
//
// Cancellation (per-operation cancellation slots, any cancellation type unless stated):
//   async_connect      stops the attempt: the session returns to idle (no reconnection) and
//                      the operation completes with operation_aborted.
//   async_publish      before the session took the message (waiting for a full transmit
//                      buffer): withdrawn, nothing is sent. After: the session keeps it and
//                      delivers it with its QoS; terminal and partial cancellation detach the
//                      waiter (it completes with operation_aborted and the outcome is not
//                      reported); total cancellation is ignored, as it cannot be honoured.
//   async_subscribe /  not yet sent (waiting for a connection): withdrawn. Sent: detached as
//   async_unsubscribe  for publish (the broker still applies it); total is then ignored.
//   async_receive      completes with operation_aborted; no message is consumed.
//   async_ack          not yet applied: withdrawn (the message stays unacknowledged).
//   async_reauthenticate  not yet started: withdrawn. Started: detached as for publish.
//   async_disconnect   not cancellable.
// client::cancel() cancels every operation at once, as a terminal cancellation of each would.
//
// Stopping. When the session stops (async_disconnect, a refusal or failure without
// reconnection, cancelled async_connect), operations still waiting complete with
// errc::not_connected: receives, publishes the session still holds (they are sent on a
// later async_connect, unreported), and subscribes waiting for a connection. A receive or
// publish started while stopped just waits for the next connection.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>
#include <asio/strand.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <memory_resource>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "tern/asio/operation.hpp"
#include "tern/asio/types.hpp"
#include "tern/error_code.hpp"
#include "tern/net/error.hpp"
#include "tern/net/websocket.hpp"
#include "tern/session.hpp"
#include "tern/session_config.hpp"

namespace tern::asio {

enum class transport_kind : std::uint8_t {
  tcp,
  tls,            // asio::ssl over TCP
  websocket,      // tern::net::websocket_layer over TCP
  websocket_tls,  // tern::net::websocket_layer over asio::ssl
};

struct client_options {
  std::string host = "127.0.0.1";  // a name (resolved) or a numeric address (not)
  std::uint16_t port = 0;          // 0: 1883, 8883, 80 or 443 by transport
  transport_kind transport = transport_kind::tcp;
  // The session: version, client id, keep-alive, queues, reconnection and its backoff, ...
  // Its views need only live until the client is constructed. With manual_ack, QoS 1/2
  // messages are acknowledged by async_ack, otherwise as soon as they arrive.
  session_config session;

  // TLS (tls, websocket_tls): the context holds CA, certificates and verify mode; it is
  // shared by the connections the client makes. Required for those transports.
  std::shared_ptr<::asio::ssl::context> tls_context;
  std::string tls_server_name;   // SNI and the name verified; empty: `host`
  bool verify_host_name = true;  // RFC 2818 check of the certificate against that name
  net::websocket_options websocket;  // path, headers, subprotocol "mqtt"

  // Resolution, TCP connect and the TLS / WebSocket handshakes, per attempt.
  std::chrono::milliseconds open_timeout{10'000};
  // A write that has not completed after this long ends the connection (the broker stopped
  // reading); zero waits forever.
  std::chrono::milliseconds write_timeout{60'000};

  std::size_t max_received_messages = 1024;  // see "Back-pressure" above
  std::size_t max_received_bytes = 8u << 20;

  // Connection events, called on the client's strand (do not block in it).
  std::function<void(const connection_event&)> on_connection_event;
};

class client {
 public:
  using executor_type = ::asio::strand<::asio::any_io_executor>;

  // All the session's memory comes from `memory`.
  client(const ::asio::any_io_executor& executor, client_options options,
         std::pmr::memory_resource* memory = std::pmr::get_default_resource());
  client(::asio::io_context& context, client_options options,
         std::pmr::memory_resource* memory = std::pmr::get_default_resource())
      : client(context.get_executor(), std::move(options), memory) {}
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  executor_type get_executor() const noexcept { return strand_; }

  // The session's state as last seen on the strand (a snapshot, safe from any thread).
  session_state state() const noexcept;

  // Starts the session: opens the transport and completes on the first accepted CONNACK.
  // A failed first attempt completes with its error, unless session.retry_first_connection
  // (then it waits through the backoff until a connection is accepted or it is cancelled).
  // Later connection losses reconnect by the session's configuration without further
  // completions (see on_connection_event). errc::invalid_state when already started.
  template <class Token>
  auto async_connect(Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code, connect_result)>(
        initiation<detail::connect_op>{strand_, core_, true}, token);
  }

  // Publishes; completes when written (QoS 0), on PUBACK (QoS 1) or PUBCOMP (QoS 2), with
  // the broker's reason code and properties. QoS 1/2 messages wait through reconnections.
  template <class Token>
  auto async_publish(outgoing_message message, Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code, publish_result)>(
        initiation<detail::publish_op>{strand_, core_, true}, token, std::move(message));
  }
  template <class Token>
  auto async_publish(std::string topic, std::string payload, qos q, Token&& token) {
    return async_publish(outgoing_message{std::move(topic), std::move(payload), q, false, {}},
                         std::forward<Token>(token));
  }

  // Subscribes; completes on SUBACK. A failed entry makes the error its reason code (the
  // first one); `codes` lists every entry's. Sent at once when connected; while a connection
  // is being made or awaited it waits for CONNACK; errc::not_connected when stopped.
  template <class Token>
  auto async_subscribe(std::vector<subscribe_topic> topics, owned_properties props,
                       Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code, subscribe_result)>(
        initiation<detail::request_op>{strand_, core_, true}, token, detail::op_kind::subscribe,
        std::move(topics), std::move(props));
  }
  template <class Token>
  auto async_subscribe(std::string filter, subscribe_options options, Token&& token) {
    std::vector<subscribe_topic> topics;
    topics.push_back({std::move(filter), options});
    return async_subscribe(std::move(topics), owned_properties{}, std::forward<Token>(token));
  }

  // Unsubscribes; completes on UNSUBACK (errors as for async_subscribe).
  template <class Token>
  auto async_unsubscribe(std::vector<std::string> filters, owned_properties props,
                         Token&& token) {
    std::vector<subscribe_topic> topics;
    topics.reserve(filters.size());
    for (auto& f : filters) topics.push_back({std::move(f), {}});
    return ::asio::async_initiate<Token, void(std::error_code, subscribe_result)>(
        initiation<detail::request_op>{strand_, core_, true}, token,
        detail::op_kind::unsubscribe, std::move(topics), std::move(props));
  }
  template <class Token>
  auto async_unsubscribe(std::string filter, Token&& token) {
    std::vector<std::string> filters;
    filters.push_back(std::move(filter));
    return async_unsubscribe(std::move(filters), owned_properties{}, std::forward<Token>(token));
  }

  // The next message the broker delivered, in order of arrival. Concurrent receives are
  // served in the order they were started.
  template <class Token>
  auto async_receive(Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code, received_message)>(
        initiation<detail::receive_op>{strand_, core_, true}, token);
  }

  // Cancels every operation started before this call (ordered before it: from this thread, or
  // synchronised with it), as a terminal cancellation of each would (see "Cancellation"): they
  // complete with operation_aborted, except async_disconnect. A connection attempt in progress
  // stops; an established connection stays, and publishes the session took are still sent.
  void cancel();

  // With session.manual_ack: acknowledges a QoS 1/2 message async_receive delivered, with
  // PUBACK (QoS 1) or PUBREC (QoS 2) carrying `code` (5.0: a failure code refuses it; 3.1.1:
  // success only). Until then the broker holds it as in flight and, after a reconnection with
  // the session kept, sends it again. Completes once the session took the acknowledgement.
  // Errors: errc::unknown_message (not awaiting an ack: QoS 0, acknowledged already, or from
  // a session since discarded), errc::invalid_reason_code.
  template <class Token>
  auto async_ack(const received_message& message, reason_code code, Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code)>(
        initiation<detail::ack_op>{strand_, core_, true}, token, message.packet_id, code);
  }
  template <class Token>
  auto async_ack(const received_message& message, Token&& token) {
    return async_ack(message, reason_code::success, std::forward<Token>(token));
  }

  // Re-authenticates (5.0, with session.auth) [MQTT 4.12.1]: sends AUTH Re-authenticate with
  // the authenticator's initial data and lets it answer the broker's challenges; completes
  // with the properties of the broker's AUTH Success. A broker that refuses ends the
  // connection (DISCONNECT with its reason): the operation completes with that error, as it
  // does with any loss of the connection meanwhile. Errors before anything is sent:
  // errc::not_connected, errc::unsupported_by_version (3.1.1, or no authenticator),
  // errc::invalid_state (a re-authentication is already running).
  template <class Token>
  auto async_reauthenticate(Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code, owned_properties)>(
        initiation<detail::reauthenticate_op>{strand_, core_, true}, token);
  }

  // Ends the session: DISCONNECT (with `code` and `props` in 5.0), then the transport closes;
  // no reconnection. Completes once the session is stopped (at once if it already is). The
  // close itself goes on in the io_context for at most 2 s: a WebSocket writes what it still
  // holds (the DISCONNECT's frame) and a Close frame, TLS sends close_notify and waits for the
  // broker's, then the socket closes. Any close the session asks for goes the same way.
  template <class Token>
  auto async_disconnect(reason_code code, owned_properties props, Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code)>(
        initiation<detail::disconnect_op>{strand_, core_, false}, token, code, std::move(props));
  }
  template <class Token>
  auto async_disconnect(Token&& token) {
    return async_disconnect(reason_code::normal_disconnection, owned_properties{},
                            std::forward<Token>(token));
  }

 private:
  template <class Base>
  struct initiation {
    using executor_type = client::executor_type;
    executor_type strand;
    std::shared_ptr<detail::client_core> core;
    bool cancellable;

    executor_type get_executor() const noexcept { return strand; }

    template <class Handler, class... Args>
    void operator()(Handler&& handler, Args&&... args) const {
      using op = detail::op_impl<std::decay_t<Handler>, Base, executor_type>;
      const std::uint64_t serial = detail::next_serial(*core);
      detail::submit(core, op::create(std::forward<Handler>(handler), strand, cancellable, core,
                                      serial, std::forward<Args>(args)...));
    }
  };

  executor_type strand_;
  std::shared_ptr<detail::client_core> core_;
};

}  // namespace tern::asio
