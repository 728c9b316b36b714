// bench_e2e's "raw" driver: the broker-bound limit the real clients are compared with.
//
// Theory of operation. No client library, no allocation and almost no copying on the message
// path: every packet the publisher can send is encoded once before measuring — QoS 1/2: one
// PUBLISH per packet id 1..window, back to back, plus one PUBREL per id; QoS 0: enough copies of
// one PUBLISH to fill a 64 KiB batch — and sending a message means appending a pointer into that
// region to an iovec queue (adjacent packets merge into one iovec), so a batch of hundreds of
// messages goes out in one writev. Packet ids are used in order, so id k is the k-th packet of
// the region. The subscriber's acknowledgements are 4-byte packets appended to a ring and sent the
// same way. One thread, one epoll (edge-triggered, so no EPOLL_CTL_MOD per write), reads of
// 256 KiB parsed by a fixed-header scanner that reads only what it must (type, packet id).
//
// The first 4 payload bytes hold the packet's slot in the region, so the subscriber checks that
// QoS 1/2 messages arrive in order without gaps (modulo the window) at the cost of one compare.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "driver.hpp"

namespace tern::bench {
namespace {

using bytes = std::vector<std::uint8_t>;

constexpr std::size_t batch_bytes = 64 * 1024;  // publishes queued per write at most
constexpr std::size_t read_size = 256 * 1024;
constexpr std::size_t ack_ring_size = 256 * 1024;
constexpr int max_iov = 1024;  // IOV_MAX on Linux

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error("raw: " + what + ": " + std::strerror(errno));
}

// --- encoding (setup only) ----------------------------------------------------------------------

void put_varint(bytes& out, std::size_t v) {
  do {
    auto b = static_cast<std::uint8_t>(v % 128);
    v /= 128;
    out.push_back(v > 0 ? static_cast<std::uint8_t>(b | 0x80) : b);
  } while (v > 0);
}

void put_u16(bytes& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put_str(bytes& out, const std::string& s) {
  put_u16(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

bytes frame(std::uint8_t first, const bytes& body) {
  bytes p{first};
  put_varint(p, body.size());
  p.insert(p.end(), body.begin(), body.end());
  return p;
}

bytes encode_connect(const std::string& client_id, int protocol) {
  bytes b;
  put_str(b, "MQTT");
  b.push_back(static_cast<std::uint8_t>(protocol));
  b.push_back(0x02);                  // clean session / clean start
  put_u16(b, 0);                      // keep alive off: nothing but messages on the wire
  if (protocol == 5) b.push_back(0);  // no properties
  put_str(b, client_id);
  return frame(0x10, b);
}

bytes encode_subscribe(const std::string& topic, int qos, int protocol) {
  bytes b;
  put_u16(b, 1);
  if (protocol == 5) b.push_back(0);
  put_str(b, topic);
  b.push_back(static_cast<std::uint8_t>(qos));
  return frame(0x82, b);
}

bytes encode_publish(const cell& c, std::uint16_t id, std::uint32_t slot) {
  bytes b;
  put_str(b, c.topic);
  if (c.qos > 0) put_u16(b, id);
  if (c.protocol == 5) b.push_back(0);
  const std::size_t at = b.size();
  b.resize(at + c.payload, 'x');
  if (c.payload >= 4) std::memcpy(b.data() + at, &slot, 4);
  return frame(static_cast<std::uint8_t>(0x30 | (c.qos << 1)), b);
}

// --- blocking setup -----------------------------------------------------------------------------

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("socket");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{5, 0};  // setup only: a broker that never answers fails the cell
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    fail_errno("connect to 127.0.0.1:" + std::to_string(port));
  }
  return fd;
}

void send_all(int fd, const bytes& p) {
  std::size_t done = 0;
  while (done < p.size()) {
    const ssize_t n = ::write(fd, p.data() + done, p.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail_errno("write during setup");
    done += static_cast<std::size_t>(n);
  }
}

void read_exact(int fd, std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) throw std::runtime_error("raw: broker closed the connection during setup");
    if (r < 0) fail_errno("read during setup");
    p += r;
    n -= static_cast<std::size_t>(r);
  }
}

// Reads one whole packet; returns its first byte and body.
std::uint8_t read_packet(int fd, bytes& body) {
  std::uint8_t h = 0;
  read_exact(fd, &h, 1);
  std::size_t len = 0;
  for (int shift = 0;; shift += 7) {
    std::uint8_t b = 0;
    read_exact(fd, &b, 1);
    len |= static_cast<std::size_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
    if (shift >= 21) throw std::runtime_error("raw: malformed remaining length");
  }
  body.resize(len);
  if (len > 0) read_exact(fd, body.data(), len);
  return h;
}

int open_session(const cell& c, const std::string& client_id) {
  const int fd = connect_to(c.port);
  try {
    send_all(fd, encode_connect(client_id, c.protocol));
    bytes body;
    if (read_packet(fd, body) != 0x20 || body.size() < 2)
      throw std::runtime_error("raw: expected CONNACK");
    if (body[1] != 0)
      throw std::runtime_error("raw: CONNACK refused, code " + std::to_string(body[1]));
  } catch (...) {
    ::close(fd);
    throw;
  }
  return fd;
}

void subscribe(int fd, const cell& c) {
  send_all(fd, encode_subscribe(c.topic, c.qos, c.protocol));
  bytes body;
  if (read_packet(fd, body) != 0x90 || body.size() < 3)
    throw std::runtime_error("raw: expected SUBACK");
  std::size_t at = 2;
  if (c.protocol == 5) {  // skip the properties
    std::size_t len = 0;
    for (int shift = 0; at < body.size(); shift += 7) {
      const std::uint8_t b = body[at++];
      len |= static_cast<std::size_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    at += len;
  }
  if (at >= body.size() || body[at] != c.qos)
    throw std::runtime_error("raw: SUBACK did not grant QoS " + std::to_string(c.qos));
}

// --- the message path ---------------------------------------------------------------------------

// Bytes waiting to be written: iovecs into regions that stay put until written. `done` counts
// the QoS 0 publishes a segment finishes (publish_only counts them when written).
class out_queue {
 public:
  bool empty() const noexcept { return head_ == seg_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }

  void push(const std::uint8_t* p, std::size_t n, std::uint32_t done) {
    bytes_ += n;
    if (!empty()) {
      iovec& last = seg_.back();
      if (static_cast<const std::uint8_t*>(last.iov_base) + last.iov_len == p) {
        last.iov_len += n;
        done_.back() += done;
        return;
      }
    }
    seg_.push_back({const_cast<std::uint8_t*>(p), n});
    done_.push_back(done);
  }

  // One writev. Returns bytes written (0 when the socket is full); `finished` gets the QoS 0
  // publishes completed; `full` says whether the kernel took less than offered.
  std::size_t write(int fd, std::uint64_t& finished, bool& full) {
    const int cnt = static_cast<int>(std::min<std::size_t>(seg_.size() - head_, max_iov));
    ssize_t n = ::writev(fd, seg_.data() + head_, cnt);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        full = errno == EAGAIN;
        return 0;
      }
      fail_errno("writev");
    }
    const auto wrote = static_cast<std::size_t>(n);
    bytes_ -= wrote;
    std::size_t offered = 0;
    for (int i = 0; i < cnt; ++i) offered += seg_[head_ + static_cast<std::size_t>(i)].iov_len;
    full = wrote < offered;
    std::size_t left = wrote;
    while (left > 0) {
      iovec& s = seg_[head_];
      if (left < s.iov_len) {
        s.iov_base = static_cast<std::uint8_t*>(s.iov_base) + left;
        s.iov_len -= left;
        break;
      }
      left -= s.iov_len;
      finished += done_[head_];
      ++head_;
    }
    if (empty()) {
      seg_.clear();
      done_.clear();
      head_ = 0;
    }
    return wrote;
  }

