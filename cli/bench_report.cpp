#include "bench_report.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <utility>

namespace tern::cli {

namespace {

std::string bytes_text(std::uint64_t bytes) {
  if (bytes >= (std::uint64_t{1} << 30))
    return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1u << 30));
  if (bytes >= (std::uint64_t{1} << 20))
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1u << 20));
  return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
}

// One column of names and one of values, for the table.
class two_columns {
 public:
  void row(std::string name, std::string value) { rows_.emplace_back(std::move(name), std::move(value)); }
  std::string text() const {
    std::size_t width = 0;
    for (const auto& r : rows_) width = std::max(width, r.first.size());
    std::string out;
    for (const auto& r : rows_) out += fmt::format("  {:<{}}  {}\n", r.first, width, r.second);
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
};

// Every figure as a flat list of (name, value): the CSV columns, in this order.
std::vector<std::pair<std::string, std::string>> flat_fields(const bench_report& r) {
  auto real = [](double v) { return fmt::format("{:.3f}", v); };
  auto whole = [](std::uint64_t v) { return std::to_string(v); };
  return {
      {"publishers", whole(r.publishers)},
      {"subscribers", whole(r.subscribers)},
      {"protocol", r.protocol},
      {"qos", std::to_string(r.qos)},
      {"payload_bytes", whole(r.payload_bytes)},
      {"rate_per_publisher", real(r.rate_per_publisher)},
      {"inflight", whole(r.inflight)},
      {"threads", whole(r.threads)},
      {"sent", whole(r.sent)},
      {"acknowledged", whole(r.acknowledged)},
      {"publish_errors", whole(r.publish_errors)},
      {"unacknowledged", whole(r.unacknowledged)},
      {"received", whole(r.received)},
      {"expected", whole(r.expected)},
      {"lost", whole(r.lost)},
      {"duplicates", whole(r.duplicates)},
      {"out_of_order", whole(r.out_of_order)},
      {"foreign", whole(r.foreign)},
      {"failed_connections", whole(r.failed_connections)},
      {"publish_seconds", real(r.publish_seconds)},
      {"receive_seconds", real(r.receive_seconds)},
      {"publish_msg_per_s", real(r.publish_rate)},
      {"publish_mb_per_s", real(r.publish_mb_per_s)},
      {"receive_msg_per_s", real(r.receive_rate)},
      {"receive_mb_per_s", real(r.receive_mb_per_s)},
      {"latency_count", whole(r.latency_count)},
      {"latency_min_us", real(r.latency_min_us)},
      {"latency_mean_us", real(r.latency_mean_us)},
      {"latency_p50_us", real(r.latency_p50_us)},
      {"latency_p90_us", real(r.latency_p90_us)},
      {"latency_p99_us", real(r.latency_p99_us)},
      {"latency_p99_9_us", real(r.latency_p999_us)},
      {"latency_max_us", real(r.latency_max_us)},
      {"cpu_user_s", real(r.cpu_user_seconds)},
      {"cpu_system_s", real(r.cpu_system_seconds)},
      {"cpu_us_per_message", real(r.cpu_us_per_message)},
      {"peak_rss_bytes", whole(r.peak_rss_bytes)},
      {"ok", r.problems.empty() ? "true" : "false"},
  };
}

}  // namespace

