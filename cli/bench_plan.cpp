#include "bench_plan.hpp"

#include <fmt/format.h>

#include "tern/topic.hpp"

namespace tern::cli {

std::optional<std::string> expand_pattern(std::string_view pattern, std::size_t index,
                                          std::string_view client_id, std::string& error) {
  std::string out;
  out.reserve(pattern.size() + 16);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') {
      out += pattern[i];
      continue;
    }
    if (i + 1 == pattern.size()) {
      error = "a lone '%' at the end (write %% for a literal %)";
      return std::nullopt;
    }
    switch (pattern[++i]) {
      case 'i': out += std::to_string(index); break;
      case 'c': out += client_id; break;
      case '%': out += '%'; break;
      default:
        error = fmt::format("unknown substitution '%{}' (known: %i index, %c client id, %%)",
                            pattern[i]);
        return std::nullopt;
    }
  }
  return out;
}

std::string default_subscription_pattern(std::string_view topic_pattern) {
  std::string out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = topic_pattern.find('/', start);
    const std::string_view level = topic_pattern.substr(
        start, end == std::string_view::npos ? std::string_view::npos : end - start);
    const bool varies = level.find("%i") != std::string_view::npos ||
                        level.find("%c") != std::string_view::npos;
    out += varies ? std::string_view("+") : level;
    if (end == std::string_view::npos) break;
    out += '/';
    start = end + 1;
  }
  return out;
}

std::optional<bench_plan> make_plan(const bench_settings& settings, std::string& error) {
  bench_plan plan;
  std::string why;
  for (std::size_t i = 0; i < settings.publishers; ++i) {
    std::string id = fmt::format("{}-p{}", settings.id_prefix, i);
    auto topic = expand_pattern(settings.topic_pattern, i, id, why);
    if (!topic) {
      error = fmt::format("-t '{}': {}", settings.topic_pattern, why);
      return std::nullopt;
    }
    if (const auto valid = validate_topic_name(*topic); !valid) {
      error = fmt::format("-t '{}': publisher {} would publish to '{}', not a valid topic name: {}",
                          settings.topic_pattern, i, *topic, to_string(valid.error()));
      return std::nullopt;
    }
    plan.publisher_ids.push_back(std::move(id));
    plan.publisher_topics.push_back(std::move(*topic));
  }

  const bool derived = settings.subscription_pattern.empty();
  const std::string pattern =
      derived ? default_subscription_pattern(settings.topic_pattern) : settings.subscription_pattern;
  const std::string option = derived ? "-t" : "--sub-topic";
  for (std::size_t i = 0; i < settings.subscribers; ++i) {
    std::string id = fmt::format("{}-s{}", settings.id_prefix, i);
    auto filter = expand_pattern(pattern, i, id, why);
    if (!filter) {
      error = fmt::format("{} '{}': {}", option, pattern, why);
      return std::nullopt;
    }
    if (const auto valid = validate_topic_filter(*filter); !valid) {
      error = fmt::format("{}: subscriber {} would subscribe to '{}', not a valid filter: {}",
                          option, i, *filter, to_string(valid.error()));
      return std::nullopt;
    }
    // A shared subscription splits a publisher's messages among the group's members, which
    // the per-subscriber loss count cannot follow.
    if (parse_shared_subscription(*filter)) {
      error = fmt::format("{}: shared subscriptions ('{}') are not supported", option, *filter);
      return std::nullopt;
    }
    plan.subscriber_ids.push_back(std::move(id));
    plan.subscriber_filters.push_back(std::move(*filter));
  }

  plan.fanout.assign(settings.publishers, 0);
  plan.matches.assign(settings.publishers * settings.subscribers, 0);
  for (std::size_t s = 0; s < settings.subscribers; ++s) {
    for (std::size_t p = 0; p < settings.publishers; ++p) {
      if (topic_matches_sub(plan.subscriber_filters[s], plan.publisher_topics[p])) {
        plan.matches[s * settings.publishers + p] = 1;
        ++plan.fanout[p];
      }
    }
  }
  return plan;
}

}  // namespace tern::cli
