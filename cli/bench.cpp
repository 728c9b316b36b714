// `tern bench`: N publisher and M subscriber connections against one broker, all in this process
// (so one steady clock stamps and measures every message), driven by --threads event loops
// (bench_loop). This file parses and checks the options, steers the loops through the phases
// — connect and subscribe everything, publish for --duration or -C messages, drain, disconnect —
// shows a progress line on a terminal, and turns the loops' results into the report.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "bench_loop.hpp"
#include "bench_plan.hpp"
#include "bench_report.hpp"
#include "bench_stats.hpp"
#include "commands.hpp"
#include "tern/net/url.hpp"

namespace tern::cli {

namespace {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;
constexpr std::int64_t ns_per_s = 1'000'000'000;

enum class output_format { table, csv, json };

struct bench_output {
  output_format format = output_format::table;
  bool quiet = false;
};

// ---- options ------------------------------------------------------------------------------------

struct usage_error {
  std::string message;
};

std::optional<usage_error> check(bool ok, std::string message) {
  if (ok) return std::nullopt;
  return usage_error{std::move(message)};
}

// Parses and checks every option. Returns the settings, or why they are unusable.
std::variant<bench_settings, usage_error, int> parse_options(int argc, char** argv,
                                                             bench_output& output) {
  CLI::App app{
      "Load-test an MQTT broker: publisher and subscriber connections from one process, with\n"
      "throughput, end-to-end latency (from a timestamp in each payload), loss, CPU and memory.\n"
      "Subscribers subscribe to the topic pattern with each level holding %i or %c replaced by\n"
      "'+' (every subscriber receives every publisher), unless --sub-topic says otherwise.",
      "tern bench"};
  app.set_help_flag("--help", "Print this help and exit");
  app.option_defaults()->always_capture_default();

  std::string host = "localhost";
  long long port = 1883;
  std::string url;
  std::string version = "5";
  long long publishers = 1;
  long long subscribers = 1;
  long long qos_level = 0;
  long long payload = 64;
  std::string topic = "tern/bench/%i";
  std::string sub_topic;
  double rate = 0;
  double duration = 10;
  long long count = 0;
  long long inflight = 64;
  long long threads = 1;
  long long keepalive = 60;
  double connect_timeout = 10;
  double drain = 10;
  std::string id_prefix;
  std::string username;
  std::string password;
  std::string cafile;
  bool tls = false;
  bool insecure = false;
  bool csv = false;
  bool json = false;

  app.add_option("-h,--host", host, "Broker host");
  app.add_option("-p,--port", port, "Broker port (default 1883, 8883 with TLS)");
  app.add_option("-L,--url", url, "Broker URL: mqtt://, mqtts://, ws://, wss:// (instead of -h/-p)");
  app.add_option("-V,--protocol-version", version, "MQTT version: 311 or 5");
  app.add_option("--pub", publishers, "Publisher connections");
  app.add_option("--sub", subscribers, "Subscriber connections");
  app.add_option("-q,--qos", qos_level, "QoS of publications and subscriptions (0, 1, 2)");
  app.add_option("-s,--size", payload, "Payload bytes (at least 24: the timestamp stamp)");
  app.add_option("-t,--topic", topic,
                 "Publishers' topic pattern: %i publisher index, %c client id, %% a %");
  app.add_option("--sub-topic", sub_topic,
                 "Subscribers' filter pattern (%i subscriber index, %c its client id); default: "
                 "-t with levels holding %i or %c replaced by +");
  app.add_option("-r,--rate", rate, "Messages/s per publisher; 0: as fast as the window allows");
  app.add_option("-d,--duration", duration, "Seconds of publishing (unless -C ends it first)");
  app.add_option("-C,--count", count, "Messages per publisher (with -C, -d applies only when given)");
  app.add_option("-w,--inflight", inflight,
                 "Window per publisher: unacknowledged QoS 1/2 or unwritten QoS 0 messages");
  app.add_option("--threads", threads, "Event loops to spread the connections over");
  app.add_option("-k,--keepalive", keepalive, "Keep-alive seconds");
  app.add_option("--connect-timeout", connect_timeout, "Seconds to wait for CONNACK and SUBACK");
  app.add_option("--drain", drain,
                 "Seconds to wait at the end for acknowledgements and deliveries");
  app.add_option("-i,--id-prefix", id_prefix,
                 "Client id prefix (ids are <prefix>-p<i> and <prefix>-s<i>)");
  app.add_option("-u,--username", username, "User name");
  app.add_option("-P,--pw", password, "Password");
  app.add_flag("--tls", tls, "Connect over TLS (also implied by mqtts://, wss://, --cafile)");
  app.add_option("--cafile", cafile, "PEM file of CAs to trust (TLS)");
  app.add_flag("--insecure", insecure, "Do not verify the broker's certificate (tests only)");
  app.add_flag("--csv", csv, "Print the results as a CSV header and row");
  app.add_flag("--json", json, "Print the results as one JSON object");
  app.add_flag("--quiet", output.quiet, "No progress line");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    return usage_error{e.what()};
  }

