// Private to tern::asio (used by client.hpp's templates): a pending asynchronous operation with
// its completion handler type-erased, so the non-template client core (adapters/asio/) can hold
// it until the session reports the outcome.
//
// An operation is allocated with its handler's associated allocator and keeps the handler's
// executor busy (a work guard) while it waits. complete() only records the outcome and hands
// the operation to the core, which runs the completions of one drive together from a handler
// of its own (one post per batch, not per message), each dispatched to the handler's executor:
// never inside the initiating call, so a handler may call the client again without
// re-entering it.
#pragma once

#include <asio/associated_allocator.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/dispatch.hpp>
#include <asio/prefer.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "tern/asio/types.hpp"

namespace tern::asio::detail {

class client_core;

enum class op_kind : std::uint8_t {
  connect,
  publish,
  subscribe,
  unsubscribe,
  receive,
  ack,
  reauthenticate,
  disconnect,
};

// The type-erased part the core sees. Linked into one of the core's queues at a time.
class op_base {
 public:
  op_base(op_kind k, std::uint64_t id) noexcept : kind(k), serial(id) {}
  op_base(const op_base&) = delete;
  op_base& operator=(const op_base&) = delete;

  // Frees the operation without calling its handler (the io_context is being destroyed).
  virtual void destroy() noexcept = 0;
  // Runs a completed operation: frees it, then dispatches its handler with the outcome that
  // complete() recorded. Called by the core on its strand, outside the drive loop.
  virtual void invoke() = 0;

  const op_kind kind;
  const std::uint64_t serial;  // names the operation to a cancellation from another thread
  client_core* owner = nullptr;  // set on the strand when the core takes the operation
  op_base* prev = nullptr;
  op_base* next = nullptr;

 protected:
  ~op_base() = default;
};

// Operations completing with (error_code, R); R = std::monostate means (error_code) alone.
template <class R>
class result_op : public op_base {
 public:
  using result_type = R;
  using op_base::op_base;
  // Records the outcome; the core invokes the handler with it soon after (see invoke()).
  virtual void complete(std::error_code ec, R result) = 0;

 protected:
  ~result_op() = default;
};

// ---- what each operation carries to the core -----------------------------------------------

class connect_op : public result_op<connect_result> {
 public:
  explicit connect_op(std::uint64_t id) : result_op(op_kind::connect, id) {}

 protected:
  ~connect_op() = default;
};

class publish_op : public result_op<publish_result> {
 public:
  publish_op(std::uint64_t id, outgoing_message m)
      : result_op(op_kind::publish, id), message(std::move(m)) {}
  outgoing_message message;
  message_id mid = 0;      // once the session took it
  bool submitted = false;  // the session took it: cancelling can only detach the waiter

 protected:
  ~publish_op() = default;
};

class request_op : public result_op<subscribe_result> {  // SUBSCRIBE or UNSUBSCRIBE
 public:
  request_op(std::uint64_t id, op_kind k, std::vector<subscribe_topic> t, owned_properties p)
      : result_op(k, id), topics(std::move(t)), props(std::move(p)) {}
  std::vector<subscribe_topic> topics;  // unsubscribe uses the filters only
  owned_properties props;
  std::uint16_t packet_id = 0;  // once sent
  bool sent = false;

 protected:
  ~request_op() = default;
};

class receive_op : public result_op<received_message> {
 public:
  explicit receive_op(std::uint64_t id) : result_op(op_kind::receive, id) {}

 protected:
  ~receive_op() = default;
};

class ack_op : public result_op<std::monostate> {
 public:
  ack_op(std::uint64_t id, std::uint16_t packet, reason_code c)
      : result_op(op_kind::ack, id), packet_id(packet), code(c) {}
  std::uint16_t packet_id;
  reason_code code;

 protected:
  ~ack_op() = default;
};

class reauthenticate_op : public result_op<owned_properties> {
 public:
  explicit reauthenticate_op(std::uint64_t id) : result_op(op_kind::reauthenticate, id) {}

 protected:
  ~reauthenticate_op() = default;
};

class disconnect_op : public result_op<std::monostate> {
 public:
  disconnect_op(std::uint64_t id, reason_code c, owned_properties p)
      : result_op(op_kind::disconnect, id), code(c), props(std::move(p)) {}
  reason_code code;
  owned_properties props;

