// WebSocket client (RFC 6455) as a layer: our own HTTP upgrade, wslay's event API for frames.
//
// Theory of operation: start() writes the upgrade request. received() gathers the response
// headers (at most max_response bytes), checks them, and hands whatever follows them to wslay.
// wslay reads through recv_callback from `feed`, a view of the bytes received() was given, and
// writes through send_callback into `out`; nothing here touches a socket. wslay runs with
// buffering off, so binary payload reaches `in` chunk by chunk as frames arrive: MQTT packets
// may span frames and frames may hold several packets, readable() is the byte stream. wslay
// answers pings and close frames by itself. We reject what MQTT over WebSocket forbids (text
// frames, [MQTT-6.0.0-1]) and frames larger than max_frame_payload; wslay rejects what RFC 6455
// forbids by queuing a close frame and disabling reads, which we notice after wslay_event_recv.
// send() puts each call's bytes into one masked binary frame, and takes nothing while `out`
// holds more than output_bound.
#include "tern/net/websocket.hpp"

#include <openssl/evp.h>
#include <wslay/wslay.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>

#include "byte_queue.hpp"
#include "tern/net/error.hpp"

namespace tern::net {

namespace {

constexpr std::size_t output_bound = std::size_t{1} << 20;
constexpr std::size_t max_response = 16 * 1024;
constexpr std::string_view accept_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* data, std::size_t size) {
  std::string s(4 * ((size + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(s.data()), data, static_cast<int>(size));
  s.resize(static_cast<std::size_t>(std::max(n, 0)));
  return s;
}

// Sec-WebSocket-Accept for a key [RFC 6455 4.2.2]: base64(SHA-1(key + GUID)).
std::string accept_for(const std::string& key) {
  const std::string text = key + std::string(accept_guid);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha1(), nullptr) != 1)
    return {};
  return base64(digest.data(), size);
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated header value holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool has_line_break(std::string_view s) {
  return s.find('\r') != std::string_view::npos || s.find('\n') != std::string_view::npos;
}

}  // namespace

struct websocket_layer::impl {
  enum class phase { idle, upgrading, open, failed };

  websocket_options options;
  std::string host;
  std::uint16_t port;
  std::mt19937_64 random;
  wslay_event_context_ptr ws = nullptr;
  phase state = phase::idle;
  std::string key;                  // Sec-WebSocket-Key sent
  std::string response;             // upgrade response headers gathered so far
  bytes_view feed;                  // received bytes wslay has yet to read
  detail::byte_queue in;            // binary payload for the layer above
  detail::byte_queue out;           // frames (and the request) for the layer below
  std::vector<std::byte> frame;     // send() gathers one frame's payload here
  std::uint8_t frame_opcode = 0;    // of the frame being received
  std::uint8_t message_opcode = 0;  // text or binary: what continuation frames continue
  std::error_code error;
  std::string message;
  std::error_code rejected;  // a frame we refused, set inside a wslay callback
  std::string rejected_why;
  bool close_reported = false;  // a close frame arrived while payload was still unread

  impl(websocket_options o, std::string h, std::uint16_t p, std::uint64_t seed)
      : options(std::move(o)), host(std::move(h)), port(p), random(seed) {}
  ~impl() { wslay_event_context_free(ws); }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  std::error_code fail(net_errc e, std::string why) {
    state = phase::failed;
    error = e;
    message = std::move(why);
    return error;
  }

  // Fails the connection from inside wslay: stop reading, tell the server why.
  void reject(std::uint16_t code, std::string why) {
    if (rejected) return;
    rejected = net_errc::websocket_protocol_error;
    wslay_event_shutdown_read(ws);
    wslay_event_queue_close(ws, code, nullptr, 0);
    rejected_why = std::move(why);
  }

  static ssize_t recv_cb(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len,
                         int /*flags*/, void* user) {
    auto& self = *static_cast<impl*>(user);
    const std::size_t n = std::min(len, self.feed.size());
    if (n == 0) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    std::memcpy(buf, self.feed.data(), n);
    self.feed = self.feed.subspan(n);
    return static_cast<ssize_t>(n);
  }

