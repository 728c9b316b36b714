// fuzz_topic_match: topic rules against a reference written to be obviously right, not fast.
//
// Input: byte 0 flags (bit 1: derive the topic from the filter, '+' -> "x", '#' -> "y/z", so
// matches are common; other bits unused), byte 1 filter length, then the filter, then the topic
// (ignored with bit 1).
//
// Checks: validate_mqtt_utf8, validate_topic_name, validate_topic_filter (both shared modes),
// has_wildcard, parse_shared_subscription and topic_matches_sub agree with the reference. When
// a string has several faults any one of them may be reported; with none it must be accepted.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"

namespace {

using namespace tern;

// --- reference UTF-8 (RFC 3629 + MQTT's U+0000 rule) -------------------------------------------

struct ref_utf8 {
  bool ill_formed = false;
  bool has_null = false;
};

ref_utf8 reference_utf8(std::string_view s) {
  ref_utf8 r;
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned b = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      len = 1, cp = b;
    } else if (b >= 0xC2 && b <= 0xDF) {
      len = 2, cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3, cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4, cp = b & 0x07;
    } else {
      r.ill_formed = true;  // continuation byte first, C0/C1 (always overlong), F5..FF
      return r;
    }
    if (i + len > s.size()) {
      r.ill_formed = true;
      return r;
    }
    for (std::size_t k = 1; k < len; ++k) {
      const unsigned c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) {
        r.ill_formed = true;
        return r;
      }
      cp = (cp << 6) | (c & 0x3F);
    }
    const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      r.ill_formed = true;
      return r;
    }
    if (cp == 0) r.has_null = true;
    i += len;
  }
  return r;
}

// --- reference topic rules ---------------------------------------------------------------------

std::vector<std::string_view> split_levels(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

bool has(std::string_view s, char c) { return s.find(c) != std::string_view::npos; }

// The faults present in a string: which topic_error values an implementation may report.
struct faults {
  std::vector<topic_error> list;
  void add(topic_error e) { list.push_back(e); }
  bool contains(topic_error e) const {
    for (auto x : list)
      if (x == e) return true;
    return false;
  }
};

void add_common(faults& f, std::string_view s) {
  if (s.empty()) f.add(topic_error::empty);
  if (s.size() > 65'535) f.add(topic_error::too_long);
  const ref_utf8 u = reference_utf8(s);
  if (u.ill_formed) f.add(topic_error::invalid_utf8);
  if (u.has_null) f.add(topic_error::null_character);
  // An ill-formed string may hide a NUL after the fault: either report is fine.
  if (u.ill_formed && has(s, '\0')) f.add(topic_error::null_character);
}

faults name_faults(std::string_view s) {
  faults f;
  add_common(f, s);
  if (has(s, '+') || has(s, '#')) f.add(topic_error::wildcard_in_name);
  return f;
}

bool wildcards_well_placed(std::string_view filter) {
  const auto levels = split_levels(filter);
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const auto l = levels[i];
    if (has(l, '#') && (l != "#" || i + 1 != levels.size())) return false;
    if (has(l, '+') && l != "+") return false;
  }
  return true;
}

constexpr std::string_view k_share = "$share/";

faults filter_faults(std::string_view s, bool shared) {
  faults f;
  add_common(f, s);
  if (shared && s.starts_with(k_share)) {
    const auto rest = s.substr(k_share.size());
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
      f.add(topic_error::invalid_shared_subscription);
      return f;
    }
    const auto share_name = rest.substr(0, slash);
    const auto inner = rest.substr(slash + 1);
    if (share_name.empty() || has(share_name, '+') || has(share_name, '#') || inner.empty())
      f.add(topic_error::invalid_shared_subscription);
    if (!wildcards_well_placed(inner)) {
      f.add(topic_error::misplaced_wildcard);
      f.add(topic_error::invalid_shared_subscription);
    }
    return f;
  }
  if (!wildcards_well_placed(s)) f.add(topic_error::misplaced_wildcard);
  return f;
}

bool match_levels(const std::vector<std::string_view>& f, std::size_t i,
                  const std::vector<std::string_view>& t, std::size_t j) {
  if (i == f.size()) return j == t.size();
  if (f[i] == "#") return true;  // the parent level and everything below
  if (j == t.size()) return false;
  if (f[i] == "+" || f[i] == t[j]) return match_levels(f, i + 1, t, j + 1);
  return false;
}

