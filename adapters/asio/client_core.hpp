// Private to tern_asio: the state behind tern::asio::client.
//
// Theory of operation.
//   * Everything here runs on the client's strand. Public calls arrive as operations posted
//     by submit(); socket, resolver and timer completions run on the strand (their I/O
//     objects are made with it). Each connection attempt gets a new `transport`; handlers
//     hold theirs and drop their completion when it is no longer the current one.
//   * drive() is the session's drain order (session.hpp) after every input: queued commands,
//     then actions (open / close the transport) and events (completing operations), then one
//     gather write of everything poll_transmit() offers, a read if none runs, and one timer
//     for the earliest of the session's deadline, the open deadline and the write deadline.
//   * Plain TCP writes go straight from the drive loop (a non-blocking gather write, committed
//     at once); only what the kernel did not take becomes an asynchronous write.
//   * While an asynchronous write is in flight the session is frozen: its transmit slices (and
//     for WebSocket, the layer's output) are what the kernel or the TLS engine is reading, and any
//     call into the session may move them. Commands wait in `commands_`, a completed read
//     waits in `parked_`, timers wait; the write's completion commits the bytes and drives.
//     The read itself may run meanwhile, into receive_buffer(), which nothing but
//     receive_buffer() moves.
//   * Operations arrive through an inbox (one post drains a burst of calls) and complete in
//     batches: complete() queues them, and flush() — at the end of drive(), or posted when
//     something completes outside it — invokes them, then takes and drives what their
//     handlers submitted, so a handler that starts the next operation (the usual publish or
//     receive loop) costs no post per message.
//   * Events are turned into owned values at once (received messages are copied into the
//     receive queue), since their views die at the next receive_buffer().
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <string>

#include "tern/asio/client.hpp"
#include "tern/net/websocket.hpp"
#include "tern/session.hpp"

namespace tern::asio::detail {

// An intrusive FIFO of operations (each is in at most one queue).
class op_queue {
 public:
  op_queue() = default;
  op_queue(const op_queue&) = delete;
  op_queue& operator=(const op_queue&) = delete;

  bool empty() const noexcept { return head_ == nullptr; }
  op_base* front() const noexcept { return head_; }
  void push_back(op_base* op) noexcept;
  void remove(op_base* op) noexcept;
  op_base* pop_front() noexcept;
  template <class Pred>
  op_base* find(Pred pred) const {
    for (op_base* op = head_; op != nullptr; op = op->next)
      if (pred(op)) return op;
    return nullptr;
  }

 private:
  op_base* head_ = nullptr;
  op_base* tail_ = nullptr;
};

// One connection attempt's objects. Shared with the handlers of its pending operations, so a
// closed transport lives until the last of them has run (an asio::ssl::stream must outlive
// its operations).
struct transport {
  using tcp = ::asio::ip::tcp;
  transport(const client::executor_type& strand, ::asio::ssl::context* tls_context);

  tcp::socket& lowest() noexcept { return tls ? tls->next_layer() : *socket; }
  template <class F>
  void with_stream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(*socket);
    }
  }
  void close() noexcept;

  std::optional<tcp::resolver> resolver;
  std::optional<tcp::socket> socket;                    // without TLS
  std::optional<::asio::ssl::stream<tcp::socket>> tls;  // with TLS
  std::unique_ptr<net::websocket_layer> websocket;
  mutable_bytes read_region;  // where the read in progress puts its bytes
  // Idleness of the read path (transport.cpp, start_read): when the current wait-and-read
  // began, whether it is in its readability wait, whether the last read ended a silence.
  time_point read_since{};
  bool read_waiting = false;
  bool read_quiet = false;
  bool read_before = false;  // a read has completed on this transport
  std::optional<::asio::steady_timer> goodbye_limit;  // bounds a polite close (transport.cpp)
};

// A received message waiting for async_receive.
struct received_node {
  received_node* next = nullptr;
  received_message message;
};

class client_core : public std::enable_shared_from_this<client_core> {
 public:
  using tcp = ::asio::ip::tcp;
  using strand_type = client::executor_type;

  client_core(strand_type strand, client_options options, std::pmr::memory_resource* memory);
  ~client_core();

  // ---- from the public side (any thread) --------------------------------------------------
  std::atomic<std::uint64_t> serials{0};
  std::atomic<session_state> observed_state{session_state::idle};
  // Submissions wait in an inbox that one posted drain empties onto the strand, so a burst of
  // calls costs one post and one drive rather than one each.
  void post_submit(op_base* op);
  void post_cancel(std::uint64_t serial, ::asio::cancellation_type_t type);
  void post_cancel_all();
  void post_shutdown();

  // ---- on the strand ------------------------------------------------------------------------
  void defer(op_base* op);  // a completed operation, invoked by the next flush()

