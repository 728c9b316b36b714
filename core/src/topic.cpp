// Topic rules [MQTT 4.7, 4.8.2]. Matching walks filter and topic level by level without
// allocating; validation and matching share one definition of a level.
#include "tern/topic.hpp"

#include <cstring>

#include "tern/protocol.hpp"
#include "tern/utf8.hpp"

namespace tern {
namespace {

constexpr std::string_view share_prefix = "$share/";

result<void, topic_error> check_text(std::string_view s) noexcept {
  if (s.empty()) return unexpected{topic_error::empty};
  if (s.size() > max_string_size) return unexpected{topic_error::too_long};
  switch (validate_mqtt_utf8(s)) {
    case utf8_status::ok: return {};
    case utf8_status::invalid: return unexpected{topic_error::invalid_utf8};
    case utf8_status::null_character: return unexpected{topic_error::null_character};
  }
  return {};
}

// '#' only as a whole last level, '+' only as a whole level [MQTT-4.7.1-2, -3].
bool wildcards_well_placed(std::string_view filter) noexcept {
  const std::size_t n = filter.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = filter[i];
    if (c != '+' && c != '#') continue;
    const bool starts_level = i == 0 || filter[i - 1] == '/';
    const bool ends_level = i + 1 == n || filter[i + 1] == '/';
    if (!starts_level || !ends_level) return false;
    if (c == '#' && i + 1 != n) return false;
  }
  return true;
}

bool match_levels(std::string_view filter, std::string_view topic) noexcept {
  if (!topic.empty() && topic[0] == '$' && (filter[0] == '+' || filter[0] == '#'))
    return false;  // [MQTT-4.7.2-1]
  std::size_t f = 0;
  std::size_t t = 0;
  bool topic_done = false;
  for (;;) {
    std::size_t fe = filter.find('/', f);
    if (fe == std::string_view::npos) fe = filter.size();
    const std::string_view level = filter.substr(f, fe - f);
    if (level == "#") return true;  // this level, everything below, and the parent
    if (topic_done) return false;
    std::size_t te = topic.find('/', t);
    if (te == std::string_view::npos) te = topic.size();
    if (level != "+" && level != topic.substr(t, te - t)) return false;
    const bool filter_last = fe == filter.size();
    const bool topic_last = te == topic.size();
    if (filter_last) return topic_last;
    f = fe + 1;
    if (topic_last)
      topic_done = true;
    else
      t = te + 1;
  }
}

}  // namespace

std::string_view to_string(topic_error e) noexcept {
  switch (e) {
    case topic_error::empty: return "topic is empty";
    case topic_error::too_long: return "topic is longer than 65,535 bytes";
    case topic_error::invalid_utf8: return "topic is not well-formed UTF-8";
    case topic_error::null_character: return "topic contains U+0000";
    case topic_error::wildcard_in_name: return "topic name contains a wildcard";
    case topic_error::misplaced_wildcard: return "wildcard not alone in its level, or # not last";
    case topic_error::invalid_shared_subscription:
      return "shared subscription needs $share/{name}/{filter} with a plain, non-empty name";
  }
  return "invalid topic";
}

bool has_wildcard(std::string_view s) noexcept {
  return s.find_first_of("+#") != std::string_view::npos;
}

// Topic names are checked on every PUBLISH in and out, so plain ASCII (the common case) is
// checked eight bytes at a time for a high bit, a zero byte, '+' and '#' in one pass.
result<void, topic_error> validate_topic_name(std::string_view topic) noexcept {
  if (topic.empty()) return unexpected{topic_error::empty};
  if (topic.size() > max_string_size) return unexpected{topic_error::too_long};
  constexpr std::uint64_t ones = 0x0101010101010101ull;
  constexpr std::uint64_t highs = 0x8080808080808080ull;
  // High bit set in each byte of w that is zero (exact for bytes below 0x80, which these are).
  auto zero_bytes = [](std::uint64_t w) { return (w - ones) & ~w & highs; };
  const char* p = topic.data();
  const char* const end = p + topic.size();
  bool ascii = true;
  bool wildcard = false;
  for (; end - p >= 8 && ascii; p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if ((w & highs) != 0) {
      ascii = false;
    } else if ((zero_bytes(w) | zero_bytes(w ^ (ones * '+')) | zero_bytes(w ^ (ones * '#'))) != 0) {
      if (zero_bytes(w) != 0) return unexpected{topic_error::null_character};
      wildcard = true;  // one test per word on the common path; sort out which only here
    }
  }
  for (; p != end && ascii; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x80u) ascii = false;
    else if (c == 0) return unexpected{topic_error::null_character};
    else wildcard |= c == '+' || c == '#';
  }
  if (!ascii) {
    if (auto r = check_text(topic); !r) return r;
    wildcard = has_wildcard(topic);
  }
  if (wildcard) return unexpected{topic_error::wildcard_in_name};
  return {};
}

std::optional<shared_subscription> parse_shared_subscription(std::string_view filter) noexcept {
  if (!filter.starts_with(share_prefix)) return std::nullopt;
  const std::string_view rest = filter.substr(share_prefix.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return shared_subscription{rest.substr(0, slash), rest.substr(slash + 1)};
}

result<void, topic_error> validate_topic_filter(std::string_view filter,
                                                bool shared_subscriptions) noexcept {
  if (auto r = check_text(filter); !r) return r;
  if (shared_subscriptions && filter.starts_with(share_prefix)) {
    const auto shared = parse_shared_subscription(filter);
    if (!shared || shared->share_name.empty() || has_wildcard(shared->share_name) ||
        shared->filter.empty())
      return unexpected{topic_error::invalid_shared_subscription};
    filter = shared->filter;
  }
  if (!wildcards_well_placed(filter)) return unexpected{topic_error::misplaced_wildcard};
  return {};
}

bool topic_matches_sub(std::string_view filter, std::string_view topic) noexcept {
  if (!validate_topic_filter(filter) || !validate_topic_name(topic)) return false;
  if (const auto shared = parse_shared_subscription(filter)) filter = shared->filter;
  return match_levels(filter, topic);
}

}  // namespace tern