  static ssize_t send_cb(wslay_event_context_ptr ctx, const std::uint8_t* data, std::size_t len,
                         int /*flags*/, void* user) {
    try {
      static_cast<impl*>(user)->out.append(
          bytes_view(reinterpret_cast<const std::byte*>(data), len));
    } catch (...) {
      wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
      return -1;
    }
    return static_cast<ssize_t>(len);
  }

  static int genmask_cb(wslay_event_context_ptr, std::uint8_t* buf, std::size_t len, void* user) {
    auto& self = *static_cast<impl*>(user);
    for (std::size_t i = 0; i < len; ++i) buf[i] = static_cast<std::uint8_t>(self.random());
    return 0;
  }

  // wslay is C: nothing may be thrown through it. Running out of memory inside a callback
  // fails the connection instead.
  template <class F>
  static void guarded(void* user, F&& f) noexcept {
    auto& self = *static_cast<impl*>(user);
    try {
      f(self);
    } catch (...) {
      self.rejected = net_errc::websocket_protocol_error;
      wslay_event_shutdown_read(self.ws);
    }
  }

  static void frame_start_cb(wslay_event_context_ptr, const wslay_event_on_frame_recv_start_arg* a,
                             void* user) {
    guarded(user, [a](impl& self) {
      self.frame_opcode = a->opcode;
      if (!wslay_is_ctrl_frame(a->opcode) && a->opcode != WSLAY_CONTINUATION_FRAME)
        self.message_opcode = a->opcode;
      if (self.message_opcode == WSLAY_TEXT_FRAME && !wslay_is_ctrl_frame(a->opcode))
        self.reject(WSLAY_CODE_UNSUPPORTED_DATA,
                    "the server sent a text frame (MQTT needs binary)");
      else if (a->payload_length > self.options.max_frame_payload)
        self.reject(WSLAY_CODE_MESSAGE_TOO_BIG, "a frame of " + std::to_string(a->payload_length) +
                                                    " bytes exceeds the limit of " +
                                                    std::to_string(self.options.max_frame_payload));
    });
  }

  static void frame_chunk_cb(wslay_event_context_ptr, const wslay_event_on_frame_recv_chunk_arg* a,
                             void* user) {
    guarded(user, [a](impl& self) {
      if (self.rejected || self.message_opcode != WSLAY_BINARY_FRAME) return;
      if (self.frame_opcode != WSLAY_BINARY_FRAME && self.frame_opcode != WSLAY_CONTINUATION_FRAME)
        return;  // a control frame between fragments
      self.in.append(bytes_view(reinterpret_cast<const std::byte*>(a->data), a->data_length));
    });
  }

  static void message_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* a,
                         void* user) {
    guarded(user, [a](impl& self) {
      if (a->opcode != WSLAY_CONNECTION_CLOSE) return;
      self.message = "the server closed the WebSocket";
      if (a->status_code != 0) self.message += " with code " + std::to_string(a->status_code);
      if (a->msg_length > 2)
        self.message +=
            ": " + std::string(reinterpret_cast<const char*>(a->msg) + 2, a->msg_length - 2);
    });
  }

  std::error_code create_context() {
    wslay_event_callbacks callbacks{recv_cb,        send_cb, genmask_cb, frame_start_cb,
                                    frame_chunk_cb, nullptr, message_cb};
    if (wslay_event_context_client_init(&ws, &callbacks, this) != 0)
      return fail(net_errc::websocket_protocol_error, "out of memory");
    wslay_event_config_set_no_buffering(ws, 1);  // payload streams into `in`, no message copy
    return {};
  }

