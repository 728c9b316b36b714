// Private to tern_client: the state behind tern::client, shared by client.cpp (configuration
// and commands) and client_loop.cpp (the drive loop).
//
// Theory of operation.
//   * One tern::session and one tern::net::connection, guarded by `mu`. Commands from any
//     thread (publish, subscribe, ...) lock `mu`, call the session, and wake the loop through
//     an eventfd (a pipe elsewhere) so the bytes go out at once. Commands never do I/O.
//   * A "turn" is what the loop thread does with what the session produced: carry out
//     actions (open / close the transport), collect events, write what is pending (one
//     scatter/gather write), check timers. Turns are serialised by `turn_mu`; whoever holds
//     it (loop(), loop_forever(), loop_read()/loop_write()/loop_misc(), a blocking connect())
//     owns the connection object. A thread-local stack records which clients this thread is
//     in a turn of, so a callback may call connect()/reconnect() (re-entering the turn) and
//     wait_for_publish() / loop() can refuse to deadlock.
//   * Events are collected while `mu` is held and dispatched to callbacks after it is
//     released, still inside the turn: a callback may publish, subscribe or disconnect.
//     Event views point into the session's receive buffer, which only changes at the next
//     receive_buffer() call — made only inside a turn, after the dispatch.
//   * Socket notifications (on_socket_open/close/register_write/unregister_write) are level
//     based: sync_socket() compares what the user was told with the current fd and
//     want_write(), under `notify_mu`, so notifications from different threads stay ordered.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "tern/backoff.hpp"
#include "tern/client.hpp"
#include "tern/session.hpp"

namespace tern {

// Shared between a message_info and the client that completes it.
struct message_info::state {
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  const void* owner = nullptr;  // the client::impl, to refuse waiting inside its callbacks
  message_id mid = 0;
  std::error_code rc;
  bool complete = false;
  publish_outcome outcome = publish_outcome::sent;
  reason_code reason = reason_code::success;

  void finish(publish_outcome o, reason_code r) {
    {
      const std::lock_guard<std::mutex> lock(mu);
      outcome = o;
      reason = r;
      complete = true;
    }
    cv.notify_all();
  }
  void fail(std::error_code e) {
    {
      const std::lock_guard<std::mutex> lock(mu);
      rc = e;
      outcome = publish_outcome::dropped;
      reason = reason_code::unspecified_error;
      complete = true;
    }
    cv.notify_all();
  }
};

namespace client_detail {

// Whether this thread is inside a turn (the loop or a callback) of the client `owner`.
bool in_turn_of(const void* owner) noexcept;
void push_turn(const void* owner);
void pop_turn() noexcept;

// A copy of `props` that owns its strings.
property_list copy_properties(const properties& props);

using message_callback = std::function<void(client&, const tern::publish&)>;
using filter_callbacks = std::vector<std::pair<std::string, message_callback>>;

struct event_note {
  event ev;
  std::shared_ptr<message_info::state> info;  // publish_completed
  std::uint16_t packet_id = 0;                // subscribed / unsubscribed, as returned
  bool before_connack = false;                // disconnected: the attempt never connected
};
struct log_note {
  log_level level = log_level::info;
  std::string text;
};
using note = std::variant<event_note, log_note>;

// What one turn hands to the callbacks.
struct batch {
  std::vector<note> notes;
  std::shared_ptr<const filter_callbacks> filters;
  bool empty() const noexcept { return notes.empty(); }
};

// A subscribe or unsubscribe given while a connection was being made (the session takes
// them only once connected); sent when CONNACK arrives.
struct deferred_request {
  bool unsubscribe = false;
  std::vector<std::pair<std::string, subscribe_options>> entries;
  property_list props;
  std::uint16_t returned_id = 0;
};

}  // namespace client_detail

struct client::impl {
  impl(client& owner, client_options o);
  ~impl();
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  client& self;
  client_options options;

  // ---- configuration (guarded by mu) -------------------------------------------------
  session_config cfg;  // views point into the strings below
  net::transport_options transport;
  std::string username;
  std::optional<std::string> password;
  std::string will_topic;
  std::string will_payload;
  property_list will_props;
  std::vector<property> will_prop_items;
  property_list connect_props;
  std::vector<property> connect_user_props;
  std::string host;
  std::uint16_t port = 1883;
  bool have_target = false;
  bool config_dirty = false;
  bool logger_enabled = false;
  log_level logger_level = log_level::info;
  std::any user_data;

