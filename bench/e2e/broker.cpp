// Starting and stopping a private mosquitto for bench_e2e (see broker.hpp).
//
// The port is found by binding 127.0.0.1:0 and closing the socket; another process could take it
// before mosquitto binds, so a start that fails to listen is retried on a new port. mosquitto is
// spawned with posix_spawn (safe even when the caller has threads) with stdout and stderr going to
// a file in its directory, so a rejected config can be reported with the broker's own words.
#include "broker.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace tern::bench {
namespace {

using namespace std::chrono_literals;

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("broker: socket");
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    fail_errno("broker: finding a free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_in a = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tail(const std::string& text, std::size_t max_bytes) {
  return text.size() <= max_bytes ? text : text.substr(text.size() - max_bytes);
}

}  // namespace

std::uint64_t raise_fd_limit() {
  rlimit l{};
  if (::getrlimit(RLIMIT_NOFILE, &l) != 0) return 0;
  if (l.rlim_cur < l.rlim_max) {
    l.rlim_cur = l.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &l) != 0) ::getrlimit(RLIMIT_NOFILE, &l);
  }
  return l.rlim_cur;
}

std::string broker_version(const std::string& binary) {
  // `mosquitto -h` prints "mosquitto version 2.0.11" first (and exits non-zero).
  const std::string cmd = binary + " -h 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {};
  char line[256] = {};
  const bool got = std::fgets(line, sizeof line, p) != nullptr;
  ::pclose(p);
  if (!got) return {};
  std::string s(line);
  const auto at = s.find("version ");
  if (at == std::string::npos) return {};
  s = s.substr(at + 8);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

broker::broker(const broker_options& options) {
  raise_fd_limit();
  char templ[] = "/tmp/tern-bench-broker-XXXXXX";
  if (::mkdtemp(templ) == nullptr) fail_errno("broker: mkdtemp");
  dir_ = templ;
  try {
    // A start can only fail on the port when someone else took it in between: retry then.
    for (int attempt = 0;; ++attempt) {
      try {
        start(options);
        return;
      } catch (const std::runtime_error& e) {
        stop(1.0);
        if (attempt == 2 || std::strstr(e.what(), "in use") == nullptr) throw;
      }
    }
  } catch (...) {
    remove_directory();
    throw;
  }
}

broker::~broker() {
  stop();
  remove_directory();
}

void broker::start(const broker_options& options) {
  if (::access(options.binary.c_str(), X_OK) != 0)
    fail_errno("broker: cannot run " + options.binary);
  port_ = free_port();
  const std::string conf = dir_ + "/mosquitto.conf";
  const std::string log = dir_ + "/mosquitto.log";
  const std::string out = dir_ + "/stderr.txt";
  {
    std::ofstream c(conf, std::ios::trunc);
    // Run as ourselves: started as root, mosquitto would switch to user `mosquitto`, which
    // cannot write into our 0700 temp directory.
    if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr)
      c << "user " << pw->pw_name << '\n';
    c << "listener " << port_ << " 127.0.0.1\n"
      << "allow_anonymous true\n"
      << "set_tcp_nodelay true\n"
      << "max_queued_messages 1000000\n"
      << "max_inflight_messages " << options.max_inflight << '\n'
      << "max_connections -1\n"
      << "persistence false\n"
      << "log_dest file " << log << '\n'
      << "log_type error\nlog_type warning\nlog_type notice\n"
      << options.extra_config << '\n';
    if (!c) throw std::runtime_error("broker: cannot write " + conf);
  }

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> argv{const_cast<char*>(options.binary.c_str()), const_cast<char*>("-c"),
                          const_cast<char*>(conf.c_str()), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, options.binary.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    errno = rc;
    fail_errno("broker: spawning " + options.binary);
  }
  pid_ = pid;

  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(options.start_timeout_s);
  while (!port_accepts(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("broker: mosquitto exited at start (status " +
                               std::to_string(status) + "):\n" + log_tail());
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("broker: 127.0.0.1:" + std::to_string(port_) +
                               " not accepting after " + std::to_string(options.start_timeout_s) +
                               " s:\n" + log_tail());
    std::this_thread::sleep_for(5ms);
  }
}

double broker::cpu_seconds() const {
  if (pid_ <= 0) return -1;
  const std::string stat = read_file("/proc/" + std::to_string(pid_) + "/stat");
  // Fields after the command name (which may hold spaces) start at the last ')'; utime and
  // stime are fields 14 and 15 overall, i.e. the 12th and 13th after it.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 1; i <= 13 && in >> field; ++i) {
    if (i == 12) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 13) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  if (!in) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string broker::log_tail(std::size_t max_bytes) const {
  std::string text = read_file(dir_ + "/stderr.txt");
  const std::string log = read_file(dir_ + "/mosquitto.log");
  if (!log.empty()) text += (text.empty() ? "" : "\n") + log;
  return tail(text, max_bytes);
}

void broker::stop(double timeout_s) noexcept {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(2ms);
  }
  pid_ = -1;
}

void broker::remove_directory() noexcept {
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  dir_.clear();
}

}  // namespace tern::bench