 private:
  std::vector<iovec> seg_;
  std::vector<std::uint32_t> done_;
  std::size_t head_ = 0;
  std::size_t bytes_ = 0;
};

struct connection {
  int fd = -1;
  bool want_read = false;  // edge-triggered: data may be waiting until a read comes back short
  bool writable = true;
  bytes rbuf = bytes(read_size);
  std::size_t rlen = 0;
  out_queue out;

  ~connection() {
    if (fd >= 0) ::close(fd);
  }
};

class raw_run {
 public:
  raw_run(const cell& c, control& ctl) : c_(c), ctl_(ctl) {
    if (c.protocol != 4 && c.protocol != 5)
      throw std::runtime_error("raw: protocol must be 4 or 5");
    if (c.qos < 0 || c.qos > 2) throw std::runtime_error("raw: qos must be 0, 1 or 2");
    if (c.qos > 0 && (c.window == 0 || c.window > 65535))
      throw std::runtime_error("raw: window must be 1..65535");
    pubsub_ = c.flow == flow::publish_subscribe;
    prepare();
  }

  void run() {
    const std::string tag = std::to_string(::getpid());
    if (pubsub_) {
      sub_.fd = open_session(c_, "raw-sub-" + tag);
      subscribe(sub_.fd, c_);
    }
    pub_.fd = open_session(c_, "raw-pub-" + tag);
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) fail_errno("epoll_create1");
    watch(pub_, 0);
    if (pubsub_) watch(sub_, 1);
    ctl_.ready();
    loop();
  }

  ~raw_run() {
    if (ep_ >= 0) ::close(ep_);
  }

 private:
  void prepare() {
    const auto one = encode_publish(c_, 1, 0);
    pkt_ = one.size();
    // QoS 1/2: one packet per id; QoS 0: copies enough for a full batch (plus one to wrap).
    slots_ = c_.qos > 0 ? c_.window : static_cast<unsigned>(batch_bytes / pkt_ + 2);
    region_.reserve(static_cast<std::size_t>(slots_) * pkt_);
    for (unsigned s = 0; s < slots_; ++s) {
      const auto p = encode_publish(c_, static_cast<std::uint16_t>(s + 1), s);
      region_.insert(region_.end(), p.begin(), p.end());
    }
    if (c_.qos == 2) {
      for (unsigned s = 0; s < slots_; ++s) {
        const std::uint8_t rel[4] = {0x62, 2, static_cast<std::uint8_t>((s + 1) >> 8),
                                     static_cast<std::uint8_t>((s + 1) & 0xff)};
        pubrel_.insert(pubrel_.end(), rel, rel + 4);
      }
    }
    state_.assign(c_.qos > 0 ? slots_ : 0, 0);
    window_limit_ = c_.qos > 0 ? c_.window : 0;
    refill_ = static_cast<unsigned>(refill_burst(c_));
    if (pubsub_) ack_ring_.resize(ack_ring_size);
  }

  void watch(connection& conn, std::uint32_t index) {
    int flags = ::fcntl(conn.fd, F_GETFL);
    if (flags < 0 || ::fcntl(conn.fd, F_SETFL, flags | O_NONBLOCK) < 0) fail_errno("O_NONBLOCK");
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
    ev.data.u32 = index;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, conn.fd, &ev) != 0) fail_errno("epoll_ctl");
    conn.want_read = true;  // the broker may have sent something already
  }

  void loop() {
    epoll_event evs[4];
    auto last_receipt = std::chrono::steady_clock::now();
    std::uint64_t seen_received = 0;
    while (!ctl_.stopping()) {
      bool progress = false;
      if (pubsub_ && sub_.want_read) progress |= read_some(sub_, false);
      if (pub_.want_read) progress |= read_some(pub_, true);
      fill();
      if (pub_.writable && !pub_.out.empty()) progress |= write_some(pub_);
      if (pubsub_ && sub_.writable && !sub_.out.empty()) progress |= write_some(sub_);
      if (progress) continue;

      // QoS 0 may be dropped by the broker: when the lead is exhausted and nothing arrives for a
      // while, stop waiting for what is gone.
      if (pubsub_ && c_.qos == 0) {
        const auto now = std::chrono::steady_clock::now();
        if (received_ != seen_received) {
          seen_received = received_;
          last_receipt = now;
        } else if (now - last_receipt > std::chrono::milliseconds(200)) {
          written_off_ = sent_ - received_;
          last_receipt = now;
        }
      }
      const int n = ::epoll_wait(ep_, evs, 4, 100);
      if (n < 0 && errno != EINTR) fail_errno("epoll_wait");
      for (int i = 0; i < n; ++i) {
        connection& conn = evs[i].data.u32 == 0 ? pub_ : sub_;
        if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) conn.want_read = true;
        if (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) conn.writable = true;
      }
    }
  }

  // Queues as many publishes as the batch, the window and the lead allow.
  void fill() {
    std::uint32_t counts_when_written = !pubsub_ && c_.qos == 0 ? 1 : 0;
    // Refill only once a quarter of the window is free: one write per many messages, not per ack.
    if (c_.qos > 0 && in_flight_ + refill_ > c_.window) return;
    while (pub_.out.bytes() < batch_bytes) {
      if (pubsub_ && sent_ - received_ - written_off_ >= c_.lead) return;
      unsigned slot = 0;
      if (c_.qos > 0) {
        slot = static_cast<unsigned>(sent_ % slots_);
        if (state_[slot] != 0 || in_flight_ >= window_limit_) return;
        state_[slot] = 1;
        ++in_flight_;
      } else {
        slot = static_cast<unsigned>(sent_ % slots_);
      }
      pub_.out.push(region_.data() + static_cast<std::size_t>(slot) * pkt_, pkt_,
                    counts_when_written);
      ++sent_;
    }
  }

  bool write_some(connection& conn) {
    std::uint64_t finished = 0;
    bool full = false;
    const std::size_t wrote = conn.out.write(conn.fd, finished, full);
    if (full) conn.writable = false;
    if (finished > 0) ctl_.count(finished);
    return wrote > 0;
  }

  bool read_some(connection& conn, bool is_pub) {
    if (!(is_pub ? parse_pub() : parse_sub())) return false;  // acks waiting to be written
    const std::size_t room = conn.rbuf.size() - conn.rlen;
    const ssize_t n = ::read(conn.fd, conn.rbuf.data() + conn.rlen, room);
    if (n < 0) {
      if (errno == EAGAIN) {
        conn.want_read = false;
        return false;
      }
      if (errno == EINTR) return false;
      if (ctl_.stopping()) return false;
      fail_errno("read");
    }
    if (n == 0) {
      if (!ctl_.stopping()) throw std::runtime_error("raw: the broker closed the connection");
      conn.want_read = false;
      return false;
    }
    conn.rlen += static_cast<std::size_t>(n);
    if (static_cast<std::size_t>(n) < room) conn.want_read = false;  // drained for now
    // Acks that did not fit stay unparsed: come back after the next write.
    if (!(is_pub ? parse_pub() : parse_sub())) conn.want_read = true;
    return true;
  }

  // Parses a fixed header at p[0..avail): false when incomplete, else the header and body sizes.
  static bool fixed_header(const std::uint8_t* p, std::size_t avail, std::size_t& hdr,
                           std::size_t& len) {
    len = 0;
    hdr = 1;
    for (int shift = 0;; shift += 7) {
      if (hdr >= avail) return false;
      const std::uint8_t b = p[hdr++];
      len |= static_cast<std::size_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return avail - hdr >= len;
      if (shift >= 21) throw std::runtime_error("raw: malformed remaining length");
    }
  }

  // Calls on(first_byte, body, body_len) per whole packet in conn.rbuf; stops early when `on`
  // returns false (its packet stays). Keeps a partial packet at the front. Returns false when
  // stopped early.
  template <class F>
  bool scan(connection& conn, F&& on) {
    const std::uint8_t* p = conn.rbuf.data();
    std::size_t at = 0, hdr = 0, len = 0;
    bool all = true;
    while (fixed_header(p + at, conn.rlen - at, hdr, len)) {
      if (!on(p[at], p + at + hdr, len)) {
        all = false;
        break;
      }
      at += hdr + len;
    }
    if (at > 0) {
      std::memmove(conn.rbuf.data(), p + at, conn.rlen - at);
      conn.rlen -= at;
    }
    if (all && conn.rlen == conn.rbuf.size())
      throw std::runtime_error("raw: packet larger than the read buffer");
    return all;
  }

  static unsigned id_of(const std::uint8_t* body, std::size_t len) {
    if (len < 2) throw std::runtime_error("raw: acknowledgement without packet id");
    return static_cast<unsigned>(body[0]) << 8 | body[1];
  }

  bool parse_pub() {
    std::uint64_t finished = 0;
    const bool all = scan(pub_, [&](std::uint8_t h, const std::uint8_t* body, std::size_t len) {
      const unsigned id = id_of(body, len);
      if (id == 0 || id > state_.size()) throw std::runtime_error("raw: unknown packet id");
      std::uint8_t& st = state_[id - 1];
      if (h == 0x40 && c_.qos == 1 && st == 1) {  // PUBACK
        st = 0;
        --in_flight_;
        ++finished;
      } else if (h == 0x50 && c_.qos == 2 && st == 1) {  // PUBREC: answer PUBREL
        st = 2;
        pub_.out.push(pubrel_.data() + (id - 1) * 4, 4, 0);
      } else if (h == 0x70 && c_.qos == 2 && st == 2) {  // PUBCOMP
        st = 0;
        --in_flight_;
        ++finished;
      } else {
        throw std::runtime_error("raw: unexpected packet type " + std::to_string(h >> 4) +
                                 " for id " + std::to_string(id));
      }
      return true;
    });
    if (!pubsub_ && finished > 0) ctl_.count(finished);
    return all;
  }

  // Appends a 4-byte acknowledgement to the ring and queues it; false when the ring is full.
  bool ack(std::uint8_t type, unsigned id) {
    if (sub_.out.bytes() + 8 > ack_ring_.size()) return false;
    if (ack_tail_ + 4 > ack_ring_.size()) ack_tail_ = 0;
    std::uint8_t* a = ack_ring_.data() + ack_tail_;
    a[0] = type;
    a[1] = 2;
    a[2] = static_cast<std::uint8_t>(id >> 8);
    a[3] = static_cast<std::uint8_t>(id & 0xff);
    ack_tail_ += 4;
    sub_.out.push(a, 4, 0);
    return true;
  }

  bool parse_sub() {
    std::uint64_t got = 0;
    const bool all = scan(sub_, [&](std::uint8_t h, const std::uint8_t* body, std::size_t len) {
      if ((h & 0xf0) == 0x30) {
        const int qos = (h >> 1) & 3;
        if (len < 2) throw std::runtime_error("raw: short PUBLISH");
        std::size_t at = 2 + (static_cast<std::size_t>(body[0]) << 8 | body[1]);
        unsigned id = 0;
        if (qos > 0) {
          if (at + 2 > len) throw std::runtime_error("raw: short PUBLISH");
          id = static_cast<unsigned>(body[at]) << 8 | body[at + 1];
          at += 2;
          // The ack must fit before the message counts, so a full ring retries it later.
          if (!ack(qos == 1 ? 0x40 : 0x50, id)) return false;
        }
        if (c_.protocol == 5) {
          std::size_t plen = 0;
          for (int shift = 0; at < len; shift += 7) {
            const std::uint8_t b = body[at++];
            plen |= static_cast<std::size_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0) break;
          }
          at += plen;
        }
        if (qos > 0 && len - at >= 4 && c_.payload >= 4) {
          std::uint32_t slot = 0;
          std::memcpy(&slot, body + at, 4);
          const auto expected = static_cast<std::uint32_t>(received_ % slots_);
          if (slot != expected)
            throw std::runtime_error("raw: message lost or out of order (slot " +
                                     std::to_string(slot) + ", expected " +
                                     std::to_string(expected) + ")");
        }
        ++received_;
        ++got;
        return true;
      }
      if (h == 0x62) return ack(0x70, id_of(body, len));  // PUBREL: answer PUBCOMP
      throw std::runtime_error("raw: unexpected packet type " + std::to_string(h >> 4) +
                               " on the subscriber");
    });
    if (got > 0) ctl_.count(got);
    return all;
  }

  const cell& c_;
  control& ctl_;
  bool pubsub_ = false;
  int ep_ = -1;
  connection pub_, sub_;
  bytes region_, pubrel_, ack_ring_;
  std::size_t pkt_ = 0, ack_tail_ = 0;
  unsigned slots_ = 0;
  std::vector<std::uint8_t> state_;  // per id: 0 free, 1 awaiting PUBACK/PUBREC, 2 PUBCOMP
  std::uint64_t sent_ = 0, received_ = 0, written_off_ = 0;
  unsigned in_flight_ = 0, refill_ = 1, window_limit_ = 0;
};

}  // namespace

void run_raw(const cell& c, control& ctl) {
  try {
    raw_run r(c, ctl);
    r.run();
  } catch (const std::exception& e) {
    ctl.fail(e.what());
  }
}

}  // namespace tern::bench
