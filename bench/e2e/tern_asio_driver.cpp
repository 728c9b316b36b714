// tern::asio::client driven from one io_context on the driver's thread: publishes are kept in
// flight by their own completion handlers (window / lead bounded), the subscriber by a chain of
// async_receive. Handlers carry asio's recycling allocator, so operations reuse their memory
// instead of going to operator new per message — what an application that cares would do.
#include <asio/bind_allocator.hpp>
#include <asio/io_context.hpp>
#include <asio/recycling_allocator.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstring>
#include <string>

#include "driver.hpp"
#include "payload.hpp"
#include "tern/asio/client.hpp"

namespace tern::bench {
namespace {

tern::asio::client_options options_for(const cell& c, const char* id) {
  tern::asio::client_options o;
  o.host = "127.0.0.1";
  o.port = c.port;
  o.session.version = c.protocol == 5 ? protocol_version::v5 : protocol_version::v3_1_1;
  o.session.client_id = id;
  o.session.clean_start = clean_start_policy::always;
  o.session.keep_alive = std::chrono::seconds(60);
  o.session.max_inflight = static_cast<std::uint16_t>(c.window);
  o.session.auto_reconnect = false;
  // The subscriber must not stop reading because the bench's own queue is long.
  o.max_received_messages = 1u << 20;
  o.max_received_bytes = std::size_t{1} << 30;
  return o;
}

class run_state {
 public:
  run_state(const cell& c, control& ctl)
      : cell_(c),
        ctl_(ctl),
        pub_(io_, options_for(c, "tern-asio-pub")),
        sub_(io_, options_for(c, "tern-asio-sub")),
        poll_(io_),
        filler_(c.payload, 'x') {}

  void run() {
    pub_.async_connect([this](std::error_code ec, const tern::asio::connect_result&) {
      if (ec) return fail("publisher connect", ec);
      if (cell_.flow == flow::publish_only) return start();
      sub_.async_connect([this](std::error_code sub_ec, const tern::asio::connect_result&) {
        if (sub_ec) return fail("subscriber connect", sub_ec);
        sub_.async_subscribe(cell_.topic, {.max_qos = static_cast<qos>(cell_.qos)},
                             [this](std::error_code sub_ack, const tern::asio::subscribe_result&) {
                               if (sub_ack) return fail("subscribe", sub_ack);
                               receive();
                               start();
                             });
      });
    });
    watch();
    io_.run();
  }

 private:
  void start() {
    ctl_.ready();
    pump();
  }

  bool burst_fits() const { return pacing_.burst_fits(published_, completed_); }
  bool may_publish() const { return pacing_.may_publish(published_, completed_, received_); }

  void pump() {
    if (!burst_fits()) return;
    while (!stopping_ && may_publish()) {
      std::string payload = filler_;
      stamp_sequence(payload, published_++);
      pub_.async_publish(
          cell_.topic, std::move(payload), static_cast<qos>(cell_.qos),
          ::asio::bind_allocator(
              ::asio::recycling_allocator<void>(),
              [this](std::error_code ec, const tern::asio::publish_result&) { on_published(ec); }));
    }
  }

  void on_published(std::error_code ec) {
    ++completed_;
    if (stopping_) return;
    if (ec) return fail("publish", ec);
    if (cell_.flow == flow::publish_only) ctl_.count();
    pump();
  }

  void receive() {
    sub_.async_receive(
        ::asio::bind_allocator(::asio::recycling_allocator<void>(),
                               [this](std::error_code ec, tern::asio::received_message m) {
                                 if (stopping_) return;
                                 if (ec) return fail("receive", ec);
                                 if (!check_.accept(m.payload, cell_.qos))
                                   return ctl_.fail(check_.problem());
                                 ++received_;
                                 ctl_.count();
                                 receive();
                                 pump();
                               }));
  }

  // The harness says stop from another thread; looked at every 10 ms.
  void watch() {
    poll_.expires_after(std::chrono::milliseconds(10));
    poll_.async_wait([this](std::error_code) {
      if (!ctl_.stopping()) return watch();
      stopping_ = true;
      sub_.cancel();
      pub_.async_disconnect([this](std::error_code) {
        sub_.async_disconnect([this](std::error_code) { io_.stop(); });
      });
    });
  }

  void fail(const char* what, std::error_code ec) {
    if (stopping_) return;
    ctl_.fail(std::string("tern-asio: ") + what + ": " + ec.message());
  }

  const cell& cell_;
  control& ctl_;
  ::asio::io_context io_{1};
  tern::asio::client pub_;
  tern::asio::client sub_;
  ::asio::steady_timer poll_;
  std::string filler_;
  sequence_check check_;
  std::uint64_t published_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t received_ = 0;
  publish_pacing pacing_{cell_};
  bool stopping_ = false;
};

}  // namespace

void run_tern_asio(const cell& c, control& ctl) {
  run_state state(c, ctl);
  state.run();
}

}  // namespace tern::bench
