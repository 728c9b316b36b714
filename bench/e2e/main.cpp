// bench_e2e: end-to-end throughput of MQTT clients against a local mosquitto, side by side with a
// hand-encoded raw-socket client (the broker-bound limit). See bench/README.md.
//
// Theory of operation. For every repetition, cell (flow, QoS, payload) and driver — drivers
// interleaved within a repetition so that noise on a shared machine spreads evenly — the parent
// starts a fresh mosquitto (no backlog carries over) and forks. The child opens a syscall counter
// (perf tracepoint raw_syscalls:sys_enter, inherited by the threads started after it), runs the
// driver on a thread, waits for it to be ready, lets it warm up, then samples message count,
// clock, CPU time (getrusage), syscalls and the broker's CPU time twice, `duration` apart. It
// sends the differences through a pipe and _exit()s; the parent adds the child's peak RSS from
// wait4(). A child that hangs is killed; a driver that does not stop is abandoned by _exit.
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "broker.hpp"
#include "driver.hpp"

namespace tern::bench {
namespace {

using clock_type = std::chrono::steady_clock;

clock_type::time_point after(double seconds) {
  return clock_type::now() +
         std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
}

// Every client the bench measures, in table order.
const driver all_drivers[] = {
    {"raw", run_raw},
    {"tern-asio", run_tern_asio},
    {"tern-client", run_tern_client},
    {"libmosquitto", run_libmosquitto},
    {"paho", run_paho},
};

struct options {
  std::vector<std::string> drivers;
  std::vector<int> qos{0, 1, 2};
  std::vector<std::size_t> payload{64, 1024};
  std::vector<std::string> flows{"publish", "pubsub"};
  double warmup = 1;
  double duration = 3;
  unsigned repeat = 1;
  unsigned window = 100;
  unsigned lead = 10'000;
  int protocol = 4;
  std::string format = "markdown";
  bool quick = false;
  double ready_timeout = 10;  // connect + subscribe
  double stop_timeout = 5;    // from ctl.stop() until run() returns
};

// What a child sends back: plain data, one write on a pipe (smaller than PIPE_BUF).
struct sample_result {
  bool measured = false;
  std::uint64_t messages = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  std::int64_t syscalls = -1;  // -1: no counter
  double broker_cpu_seconds = -1;
  char failure[1024] = {};
};

struct measurement {
  bool ok = false;
  std::string failure;
  double rate = 0;         // messages per second
  double cpu_us = 0;       // client CPU per message
  double syscalls = -1;    // per message; < 0: n/a
  double rss_mib = 0;      // child peak
  double broker_cpu = -1;  // % of one core; < 0: n/a
};

// --- syscall counter -----------------------------------------------------------------------------

long syscall_tracepoint_id() {
  for (const char* path : {"/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
                           "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id"}) {
    std::ifstream in(path);
    long id = -1;
    if (in >> id) return id;
  }
  return -1;
}

// Counts this thread's system calls and those of threads it starts afterwards; -1 if refused.
int open_syscall_counter(long tracepoint) {
  if (tracepoint < 0) return -1;
  perf_event_attr attr{};
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.size = sizeof attr;
  attr.config = static_cast<std::uint64_t>(tracepoint);
  attr.inherit = 1;
  return static_cast<int>(::syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
}

std::int64_t read_counter(int fd) {
  if (fd < 0) return -1;
  std::uint64_t v = 0;  // with inherit, the total includes the live child threads
  return ::read(fd, &v, sizeof v) == static_cast<ssize_t>(sizeof v) ? static_cast<std::int64_t>(v)
                                                                    : -1;
}

double process_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// --- the child
// -------------------------------------------------------------------------------------

void copy_failure(sample_result& r, const std::string& why) {
  std::snprintf(r.failure, sizeof r.failure, "%s", why.c_str());
}

// Runs in the forked child: measures one driver on one cell.
sample_result measure_child(const driver& d, const cell& c, const options& o, const broker& b,
                            long tracepoint) {
  sample_result r;
  const int counter = open_syscall_counter(tracepoint);  // before any thread starts
  control ctl;
  std::atomic<bool> returned{false};
  std::thread t([&] {
    d.run(c, ctl);
    returned.store(true, std::memory_order_release);
  });
  auto sleep_unless_stopped = [&](double seconds) {
    const auto until = after(seconds);
    while (!ctl.stopping() && clock_type::now() < until)
      std::this_thread::sleep_for(std::min<clock_type::duration>(until - clock_type::now(),
                                                                 std::chrono::milliseconds(100)));
  };
  auto finish = [&](const std::string& why) {
    ctl.stop();
    const auto until = after(o.stop_timeout);
    while (!returned.load(std::memory_order_acquire) && clock_type::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (returned.load(std::memory_order_acquire)) {
      t.join();
      if (!ctl.failure().empty()) copy_failure(r, ctl.failure());
    } else {
      t.detach();  // _exit() ends it
      copy_failure(r, "driver did not return within " + std::to_string(o.stop_timeout) +
                          " s of stop" + (why.empty() ? "" : " (" + why + ")"));
    }
    if (r.failure[0] == 0 && !why.empty()) copy_failure(r, why);
    return r;
  };

  const auto ready_until = after(o.ready_timeout);
  while (!ctl.is_ready() && !ctl.stopping() && clock_type::now() < ready_until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!ctl.is_ready())
    return finish(ctl.stopping() ? ""
                                 : "not ready within " + std::to_string(o.ready_timeout) + " s");

  sleep_unless_stopped(o.warmup);
  const std::uint64_t n0 = ctl.counted();
  const auto t0 = clock_type::now();
  const double cpu0 = process_cpu_seconds();
  const std::int64_t sys0 = read_counter(counter);
  const double broker0 = b.cpu_seconds();
  sleep_unless_stopped(o.duration);
  const std::uint64_t n1 = ctl.counted();
  const auto t1 = clock_type::now();
  const double cpu1 = process_cpu_seconds();
  const std::int64_t sys1 = read_counter(counter);
  const double broker1 = b.cpu_seconds();

  const bool failed_early = ctl.stopping();
  r.measured = !failed_early;
  r.messages = n1 - n0;
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.cpu_seconds = cpu1 - cpu0;
  r.syscalls = sys0 >= 0 && sys1 >= 0 ? sys1 - sys0 : -1;
  r.broker_cpu_seconds = broker0 >= 0 && broker1 >= 0 ? broker1 - broker0 : -1;
  finish("");
  if (r.failure[0] == 0 && r.messages == 0) copy_failure(r, "no message finished while measuring");
  return r;
}

// --- the parent
// ------------------------------------------------------------------------------------

measurement run_one(const driver& d, const cell& base, const options& o, long tracepoint) {
  measurement m;
  try {
    broker_options bo;
    bo.max_inflight = base.window;
    broker b(bo);
    cell c = base;
    c.port = b.port();

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      ::close(fds[0]);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      sample_result r;
      try {
        r = measure_child(d, c, o, b, tracepoint);
      } catch (const std::exception& e) {
        copy_failure(r, e.what());
      }
      [[maybe_unused]] const ssize_t w = ::write(fds[1], &r, sizeof r);
      ::_exit(0);
    }
    ::close(fds[1]);

    sample_result r;
    bool got = false;
    const double budget = o.ready_timeout + o.warmup + o.duration + o.stop_timeout + 10;
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(budget * 1000)) == 1)
      got = ::read(fds[0], &r, sizeof r) == static_cast<ssize_t>(sizeof r);
    ::close(fds[0]);
    if (!got) ::kill(pid, SIGKILL);
    int status = 0;
    rusage ru{};
    while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    m.rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB
    if (!got) {
      m.failure = WIFSIGNALED(status) ? "child killed by signal " + std::to_string(WTERMSIG(status))
                                      : "child sent no result";
      return m;
    }
    if (r.failure[0] != 0) m.failure = r.failure;
    m.ok = r.measured && m.failure.empty();
    if (r.messages > 0 && r.seconds > 0) {
      const auto n = static_cast<double>(r.messages);
      m.rate = n / r.seconds;
      m.cpu_us = r.cpu_seconds * 1e6 / n;
      m.syscalls = r.syscalls >= 0 ? static_cast<double>(r.syscalls) / n : -1;
      m.broker_cpu = r.broker_cpu_seconds >= 0 ? 100 * r.broker_cpu_seconds / r.seconds : -1;
    }
  } catch (const std::exception& e) {
    m.ok = false;
    m.failure = e.what();
  }
  return m;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// Per metric median of the repetitions; failed when any repetition failed.
measurement combine(const std::vector<measurement>& reps) {
  measurement m;
  m.ok = true;
  std::vector<double> rate, cpu, sys, rss, broker;
  for (const auto& r : reps) {
    if (!r.ok) {
      m.ok = false;
      if (m.failure.empty()) m.failure = r.failure;
      continue;
    }
    rate.push_back(r.rate);
    cpu.push_back(r.cpu_us);
    sys.push_back(r.syscalls);
    rss.push_back(r.rss_mib);
    broker.push_back(r.broker_cpu);
  }
  m.rate = median(rate);
  m.cpu_us = median(cpu);
  m.syscalls = sys.empty() || *std::min_element(sys.begin(), sys.end()) < 0 ? -1 : median(sys);
  m.rss_mib = median(rss);
  m.broker_cpu =
      broker.empty() || *std::min_element(broker.begin(), broker.end()) < 0 ? -1 : median(broker);
  return m;
}

// --- report
// ------------------------------------------------------------------------------------------

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string thousands(double v) {
  std::string s = std::to_string(static_cast<long long>(std::llround(v)));
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string first_line_of(const char* path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line
                                        : line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "unknown";
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  in >> a >> b >> c;
  return fixed(a, 2) + " " + fixed(b, 2) + " " + fixed(c, 2);
}

std::string compiler() {
#if defined(__clang__)
  return __VERSION__;
#elif defined(__GNUC__)
  return std::string("g++ ") + __VERSION__;
#else
  return "unknown";
#endif
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') {
      o += '\\';
      o += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x",
                    static_cast<unsigned>(static_cast<unsigned char>(ch)));
      o += buf;
    } else {
      o += ch;
    }
  }
  return o;
}