 private:
  // ---- client_core.cpp: commands, events, the drive loop --------------------------------
  // Moves submitted operations to commands_; true if there were any. keep_claim: flush() is
  // taking them as they come, so inbox_posted_ stays set.
  bool take_inbox(bool keep_claim = false);
  void on_inbox();
  void flush();  // invokes the completed operations, then serves what their handlers asked
  void on_cancel(std::uint64_t serial, ::asio::cancellation_type_t type);
  void on_cancel_all();
  void shutdown();
  void drive();
  bool apply_commands(time_point now);
  // false: the command must wait (transmit buffer full); it stays at the front of the queue.
  bool apply(op_base* op, time_point now);
  bool issue_held_requests(time_point now);
  bool send_request(request_op& q, op_queue& from, time_point now);
  void on_action(const action& a, time_point now);
  void on_event(event& e, time_point now);
  void on_stopped();
  void deliver(received_message&& m);
  void abort_all(std::error_code ec);
  void report(const connection_event& e);
  void arm_timer(time_point now);
  void on_timer(std::uint64_t seq);

  // ---- transport.cpp: opening, reading, writing, closing ----------------------------------
  using transport_ptr = std::shared_ptr<transport>;
  void open_transport(std::string_view server_reference, time_point now);
  void on_resolved(const transport_ptr& t, std::error_code ec,
                   const tcp::resolver::results_type& results);
  void on_tcp_connected(const transport_ptr& t, std::error_code ec);
  void on_tls_handshake(const transport_ptr& t, std::error_code ec);
  void websocket_handshake(const transport_ptr& t);
  void transport_opened();
  void transport_failed(std::error_code ec);  // closes, tells the session
  void close_transport() noexcept;
  void forget_transport() noexcept;  // the client's side only: the socket stays open
  // The session is done with the connection: closes it, politely where the protocol says how.
  void retire_transport();
  bool current(const transport_ptr& t) const noexcept { return !shut_down_ && t == transport_; }
  bool websocket_active() const noexcept {
    return established_ && transport_ && transport_->websocket;
  }
  bool read_paused() const noexcept;
  void start_read();
  void on_read(const transport_ptr& t, std::error_code ec, std::size_t n);
  void process_parked(time_point now);
  bool pump_websocket(time_point now);  // session bytes into the layer; true if any moved
  bool write_now(time_point now);  // plain TCP: a non-blocking gather write; true if any went
  void start_write(time_point now);
  void on_write(const transport_ptr& t, std::error_code ec, std::size_t n);

  // ---- configuration ----------------------------------------------------------------------
  strand_type strand_;
  client_options options_;
  std::pmr::memory_resource* memory_;
  session session_;

  // ---- the transport (replaced for every connection attempt) ------------------------------
  transport_ptr transport_;  // completions of any other transport are dropped
  std::string target_host_;
  std::uint16_t target_port_ = 0;
  bool opening_ = false;
  bool established_ = false;
  bool reading_ = false;
  bool writing_ = false;
  std::size_t parked_ = 0;  // bytes read but not yet given to the session (or the layer)
  bool parked_data_ = false;
  bool stop_requested_ = false;  // a cancelled async_connect, acted on when not frozen
  std::error_code last_transport_error_;
  std::optional<time_point> open_deadline_;
  time_point write_started_{};
  // Stored QoS 1/2 messages are slices of their own: a direct write (write_now, from the stack)
  // carries a window's worth. An asynchronous write keeps its buffers here until it completes;
  // it happens only under back-pressure, where fewer slices per write cost nothing.
  static constexpr std::size_t max_write_slices = 64;
  static constexpr std::size_t max_async_write_slices = 16;
  std::array<::asio::const_buffer, max_async_write_slices> write_buffers_{};

  // ---- timer --------------------------------------------------------------------------------
  ::asio::steady_timer timer_;
  std::optional<time_point> armed_;
  std::uint64_t timer_seq_ = 0;

  // ---- operations ---------------------------------------------------------------------------
  std::mutex inbox_mutex_;
  op_queue inbox_;             // submitted from any thread, not yet on the strand
  bool inbox_posted_ = false;  // a drain of the inbox is posted (guarded by inbox_mutex_)
  op_queue completed_;         // completed, their handlers not yet invoked
  bool flush_posted_ = false;
  bool flushing_ = false;      // flush() is invoking handlers (further up this call stack)
  op_queue commands_;           // taken from the inbox, not yet given to the session
  op_queue held_requests_;      // subscribe / unsubscribe waiting for a connection
  op_queue publishes_;          // given to the session, waiting for publish_completed
  op_queue requests_;           // SUBSCRIBE / UNSUBSCRIBE sent, waiting for the ack
  op_queue receives_;           // async_receive waiting for a message
  op_queue reauthentications_;  // AUTH Re-authenticate sent, waiting for AUTH Success
  op_queue disconnects_;        // waiting for the session to stop
  connect_op* connect_ = nullptr;
  received_node* received_head_ = nullptr;
  received_node* received_tail_ = nullptr;
  std::size_t received_count_ = 0;
  std::size_t received_bytes_ = 0;
  bool was_idle_ = true;
  bool shut_down_ = false;
  bool in_drive_ = false;
};

}  // namespace tern::asio::detail
