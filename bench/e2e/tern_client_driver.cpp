// tern::client (the paho-like API) through its socket driver: both connections in one epoll
// set on the driver's thread, loop_read / loop_write / loop_misc as the sockets are ready —
// how an application with its own event loop runs it, and the fastest way the API allows.
#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <string>

#include "driver.hpp"
#include "payload.hpp"
#include "tern/client.hpp"

namespace tern::bench {
namespace {

class run_state {
 public:
  run_state(const cell& c, control& ctl)
      : cell_(c),
        ctl_(ctl),
        pub_(configure(c, "tern-client-pub")),
        sub_(configure(c, "tern-client-sub")),
        filler_(c.payload, 'x') {}
  ~run_state() {
    if (epoll_ >= 0) ::close(epoll_);
  }

  void run() {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) return ctl_.fail("tern-client: epoll_create1 failed");
    wire_publisher();
    if (cell_.flow == flow::publish_subscribe) wire_subscriber();
    if (!open(pub_, "publisher")) return;
    if (cell_.flow == flow::publish_subscribe && !open(sub_, "subscriber")) return;
    loop();
    // A polite end: DISCONNECT written before the sockets close.
    pub_.disconnect();
    (void)pub_.loop_write();
    if (cell_.flow == flow::publish_subscribe) {
      sub_.disconnect();
      (void)sub_.loop_write();
    }
  }

 private:
  static client_options configure(const cell& c, const char* id) {
    client_options o;
    o.client_id = id;
    o.version = c.protocol == 5 ? protocol_version::v5 : protocol_version::v3_1_1;
    o.clean_start = clean_start_policy::always;
    o.reconnect_on_failure = false;
    return o;
  }

  void wire_publisher() {
    pub_.max_inflight_messages_set(static_cast<std::uint16_t>(cell_.window));
    pub_.session_options().auto_reconnect = false;
    pub_.on_connect = [this](client&, connect_flags, reason_code rc, const properties&) {
      if (is_failure(rc)) return ctl_.fail("tern-client: publisher refused");
      pub_up_ = true;
    };
    pub_.on_publish = [this](client&, message_id, reason_code rc, const properties&) {
      ++completed_;
      if (is_failure(rc) && !ctl_.stopping()) return ctl_.fail("tern-client: publish failed");
      if (cell_.flow == flow::publish_only) ctl_.count();
    };
  }

  void wire_subscriber() {
    sub_.session_options().auto_reconnect = false;
    sub_.on_connect = [this](client& c, connect_flags, reason_code rc, const properties&) {
      if (is_failure(rc)) return ctl_.fail("tern-client: subscriber refused");
      if (c.subscribe(cell_.topic, static_cast<qos>(cell_.qos)).first)
        ctl_.fail("tern-client: subscribe refused");
    };
    sub_.on_subscribe = [this](client&, std::uint16_t, const reason_code_list& codes,
                               const properties&) {
      for (const reason_code rc : codes)
        if (is_failure(rc)) return ctl_.fail("tern-client: SUBACK refused the subscription");
      sub_up_ = true;
    };
    sub_.on_message = [this](client&, const tern::publish& p) {
      if (!check_.accept(as_chars(p.payload), cell_.qos)) return ctl_.fail(check_.problem());
      ++received_;
      ctl_.count();
    };
  }

  bool open(client& c, const char* who) {
    if (const auto ec = c.connect("127.0.0.1", cell_.port)) {
      ctl_.fail(std::string("tern-client: ") + who + " connect: " + ec.message());
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &c;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, c.socket(), &ev);
    return true;
  }

  bool ready() const { return pub_up_ && (cell_.flow == flow::publish_only || sub_up_); }

  bool burst_fits() const { return pacing_.burst_fits(published_, completed_); }
  bool may_publish() const { return pacing_.may_publish(published_, completed_, received_); }

  void publish_what_fits() {
    if (!burst_fits()) return;
    std::string payload = filler_;
    for (int i = 0; i < 1000 && may_publish(); ++i) {
      stamp_sequence(payload, published_);
      const message_info info =
          pub_.publish(cell_.topic, std::string_view(payload), static_cast<qos>(cell_.qos));
      if (info.rc()) {
        // A full transmit buffer: loop_write drains it, then publishing goes on.
        if (info.rc() == make_error_code(errc::would_block)) return;
        return ctl_.fail("tern-client: publish: " + info.rc().message());
      }
      ++published_;
    }
  }

  // Level-triggered: EPOLLOUT is asked for only while a client has bytes it could not write.
  void watch_writes(client& c) {
    const bool want = c.want_write();
    bool& watched = &c == &pub_ ? pub_out_ : sub_out_;
    if (want == watched) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.ptr = &c;
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.socket(), &ev);
    watched = want;
  }

  void loop() {
    const bool both = cell_.flow == flow::publish_subscribe;
    bool announced = false;
    while (!ctl_.stopping()) {
      if (!announced && ready()) {
        ctl_.ready();
        announced = true;
      }
      if (announced) publish_what_fits();
      for (client* c : {&pub_, &sub_}) {
        if (c == &sub_ && !both) continue;
        // loop_misc() writes what is new, unless the socket was full: then EPOLLOUT (below,
        // through loop_write) says when to go on, and this costs no system call.
        if (c->want_write() && c->loop_misc()) return ctl_.fail("tern-client: write failed");
        watch_writes(*c);
      }
      // Poll without waiting while publishing can go on; otherwise wait for the broker.
      const int timeout = announced && burst_fits() && may_publish() ? 0 : 10;
      std::array<epoll_event, 4> events;
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout);
      for (int i = 0; i < n; ++i) {
        auto* c = static_cast<client*>(events[i].data.ptr);
        if ((events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && c->loop_read())
          return ctl_.fail("tern-client: read failed");
        if ((events[i].events & EPOLLOUT) && c->loop_write())
          return ctl_.fail("tern-client: write failed");
      }
      if (pub_.loop_misc() || (both && sub_.loop_misc()))
        return ctl_.fail("tern-client: connection lost");
    }
  }

  const cell& cell_;
  control& ctl_;
  client pub_;
  client sub_;
  std::string filler_;
  sequence_check check_;
  int epoll_ = -1;
  bool pub_up_ = false;
  bool sub_up_ = false;
  bool pub_out_ = false;
  bool sub_out_ = false;
  std::uint64_t published_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t received_ = 0;
  publish_pacing pacing_{cell_};
};

}  // namespace

void run_tern_client(const cell& c, control& ctl) {
  run_state state(c, ctl);
  state.run();
}

}  // namespace tern::bench