struct cell_key {
  std::string flow;
  int qos;
  std::size_t payload;
  auto operator<=>(const cell_key&) const = default;
};

struct report {
  std::string command;
  std::string machine;
  std::string kernel;
  std::string mosquitto;
  std::string load_before, load_after;
  bool syscalls_available = false;
  std::vector<cell_key> cells;
  std::vector<std::string> drivers;
  std::map<std::pair<cell_key, std::string>, measurement> results;

  const measurement* find(const cell_key& k, const std::string& d) const {
    const auto it = results.find({k, d});
    return it == results.end() ? nullptr : &it->second;
  }
  double pct_raw(const cell_key& k, const measurement& m) const {
    const measurement* raw = find(k, "raw");
    return raw != nullptr && raw->ok && raw->rate > 0 && m.ok ? 100 * m.rate / raw->rate : -1;
  }
};

const char* flow_title(const std::string& f) {
  return f == "publish" ? "publish only: one publisher; a message counts when finished (written at "
                          "QoS 0, PUBACK at QoS 1, PUBCOMP at QoS 2)"
                        : "publish → subscribe: one publisher and one subscriber in one process; "
                          "a message counts when the subscriber receives it";
}

void print_markdown(const report& rp, const options& o) {
  std::cout << "# bench_e2e\n\n"
            << "- command: `" << rp.command << "`\n"
            << "- machine: " << rp.machine << "\n"
            << "- kernel: " << rp.kernel << "; compiler: " << compiler() << "; mosquitto "
            << rp.mosquitto << "\n"
            << "- load average (1/5/15 min) before: " << rp.load_before
            << ", after: " << rp.load_after << " — the machine may be shared: compare ratios\n"
            << "- MQTT " << (o.protocol == 5 ? "5.0" : "3.1.1") << ", window " << o.window
            << ", lead " << o.lead << ", warm-up " << o.warmup << " s, measured " << o.duration
            << " s, median of " << o.repeat << "; fresh broker per run (127.0.0.1, "
            << "set_tcp_nodelay, max_inflight_messages " << o.window
            << ", max_queued_messages 1000000)\n"
            << "- columns: msg/s (% of raw in the same cell); client CPU µs per message (user + "
               "system, all threads); syscalls per message"
            << (rp.syscalls_available ? "" : " (n/a: perf_event_open refused)")
            << "; peak RSS of the client process; broker CPU % of one core\n";
  for (const std::string& f : o.flows) {
    std::cout << "\n## " << flow_title(f) << "\n\n| QoS | payload |";
    for (const auto& d : rp.drivers) std::cout << ' ' << d << " |";
    std::cout << "\n|---|---|";
    for (std::size_t i = 0; i < rp.drivers.size(); ++i) std::cout << "---|";
    std::cout << '\n';
    for (const auto& k : rp.cells) {
      if (k.flow != f) continue;
      std::cout << "| " << k.qos << " | " << k.payload << " B |";
      for (const auto& d : rp.drivers) {
        const measurement* m = rp.find(k, d);
        if (m == nullptr) {
          std::cout << " |";
        } else if (!m->ok) {
          std::cout << " **failed** |";
        } else {
          std::cout << ' ' << thousands(m->rate);
          if (const double p = rp.pct_raw(k, *m); p >= 0 && d != "raw")
            std::cout << " (" << fixed(p, 0) << " %)";
          std::cout << " |";
        }
      }
      std::cout << '\n';
    }
    std::cout << "\n| QoS | payload | driver | msg/s | % raw | CPU µs/msg | syscalls/msg | RSS MiB "
                 "| broker CPU % |\n|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& k : rp.cells) {
      if (k.flow != f) continue;
      for (const auto& d : rp.drivers) {
        const measurement* m = rp.find(k, d);
        if (m == nullptr) continue;
        std::cout << "| " << k.qos << " | " << k.payload << " B | " << d << " | ";
        if (!m->ok) {
          std::cout << "**failed** | | | | | |\n";
          continue;
        }
        const double p = rp.pct_raw(k, *m);
        std::cout << thousands(m->rate) << " | " << (p >= 0 ? fixed(p, 1) : "n/a") << " | "
                  << fixed(m->cpu_us, 3) << " | "
                  << (m->syscalls >= 0 ? fixed(m->syscalls, 3) : "n/a") << " | "
                  << fixed(m->rss_mib, 1) << " | "
                  << (m->broker_cpu >= 0 ? fixed(m->broker_cpu, 0) : "n/a") << " |\n";
      }
    }
  }
  bool any_failed = false;
  for (const auto& [key, m] : rp.results)
    if (!m.ok) {
      if (!any_failed) std::cout << "\n## Failures\n\n";
      any_failed = true;
      std::cout << "- " << key.first.flow << " QoS " << key.first.qos << ' ' << key.first.payload
                << " B " << key.second << ": " << m.failure << '\n';
    }
}