  bench_settings s;
  auto is_set = [&](const char* name) { return app.count(name) != 0; };
  if (auto e = check(!(csv && json), "--csv and --json: choose one")) return *e;
  output.format = csv ? output_format::csv : json ? output_format::json : output_format::table;

  if (!url.empty()) {
    if (auto e = check(!is_set("-h") && !is_set("-p"), "-L: give the broker as a URL or with -h/-p, not both"))
      return *e;
    const auto parsed = net::parse_broker_url(url);
    if (!parsed) return usage_error{"-L '" + url + "': not an mqtt://, mqtts://, ws:// or wss:// URL"};
    s.host = parsed->host;
    s.port = parsed->port;
    s.websocket = parsed->websocket();
    if (!parsed->path.empty()) s.websocket_path = parsed->path;
    tls = tls || parsed->tls();
    if (parsed->username) s.username = parsed->username;
    if (parsed->password) s.password = parsed->password;
  } else {
    if (auto e = check(!host.empty(), "-h: the host is empty")) return *e;
    if (auto e = check(port >= 1 && port <= 65535, "-p: the port must be 1..65535")) return *e;
    s.host = host;
    s.port = static_cast<std::uint16_t>(port);
  }
  if (version == "5" || version == "5.0" || version == "mqttv5") {
    s.version = protocol_version::v5;
  } else if (version == "311" || version == "3.1.1" || version == "mqttv311") {
    s.version = protocol_version::v3_1_1;
  } else {
    return usage_error{"-V '" + version + "': the protocol version must be 311 or 5"};
  }
  if (auto e = check(publishers >= 1 && publishers <= 100'000, "--pub: must be 1..100000")) return *e;
  if (auto e = check(subscribers >= 0 && subscribers <= 100'000, "--sub: must be 0..100000")) return *e;
  if (auto e = check(qos_level >= 0 && qos_level <= 2, "-q: the QoS must be 0, 1 or 2")) return *e;
  if (auto e = check(payload >= static_cast<long long>(bench_stamp_size) && payload <= 256'000'000,
                     fmt::format("-s: the payload must be {}..256000000 bytes (it starts with a "
                                 "{}-byte stamp: run, publisher, sequence, send time)",
                                 bench_stamp_size, bench_stamp_size)))
    return *e;
  if (auto e = check(std::isfinite(rate) && rate >= 0, "--rate: must be 0 or more messages/s"))
    return *e;
  if (auto e = check(!is_set("--duration") || (std::isfinite(duration) && duration > 0),
                     "--duration: must be more than 0 seconds"))
    return *e;
  if (auto e = check(!is_set("-C") || count >= 1, "-C: the count must be at least 1")) return *e;
  if (auto e = check(inflight >= 1 && inflight <= 65535, "--inflight: must be 1..65535")) return *e;
  if (auto e = check(threads >= 1 && threads <= 256 && threads <= publishers + subscribers,
                     "--threads: must be 1..256 and no more than the connections"))
    return *e;
  if (auto e = check(keepalive >= 0 && keepalive <= 65535, "-k: keep-alive must be 0..65535 s"))
    return *e;
  if (auto e = check(std::isfinite(connect_timeout) && connect_timeout > 0,
                     "--connect-timeout: must be more than 0 seconds"))
    return *e;
  if (auto e = check(std::isfinite(drain) && drain >= 0, "--drain: must be 0 or more seconds"))
    return *e;
  if (auto e = check(!topic.empty(), "-t: the topic pattern is empty")) return *e;
  if (auto e = check(!(is_set("--sub-topic") && sub_topic.empty()), "--sub-topic: the filter is empty"))
    return *e;
  if (auto e = check(!(is_set("-P") && !is_set("-u")), "-P: a password needs a user name (-u)"))
    return *e;

  s.publishers = static_cast<std::size_t>(publishers);
  s.subscribers = static_cast<std::size_t>(subscribers);
  s.q = static_cast<qos>(qos_level);
  s.payload_size = static_cast<std::size_t>(payload);
  s.topic_pattern = topic;
  s.subscription_pattern = sub_topic;
  s.rate = rate;
  if (is_set("-C")) s.count = static_cast<std::uint64_t>(count);
  if (is_set("--duration") || !s.count)
    s.duration = std::chrono::nanoseconds(static_cast<std::int64_t>(duration * 1e9));
  s.inflight = static_cast<std::uint16_t>(inflight);
  s.threads = static_cast<unsigned>(threads);
  s.keepalive = std::chrono::seconds(keepalive);
  s.connect_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(connect_timeout * 1000));
  s.drain_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(drain * 1000));
  if (is_set("-u")) s.username = username;
  if (is_set("-P")) s.password = password;
  if (tls || !cafile.empty() || insecure) {
    net::tls_options o;
    o.ca_file = cafile;
    o.insecure_skip_verify = insecure;
    s.tls = o;
    if (url.empty() && !is_set("-p")) s.port = 8883;
  }
  std::random_device random;
  s.run_id = random();
  s.id_prefix = id_prefix.empty() ? fmt::format("tern-bench-{:08x}", s.run_id) : id_prefix;
  return s;
}

// ---- running ------------------------------------------------------------------------------------

volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_interrupt(int) { interrupted = 1; }

// Sums one counter over every loop.
template <class T>
T total(const std::vector<std::unique_ptr<bench_loop>>& loops,
        std::atomic<T> bench_counters::*counter) {
  T sum = 0;
  for (const auto& loop : loops) sum += (loop->counters().*counter).load(std::memory_order_relaxed);
  return sum;
}

// The line rewritten in place on a terminal, about once a second.
class progress_line {
 public:
  explicit progress_line(bool enabled) : enabled_(enabled) {}

  void connecting(std::uint64_t ready, std::uint64_t failed, std::uint64_t all) {
    if (!due()) return;
    show(fmt::format("connecting: {} of {} ready, {} failed", ready, all, failed));
  }

  void running(const std::vector<std::unique_ptr<bench_loop>>& loops, std::int64_t start_ns,
               const char* phase) {
    if (!due()) return;
    const std::int64_t now = steady_now_ns();
    const auto published = total(loops, &bench_counters::published);
    const auto received = total(loops, &bench_counters::received);
    // The counters were all 0 when publishing started.
    const double seconds =
        std::max(1e-3, static_cast<double>(now - (last_ns_ == 0 ? start_ns : last_ns_)) / 1e9);
    const double pub_rate = static_cast<double>(published - last_published_) / seconds;
    const double sub_rate = static_cast<double>(received - last_received_) / seconds;
    last_ns_ = now;
    last_published_ = published;
    last_received_ = received;
    const auto errors = total(loops, &bench_counters::failed) +
                        total(loops, &bench_counters::publish_errors);
    show(fmt::format("{:7.1f} s {}: pub {:.0f} msg/s, sub {:.0f} msg/s, in flight {}, errors {}",
                     static_cast<double>(now - start_ns) / 1e9, phase, pub_rate, sub_rate,
                     std::max<std::int64_t>(0, total(loops, &bench_counters::outstanding)),
                     errors));
  }

  void clear() {
    if (enabled_ && shown_) std::fputs("\r\x1b[K", stderr);
    shown_ = false;
  }

 private:
  bool due() {
    if (!enabled_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_) return false;
    next_ = now + std::chrono::seconds(1);
    return true;
  }
  void show(const std::string& text) {
    std::fprintf(stderr, "\r%s\x1b[K", text.c_str());
    std::fflush(stderr);
    shown_ = true;
  }

  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point next_{};
  std::int64_t last_ns_ = 0;
  std::uint64_t last_published_ = 0;
  std::uint64_t last_received_ = 0;
};

void pause_briefly() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

// Tells every loop about a phase change.
void announce(bench_control& control, const std::vector<std::unique_ptr<bench_loop>>& loops,
              bench_phase phase) {
  control.phase.store(phase);
  for (const auto& loop : loops) loop->wake();
}

// Connects everything; true when every connection is ready.
bool connect_all(const bench_settings& s, const std::vector<std::unique_ptr<bench_loop>>& loops,
                 progress_line& progress) {
  const std::uint64_t all = s.publishers + s.subscribers;
  // The loops fail what is late themselves; this is a backstop.
  const auto give_up = std::chrono::steady_clock::now() + s.connect_timeout + std::chrono::seconds(5);
  for (;;) {
    const auto ready = total(loops, &bench_counters::ready);
    const auto failed = total(loops, &bench_counters::failed);
    if (failed != 0 || interrupted) return false;
    if (ready == all) return true;
    if (std::chrono::steady_clock::now() > give_up) return false;
    progress.connecting(ready, failed, all);
    pause_briefly();
  }
}

// Publishes until the duration passes, every publisher has sent its count (or failed), or ^C.
void publish_phase(const bench_settings& s, const std::vector<std::unique_ptr<bench_loop>>& loops,
                   std::int64_t start_ns, progress_line& progress) {
  const std::int64_t end_ns = s.duration ? start_ns + s.duration->count()
                                         : std::numeric_limits<std::int64_t>::max();
  while (!interrupted && steady_now_ns() < end_ns &&
         total(loops, &bench_counters::publishers_stopped) < s.publishers) {
    progress.running(loops, start_ns, "publishing");
    pause_briefly();
  }
}

// Waits for what is still in flight and on its way to the subscribers: until everything owed
// has arrived, or --drain passes, or — once every publish is acknowledged — nothing has
// arrived for two seconds (a message the broker dropped never comes; an owed ack does).
void drain_phase(const bench_settings& s, const std::vector<std::unique_ptr<bench_loop>>& loops,
                 std::int64_t start_ns, progress_line& progress) {
  const std::int64_t give_up = steady_now_ns() + s.drain_timeout.count() * 1'000'000;
  // Counting before every loop has stopped publishing would miss its last message.
  for (const auto& loop : loops)
    while (loop->counters().phase_entered.load() < static_cast<int>(bench_phase::draining) &&
           steady_now_ns() < give_up && !interrupted)
      pause_briefly();
  std::uint64_t last_motion = ~std::uint64_t{0};
  std::int64_t still_since = steady_now_ns();
  while (!interrupted) {
    const std::int64_t now = steady_now_ns();
    const auto outstanding = total(loops, &bench_counters::outstanding);
    const auto unique = total(loops, &bench_counters::unique_received);
    const auto expected = total(loops, &bench_counters::expected);
    if (outstanding <= 0 && unique >= expected) return;
    const auto motion = total(loops, &bench_counters::received) + total(loops, &bench_counters::completed);
    if (motion != last_motion) {
      last_motion = motion;
      still_since = now;
    }
    if ((outstanding <= 0 && now - still_since > 2 * ns_per_s) || now >= give_up) return;
    progress.running(loops, start_ns, "draining");
    pause_briefly();
  }
}

bench_report make_report(const bench_settings& s, const bench_plan& plan,
                         const std::vector<std::unique_ptr<bench_loop>>& loops,
                         std::int64_t start_ns) {
  bench_report r;
  r.publishers = s.publishers;
  r.subscribers = s.subscribers;
  r.protocol = s.version == protocol_version::v5 ? "5.0" : "3.1.1";
  r.qos = static_cast<int>(s.q);
  r.payload_bytes = s.payload_size;
  r.rate_per_publisher = s.rate;
  r.inflight = s.inflight;
  r.threads = s.threads;

  latency_histogram latency;
  std::vector<std::uint64_t> delivered(s.publishers, 0);
  std::int64_t last_completion = start_ns;
  std::int64_t last_receive = start_ns;
  std::vector<std::string> failures;
  std::vector<std::string> publish_problems;
  std::uint64_t failures_listed = 0;
  for (const auto& loop : loops) {
    bench_loop_result& res = loop->result();
    latency.merge(res.latency);
    r.duplicates += res.duplicates;
    r.out_of_order += res.late;
    r.foreign += res.foreign;
    last_completion = std::max(last_completion, res.last_completion_ns);
    last_receive = std::max(last_receive, res.last_receive_ns);
    for (const auto& [publisher, count] : res.delivered) delivered[publisher] = count;
    failures.insert(failures.end(), res.failures.begin(), res.failures.end());
    publish_problems.insert(publish_problems.end(), res.publish_problems.begin(),
                            res.publish_problems.end());
    failures_listed += res.failures.size();
  }
  r.sent = total(loops, &bench_counters::published);
  r.publish_errors = total(loops, &bench_counters::publish_errors);
  r.unacknowledged = static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, total(loops, &bench_counters::outstanding)));
  r.received = total(loops, &bench_counters::received);
  r.failed_connections = total(loops, &bench_counters::failed);
  for (const std::uint64_t d : delivered) r.acknowledged += d;