std::string format_table(const bench_report& r) {
  two_columns t;
  t.row("connections", fmt::format("{} publishers, {} subscribers, {} thread{}", r.publishers,
                                   r.subscribers, r.threads, r.threads == 1 ? "" : "s"));
  t.row("protocol", fmt::format("MQTT {}, QoS {}, {}-byte payload, window {}", r.protocol, r.qos,
                                r.payload_bytes, r.inflight));
  t.row("rate", r.rate_per_publisher > 0
                    ? fmt::format("{:g} msg/s per publisher", r.rate_per_publisher)
                    : std::string("as fast as the window allows"));
  t.row("published", fmt::format("{} sent, {} acknowledged, {} errors, {} unacknowledged", r.sent,
                                 r.acknowledged, r.publish_errors, r.unacknowledged));
  t.row("received", fmt::format("{} of {} expected; lost {}, duplicates {}, out of order {}",
                                r.received, r.expected, r.lost, r.duplicates, r.out_of_order));
  t.row("publish throughput", fmt::format("{:.0f} msg/s, {:.2f} MB/s over {:.2f} s",
                                          r.publish_rate, r.publish_mb_per_s, r.publish_seconds));
  t.row("receive throughput", fmt::format("{:.0f} msg/s, {:.2f} MB/s over {:.2f} s",
                                          r.receive_rate, r.receive_mb_per_s, r.receive_seconds));
  if (r.latency_count == 0) {
    t.row("latency", "no messages received");
  } else {
    t.row("latency (µs)",
          fmt::format("p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  p99.9 {:.1f}  max {:.1f}  (mean {:.1f})",
                      r.latency_p50_us, r.latency_p90_us, r.latency_p99_us, r.latency_p999_us,
                      r.latency_max_us, r.latency_mean_us));
  }
  t.row("CPU", fmt::format("{:.2f} s user + {:.2f} s system, {:.2f} µs per message",
                           r.cpu_user_seconds, r.cpu_system_seconds, r.cpu_us_per_message));
  t.row("peak RSS", bytes_text(r.peak_rss_bytes));
  if (r.failed_connections != 0) t.row("failed connections", std::to_string(r.failed_connections));
  return t.text();
}

std::string format_csv(const bench_report& r) {
  std::string header;
  std::string row;
  for (const auto& [name, value] : flat_fields(r)) {
    if (!header.empty()) {
      header += ',';
      row += ',';
    }
    header += name;
    row += value;  // no field can hold a comma or a quote
  }
  return header + '\n' + row + '\n';
}

std::string format_json(const bench_report& r) {
  nlohmann::ordered_json j;
  j["publishers"] = r.publishers;
  j["subscribers"] = r.subscribers;
  j["protocol"] = r.protocol;
  j["qos"] = r.qos;
  j["payload_bytes"] = r.payload_bytes;
  j["rate_per_publisher"] = r.rate_per_publisher;
  j["inflight"] = r.inflight;
  j["threads"] = r.threads;
  j["sent"] = r.sent;
  j["acknowledged"] = r.acknowledged;
  j["publish_errors"] = r.publish_errors;
  j["unacknowledged"] = r.unacknowledged;
  j["received"] = r.received;
  j["expected"] = r.expected;
  j["lost"] = r.lost;
  j["duplicates"] = r.duplicates;
  j["out_of_order"] = r.out_of_order;
  j["foreign"] = r.foreign;
  j["failed_connections"] = r.failed_connections;
  j["publish"] = {{"seconds", r.publish_seconds},
                  {"msg_per_s", r.publish_rate},
                  {"mb_per_s", r.publish_mb_per_s}};
  j["receive"] = {{"seconds", r.receive_seconds},
                  {"msg_per_s", r.receive_rate},
                  {"mb_per_s", r.receive_mb_per_s}};
  j["latency_us"] = {{"count", r.latency_count}, {"min", r.latency_min_us},
                     {"mean", r.latency_mean_us}, {"p50", r.latency_p50_us},
                     {"p90", r.latency_p90_us},   {"p99", r.latency_p99_us},
                     {"p99_9", r.latency_p999_us}, {"max", r.latency_max_us}};
  j["cpu"] = {{"user_s", r.cpu_user_seconds},
              {"system_s", r.cpu_system_seconds},
              {"us_per_message", r.cpu_us_per_message}};
  j["peak_rss_bytes"] = r.peak_rss_bytes;
  j["ok"] = r.problems.empty();
  j["problems"] = r.problems;
  j["notes"] = r.notes;
  return j.dump(2) + '\n';
}

}  // namespace tern::cli