void print_csv(const report& rp) {
  std::cout << "flow,qos,payload,driver,status,msgs_per_s,pct_raw,cpu_us_per_msg,syscalls_per_msg,"
               "rss_mib,broker_cpu_pct,failure\n";
  for (const auto& k : rp.cells)
    for (const auto& d : rp.drivers) {
      const measurement* m = rp.find(k, d);
      if (m == nullptr) continue;
      const double p = rp.pct_raw(k, *m);
      std::string why = m->failure;
      std::replace(why.begin(), why.end(), '"', '\'');
      std::replace(why.begin(), why.end(), '\n', ' ');
      std::cout << k.flow << ',' << k.qos << ',' << k.payload << ',' << d << ','
                << (m->ok ? "ok" : "failed") << ',' << fixed(m->rate, 0) << ','
                << (p >= 0 ? fixed(p, 2) : "") << ',' << fixed(m->cpu_us, 4) << ','
                << (m->syscalls >= 0 ? fixed(m->syscalls, 4) : "") << ',' << fixed(m->rss_mib, 2)
                << ',' << (m->broker_cpu >= 0 ? fixed(m->broker_cpu, 1) : "") << ",\"" << why
                << "\"\n";
    }
}

void print_json(const report& rp, const options& o) {
  auto num = [](double v, int digits) { return v >= 0 ? fixed(v, digits) : std::string("null"); };
  std::cout << "{\n  \"command\": \"" << json_escape(rp.command) << "\",\n  \"machine\": \""
            << json_escape(rp.machine) << "\",\n  \"kernel\": \"" << json_escape(rp.kernel)
            << "\",\n  \"compiler\": \"" << json_escape(compiler()) << "\",\n  \"mosquitto\": \""
            << json_escape(rp.mosquitto) << "\",\n  \"load_before\": \"" << rp.load_before
            << "\",\n  \"load_after\": \"" << rp.load_after << "\",\n  \"protocol\": " << o.protocol
            << ",\n  \"window\": " << o.window << ",\n  \"lead\": " << o.lead
            << ",\n  \"warmup_s\": " << o.warmup << ",\n  \"duration_s\": " << o.duration
            << ",\n  \"repeat\": " << o.repeat << ",\n  \"results\": [";
  bool first = true;
  for (const auto& k : rp.cells)
    for (const auto& d : rp.drivers) {
      const measurement* m = rp.find(k, d);
      if (m == nullptr) continue;
      std::cout << (first ? "\n" : ",\n") << "    {\"flow\": \"" << k.flow
                << "\", \"qos\": " << k.qos << ", \"payload\": " << k.payload << ", \"driver\": \""
                << d << "\", \"ok\": " << (m->ok ? "true" : "false")
                << ", \"msgs_per_s\": " << fixed(m->rate, 0)
                << ", \"pct_raw\": " << num(rp.pct_raw(k, *m), 2)
                << ", \"cpu_us_per_msg\": " << fixed(m->cpu_us, 4)
                << ", \"syscalls_per_msg\": " << num(m->syscalls, 4)
                << ", \"rss_mib\": " << fixed(m->rss_mib, 2)
                << ", \"broker_cpu_pct\": " << num(m->broker_cpu, 1) << ", \"failure\": \""
                << json_escape(m->failure) << "\"}";
      first = false;
    }
  std::cout << "\n  ]\n}\n";
}