  // Loss per (subscriber, publisher) pair that should meet: what the broker took minus what
  // arrived. A pair can receive more than was acknowledged (an ack still on its way): not loss.
  for (const auto& loop : loops) {
    for (const auto& [subscriber, unique_from] : loop->result().unique_from) {
      for (std::size_t p = 0; p < s.publishers; ++p) {
        if (!plan.subscriber_matches(subscriber, p)) continue;
        r.expected += delivered[p];
        if (unique_from[p] < delivered[p]) r.lost += delivered[p] - unique_from[p];
      }
    }
  }

  r.publish_seconds = static_cast<double>(last_completion - start_ns) / 1e9;
  r.receive_seconds = static_cast<double>(last_receive - start_ns) / 1e9;
  const double mb = static_cast<double>(s.payload_size) / 1e6;
  if (r.publish_seconds > 0) r.publish_rate = static_cast<double>(r.acknowledged) / r.publish_seconds;
  if (r.receive_seconds > 0) r.receive_rate = static_cast<double>(r.received) / r.receive_seconds;
  r.publish_mb_per_s = r.publish_rate * mb;
  r.receive_mb_per_s = r.receive_rate * mb;

  r.latency_count = latency.count();
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e3; };
  r.latency_min_us = us(latency.min());
  r.latency_mean_us = latency.mean() / 1e3;
  r.latency_p50_us = us(latency.percentile(50));
  r.latency_p90_us = us(latency.percentile(90));
  r.latency_p99_us = us(latency.percentile(99));
  r.latency_p999_us = us(latency.percentile(99.9));
  r.latency_max_us = us(latency.max());

