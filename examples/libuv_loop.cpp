// The client inside a libuv loop, through the user-event-loop API: a uv_poll_t watches the
// socket (created in on_socket_open, switched between readable and readable+writable by
// on_socket_register_write / unregister_write, stopped and closed in on_socket_close, which
// comes before the fd closes), and a uv_timer_t is re-armed from next_timeout() after every
// call into the client.
//
//   libuv_loop [host=localhost] [port=1883] [count=5]
#include <uv.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "tern/client.hpp"

namespace {

struct app {
  uv_loop_t* loop = nullptr;
  tern::client* mqttc = nullptr;
  uv_timer_t timer{};
  uv_poll_t* poll = nullptr;
  bool stopping = false;
};

void on_timer(uv_timer_t* timer);

// After every call into the client: sleep until its next deadline.
void rearm(app& a) {
  if (const auto t = a.mqttc->next_timeout())
    uv_timer_start(&a.timer, on_timer, static_cast<std::uint64_t>(t->count()), 0);
  else uv_timer_stop(&a.timer);
}

void on_timer(uv_timer_t* timer) {
  app& a = *static_cast<app*>(timer->data);
  a.mqttc->loop_misc();
  rearm(a);
}

void on_poll(uv_poll_t* handle, int status, int events) {
  app& a = *static_cast<app*>(handle->data);
  if (status < 0) events = UV_READABLE;  // loop_read() reports what went wrong
  if ((events & UV_READABLE) != 0) a.mqttc->loop_read();
  if ((events & UV_WRITABLE) != 0) a.mqttc->loop_write();
  a.mqttc->loop_misc();
  rearm(a);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "localhost";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  const int count = argc > 3 ? std::atoi(argv[3]) : 5;
  const std::string topic = "tern/examples/libuv";

  app a;
  a.loop = uv_default_loop();
  uv_timer_init(a.loop, &a.timer);
  a.timer.data = &a;
  tern::client mqttc;
  a.mqttc = &mqttc;
  int received = 0;

  mqttc.on_socket_open = [&](tern::client&, int fd) {
    std::cout << "socket " << fd << " opened: uv_poll_start\n";
    a.poll = new uv_poll_t{};
    uv_poll_init(a.loop, a.poll, fd);
    a.poll->data = &a;
    uv_poll_start(a.poll, UV_READABLE, on_poll);
  };
  mqttc.on_socket_register_write = [&](tern::client&, int) {
    if (a.poll) uv_poll_start(a.poll, UV_READABLE | UV_WRITABLE, on_poll);
  };
  mqttc.on_socket_unregister_write = [&](tern::client&, int) {
    if (a.poll) uv_poll_start(a.poll, UV_READABLE, on_poll);
  };
  mqttc.on_socket_close = [&](tern::client&, int fd) {
    std::cout << "socket " << fd << " closing: uv_poll_stop\n";
    if (a.poll) {
      uv_poll_stop(a.poll);
      uv_close(reinterpret_cast<uv_handle_t*>(a.poll),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      a.poll = nullptr;
    }
    if (a.stopping) uv_close(reinterpret_cast<uv_handle_t*>(&a.timer), nullptr);
  };
  mqttc.on_connect = [&](tern::client& c, tern::connect_flags, tern::reason_code rc,
                         const tern::properties&) {
    if (tern::is_failure(rc)) return;
    std::cout << "connected; subscribing to " << topic << '\n';
    c.subscribe(topic, tern::qos::exactly_once);
  };
  mqttc.on_subscribe = [&](tern::client& c, std::uint16_t, const tern::reason_code_list&,
                           const tern::properties&) {
    for (int i = 1; i <= count; ++i)
      c.publish(topic, "message " + std::to_string(i), tern::qos::exactly_once);
  };
  mqttc.on_message = [&](tern::client& c, const tern::publish& msg) {
    std::cout << "received " << tern::as_chars(msg.payload) << '\n';
    if (++received == count) {
      a.stopping = true;
      c.disconnect();
    }
  };

  std::cout << "connecting to " << host << ':' << port << '\n';
  if (const auto ec = mqttc.connect(host, port)) {
    std::cerr << "connect failed: " << ec.message() << '\n';
    return 1;
  }
  rearm(a);
  uv_run(a.loop, UV_RUN_DEFAULT);  // returns once the poll handle and the timer are closed
  uv_loop_close(a.loop);
  std::cout << "done: " << received << " messages\n";
  return received == count ? 0 : 1;
}