int run(int argc, char** argv) {
  options o;
  std::vector<std::string> built;
  for (const auto& d : all_drivers) built.emplace_back(d.name);
  o.drivers = built;

  CLI::App app{
      "bench_e2e: MQTT client throughput against a local mosquitto it starts, next to a "
      "raw-socket client (the broker-bound limit)"};
  app.add_option("--drivers", o.drivers, "Drivers, comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember(built))
      ->capture_default_str();
  app.add_option("--qos", o.qos, "QoS levels")
      ->delimiter(',')
      ->check(CLI::Range(0, 2))
      ->capture_default_str();
  app.add_option("--payload", o.payload, "Payload sizes in bytes")
      ->delimiter(',')
      ->check(CLI::Range(std::size_t{0}, std::size_t{256} * 1024 * 1024))
      ->capture_default_str();
  app.add_option("--flow", o.flows, "Flows: publish (publish only), pubsub (publish→subscribe)")
      ->delimiter(',')
      ->check(CLI::IsMember({"publish", "pubsub"}))
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "Seconds before measuring")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--duration", o.duration, "Seconds measured")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--repeat", o.repeat, "Repetitions; the median is reported")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  app.add_option("--window", o.window, "QoS 1/2 in-flight window (and the broker's)")
      ->check(CLI::Range(1u, 65535u))
      ->capture_default_str();
  app.add_option("--lead", o.lead, "pubsub: publisher at most this many messages ahead")
      ->check(CLI::Range(1u, 100'000'000u))
      ->capture_default_str();
  app.add_option("--protocol", o.protocol, "MQTT protocol level: 4 (3.1.1) or 5 (5.0)")
      ->check(CLI::IsMember({4, 5}))
      ->capture_default_str();
  app.add_option("--format", o.format, "Output: markdown, csv or json")
      ->check(CLI::IsMember({"markdown", "csv", "json"}))
      ->capture_default_str();
  app.add_flag("--quick", o.quick, "Smoke test: 0.05 s warm-up, 0.15 s measured");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (o.quick) {
    o.warmup = 0.05;
    o.duration = 0.15;
    o.ready_timeout = 5;
    o.stop_timeout = 3;
  }

  report rp;
  for (int i = 0; i < argc; ++i) rp.command += (i > 0 ? " " : "") + std::string(argv[i]);
  rp.machine = first_line_of("/proc/cpuinfo", "model name") + ", nproc " +
               std::to_string(std::thread::hardware_concurrency());
  utsname u{};
  ::uname(&u);
  rp.kernel = std::string(u.sysname) + ' ' + u.release;
  rp.mosquitto = broker_version();
  if (rp.mosquitto.empty()) rp.mosquitto = "(not found)";
  rp.load_before = load_average();
  for (const auto& d : all_drivers)
    if (std::find(o.drivers.begin(), o.drivers.end(), d.name) != o.drivers.end())
      rp.drivers.emplace_back(d.name);
  for (const auto& f : o.flows)
    for (const int q : o.qos)
      for (const std::size_t p : o.payload) rp.cells.push_back({f, q, p});

  const long tracepoint = syscall_tracepoint_id();
  {
    const int fd = open_syscall_counter(tracepoint);
    rp.syscalls_available = fd >= 0;
    if (fd >= 0) ::close(fd);
  }
  ::signal(SIGPIPE, SIG_IGN);  // a client writing to a closed socket gets EPIPE, not death
  raise_fd_limit();

  std::map<std::pair<cell_key, std::string>, std::vector<measurement>> reps;
  const std::size_t total = o.repeat * rp.cells.size() * rp.drivers.size();
  std::size_t done = 0;
  for (unsigned rep = 0; rep < o.repeat; ++rep)
    for (const auto& k : rp.cells) {
      // Rotate the driver order per repetition, so none always runs right after another.
      for (std::size_t j = 0; j < rp.drivers.size(); ++j) {
        const std::string& name = rp.drivers[(j + rep) % rp.drivers.size()];
        const driver* d = nullptr;
        for (const auto& x : all_drivers)
          if (name == x.name) d = &x;
        cell c;
        c.qos = k.qos;
        c.payload = k.payload;
        c.flow = k.flow == "publish" ? flow::publish_only : flow::publish_subscribe;
        c.window = o.window;
        c.lead = o.lead;
        c.protocol = o.protocol;
        const measurement m = run_one(*d, c, o, tracepoint);
        std::fprintf(
            stderr, "[%zu/%zu] %s qos %d %zu B %-12s %s\n", ++done, total, k.flow.c_str(), k.qos,
            k.payload, name.c_str(),
            m.ok ? (thousands(m.rate) + " msg/s").c_str() : ("FAILED: " + m.failure).c_str());
        reps[{k, name}].push_back(m);
      }
    }
  for (const auto& [key, v] : reps) rp.results[key] = combine(v);
  rp.load_after = load_average();

  if (o.format == "csv") print_csv(rp);
  else if (o.format == "json") print_json(rp, o);
  else print_markdown(rp, o);

  for (const auto& [key, m] : rp.results)
    if (!m.ok) return 1;
  return 0;
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
  try {
    return tern::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_e2e: %s\n", e.what());
    return 2;
  }
}