  const resource_usage usage = resource_usage::of_process();
  r.cpu_user_seconds = usage.user_seconds;
  r.cpu_system_seconds = usage.system_seconds;
  const auto handled = r.acknowledged + r.received;
  if (handled != 0)
    r.cpu_us_per_message = (usage.user_seconds + usage.system_seconds) * 1e6 / static_cast<double>(handled);
  r.peak_rss_bytes = usage.peak_rss_bytes;

  // ---- the verdict
  for (const auto& f : failures) r.problems.push_back(f);
  if (r.failed_connections > failures_listed)
    r.problems.push_back(fmt::format("... {} failed connections in all", r.failed_connections));
  const bool reliable = s.q != qos::at_most_once;
  if (r.lost != 0) {
    const std::string text = fmt::format(
        "{} of {} expected deliveries never arrived{}", r.lost, r.expected,
        reliable ? " (the broker acknowledged them; mosquitto, for one, drops messages to a slow "
                   "subscriber past max_queued_messages, and 3.1.1 QoS 2 publishes past "
                   "max_inflight_messages: see bench/README.md)"
                 : "");
    (reliable ? r.problems : r.notes).push_back(text + (reliable ? "" : " (allowed at QoS 0)"));
  }
  if (reliable && r.unacknowledged != 0)
    r.problems.push_back(fmt::format("{} messages were still unacknowledged after the drain period",
                                     r.unacknowledged));
  if (r.publish_errors != 0) {
    r.problems.push_back(fmt::format("{} publishes failed", r.publish_errors));
    for (const auto& p : publish_problems) r.problems.push_back(p);
  }
  if (r.foreign != 0)
    r.notes.push_back(fmt::format("{} deliveries without this run's stamp were ignored", r.foreign));
  if (s.subscribers != 0 && r.expected == 0 && r.acknowledged != 0)
    r.notes.push_back("no subscriber filter matches any publisher topic");
  return r;
}

}  // namespace

