// `tern bench`'s final numbers and their three renderings: a table for people, one CSV row
// (with its header) and one JSON object for programs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tern::cli {

struct bench_report {
  // ---- the setup
  std::size_t publishers = 0;
  std::size_t subscribers = 0;
  std::string protocol;  // "3.1.1" or "5.0"
  int qos = 0;
  std::size_t payload_bytes = 0;
  double rate_per_publisher = 0;  // 0: as fast as the window allows
  unsigned inflight = 0;
  unsigned threads = 0;

  // ---- messages
  std::uint64_t sent = 0;            // accepted by publish()
  std::uint64_t acknowledged = 0;    // QoS 0: written; QoS 1/2: PUBACK / PUBCOMP with success
  std::uint64_t publish_errors = 0;  // refused by publish() or by the broker's acknowledgement
  std::uint64_t unacknowledged = 0;  // still outstanding when the drain period ended
  std::uint64_t received = 0;        // every delivery, duplicates included
  std::uint64_t expected = 0;        // acknowledged × the subscribers whose filter matches
  std::uint64_t lost = 0;            // expected but never received
  std::uint64_t duplicates = 0;
  std::uint64_t out_of_order = 0;
  std::uint64_t foreign = 0;  // deliveries without this run's stamp
  std::uint64_t failed_connections = 0;

  // ---- rates: from the start of publishing to the last acknowledgement / delivery
  double publish_seconds = 0;
  double receive_seconds = 0;
  double publish_rate = 0;  // acknowledged messages/s
  double receive_rate = 0;  // delivered messages/s
  double publish_mb_per_s = 0;  // payload bytes, 10^6
  double receive_mb_per_s = 0;

  // ---- end-to-end latency, microseconds
  std::uint64_t latency_count = 0;
  double latency_min_us = 0;
  double latency_mean_us = 0;
  double latency_p50_us = 0;
  double latency_p90_us = 0;
  double latency_p99_us = 0;
  double latency_p999_us = 0;
  double latency_max_us = 0;

  // ---- the process
  double cpu_user_seconds = 0;
  double cpu_system_seconds = 0;
  double cpu_us_per_message = 0;  // CPU time / (acknowledged + received)
  std::uint64_t peak_rss_bytes = 0;

  // ---- verdict
  std::vector<std::string> problems;  // why the exit code is 1; empty: success
  std::vector<std::string> notes;     // worth knowing, not failures (loss at QoS 0)
};

std::string format_table(const bench_report& r);
std::string format_csv(const bench_report& r);  // header line + one row
std::string format_json(const bench_report& r);

}  // namespace tern::cli