 protected:
  ~disconnect_op() = default;
};

// ---- the core's entry points for the templates (adapters/asio/client_core.cpp) -------------

std::uint64_t next_serial(client_core& core) noexcept;
// Hands a new operation to the core (from any thread): it runs on the client's strand.
void submit(const std::shared_ptr<client_core>& core, op_base* op);
// complete() of an operation the core has taken: queues it for the core's next batch of
// invocations (posting that batch if none is pending). On the core's strand only.
void defer_completion(client_core& core, op_base* op);
// A cancellation slot fired (on any thread): the core acts on its strand, if the operation
// still waits.
void request_cancel(const std::weak_ptr<client_core>& core, std::uint64_t serial,
                    ::asio::cancellation_type_t type);

struct cancellation_forwarder {
  std::weak_ptr<client_core> core;
  std::uint64_t serial;
  void operator()(::asio::cancellation_type_t type) const { request_cancel(core, serial, type); }
};

// ---- the handler-holding implementation ---------------------------------------------------------

template <class Handler, class Base, class IoExecutor>
class op_impl final : public Base {
 public:
  using result_type = typename Base::result_type;
  using handler_executor = ::asio::associated_executor_t<Handler, IoExecutor>;
  // The handler's executor, counting as outstanding work while the operation waits.
  using work_executor = std::decay_t<decltype(::asio::prefer(
      std::declval<const handler_executor&>(), ::asio::execution::outstanding_work.tracked))>;

  template <class H, class... Args>
  op_impl(H&& handler, const IoExecutor& io, bool cancellable,
          const std::shared_ptr<client_core>& core, std::uint64_t id, Args&&... args)
      : Base(id, std::forward<Args>(args)...),
        handler_(std::forward<H>(handler)),
        work_(::asio::prefer(::asio::get_associated_executor(handler_, io),
                             ::asio::execution::outstanding_work.tracked)),
        slot_(::asio::get_associated_cancellation_slot(handler_)) {
    if (cancellable && slot_.is_connected())
      slot_.template emplace<cancellation_forwarder>(cancellation_forwarder{core, id});
  }

  void complete(std::error_code ec, result_type result) override {
    if (slot_.is_connected()) slot_.clear();
    ec_ = ec;
    result_.emplace(std::move(result));
    defer_completion(*this->owner, this);
  }

  void invoke() override {
    auto alloc = rebound(::asio::get_associated_allocator(handler_));
    Handler handler(std::move(handler_));
    const work_executor ex(std::move(work_));
    const std::error_code ec = ec_;
    result_type result(std::move(*result_));
    free_self(alloc);  // memory goes back before the upcall, as Asio's own operations do
    if constexpr (std::is_same_v<result_type, std::monostate>) {
      (void)result;
      ::asio::dispatch(ex, [h = std::move(handler), ec]() mutable { std::move(h)(ec); });
    } else {
      ::asio::dispatch(ex, [h = std::move(handler), ec, r = std::move(result)]() mutable {
        std::move(h)(ec, std::move(r));
      });
    }
  }

  void destroy() noexcept override {
    if (slot_.is_connected()) slot_.clear();
    free_self(rebound(::asio::get_associated_allocator(handler_)));
  }

  template <class H, class... Args>
  static op_impl* create(H&& handler, Args&&... args) {
    auto alloc = rebound(::asio::get_associated_allocator(handler));
    op_impl* p = std::allocator_traits<decltype(alloc)>::allocate(alloc, 1);
    try {
      ::new (static_cast<void*>(p)) op_impl(std::forward<H>(handler), std::forward<Args>(args)...);
    } catch (...) {
      std::allocator_traits<decltype(alloc)>::deallocate(alloc, p, 1);
      throw;
    }
    return p;
  }

 private:
  template <class A>
  static auto rebound(const A& a) {
    return typename std::allocator_traits<A>::template rebind_alloc<op_impl>(a);
  }

  template <class A>
  void free_self(A alloc) noexcept {
    this->~op_impl();
    std::allocator_traits<decltype(alloc)>::deallocate(alloc, this, 1);
  }

  Handler handler_;
  work_executor work_;
  ::asio::associated_cancellation_slot_t<Handler> slot_;
  std::error_code ec_;                  // the outcome, between complete() and invoke()
  std::optional<result_type> result_;
};

}  // namespace tern::asio::detail