int bench_main(int argc, char** argv) {
  bench_output output;
  auto parsed = parse_options(argc, argv, output);
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  if (const auto* e = std::get_if<usage_error>(&parsed)) {
    std::fprintf(stderr, "tern bench: %s\n(tern bench --help lists the options)\n", e->message.c_str());
    return exit_usage;
  }
  const bench_settings s = std::get<bench_settings>(std::move(parsed));
  std::string plan_error;
  const auto plan = make_plan(s, plan_error);
  if (!plan) {
    std::fprintf(stderr, "tern bench: %s\n", plan_error.c_str());
    return exit_usage;
  }

  // Connections go round-robin to the loops, publishers and subscribers alike.
  std::vector<std::vector<std::size_t>> pubs(s.threads);
  std::vector<std::vector<std::size_t>> subs(s.threads);
  for (std::size_t i = 0; i < s.publishers; ++i) pubs[i % s.threads].push_back(i);
  for (std::size_t i = 0; i < s.subscribers; ++i) subs[(s.publishers + i) % s.threads].push_back(i);
  bench_control control;
  std::vector<std::unique_ptr<bench_loop>> loops;
  for (unsigned t = 0; t < s.threads; ++t)
    loops.push_back(std::make_unique<bench_loop>(s, *plan, control, pubs[t], subs[t]));

  struct sigaction action{};
  struct sigaction previous{};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &previous);
  interrupted = 0;

  progress_line progress(!output.quiet && ::isatty(STDERR_FILENO) != 0);
  std::vector<std::thread> threads;
  for (const auto& loop : loops) threads.emplace_back([&loop] { loop->run(); });

  const bool connected = connect_all(s, loops, progress);
  std::int64_t start_ns = steady_now_ns();
  if (connected) {
    control.start_ns.store(start_ns);
    announce(control, loops, bench_phase::publishing);
    publish_phase(s, loops, start_ns, progress);
    announce(control, loops, bench_phase::draining);
    drain_phase(s, loops, start_ns, progress);
  }
  announce(control, loops, bench_phase::disconnecting);
  for (auto& t : threads) t.join();
  progress.clear();
  ::sigaction(SIGINT, &previous, nullptr);

  bench_report report = make_report(s, *plan, loops, start_ns);
  if (!connected) {
    std::fputs("tern bench: the connections could not all be set up; nothing was published\n", stderr);
    if (report.problems.empty())
      report.problems.push_back(interrupted ? "interrupted" : "connections timed out");
    for (const auto& p : report.problems) std::fprintf(stderr, "  %s\n", p.c_str());
    return exit_failure;
  }
  switch (output.format) {
    case output_format::table: std::fputs(format_table(report).c_str(), stdout); break;
    case output_format::csv: std::fputs(format_csv(report).c_str(), stdout); break;
    case output_format::json: std::fputs(format_json(report).c_str(), stdout); break;
  }
  std::fflush(stdout);
  for (const auto& n : report.notes) std::fprintf(stderr, "tern bench: note: %s\n", n.c_str());
  if (report.problems.empty()) return 0;
  std::fputs("tern bench: FAILED:\n", stderr);
  for (const auto& p : report.problems) std::fprintf(stderr, "  %s\n", p.c_str());
  return exit_failure;
}

}  // namespace tern::cli
