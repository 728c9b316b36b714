// The transmit queue: segments in write order, coalesced so that consecutive small packets are
// one slice, with stored QoS 1/2 messages sent as views (no copy) and markers that act once
// the bytes before them are written.
#include <algorithm>
#include <cstring>

#include "session_impl.hpp"

namespace tern {

using detail::segment;
using detail::stored_message;

std::byte* session::impl::reserve_owned(std::size_t n) {
  if (segments.empty()) {  // everything written: start the buffer over
    thead = 0;
    tbuf.clear();
  } else if (slices_out && tbuf.size() + n > tbuf.capacity()) {
    // The unwritten bytes are being written from where they are: continue in a new buffer.
    std::pmr::vector<std::byte> next(tbuf.get_allocator());
    next.reserve(std::max({tbuf.capacity() * 2, tbuf.size() - thead + n, std::size_t{256}}));
    next.insert(next.end(), tbuf.begin() + static_cast<std::ptrdiff_t>(thead), tbuf.end());
    for (std::size_t i = 0; i < segments.size(); ++i)
      if (segments[i].k == segment::kind::owned)
        segments[i].offset -= static_cast<std::uint32_t>(thead);
    retired_tbufs.push_back(std::move(tbuf));
    tbuf = std::move(next);
    thead = 0;
  } else if (thead != 0 && tbuf.size() + n > tbuf.capacity()) {
    // Move unwritten owned bytes to the front instead of growing.
    std::memmove(tbuf.data(), tbuf.data() + thead, tbuf.size() - thead);
    tbuf.resize(tbuf.size() - thead);
    for (std::size_t i = 0; i < segments.size(); ++i)
      if (segments[i].k == segment::kind::owned)
        segments[i].offset -= static_cast<std::uint32_t>(thead);
    thead = 0;
  }
  const std::size_t at = tbuf.size();
  tbuf.resize(at + n);
  if (!segments.empty() && segments.back().k == segment::kind::owned &&
      segments.back().offset + segments.back().size == at) {
    segments.back().size += static_cast<std::uint32_t>(n);
  } else {
    segments.push_back({segment::kind::owned, static_cast<std::uint32_t>(at),
                        static_cast<std::uint32_t>(n), nullptr, 0});
  }
  tsize += n;
  return tbuf.data() + at;
}

void session::impl::push_stored(stored_message* m, std::uint32_t offset, std::uint32_t size) {
  segments.push_back({segment::kind::stored, offset, size, m, 0});
  ++m->in_transmit;
  tsize += size;
}

void session::impl::push_marker(segment::kind k, message_id id) {
  segments.push_back({k, 0, 0, nullptr, id});
}

bool session::impl::send_packet(const packet& p) {
  const auto size = measure(p, cfg.version);
  if (!size) {
    log(log_level::error, "cannot encode ", to_string(type_of(p)), ": ", to_string(size.error()));
    return false;
  }
  if (size->total > limits.maximum_packet_size) {
    log(log_level::warning, to_string(type_of(p)), " larger than the server's maximum, not sent");
    return false;
  }
  write(p, cfg.version, *size, reserve_owned(size->total));
  end_packet();
  return true;
}

std::size_t session::impl::fill_slices(std::span<bytes_view> out) const noexcept {
  std::size_t n = 0;
  bool last_owned = false;  // out[n - 1] is a run of tbuf
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const segment& s = segments[i];
    if (s.size == 0 || (s.k != segment::kind::owned && s.k != segment::kind::stored)) continue;
    const bool owned = s.k == segment::kind::owned;
    const std::byte* base = owned ? tbuf.data() + s.offset : s.message->bytes() + s.offset;
    // Owned runs split only by markers (QoS 0 "sent") are adjacent in tbuf: one slice.
    if (owned && last_owned && out[n - 1].data() + out[n - 1].size() == base) {
      out[n - 1] = bytes_view(out[n - 1].data(), out[n - 1].size() + s.size);
      continue;
    }
    if (n == out.size()) break;
    out[n++] = bytes_view(base, s.size);
    last_owned = owned;
  }
  if (n != 0) slices_out = true;
  return n;
}

void session::impl::consume(std::size_t n, time_point now) {
  slices_out = false;  // the caller polls afresh after a commit
  retired_tbufs.clear();
  if (n > tsize) n = tsize;  // a caller claiming more than it was given
  if (n != 0) last_write = now;
  tsize -= n;
  written_total += n;
  while (!packet_ends.empty() && packet_ends.front() <= written_total) {
    last_boundary = packet_ends.front();
    packet_ends.pop_front();
  }
  while (!segments.empty()) {
    segment& s = segments.front();
    if (s.k == segment::kind::owned || s.k == segment::kind::stored) {
      if (s.size > n) {
        s.offset += static_cast<std::uint32_t>(n);
        s.size -= static_cast<std::uint32_t>(n);
        if (s.k == segment::kind::owned) thead = s.offset;
        return;
      }
      n -= s.size;
      if (s.k == segment::kind::owned) {
        thead = s.offset + s.size;
      } else {
        stored_message* m = s.message;
        m->sent_at = now;
        if (--m->in_transmit == 0 && m->acked_while_queued) release(m);
      }
      segments.pop_front();
      continue;
    }
    // A marker acts once everything before it is written.
    const segment marker = s;
    segments.pop_front();
    if (marker.k == segment::kind::qos0_sent) {
      push_event(publish_completed{marker.id, 0, qos::at_most_once, publish_outcome::sent,
                                   reason_code::success, true, {}});
    } else if (marker.k == segment::kind::close_after) {
      actions.push_back(close_transport{});
    }
  }
  if (segments.empty()) {
    thead = 0;
    tbuf.clear();
  }
}

void session::impl::clear_transmit() {
  while (!segments.empty()) {
    segment s = segments.front();
    segments.pop_front();
    if (s.k == segment::kind::stored) {
      if (--s.message->in_transmit == 0 && s.message->acked_while_queued) release(s.message);
    } else if (s.k == segment::kind::qos0_sent) {
      push_event(publish_completed{s.id, 0, qos::at_most_once,
                                   publish_outcome::offline_discarded, reason_code::success,
                                   false, {}});
    }
  }
  tbuf.clear();
  thead = 0;
  slices_out = false;
  retired_tbufs.clear();
  tsize = 0;
  packet_ends.clear();
  written_total = last_boundary = 0;
}

}  // namespace tern
