// fuzz_decode_v31 / fuzz_decode_v311 / fuzz_decode_v5: the decoder against arbitrary bytes.
//
// Input: two control bytes, then the stream.
//   byte 0: bits 0-1 sender (server, client, any, any), bits 2-4 Maximum Packet Size (table
//           below), bits 5-7 how the stream is split into the pieces given to decoder::next.
//   byte 1: bit 0 move the decoder (construct + assign) between pieces, bit 1 shrink() after
//           each packet, bits 2-7 seed of the random split patterns.
//
// Checks, each an abort():
//  * tern::decoder fed in pieces and decode_packet over the whole buffer agree: the same packets
//    in the same order at the same stream offsets, then the same decode_error (code and offset)
//    or the same "need more"; decode_frame agrees with both on every frame. An error's offset
//    lies inside its packet, and it maps to a failure reason code, a name and a sentence.
//  * each packet decodes the same from an exact-size copy of its own bytes (nothing read beyond).
//  * every view is read byte by byte; the decoded packet satisfies the invariants the decoder
//    promises (fuzz/common.hpp: check_decoded).
//  * re-encoding: measure/write/encode/write_header accept the packet and agree, and the bytes
//    decode back to an equal packet (also with sender::any, which accepts what either side may
//    send); encode(decode(encode(p))) is byte-identical to encode(p).
//    Exceptions: none. (Bytes are not compared with the input: 3.1.1 allows non-minimal
//    Remaining Lengths, and 5.0 acks / DISCONNECT / AUTH have short and long forms of the same
//    packet, so only the decoded structs must agree.)
//  * memory: the decoder's bytes in use never exceed maximum_packet_size + 64, and never exceed
//    twice what has been fed plus 64 KiB (the most decoder.cpp reserves on an announced
//    Remaining Length alone; past that it must grow with the bytes that actually arrive), and a
//    stream fed in one piece allocates nothing unless it ends in a partial packet.
//  * a failed decoder keeps returning its error; buffered()/stream_offset() add up.
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "common.hpp"

#ifndef TERN_FUZZ_VERSION
#error "compile with -DTERN_FUZZ_VERSION=3, 4 or 5"
#endif