  // ---- the session and the connection (guarded by mu) --------------------------------
  std::mutex mu;
  std::optional<session> sess;
  net::connection conn;
  bool conn_busy = false;          // conn.open() runs with mu released: do not touch conn
  std::uint64_t generation = 0;    // counts transports opened, to tell reused fds apart
  std::uint64_t failures = 0;      // counts transport failures, to report them from a turn
  std::error_code last_error;      // of the last transport failure
  std::string last_error_text;     // and the failing layer's own words for it
  bool read_pending = false;       // the last read filled the buffer: read again soon
  // The socket took less than was offered: no write is tried again until a pass that saw it
  // writable (POLLOUT), so a publisher ahead of the broker spends no system call per pass.
  bool write_blocked = false;
  bool pending_open = false;       // connect_async() left an open_transport for the loop
  bool open_reported = false;      // handle_transport_opened() given for the current transport
  bool attempt_connected = false;  // CONNACK accepted on the current transport
  bool ever_connected = false;
  bool user_disconnected = false;
  bool in_blocking_connect = false;
  bool suppress_client_disconnect = false;
  bool closing = false;  // close_transport: the fd is about to close
  std::optional<disconnect_cause> last_cause;
  std::unordered_map<message_id, std::shared_ptr<message_info::state>> infos;
  std::vector<client_detail::deferred_request> deferred;
  std::unordered_map<std::uint16_t, std::uint16_t> returned_ids;  // real packet id → returned
  std::uint16_t next_returned_id = 65'535;
  std::vector<client_detail::log_note> logs;  // for on_log, until dispatched
  std::shared_ptr<const client_detail::filter_callbacks> filters;
  std::optional<time_point> retry_at;  // loop_forever's retry of a failed first connection
  std::optional<backoff> first_retry;

  // ---- threads ---------------------------------------------------------------------------
  std::mutex turn_mu;
  std::mutex notify_mu;  // guards the notified_* fields
  int notified_fd = -1;
  std::uint64_t notified_generation = 0;
  bool notified_write = false;
  std::atomic<std::thread::id> notifying{};  // the thread inside sync_socket()
  int wake_read = -1;
  int wake_write = -1;
  std::atomic<bool> wake_pending{false};
  std::atomic<int> active_loops{0};
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> terminating{false};
  std::mutex thread_mu;
  std::thread thread;
  std::atomic<bool> thread_alive{false};

  // Holds the turn; re-entrant for a thread already in a turn of this client (a callback).
  class turn_guard {
   public:
    explicit turn_guard(impl& m);
    ~turn_guard();
    turn_guard(const turn_guard&) = delete;
    turn_guard& operator=(const turn_guard&) = delete;

   private:
    impl& m_;
    bool owned_;
  };

  // ---- client.cpp ----------------------------------------------------------------------
  void build_session();
  std::error_code prepare_session(client_detail::batch& b, std::unique_lock<std::mutex>& lk);
  void force_idle(client_detail::batch& b, std::unique_lock<std::mutex>& lk);
  void set_target(const std::string& h, std::uint16_t p, std::chrono::seconds keepalive,
                  const property_list& props);
  std::error_code connect_now(client_detail::batch& b, std::unique_lock<std::mutex>& lk);
  std::pair<std::error_code, std::uint16_t> request(
      bool unsubscribe, std::vector<std::pair<std::string, subscribe_options>> entries,
      const property_list& props);
  void issue_deferred();
  void close_without_loop();

  // ---- client_loop.cpp -------------------------------------------------------------------
  static void log_hook(void* context, log_level level, std::string_view message);
  void log(log_level level, std::string_view message);  // mu held
  void wake() noexcept;
  void clear_wake() noexcept;
  bool want_write_locked() const noexcept;
  std::optional<time_point> next_deadline_locked() const noexcept;

  void drain(client_detail::batch& b, std::unique_lock<std::mutex>& lk);
  void do_action(const action& a, client_detail::batch& b, std::unique_lock<std::mutex>& lk);
  void collect(event e, client_detail::batch& b);
  void transport_opened();
  void transport_failed(std::error_code ec);
  bool flush(client_detail::batch& b, std::unique_lock<std::mutex>& lk);
  void read_rounds(client_detail::batch& b, std::unique_lock<std::mutex>& lk);
  void process_timers(client_detail::batch& b, std::unique_lock<std::mutex>& lk);
  void handle_io(short revents, client_detail::batch& b, std::unique_lock<std::mutex>& lk);
  std::error_code process(short revents, client_detail::batch& b, std::unique_lock<std::mutex>& lk);
  std::error_code wait_transport(client_detail::batch& b, std::unique_lock<std::mutex>& lk);

  void dispatch(client_detail::batch& b);
  void finish_dispatch(client_detail::batch& b);  // mu not held
  void sync_socket();

  std::error_code manual_pass(short revents);
  std::error_code run_turn(std::chrono::milliseconds max_wait);
  std::error_code run_forever(std::chrono::milliseconds timeout, bool retry_first,
                              bool wait_for_connect);
};

}  // namespace tern