  std::error_code write_request() {
    if (has_line_break(options.path) || has_line_break(options.subprotocol) ||
        has_line_break(host) || options.path.empty() || options.path.front() != '/')
      return fail(net_errc::invalid_options, "bad WebSocket path, host or subprotocol");
    std::array<unsigned char, 16> nonce{};
    for (auto& b : nonce) b = static_cast<unsigned char>(random());
    key = base64(nonce.data(), nonce.size());
    std::string host_header =
        host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
    // The port is left out where it is the default of ws (80) or wss (443).
    if (port != 80 && port != 443) host_header += ":" + std::to_string(port);
    std::string r = "GET " + options.path + " HTTP/1.1\r\nHost: " + host_header +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                    "\r\nSec-WebSocket-Version: 13\r\n";
    if (!options.subprotocol.empty())
      r += "Sec-WebSocket-Protocol: " + options.subprotocol + "\r\n";
    for (const auto& [name, value] : options.headers) {
      if (name.empty() || has_line_break(name) || has_line_break(value) ||
          name.find(':') != std::string::npos)
        return fail(net_errc::invalid_options, "bad WebSocket header \"" + name + "\"");
      r += name + ": " + value + "\r\n";
    }
    r += "\r\n";
    out.append(r);
    return {};
  }

  // Checks the upgrade response [RFC 6455 4.1, the client's checks]; `head` ends at the blank
  // line.
  std::error_code check_response(std::string_view head) {
    const std::string_view status = head.substr(0, head.find("\r\n"));
    const auto refused = [&](std::string why) {
      return fail(net_errc::websocket_handshake_failed,
                  why + " (status line \"" + std::string(status) + "\")");
    };
    if (status.substr(0, 7) != "HTTP/1." || status.size() < 12 || status[8] != ' ')
      return refused("not an HTTP response");
    if (status.substr(9, 3) != "101") return refused("the server did not switch protocols");
    bool upgrade = false;
    bool connection = false;
    std::string_view accept;
    std::string_view protocol;
    bool protocol_seen = false;
    bool extensions = false;
    std::string_view rest = head.substr(status.size());
    while (!rest.empty()) {
      if (rest.substr(0, 2) == "\r\n") rest.remove_prefix(2);
      const std::string_view line = rest.substr(0, rest.find("\r\n"));
      rest.remove_prefix(line.size());
      if (line.empty()) continue;
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) return refused("malformed header line");
      const std::string_view name = trim(line.substr(0, colon));
      const std::string_view value = trim(line.substr(colon + 1));
      if (iequals(name, "Upgrade")) upgrade = iequals(value, "websocket");
      else if (iequals(name, "Connection")) connection = has_token(value, "upgrade");
      else if (iequals(name, "Sec-WebSocket-Accept")) accept = value;
      else if (iequals(name, "Sec-WebSocket-Protocol")) {
        protocol = value;
        protocol_seen = true;
      } else if (iequals(name, "Sec-WebSocket-Extensions")) extensions = !value.empty();
    }
    if (!upgrade) return refused("missing \"Upgrade: websocket\"");
    if (!connection) return refused("missing \"Connection: Upgrade\"");
    if (accept != accept_for(key)) return refused("wrong Sec-WebSocket-Accept");
    if (!options.subprotocol.empty() && (!protocol_seen || protocol != options.subprotocol))
      return refused("the server did not accept subprotocol \"" + options.subprotocol + "\"");
    if (options.subprotocol.empty() && protocol_seen)
      return refused("the server chose a subprotocol that was not offered");
    if (extensions) return refused("the server chose an extension that was not offered");
    return {};
  }

  // Hands `data` to wslay and sorts out what it made of it.
  std::error_code read_frames(bytes_view data) {
    feed = data;
    const int r = wslay_event_recv(ws);
    feed = {};
    wslay_event_send(ws);  // pongs and close frames, into `out`
    if (r != 0) return fail(net_errc::websocket_protocol_error, "WebSocket receive failed");
    if (rejected)
      return fail(net_errc::websocket_protocol_error,
                  rejected_why.empty() ? "out of memory receiving a frame" : rejected_why);
    if (wslay_event_get_read_enabled(ws)) return {};
    if (!wslay_event_get_close_received(ws))
      return fail(net_errc::websocket_protocol_error, "malformed WebSocket frame from the server");
    // A close frame: wslay queued the reply above. Payload that came before it is still
    // readable; the close is reported once that is gone (or by the TCP end that follows).
    if (!in.empty()) {
      close_reported = true;
      return {};
    }
    std::string why = message;
    return fail(net_errc::websocket_closed, why);
  }
};