namespace {

using namespace tern;
using tern::fuzz::counting_resource;

constexpr auto k_version = static_cast<protocol_version>(TERN_FUZZ_VERSION);
static_assert(TERN_FUZZ_VERSION >= 3 && TERN_FUZZ_VERSION <= 5);

constexpr std::uint32_t k_max_sizes[8] = {max_packet_size_limit, 2, 5, 9, 32, 128, 300, 4096};
constexpr std::size_t k_memory_slack = 64;
constexpr std::size_t k_first_reserve = 64 * 1024;

bytes_view view(const std::vector<std::byte>& v) { return {v.data(), v.size()}; }

// The whole-buffer reference: decode_packet over the input, one packet after another.
struct reference {
  std::vector<packet> packets;           // views into the fuzz input
  std::vector<std::size_t> offsets;      // of each packet in the stream
  std::vector<protocol_version> versions;  // each packet was decoded with
  std::optional<decode_error> error;
  std::size_t error_packet_offset = 0;
  std::size_t consumed = 0;  // bytes of complete packets
};

std::vector<std::size_t> split_sizes(unsigned pattern, unsigned seed, std::size_t total) {
  std::vector<std::size_t> out;
  std::uint32_t state = seed * 2654435761u + 1;
  auto rnd = [&] {
    state = state * 1103515245u + 12345u;
    return state >> 16;
  };
  std::size_t left = total;
  bool odd = false;
  while (left > 0) {
    std::size_t n = left;
    switch (pattern) {
      case 0: break;                                         // whole
      case 1: n = 1; break;                                  // byte by byte
      case 2: n = 2; break;
      case 3: n = 3; break;
      case 4: n = out.empty() ? 1 + (seed * 7) % total : left; break;  // one cut
      case 5: n = 1 + rnd() % 16; break;
      case 6: n = 1 + rnd() % 256; break;
      default: n = (odd = !odd) ? 5 : 1; break;              // 5, 1, 5, 1, ...
    }
    n = std::min(n, left);
    out.push_back(n);
    left -= n;
  }
  return out;
}

// Encodes `p` every way the encoder offers, checks the ways agree, decodes it back and checks it
// is equal, and that encoding the decoded copy gives the same bytes.
void check_reencode(const packet& p, protocol_version v, const decoder_options& decoded_with) {
  const auto m = measure(p, v);
  if (!m) {
    std::fprintf(stderr, "decoded packet %.*s is not re-encodable: %.*s\n",
                 static_cast<int>(to_string(type_of(p)).size()), to_string(type_of(p)).data(),
                 static_cast<int>(to_string(m.error()).size()), to_string(m.error()).data());
    TERN_FUZZ_CHECK(!"a decoded packet must be encodable");
  }
  TERN_FUZZ_CHECK(m->total >= 2 && m->total <= max_packet_size_limit);
  TERN_FUZZ_CHECK(m->header() + m->payload == m->total);

  std::vector<std::byte> bytes(m->total);
  write(p, v, *m, bytes.data());

  // The typed overloads agree with the variant ones.
  std::visit(
      [&](const auto& typed) {
        const auto mt = measure(typed, v);
        TERN_FUZZ_CHECK(mt && mt->total == m->total && mt->remaining_length == m->remaining_length &&
                        mt->payload == m->payload && mt->properties == m->properties &&
                        mt->will_properties == m->will_properties);
        std::vector<std::byte> again(m->total);
        write(typed, v, *mt, again.data());
        TERN_FUZZ_CHECK(again == bytes);
        std::vector<std::byte> enc(m->total);
        const auto n = encode(typed, v, mutable_bytes(enc));
        TERN_FUZZ_CHECK(n && *n == m->total && enc == bytes);
      },
      p);

  {
    std::vector<std::byte> enc(m->total);
    const auto n = encode(p, v, mutable_bytes(enc));
    TERN_FUZZ_CHECK(n && *n == m->total && enc == bytes);
    // One byte short: an error, and nothing written past the end (ASan sees the exact size).
    auto small = std::make_unique<std::byte[]>(m->total - 1);
    const auto e = encode(p, v, mutable_bytes(small.get(), m->total - 1));
    TERN_FUZZ_CHECK(!e && e.error() == errc::buffer_too_small);
  }

  if (const auto* pub = std::get_if<publish>(&p)) {
    TERN_FUZZ_CHECK(m->payload == pub->payload.size());
    std::vector<std::byte> head(m->header());
    write_header(*pub, v, *m, head.data());
    TERN_FUZZ_CHECK(std::equal(head.begin(), head.end(), bytes.begin()));
    TERN_FUZZ_CHECK(equal_bytes(pub->payload, bytes_view(bytes).subspan(m->header())));
  }

  decoder_options opts = decoded_with;
  opts.maximum_packet_size = max_packet_size_limit;
  std::size_t consumed = 0;
  const auto back = decode_packet(view(bytes), opts, consumed);
  if (!back || !*back) {
    tern::fuzz::print_hex("re-encoded", view(bytes));
    if (!back)
      std::fprintf(stderr, "rejected: %.*s at %u\n",
                   static_cast<int>(name(back.error().code).size()),
                   name(back.error().code).data(), back.error().offset);
    TERN_FUZZ_CHECK(!"the re-encoded packet must decode");
  }
  TERN_FUZZ_CHECK(consumed == bytes.size());
  if (decoded_with.from != sender::any) {  // what one side may send, "any" accepts as well
    opts.from = sender::any;
    std::size_t c3 = 0;
    const auto as_any = decode_packet(view(bytes), opts, c3);
    TERN_FUZZ_CHECK(as_any && *as_any && c3 == consumed && **as_any == **back);
  }
  if (!(**back == p)) {
    tern::fuzz::print_hex("re-encoded", view(bytes));
    TERN_FUZZ_CHECK(!"the re-encoded packet must decode to an equal packet");
  }
  std::vector<std::byte> twice(m->total);
  const auto n2 = encode(**back, v, mutable_bytes(twice));
  TERN_FUZZ_CHECK(n2 && *n2 == m->total && twice == bytes);
}

// Version a packet is encoded with: a CONNECT carries its own.
protocol_version encode_version(const packet& p, protocol_version stream) {
  if (const auto* c = std::get_if<connect>(&p)) return c->version;
  return stream;
}

reference decode_whole(bytes_view data, decoder_options opts) {
  reference ref;
  std::size_t off = 0;
  for (;;) {
    const bytes_view rest = data.subspan(off);
    const auto fr = decode_frame(rest, opts);
    std::size_t consumed = 0;
    const auto r = decode_packet(rest, opts, consumed);
    if (!r) {
      // A fixed-header fault is found by decode_frame alone, the same way; a body fault names
      // a byte inside the packet (or just past its end, for a field cut short).
      if (!fr) TERN_FUZZ_CHECK(fr.error() == r.error() && r.error().offset <= 1);
      else TERN_FUZZ_CHECK(*fr && r.error().offset <= (*fr)->size());
      const decode_errc code = r.error().code;
      TERN_FUZZ_CHECK(is_failure(to_reason_code(code)));
      TERN_FUZZ_CHECK(!name(code).empty() && !to_string(code).empty() && name(code) != "unknown");
      ref.error = r.error();
      ref.error_packet_offset = off;
      break;
    }
    TERN_FUZZ_CHECK(fr.has_value());
    if (!*r) {
      if (*fr) TERN_FUZZ_CHECK((*fr)->size() > rest.size());
      break;
    }
    const packet& p = **r;
    TERN_FUZZ_CHECK(*fr && (*fr)->size() == consumed);
    TERN_FUZZ_CHECK((*fr)->type == type_of(p));
    TERN_FUZZ_CHECK(consumed >= 2 && consumed <= rest.size());
    TERN_FUZZ_CHECK(consumed <= opts.maximum_packet_size);

    // The same packet from an exact-size copy of its bytes: nothing past it is read.
    {
      std::vector<std::byte> own(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(consumed));
      std::size_t c2 = 0;
      const auto again = decode_packet(view(own), opts, c2);
      TERN_FUZZ_CHECK(again && *again && c2 == consumed && **again == p);
      const auto body = decode_body(**fr, view(own).subspan((*fr)->header_size), opts);
      TERN_FUZZ_CHECK(body && *body == p);
    }

    tern::fuzz::touch(p);
    tern::fuzz::check_decoded(p, encode_version(p, opts.version), opts.from);
    check_reencode(p, encode_version(p, opts.version), opts);

    ref.packets.push_back(p);
    ref.offsets.push_back(off);
    ref.versions.push_back(opts.version);
    // A CONNECT from a client sets the version of the rest of the stream. (sender::any keeps
    // the configured version: a tool reading a capture says which version it expects.)
    if (const auto* c = std::get_if<connect>(&p); c && opts.from == sender::client)
      opts.version = c->version;
    off += consumed;
    ref.consumed = off;
  }
  return ref;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* raw, std::size_t raw_size) {
  if (raw_size < 2) return 0;
  const unsigned c0 = raw[0];
  const unsigned c1 = raw[1];
  const sender from = (c0 & 3) == 0 ? sender::server : (c0 & 3) == 1 ? sender::client : sender::any;
  const std::uint32_t max_size = k_max_sizes[(c0 >> 2) & 7];
  const unsigned pattern = c0 >> 5;
  const bool move_between = c1 & 1;
  const bool shrink_after = c1 & 2;
  const unsigned seed = c1 >> 2;

  const bytes_view data(reinterpret_cast<const std::byte*>(raw + 2), raw_size - 2);
  const decoder_options opts{k_version, from, max_size};
  const reference ref = decode_whole(data, opts);

  counting_resource memory;
  {
    std::optional<decoder> dec;
    dec.emplace(opts, &memory);
    std::size_t index = 0;  // next reference packet
    std::size_t fed = 0;
    std::optional<decode_error> error;

    for (const std::size_t n : split_sizes(pattern, seed, data.size())) {
      // Each piece in its own exact-size allocation, freed once consumed: reading past it or
      // keeping a pointer into it is an ASan report.
      auto piece = std::make_unique<std::byte[]>(n);
      std::memcpy(piece.get(), data.data() + fed, n);
      bytes_view in(piece.get(), n);
      const std::size_t piece_start = fed;
      fed += n;
      for (;;) {
        const auto r = dec->next(in);
        TERN_FUZZ_CHECK(memory.in_use() <= std::size_t{max_size} + k_memory_slack);
        TERN_FUZZ_CHECK(memory.peak() <= 2 * fed + k_first_reserve + k_memory_slack);
        if (!r) {
          error = r.error();
          TERN_FUZZ_CHECK(dec->failed());
          break;
        }
        if (!*r) {
          TERN_FUZZ_CHECK(in.empty());
          break;
        }
        const packet& p = **r;
        TERN_FUZZ_CHECK(index < ref.packets.size());
        if (!(p == ref.packets[index])) TERN_FUZZ_CHECK(!"decoder and decode_packet disagree");
        TERN_FUZZ_CHECK(dec->packet_offset() == ref.offsets[index]);
        TERN_FUZZ_CHECK(dec->stream_offset() == piece_start + (n - in.size()));
        TERN_FUZZ_CHECK(dec->buffered() == 0);
        tern::fuzz::touch(p);  // views may point into the decoder's own buffer
        ++index;
        if (index < ref.versions.size())
          TERN_FUZZ_CHECK(dec->options().version == ref.versions[index]);
        if (shrink_after) dec->shrink();
      }
      if (error) break;
      if (move_between) {
        decoder moved(std::move(*dec));
        *dec = std::move(moved);
      }
    }

    TERN_FUZZ_CHECK(index == ref.packets.size());
    TERN_FUZZ_CHECK(error.has_value() == ref.error.has_value());
    if (error) {
      if (!(*error == *ref.error)) {
        std::fprintf(stderr, "decoder: %.*s at %u, decode_packet: %.*s at %u\n",
                     static_cast<int>(name(error->code).size()), name(error->code).data(),
                     error->offset, static_cast<int>(name(ref.error->code).size()),
                     name(ref.error->code).data(), ref.error->offset);
        TERN_FUZZ_CHECK(!"decoder and decode_packet report different errors");
      }
      TERN_FUZZ_CHECK(dec->packet_offset() == ref.error_packet_offset);
      // A failed stream stays failed.
      const std::byte more[2] = {std::byte{0xC0}, std::byte{0x00}};
      bytes_view in(more, 2);
      const auto again = dec->next(in);
      TERN_FUZZ_CHECK(!again && again.error() == *error && dec->failed());
      dec->reset();
      TERN_FUZZ_CHECK(!dec->failed() && dec->buffered() == 0);
    } else {
      TERN_FUZZ_CHECK(!dec->failed());
      TERN_FUZZ_CHECK(dec->stream_offset() == data.size());
      TERN_FUZZ_CHECK(dec->buffered() == data.size() - ref.consumed);
      if (pattern == 0 && ref.consumed == data.size()) TERN_FUZZ_CHECK(memory.allocations() == 0);
    }
    // In one piece, a packet or a fault is found in the caller's bytes: no copy, no allocation.
    if (pattern == 0 && error) TERN_FUZZ_CHECK(memory.allocations() == 0);
  }
  TERN_FUZZ_CHECK(memory.in_use() == 0);  // the decoder gave back everything
  return 0;
}