bool reference_match(std::string_view filter, std::string_view topic) {
  if (!filter_faults(filter, true).list.empty() || !name_faults(topic).list.empty()) return false;
  if (filter.starts_with(k_share)) {
    const auto rest = filter.substr(k_share.size());
    filter = rest.substr(rest.find('/') + 1);
  }
  if (topic.front() == '$' && (filter.front() == '+' || filter.front() == '#')) return false;
  return match_levels(split_levels(filter), 0, split_levels(topic), 0);
}

void check_against(const result<void, topic_error>& got, const faults& want, const char* what,
                   std::string_view s) {
  const bool ok = got.has_value();
  if (ok == want.list.empty() && (ok || want.contains(got.error()))) return;
  std::fprintf(stderr, "%s(\"%.*s\"): got %s, reference expects %s\n", what,
               static_cast<int>(s.size()), s.data(),
               ok ? "ok" : std::string(to_string(got.error())).c_str(),
               want.list.empty() ? "ok" : std::string(to_string(want.list.front())).c_str());
  tern::fuzz::print_hex("string", as_bytes(s));
  std::abort();
}

void check_utf8(std::string_view s) {
  const ref_utf8 r = reference_utf8(s);
  const utf8_status got = validate_mqtt_utf8(s);
  bool fine = false;
  if (!r.ill_formed && !r.has_null) fine = got == utf8_status::ok;
  else if (!r.ill_formed) fine = got == utf8_status::null_character;
  else fine = got == utf8_status::invalid || (has(s, '\0') && got == utf8_status::null_character);
  if (!fine) {
    tern::fuzz::print_hex("utf8", as_bytes(s));
    TERN_FUZZ_CHECK(!"validate_mqtt_utf8 disagrees with the reference");
  }
  TERN_FUZZ_CHECK(is_valid_mqtt_utf8(s) == (got == utf8_status::ok));
}

void check_one(std::string_view s) {
  check_utf8(s);
  check_against(validate_topic_name(s), name_faults(s), "validate_topic_name", s);
  check_against(validate_topic_filter(s, true), filter_faults(s, true), "validate_topic_filter", s);
  check_against(validate_topic_filter(s, false), filter_faults(s, false),
                "validate_topic_filter(no shared)", s);
  TERN_FUZZ_CHECK(is_valid_topic_name(s) == validate_topic_name(s).has_value());
  TERN_FUZZ_CHECK(is_valid_topic_filter(s) == validate_topic_filter(s).has_value());
  TERN_FUZZ_CHECK(has_wildcard(s) == (has(s, '+') || has(s, '#')));

  const auto sh = parse_shared_subscription(s);
  if (!s.starts_with(k_share)) {
    TERN_FUZZ_CHECK(!sh.has_value());
  } else if (const auto slash = s.find('/', k_share.size()); slash != std::string_view::npos) {
    TERN_FUZZ_CHECK(sh.has_value());
    TERN_FUZZ_CHECK(sh->share_name == s.substr(k_share.size(), slash - k_share.size()));
    TERN_FUZZ_CHECK(sh->filter == s.substr(slash + 1));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned flags = data[0];
  const std::size_t filter_size = std::min<std::size_t>(data[1], size - 2);
  const std::string_view filter(reinterpret_cast<const char*>(data + 2), filter_size);
  std::string derived;
  std::string_view topic(reinterpret_cast<const char*>(data + 2 + filter_size),
                         size - 2 - filter_size);
  if (flags & 2) {
    for (const char c : filter) derived += c == '+' ? "x" : c == '#' ? "y/z" : std::string(1, c);
    topic = derived;
  }

  check_one(filter);
  check_one(topic);

  const bool got = topic_matches_sub(filter, topic);
  const bool want = reference_match(filter, topic);
  if (got != want) {
    std::fprintf(stderr, "topic_matches_sub(\"%.*s\", \"%.*s\") = %d, reference says %d\n",
                 static_cast<int>(filter.size()), filter.data(), static_cast<int>(topic.size()),
                 topic.data(), got, want);
    tern::fuzz::print_hex("filter", as_bytes(filter));
    tern::fuzz::print_hex("topic", as_bytes(topic));
    std::abort();
  }
  return 0;
}
