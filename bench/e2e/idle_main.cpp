// bench_idle: memory per idle connection. Connects N tern::asio::client instances (plain TCP,
// keep-alive 60 s, clean session) on one io_context to a private mosquitto, lets them settle,
// and reports what an idle connection costs: the bytes the clients hold in their (shared,
// counting) memory resource, the process's RSS before and after, and the broker's RSS.
// Optionally the same with one subscription each, and after a keep-alive round.
//
//   bench_idle [--clients N] [--protocol 4|5] [--subscribe] [--after-ping] [--keep-alive S]
//              [--settle S] [--parallel N] [--blocks]
//
// The memory resource holds everything tern::asio::client takes from the resource it is given:
// the session (its object, buffers and queues) and the adapter's own blocks (the client core
// and the transport). --blocks prints the live blocks by size, which tells them apart.
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <memory_resource>
#include <sstream>
#include <string>
#include <vector>

// g++ sees malloc/free through the replaced operators once they are inlined into a caller.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#include "../allocation_counter.hpp"
#pragma GCC diagnostic pop
#include "broker.hpp"
#include "tern/asio/client.hpp"

namespace {

using namespace std::chrono_literals;

// Counts the bytes held (now and at the peak) and, for the breakdown, live blocks by size.
// Used from the io_context's one thread only.
class counting_resource final : public std::pmr::memory_resource {
 public:
  std::size_t in_use() const noexcept { return in_use_; }
  std::size_t peak() const noexcept { return peak_; }
  std::uint64_t allocations() const noexcept { return allocations_; }
  const std::map<std::size_t, std::size_t>& blocks() const noexcept { return blocks_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    void* p = std::pmr::new_delete_resource()->allocate(bytes, alignment);
    in_use_ += bytes;
    if (in_use_ > peak_) peak_ = in_use_;
    ++allocations_;
    ++blocks_[bytes];
    return p;
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override {
    in_use_ -= bytes;
    if (--blocks_[bytes] == 0) blocks_.erase(bytes);
    std::pmr::new_delete_resource()->deallocate(p, bytes, alignment);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  std::size_t in_use_ = 0;
  std::size_t peak_ = 0;
  std::uint64_t allocations_ = 0;
  std::map<std::size_t, std::size_t> blocks_;
};

// VmRSS of a process in bytes (0 when unreadable).
std::size_t rss_of(const std::string& status_path) {
  std::ifstream in(status_path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}
std::size_t own_rss() { return rss_of("/proc/self/status"); }
std::size_t broker_rss(pid_t pid) { return rss_of("/proc/" + std::to_string(pid) + "/status"); }

struct options {
  std::size_t clients = 10'000;
  int protocol = 4;
  bool subscribe = false;
  bool after_ping = false;
  std::chrono::seconds keep_alive{60};
  double settle_s = 2.0;
  std::size_t parallel = 100;  // connections being made at once (mosquitto's backlog is small)
  bool blocks = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "bench_idle: %s\nusage: bench_idle [--clients N] [--protocol 4|5] [--subscribe] "
               "[--after-ping] [--keep-alive S] [--settle S] [--parallel N] [--blocks]\n",
               why);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--clients") o.clients = std::stoul(value());
    else if (a == "--protocol") o.protocol = std::stoi(value());
    else if (a == "--subscribe") o.subscribe = true;
    else if (a == "--after-ping") o.after_ping = true;
    else if (a == "--keep-alive") o.keep_alive = std::chrono::seconds(std::stoi(value()));
    else if (a == "--settle") o.settle_s = std::stod(value());
    else if (a == "--parallel") o.parallel = std::stoul(value());
    else if (a == "--blocks") o.blocks = true;
    else usage(("unknown option " + a).c_str());
  }
  if (o.protocol != 4 && o.protocol != 5) usage("--protocol is 4 or 5");
  if (o.clients == 0 || o.parallel == 0) usage("--clients and --parallel must be positive");
  return o;
}

struct sample {
  std::string what;
  std::size_t resource = 0;  // bytes held in the counting resource
  std::size_t rss = 0;
  std::size_t broker = 0;
  std::uint64_t new_calls = 0;  // global operator new calls during the settle before it
};

std::string kib(double bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", bytes / 1024.0);
  return b;
}
std::string mib(double bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", bytes / (1024.0 * 1024.0));
  return b;
}

// Runs the io_context until `done` or `limit`; false on the limit.
template <class Pred>
bool run_until(asio::io_context& io, Pred done, std::chrono::steady_clock::duration limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    io.restart();
    io.run_for(20ms);
  }
  return true;
}

void settle(asio::io_context& io, double seconds) {
  io.restart();
  io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(seconds)));
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  std::string command = "bench_idle";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];

  counting_resource memory;  // outlives the io_context and the clients
  tern::bench::raise_fd_limit();
  tern::bench::broker broker;
  asio::io_context io(1);

  const std::size_t rss_before = own_rss();
  const std::size_t broker_before = broker_rss(broker.pid());
  std::vector<sample> samples;
  int failures = 0;
  {
    std::vector<std::unique_ptr<tern::asio::client>> clients;
    clients.reserve(opt.clients);
    std::vector<std::string> ids(opt.clients);
    for (std::size_t i = 0; i < opt.clients; ++i) {
      ids[i] = "idle-" + std::to_string(i);
      tern::asio::client_options o;
      o.host = "127.0.0.1";
      o.port = broker.port();
      o.session.version =
          opt.protocol == 5 ? tern::protocol_version::v5 : tern::protocol_version::v3_1_1;
      o.session.client_id = ids[i];
      o.session.clean_start = tern::clean_start_policy::always;
      o.session.keep_alive = opt.keep_alive;
      clients.push_back(std::make_unique<tern::asio::client>(io, std::move(o), &memory));
    }

    // Connects with at most `parallel` attempts under way.
    std::size_t started = 0, connected = 0;
    auto start_next = [&](auto& self) -> void {
      if (started == opt.clients) return;
      tern::asio::client& c = *clients[started++];
      c.async_connect([&, self](std::error_code ec, const tern::asio::connect_result&) {
        if (ec) {
          ++failures;
          std::fprintf(stderr, "bench_idle: connect failed: %s\n", ec.message().c_str());
        }
        ++connected;
        self(self);
      });
    };
    for (std::size_t i = 0; i < opt.parallel; ++i) start_next(start_next);
    const bool all = run_until(
        io, [&] { return connected == opt.clients; }, std::chrono::seconds(60 + opt.clients / 100));
    if (!all || failures != 0) {
      std::fprintf(stderr, "bench_idle: %zu of %zu connected, %d failed\n%s\n", connected,
                   opt.clients, failures, broker.log_tail().c_str());
      return 1;
    }

    auto measure = [&](std::string what, double settle_s) {
      const std::uint64_t calls = tern_bench_allocations();
      settle(io, settle_s);
      samples.push_back({std::move(what), memory.in_use(), own_rss(), broker_rss(broker.pid()),
                         tern_bench_allocations() - calls});
    };
    measure("connected, idle", opt.settle_s);

    if (opt.subscribe) {
      std::size_t acked = 0;
      for (std::size_t i = 0; i < opt.clients; ++i) {
        clients[i]->async_subscribe("idle/" + ids[i], {.max_qos = tern::qos::at_least_once},
                                    [&](std::error_code ec, const tern::asio::subscribe_result&) {
                                      if (ec) ++failures;
                                      ++acked;
                                    });
      }
      if (!run_until(
              io, [&] { return acked == opt.clients; }, 120s) ||
          failures != 0) {
        std::fprintf(stderr, "bench_idle: %zu of %zu subscribed, %d failed\n", acked, opt.clients,
                     failures);
        return 1;
      }
      measure("1 subscription each", opt.settle_s);
    }
    if (opt.after_ping) {
      // Every client sends PINGREQ once keep_alive passes without a write.
      measure("after a keep-alive round",
              static_cast<double>(opt.keep_alive.count()) + opt.settle_s);
    }
    if (opt.blocks) {
      std::printf("live blocks in the resource (size x count), %zu clients:\n", opt.clients);
      for (const auto& [size, count] : memory.blocks())
        std::printf("  %6zu B x %zu\n", size, count);
      std::printf("\n");
    }
    clients.clear();  // closes the connections (no DISCONNECT); handlers finish below
    settle(io, 0.5);
  }

  const double n = static_cast<double>(opt.clients);
  std::printf(
      "## bench_idle: %zu idle tern::asio::client, MQTT %s, TCP, keep-alive %llds, "
      "mosquitto %s\n\n",
      opt.clients, opt.protocol == 5 ? "5.0" : "3.1.1",
      static_cast<long long>(opt.keep_alive.count()), tern::bench::broker_version().c_str());
  std::printf(
      "| state | resource B/conn | RSS KiB/conn | process RSS MiB | broker RSS MiB | "
      "new calls in settle |\n|---|---:|---:|---:|---:|---:|\n");
  std::printf("| before clients | - | - | %s | %s | - |\n",
              mib(static_cast<double>(rss_before)).c_str(),
              mib(static_cast<double>(broker_before)).c_str());
  for (const sample& s : samples) {
    std::printf("| %s | %.0f | %s | %s | %s | %llu |\n", s.what.c_str(),
                static_cast<double>(s.resource) / n,
                kib((static_cast<double>(s.rss) - static_cast<double>(rss_before)) / n).c_str(),
                mib(static_cast<double>(s.rss)).c_str(), mib(static_cast<double>(s.broker)).c_str(),
                static_cast<unsigned long long>(s.new_calls));
  }
  std::printf("\nresource peak: %.0f B/conn; all returned at the end: %s\n",
              static_cast<double>(memory.peak()) / n, memory.in_use() == 0 ? "yes" : "no");
  std::printf("command: %s\n", command.c_str());
  return memory.in_use() == 0 ? 0 : 1;
}