websocket_layer::websocket_layer(websocket_options options, std::string host, std::uint16_t port,
                                 std::uint64_t random_seed)
    : impl_(std::make_unique<impl>(std::move(options), std::move(host), port, random_seed)) {}
websocket_layer::~websocket_layer() = default;

std::error_code websocket_layer::start() {
  impl& w = *impl_;
  if (w.error) return w.error;
  if (w.state != impl::phase::idle) return {};
  if (auto ec = w.create_context()) return ec;
  if (auto ec = w.write_request()) return ec;
  w.state = impl::phase::upgrading;
  return {};
}

bool websocket_layer::established() const noexcept { return impl_->state == impl::phase::open; }

std::error_code websocket_layer::received(bytes_view data) {
  impl& w = *impl_;
  if (w.error) return w.error;
  if (w.state == impl::phase::idle)
    return w.fail(net_errc::websocket_protocol_error, "bytes received before start()");
  if (w.close_reported) {
    std::string why = w.message;
    return w.fail(net_errc::websocket_closed, why);
  }
  if (w.state == impl::phase::upgrading) {
    const std::size_t before = w.response.size();
    w.response.append(
        as_chars(data).substr(0, max_response + 4 - std::min(before, max_response + 4)));
    const auto end = w.response.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (w.response.size() > max_response)
        return w.fail(
            net_errc::websocket_handshake_failed,
            "the upgrade response headers exceed " + std::to_string(max_response) + " bytes");
      return {};
    }
    if (end + 4 > max_response)
      return w.fail(
          net_errc::websocket_handshake_failed,
          "the upgrade response headers exceed " + std::to_string(max_response) + " bytes");
    if (auto ec = w.check_response(std::string_view(w.response).substr(0, end + 2))) return ec;
    w.state = impl::phase::open;
    // Frames may follow the headers in the same read.
    const std::size_t used = end + 4 - before;
    w.response.clear();
    w.response.shrink_to_fit();
    data = data.subspan(used);
  }
  if (data.empty()) return {};
  return w.read_frames(data);
}

bytes_view websocket_layer::readable() const noexcept { return impl_->in.view(); }
void websocket_layer::consume_readable(std::size_t n) noexcept { impl_->in.consume(n); }

std::size_t websocket_layer::send(std::span<const bytes_view> data, std::error_code& ec) {
  impl& w = *impl_;
  ec.clear();
  if (w.error) {
    ec = w.error;
    return 0;
  }
  if (w.state != impl::phase::open || w.out.size() >= output_bound) return 0;
  if (wslay_event_get_close_sent(w.ws) || wslay_event_get_close_received(w.ws) ||
      w.close_reported) {
    ec = net_errc::websocket_closed;
    return 0;
  }
  const std::size_t room = output_bound - w.out.size();
  w.frame.clear();
  for (const bytes_view s : data) {
    const std::size_t n = std::min(s.size(), room - w.frame.size());
    w.frame.insert(w.frame.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
    if (w.frame.size() == room) break;
  }
  if (w.frame.empty()) return 0;
  const wslay_event_msg msg{WSLAY_BINARY_FRAME,
                            reinterpret_cast<const std::uint8_t*>(w.frame.data()), w.frame.size()};
  if (wslay_event_queue_msg(w.ws, &msg) != 0 || wslay_event_send(w.ws) != 0) {
    ec = w.fail(net_errc::websocket_protocol_error, "could not queue a WebSocket frame");
    return 0;
  }
  return w.frame.size();
}

bytes_view websocket_layer::writable() const noexcept { return impl_->out.view(); }
void websocket_layer::consume_writable(std::size_t n) noexcept { impl_->out.consume(n); }

void websocket_layer::shutdown() noexcept {
  impl& w = *impl_;
  if (w.state != impl::phase::open || w.ws == nullptr) return;
  // 1000, normal closure; a close already queued (an answer to the server's) makes this a no-op.
  if (wslay_event_queue_close(w.ws, WSLAY_CODE_NORMAL_CLOSURE, nullptr, 0) == 0)
    wslay_event_send(w.ws);
}

std::string websocket_layer::describe() const { return "WebSocket"; }

const std::string& websocket_layer::last_error_message() const noexcept { return impl_->message; }

}  // namespace tern::net
