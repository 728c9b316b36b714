// tern::asio::client: commands, events and the drive loop on the client's strand. See
// client_core.hpp for the theory of operation; transport.cpp holds the I/O.
#include "client_core.hpp"

#include <asio/post.hpp>

#include <random>
#include <utility>
#include <variant>

namespace tern::asio {

namespace {

std::shared_ptr<detail::client_core> make_core(client::executor_type strand,
                                               client_options options,
                                               std::pmr::memory_resource* memory) {
  return std::allocate_shared<detail::client_core>(
      std::pmr::polymorphic_allocator<detail::client_core>(memory), std::move(strand),
      std::move(options), memory);
}

}  // namespace

client::client(const ::asio::any_io_executor& executor, client_options options,
               std::pmr::memory_resource* memory)
    : strand_(::asio::make_strand(executor)),
      core_(make_core(strand_, std::move(options), memory)) {}

client::~client() { core_->post_shutdown(); }

void client::cancel() { core_->post_cancel_all(); }

session_state client::state() const noexcept {
  return core_->observed_state.load(std::memory_order_relaxed);
}

namespace detail {

namespace {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

session_config adjusted(session_config c) {
  // Clients made in one go must not reconnect in lock step: each gets its own jitter.
  if (c.random_seed == 0) c.random_seed = (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  return c;
}

// Completes any operation with an error and no result.
void fail(op_base* op, std::error_code ec) {
  switch (op->kind) {
    case op_kind::connect: static_cast<connect_op*>(op)->complete(ec, {}); return;
    case op_kind::publish: {
      auto* p = static_cast<publish_op*>(op);
      publish_result r;
      r.id = p->mid;
      r.outcome = publish_outcome::dropped;
      r.code = reason_code::unspecified_error;
      p->complete(ec, std::move(r));
      return;
    }
    case op_kind::subscribe:
    case op_kind::unsubscribe: static_cast<request_op*>(op)->complete(ec, {}); return;
    case op_kind::receive: static_cast<receive_op*>(op)->complete(ec, {}); return;
    case op_kind::ack: static_cast<ack_op*>(op)->complete(ec, {}); return;
    case op_kind::reauthenticate: static_cast<reauthenticate_op*>(op)->complete(ec, {}); return;
    case op_kind::disconnect: static_cast<disconnect_op*>(op)->complete(ec, {}); return;
  }
}

void fail_all(op_queue& q, std::error_code ec) {
  while (op_base* op = q.pop_front()) fail(op, ec);
}

void destroy_all(op_queue& q) noexcept {
  while (op_base* op = q.pop_front()) op->destroy();
}

// The error a publish that did not succeed completes with; publish_result::outcome says more.
std::error_code publish_error(const publish_completed& c) {
  switch (c.outcome) {
    case publish_outcome::sent:
    case publish_outcome::acknowledged:
      return is_failure(c.code) ? make_error_code(c.code) : std::error_code();
    case publish_outcome::dropped:
      return make_error_code(is_failure(c.code) ? c.code : reason_code::quota_exceeded);
    case publish_outcome::session_lost:
    case publish_outcome::expired:
    case publish_outcome::offline_discarded:
      return make_error_code(reason_code::unspecified_error);
  }
  return make_error_code(reason_code::unspecified_error);
}

}  // namespace

// ---- the operation queue ------------------------------------------------------------------------

void op_queue::push_back(op_base* op) noexcept {
  op->next = nullptr;
  op->prev = tail_;
  if (tail_ != nullptr) {
    tail_->next = op;
  } else {
    head_ = op;
  }
  tail_ = op;
}

void op_queue::remove(op_base* op) noexcept {
  if (op->prev != nullptr) {
    op->prev->next = op->next;
  } else {
    head_ = op->next;
  }
  if (op->next != nullptr) {
    op->next->prev = op->prev;
  } else {
    tail_ = op->prev;
  }
  op->prev = op->next = nullptr;
}

op_base* op_queue::pop_front() noexcept {
  op_base* op = head_;
  if (op != nullptr) remove(op);
  return op;
}

// ---- entry points for the templates -------------------------------------------------------------

std::uint64_t next_serial(client_core& core) noexcept {
  return core.serials.fetch_add(1, std::memory_order_relaxed) + 1;
}

void submit(const std::shared_ptr<client_core>& core, op_base* op) { core->post_submit(op); }

void defer_completion(client_core& core, op_base* op) { core.defer(op); }

void request_cancel(const std::weak_ptr<client_core>& core, std::uint64_t serial,
                    ::asio::cancellation_type_t type) {
  if (const auto c = core.lock()) c->post_cancel(serial, type);
}

// ---- construction and the public side -----------------------------------------------------------

client_core::client_core(strand_type strand, client_options options,
                         std::pmr::memory_resource* memory)
    : strand_(std::move(strand)),
      options_(std::move(options)),
      memory_(memory),
      session_(adjusted(options_.session), memory),
      timer_(strand_) {
  // The session copied what it needs; the views in options_.session are not used again.
  options_.session = {};
}

client_core::~client_core() {
  // Only reached when no handler of ours is pending any more, or the io_context is being
  // destroyed: operations are freed without their handlers being called.
  if (connect_ != nullptr) connect_->destroy();
  for (op_queue* q : {&inbox_, &completed_, &commands_, &held_requests_, &publishes_, &requests_,
                      &reauthentications_, &receives_, &disconnects_})
    destroy_all(*q);
  while (received_node* n = received_head_) {
    received_head_ = n->next;
    std::pmr::polymorphic_allocator<received_node>(memory_).delete_object(n);
  }
}

void client_core::post_submit(op_base* op) {
  {
    const std::lock_guard<std::mutex> lock(inbox_mutex_);
    inbox_.push_back(op);
    if (std::exchange(inbox_posted_, true)) return;
  }
  // An io_context destroyed before this runs leaves the operation in the inbox, which the
  // core's destructor frees.
  ::asio::post(strand_, [self = shared_from_this()] { self->on_inbox(); });
}

void client_core::post_cancel(std::uint64_t serial, ::asio::cancellation_type_t type) {
  ::asio::post(strand_, [self = shared_from_this(), serial, type] { self->on_cancel(serial, type); });
}

void client_core::post_cancel_all() {
  ::asio::post(strand_, [self = shared_from_this()] { self->on_cancel_all(); });
}

void client_core::post_shutdown() {
  ::asio::post(strand_, [self = shared_from_this()] { self->shutdown(); });
}

bool client_core::take_inbox(bool keep_claim) {
  op_queue taken;
  {
    const std::lock_guard<std::mutex> lock(inbox_mutex_);
    if (!keep_claim) inbox_posted_ = false;
    if (inbox_.empty()) return false;
    while (op_base* op = inbox_.pop_front()) taken.push_back(op);
  }
  while (op_base* op = taken.pop_front()) {
    op->owner = this;
    if (shut_down_) {
      fail(op, ::asio::error::operation_aborted);
    } else {
      commands_.push_back(op);
    }
  }
  return true;
}

void client_core::on_inbox() {
  if (take_inbox()) drive();
}

// drive() and flush() invoke what completes under them when they end; anything else (a
// cancellation, a shutdown) posts a flush.
void client_core::defer(op_base* op) {
  completed_.push_back(op);
  if (in_drive_ || flushing_ || std::exchange(flush_posted_, true)) return;
  ::asio::post(strand_, [self = shared_from_this()] { self->flush(); });
}

// Handlers run here: on the strand, never inside a public call (those only queue), and outside
// the drive loop. What they submit is taken at once and driven, and what that completes (a
// receive finding a queued message, say) is invoked in the next pass, so a loop of calls costs
// no post per step. Bounded, to let other work on the executor run.
void client_core::flush() {
  if (flushing_) return;  // the flush further up the stack takes these
  flush_posted_ = false;
  if (completed_.empty()) return;
  flushing_ = true;
  {
    // Submissions from the handlers are taken below; they need no post of their own.
    const std::lock_guard<std::mutex> lock(inbox_mutex_);
    inbox_posted_ = true;
  }
  const std::shared_ptr<client_core> keep = shared_from_this();  // a handler may drop the client
  for (int pass = 0; pass < 64 && !completed_.empty(); ++pass) {
    op_queue batch;  // only what is complete now; later completions go to the next pass
    while (op_base* op = completed_.pop_front()) batch.push_back(op);
    while (op_base* op = batch.pop_front()) op->invoke();
    if (take_inbox(true)) drive();
  }
  flushing_ = false;
  bool post_inbox = false;
  {
    const std::lock_guard<std::mutex> lock(inbox_mutex_);
    post_inbox = !inbox_.empty();  // arrived from another thread after the last take
    inbox_posted_ = post_inbox;
  }
  if (post_inbox) ::asio::post(strand_, [self = shared_from_this()] { self->on_inbox(); });
  if (!completed_.empty() && !std::exchange(flush_posted_, true))
    ::asio::post(strand_, [self = shared_from_this()] { self->flush(); });
}

// What cancelling each operation means is documented in client.hpp.
void client_core::on_cancel(std::uint64_t serial, ::asio::cancellation_type_t type) {
  if (shut_down_) return;
  take_inbox();  // submitted before this cancellation was
  const auto match = [serial](const op_base* op) { return op->serial == serial; };
  const bool detach = (type & (::asio::cancellation_type::terminal |
                               ::asio::cancellation_type::partial)) !=
                      ::asio::cancellation_type::none;
  const std::error_code aborted = ::asio::error::operation_aborted;
  for (op_queue* q : {&commands_, &held_requests_, &receives_}) {
    if (op_base* op = q->find(match)) {
      if (op->kind == op_kind::disconnect) return;
      q->remove(op);
      fail(op, aborted);
      drive();  // a withdrawn command may have held others back
      return;
    }
  }
  for (op_queue* q : {&publishes_, &requests_, &reauthentications_}) {
    if (op_base* op = q->find(match)) {
      if (!detach) return;
      q->remove(op);
      fail(op, aborted);
      return;
    }
  }
  if (connect_ != nullptr && connect_->serial == serial) {
    std::exchange(connect_, nullptr)->complete(aborted, {});
    stop_requested_ = true;
    drive();
  }
}

// What on_cancel does with terminal cancellation, for every operation.
void client_core::on_cancel_all() {
  if (shut_down_) return;
  take_inbox();  // submitted before this cancellation was
  const std::error_code aborted = ::asio::error::operation_aborted;
  op_queue disconnects;  // not cancellable: they keep their place
  while (op_base* op = commands_.pop_front()) {
    if (op->kind == op_kind::disconnect) {
      disconnects.push_back(op);
    } else {
      fail(op, aborted);
    }
  }
  while (op_base* op = disconnects.pop_front()) commands_.push_back(op);
  for (op_queue* q : {&held_requests_, &publishes_, &requests_, &reauthentications_, &receives_})
    fail_all(*q, aborted);
  if (connect_ != nullptr) {
    std::exchange(connect_, nullptr)->complete(aborted, {});
    stop_requested_ = true;
  }
  drive();
}

void client_core::shutdown() {
  if (shut_down_) return;
  take_inbox();
  shut_down_ = true;
  timer_.cancel();
  close_transport();
  abort_all(::asio::error::operation_aborted);
  observed_state.store(session_state::idle, std::memory_order_relaxed);
}

void client_core::abort_all(std::error_code ec) {
  if (connect_ != nullptr) std::exchange(connect_, nullptr)->complete(ec, {});
  for (op_queue* q : {&commands_, &held_requests_, &publishes_, &requests_, &reauthentications_,
                      &receives_, &disconnects_})
    fail_all(*q, ec);
}

// ---- the drive loop -----------------------------------------------------------------------------

void client_core::drive() {
  if (shut_down_ || in_drive_) return;
  const time_point now = clock::now();
  if (writing_) {  // the session is frozen until the write completes (see the header)
    arm_timer(now);
    return;
  }
  in_drive_ = true;
  process_parked(now);
  if (stop_requested_) {
    stop_requested_ = false;
    if (session_.state() != session_state::idle && session_.state() != session_state::connected)
      (void)session_.disconnect(now);
  }
  if (opening_ && open_deadline_ && *open_deadline_ <= now)
    transport_failed(std::make_error_code(std::errc::timed_out));
  if (const auto deadline = session_.poll_timeout(); deadline && *deadline <= now)
    session_.handle_timeout(now);
  for (int round = 0; round < 10'000; ++round) {
    bool progress = apply_commands(now);
    if (session_.state() == session_state::connected) progress |= issue_held_requests(now);
    while (auto a = session_.poll_action()) {
      progress = true;
      on_action(*a, now);
    }
    while (auto e = session_.poll_event()) {
      progress = true;
      on_event(*e, now);
    }
    if (websocket_active()) progress |= pump_websocket(now);
    progress |= write_now(now);
    if (!progress) break;
  }
  const session_state state = session_.state();
  observed_state.store(state, std::memory_order_relaxed);
  const bool idle = state == session_state::idle;
  if (idle && !was_idle_) on_stopped();
  was_idle_ = idle;
  start_write(now);
  start_read();
  in_drive_ = false;
  arm_timer(now);
  flush();
}

bool client_core::apply_commands(time_point now) {
  bool progress = false;
  while (op_base* op = commands_.front()) {
    if (!apply(op, now)) break;
    progress = true;
  }
  return progress;
}

bool client_core::apply(op_base* op, time_point now) {
  switch (op->kind) {
    case op_kind::connect: {
      commands_.remove(op);
      auto* c = static_cast<connect_op*>(op);
      if (connect_ != nullptr) {
        c->complete(make_error_code(errc::invalid_state), {});
        return true;
      }
      if (auto r = session_.connect(now); !r) {
        c->complete(make_error_code(r.error()), {});
        return true;
      }
      last_transport_error_.clear();
      connect_ = c;
      return true;
    }
    case op_kind::publish: {
      auto* p = static_cast<publish_op*>(op);
      tern::publish msg;
      msg.topic = p->message.topic;
      msg.payload = as_bytes(p->message.payload);
      msg.q = p->message.q;
      msg.retain = p->message.retain;
      msg.props = p->message.props.view();
      const auto r = session_.publish(msg, now);
      // A full transmit buffer drains as the write in progress completes: wait for it.
      if (!r && r.error() == errc::would_block && session_.transmit_size() != 0) return false;
      commands_.remove(op);
      if (!r) {
        fail(op, make_error_code(r.error()));
        return true;
      }
      p->mid = *r;
      p->submitted = true;
      publishes_.push_back(op);
      return true;
    }
    case op_kind::subscribe:
    case op_kind::unsubscribe: {
      auto* q = static_cast<request_op*>(op);
      const session_state state = session_.state();
      if (state == session_state::connected && held_requests_.empty())
        return send_request(*q, commands_, now);
      commands_.remove(op);
      if (state == session_state::idle) {
        fail(op, make_error_code(errc::not_connected));
      } else {
        held_requests_.push_back(op);  // sent once connected, in order
      }
      return true;
    }
    case op_kind::receive: {
      commands_.remove(op);
      if (received_node* n = received_head_) {
        received_head_ = n->next;
        if (received_head_ == nullptr) received_tail_ = nullptr;
        --received_count_;
        received_bytes_ -= n->message.topic.size() + n->message.payload.size();
        static_cast<receive_op*>(op)->complete({}, std::move(n->message));
        std::pmr::polymorphic_allocator<received_node>(memory_).delete_object(n);
      } else {
        receives_.push_back(op);
      }
      return true;
    }
    case op_kind::ack: {
      commands_.remove(op);
      auto* a = static_cast<ack_op*>(op);
      const auto r = session_.ack(a->packet_id, now, a->code);
      a->complete(r ? std::error_code{} : make_error_code(r.error()), {});
      return true;
    }
    case op_kind::reauthenticate: {
      commands_.remove(op);
      if (session_.state() != session_state::connected) {
        fail(op, make_error_code(errc::not_connected));
      } else if (const auto r = session_.reauthenticate(now); !r) {
        fail(op, make_error_code(r.error()));
      } else {
        reauthentications_.push_back(op);
      }
      return true;
    }
    case op_kind::disconnect: {
      commands_.remove(op);
      auto* d = static_cast<disconnect_op*>(op);
      if (session_.state() == session_state::idle) {
        d->complete({}, {});
        return true;
      }
      if (auto r = session_.disconnect(now, d->code, d->props.view()); !r) {
        d->complete(make_error_code(r.error()), {});
        return true;
      }
      disconnects_.push_back(op);  // completed when the session is idle
      return true;
    }
  }
  return true;
}

bool client_core::issue_held_requests(time_point now) {
  bool progress = false;
  while (op_base* op = held_requests_.front()) {
    if (!send_request(*static_cast<request_op*>(op), held_requests_, now)) break;
    progress = true;
  }
  return progress;
}

// Sends a SUBSCRIBE / UNSUBSCRIBE and moves the operation from `from` to requests_ (or
// completes it with the session's error). False when the transmit buffer is full: nothing
// changed, the operation stays where it is.
bool client_core::send_request(request_op& q, op_queue& from, time_point now) {
  result<std::uint16_t, errc> r = unexpected{errc::invalid_state};
  if (q.kind == op_kind::subscribe) {
    std::pmr::vector<subscription> subs(memory_);
    subs.reserve(q.topics.size());
    for (const auto& t : q.topics) subs.push_back({t.filter, t.options});
    r = session_.subscribe(subs, now, q.props.view());
  } else {
    std::pmr::vector<std::string_view> filters(memory_);
    filters.reserve(q.topics.size());
    for (const auto& t : q.topics) filters.push_back(t.filter);
    r = session_.unsubscribe(filters, now, q.props.view());
  }
  if (!r && r.error() == errc::would_block && session_.transmit_size() != 0) return false;
  from.remove(&q);
  if (!r) {
    fail(&q, make_error_code(r.error()));
    return true;
  }
  q.packet_id = *r;
  q.sent = true;
  requests_.push_back(&q);
  return true;
}

void client_core::on_action(const action& a, time_point now) {
  if (const auto* open = std::get_if<tern::open_transport>(&a)) {
    // Asked for before a disconnect() that this drive has already seen.
    if (session_.state() != session_state::opening) return;
    open_transport(open->server_reference, now);
    return;
  }
  retire_transport();
  session_.handle_transport_closed(now);
}

namespace {

// Why a connection ended, as an error for async_connect and connection events.
std::error_code error_of(const disconnected& d, std::error_code transport_error) {
  switch (d.cause) {
    case disconnect_cause::client_disconnect: return {};
    case disconnect_cause::server_disconnect:
    case disconnect_cause::connection_refused:
    case disconnect_cause::protocol_error:
    case disconnect_cause::authentication_failed:
      return make_error_code(is_failure(d.code) ? d.code : reason_code::unspecified_error);
    case disconnect_cause::transport_closed:
      return transport_error ? transport_error : make_error_code(net::net_errc::connection_closed);
    case disconnect_cause::keep_alive_timeout: return make_error_code(reason_code::keep_alive_timeout);
    case disconnect_cause::connect_timeout:
    case disconnect_cause::ack_timeout: return std::make_error_code(std::errc::timed_out);
  }
  return make_error_code(reason_code::unspecified_error);
}

subscribe_result result_of(const reason_code_list& codes, const properties& props,
                           std::size_t filters, std::error_code& ec) {
  subscribe_result r;
  for (const reason_code c : codes) {
    r.codes.push_back(c);
    if (!ec && is_failure(c)) ec = make_error_code(c);
  }
  if (r.codes.empty()) r.codes.assign(filters, reason_code::success);  // 3.1.1 UNSUBACK
  r.props = owned_properties(props);
  return r;
}

}  // namespace

void client_core::on_event(event& e, time_point now) {
  (void)now;
  std::visit(
      overloaded{
          [&](connected& c) {
            connection_event ce;
            ce.what = connection_event::kind::connected;
            ce.session_present = c.session_present;
            report(ce);
            if (connect_ != nullptr) {
              connect_result r;
              r.session_present = c.session_present;
              r.assigned_client_id = std::string(c.assigned_client_id);
              r.limits = c.limits;
              r.props = owned_properties(c.props);
              std::exchange(connect_, nullptr)->complete({}, std::move(r));
            }
          },
          [&](disconnected& d) {
            const std::error_code why = error_of(d, last_transport_error_);
            last_transport_error_.clear();
            connection_event ce;
            ce.what = connection_event::kind::disconnected;
            ce.cause = d.cause;
            ce.code = d.code;
            ce.error = why;
            ce.reconnect_at = d.reconnect_at;
            report(ce);
            // The exchange ended with its connection (a refusal is a DISCONNECT).
            fail_all(reauthentications_,
                     why ? why : make_error_code(net::net_errc::connection_closed));
            // A first attempt that the session will not retry ends async_connect.
            if (connect_ != nullptr && !d.reconnect_at)
              std::exchange(connect_, nullptr)
                  ->complete(why ? why : make_error_code(errc::not_connected), {});
          },
          [&](message& m) {
            received_message r;
            r.topic = std::string(m.packet.topic);
            r.payload = std::string(as_chars(m.packet.payload));
            r.q = m.packet.q;
            r.retain = m.packet.retain;
            r.dup = m.packet.dup;
            r.packet_id = m.packet.packet_id;
            if (!m.packet.props.empty()) r.props = owned_properties(m.packet.props);
            deliver(std::move(r));
          },
          [&](publish_completed& c) {
            op_base* op = publishes_.find([&](const op_base* o) {
              return static_cast<const publish_op*>(o)->mid == c.id;
            });
            if (op == nullptr) return;  // detached by a cancellation
            publishes_.remove(op);
            publish_result r;
            r.id = c.id;
            r.packet_id = c.packet_id;
            r.outcome = c.outcome;
            r.code = c.code;
            r.reached_broker = c.reached_broker;
            if (!c.props.empty()) r.props = owned_properties(c.props);
            static_cast<publish_op*>(op)->complete(publish_error(c), std::move(r));
          },
          [&](subscribed& s) {
            if (s.resubscribe) return;
            op_base* op = requests_.find([&](const op_base* o) {
              return o->kind == op_kind::subscribe &&
                     static_cast<const request_op*>(o)->packet_id == s.packet_id;
            });
            if (op == nullptr) return;
            requests_.remove(op);
            auto* q = static_cast<request_op*>(op);
            if (s.aborted) return fail(op, make_error_code(net::net_errc::connection_closed));
            std::error_code ec;
            subscribe_result r = result_of(s.codes, s.props, q->topics.size(), ec);
            q->complete(ec, std::move(r));
          },
          [&](unsubscribed& u) {
            op_base* op = requests_.find([&](const op_base* o) {
              return o->kind == op_kind::unsubscribe &&
                     static_cast<const request_op*>(o)->packet_id == u.packet_id;
            });
            if (op == nullptr) return;
            requests_.remove(op);
            auto* q = static_cast<request_op*>(op);
            if (u.aborted) return fail(op, make_error_code(net::net_errc::connection_closed));
            std::error_code ec;
            subscribe_result r = result_of(u.codes, u.props, q->topics.size(), ec);
            q->complete(ec, std::move(r));
          },
          [&](reauthenticated& r) {
            if (op_base* op = reauthentications_.pop_front())
              static_cast<reauthenticate_op*>(op)->complete({}, owned_properties(r.props));
          },
      },
      e);
}

// Hands a message to the oldest waiting receive, or queues it (reading pauses when full).
void client_core::deliver(received_message&& m) {
  if (op_base* op = receives_.pop_front()) {
    static_cast<receive_op*>(op)->complete({}, std::move(m));
    return;
  }
  const std::size_t size = m.topic.size() + m.payload.size();
  received_node* n =
      std::pmr::polymorphic_allocator<received_node>(memory_).new_object<received_node>();
  n->message = std::move(m);
  if (received_tail_ != nullptr) {
    received_tail_->next = n;
  } else {
    received_head_ = n;
  }
  received_tail_ = n;
  ++received_count_;
  received_bytes_ += size;
}

// The session stopped for good: nothing waiting can complete any more.
void client_core::on_stopped() {
  const std::error_code stopped = make_error_code(errc::not_connected);
  if (connect_ != nullptr) std::exchange(connect_, nullptr)->complete(stopped, {});
  while (op_base* op = disconnects_.pop_front())
    static_cast<disconnect_op*>(op)->complete({}, {});
  fail_all(held_requests_, stopped);
  fail_all(requests_, stopped);
  fail_all(publishes_, stopped);
  fail_all(reauthentications_, stopped);
  fail_all(receives_, stopped);
}

void client_core::report(const connection_event& e) {
  if (options_.on_connection_event) options_.on_connection_event(e);
}

// ---- the timer ----------------------------------------------------------------------------------

// One timer for the earliest of: the session's deadline, the open deadline and, while a write
// runs (the session frozen), the write deadline alone.
void client_core::arm_timer(time_point now) {
  (void)now;
  if (shut_down_) return;
  std::optional<time_point> deadline;
  auto consider = [&](std::optional<time_point> t) {
    if (t && (!deadline || *t < *deadline)) deadline = t;
  };
  if (writing_) {
    if (options_.write_timeout.count() > 0) consider(write_started_ + options_.write_timeout);
  } else {
    consider(session_.poll_timeout());
  }
  if (opening_) consider(open_deadline_);
  if (deadline == armed_) return;
  armed_ = deadline;
  const std::uint64_t seq = ++timer_seq_;
  if (!deadline) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*deadline);  // cancels the wait for the previous deadline
  timer_.async_wait([self = shared_from_this(), seq](std::error_code) { self->on_timer(seq); });
}

void client_core::on_timer(std::uint64_t seq) {
  if (shut_down_ || seq != timer_seq_) return;  // re-armed or cancelled meanwhile
  armed_.reset();
  const time_point now = clock::now();
  if (writing_ && options_.write_timeout.count() > 0 &&
      now - write_started_ >= options_.write_timeout) {
    transport_failed(std::make_error_code(std::errc::timed_out));
  }
  drive();
}

}  // namespace detail
}  // namespace tern::asio
