// The integration tests' fixture: real servers on free loopback ports, started with
// configurations written into a temporary directory and stopped by PID (SIGTERM, then SIGKILL;
// always reaped, also when a test fails: every server is an RAII object, and each child also
// gets PR_SET_PDEATHSIG so nothing outlives a crashed test process).
//
//   pki          certificates made once per process by make_pki.sh (the openssl CLI)
//   broker       Debian's mosquitto: plain TCP, and on request TLS (server certificate),
//                mutual TLS (require_certificate), TLS with a certificate for another name,
//                TLS with a certificate from an unknown CA, and a password listener
//                (mosquitto_passwd; allow_anonymous false; per_listener_settings true)
//   tinyproxy    HTTP CONNECT proxy          microsocks   SOCKS5 proxy (optionally -u/-P)
//   ws_servers   node: aedes (MQTT 3.1.1 over ws/wss) and a WebSocket-to-TCP bridge in front of
//                mosquitto (MQTT 5.0 over ws/wss); node_modules installed by `npm ci` if missing
//
// Only 127.0.0.1 is ever bound. A missing tool fails the test that needs it with the Debian
// package to install; only the node-based tests are skipped, and only when `node` is absent.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "support/mosquitto.hpp"  // free_loopback_port(), loopback_port_accepts()
#include "tern/client.hpp"

#ifndef TERN_INTEGRATION_SOURCE_DIR
#error "TERN_INTEGRATION_SOURCE_DIR (tests/integration in the source tree) must be defined"
#endif

namespace tern::it {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr const char* loopback = "127.0.0.1";
// The password listener's (and the aedes server's) one account.
constexpr const char* user_name = "tern-user";
constexpr const char* user_password = "correct horse";
// The proxy account of microsocks -u/-P.
constexpr const char* proxy_user = "proxy-user";
constexpr const char* proxy_password = "proxy pass";

// Generous: the sanitizer builds are slow, and a wait only takes this long when a test fails.
constexpr milliseconds patience = 15s;

inline std::string source_dir() { return TERN_INTEGRATION_SOURCE_DIR; }

// How many times `needle` occurs in `text` (overlapping occurrences included).
inline std::size_t count_of(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The last `max` bytes of a log file, for failure messages.
inline std::string tail_of(const std::string& path, std::size_t max = 3000) {
  const std::string all = read_file(path);
  if (all.size() <= max) return all;
  return "[...]" + all.substr(all.size() - max);
}

// ---- tools ----------------------------------------------------------------------------------

// The full path of an executable: $PATH, then the sbin directories (mosquitto lives in
// /usr/sbin, which is not on every user's PATH). Empty when absent.
inline std::string find_tool(std::string_view name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream s(path);
    std::string d;
    while (std::getline(s, d, ':'))
      if (!d.empty()) dirs.push_back(d);
  }
  for (const char* d : {"/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/usr/local/bin"})
    dirs.emplace_back(d);
  for (const auto& d : dirs) {
    const std::string candidate = d + "/" + std::string(name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// find_tool(), failing the test case with what to install when the tool is missing.
inline std::string require_tool(std::string_view name, std::string_view debian_package) {
  std::string path = find_tool(name);
  if (path.empty())
    FAIL("'" << name << "' not found: install the Debian package '" << debian_package
             << "' (scripts/test installs what CI needs)");
  return path;
}

// `TEST_CASE("..." * tern::it::needs_node())`: the node-based cases are skipped, with a note on
// stderr, when `node` is absent. (Anything else missing is a failure, not a skip.)
inline doctest::skip needs_node() {
  const bool absent = find_tool("node").empty();
  static std::once_flag said;
  if (absent) {
    std::call_once(said, [] {
      std::fprintf(stderr,
                   "tern_integration_tests: 'node' not found: SKIPPING the WebSocket tests "
                   "(aedes, ws bridge); install Node.js 16+ and npm to run them\n");
    });
  }
  return doctest::skip(absent);
}

// ---- scratch directories ----------------------------------------------------------------------

class scratch_dir {
 public:
  explicit scratch_dir(const std::string& prefix = "tern-it") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  const std::string& path() const noexcept { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// ---- child processes --------------------------------------------------------------------------

class child_process {
 public:
  child_process() = default;
  ~child_process() { stop(); }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // Starts argv[0] (a full path) with stdin from /dev/null and stdout + stderr appended to
  // `log_path`, in `cwd` when given. False (and errno) if it could not be forked.
  bool spawn(const std::vector<std::string>& argv, const std::string& log_path,
             const std::string& cwd = {}) {
    stop();
    // Everything the child needs is prepared before fork(): the test process has threads,
    // so between fork and exec the child may only make async-signal-safe calls.
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || null_fd < 0) {
      if (log_fd >= 0) ::close(log_fd);
      if (null_fd >= 0) ::close(null_fd);
      return false;
    }
    const pid_t parent = ::getpid();
    const char* dir = cwd.empty() ? nullptr : cwd.c_str();
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the test process died: so do its servers
      if (::getppid() != parent) ::_exit(125);
      ::setpgid(0, 0);  // its own process group, so that stop() also ends its children (npm)
      if (dir != nullptr && ::chdir(dir) != 0) ::_exit(126);
      ::dup2(null_fd, STDIN_FILENO);
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
      ::execv(cargv[0], cargv.data());
      ::_exit(127);
    }
    ::close(log_fd);
    ::close(null_fd);
    if (pid < 0) return false;
    ::setpgid(pid, pid);  // as the child does: whichever runs first
    pid_ = pid;
    return true;
  }

  // Whether it still runs (reaps it if it ended; exit_status() then tells how).
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = status;
      pid_ = -1;
      return false;
    }
    return true;
  }

  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  // SIGTERM, and SIGKILL after `grace`; then reaped.
  void stop(milliseconds grace = 3s) { end(SIGTERM, grace); }
  // SIGKILL: a crash, nothing saved, no goodbye to anyone.
  void kill() { end(SIGKILL, 3s); }

  // Waits for it to end by itself; false (and it is killed) after `timeout`.
  bool wait(milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() >= until) {
        kill();
        return false;
      }
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  pid_t pid() const noexcept { return pid_; }
  // "exit 3", "signal 9", or "running".
  std::string exit_status() const {
    if (pid_ > 0) return "running";
    if (WIFEXITED(status_)) return "exit " + std::to_string(WEXITSTATUS(status_));
    if (WIFSIGNALED(status_)) return "signal " + std::to_string(WTERMSIG(status_));
    return "unknown";
  }
  int exit_code() const { return pid_ <= 0 && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1; }

 private:
  void end(int sig, milliseconds grace) {
    if (pid_ <= 0) return;
    if (::kill(-pid_, sig) != 0) ::kill(pid_, sig);  // the group; the process if it has none
    const auto until = std::chrono::steady_clock::now() + grace;
    int status = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || r < 0) break;
      if (std::chrono::steady_clock::now() >= until) {
        if (::kill(-pid_, SIGKILL) != 0) ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(2ms);
    }
    status_ = status;
    pid_ = -1;
  }

  pid_t pid_ = -1;
  int status_ = 0;
};

// Runs a command to completion (output appended to `log_path`); its exit code, or -1 if it
// could not start or was killed after `timeout`.
inline int run_command(const std::vector<std::string>& argv, const std::string& log_path,
                       milliseconds timeout, const std::string& cwd = {}) {
  child_process p;
  if (!p.spawn(argv, log_path, cwd)) return -1;
  if (!p.wait(timeout)) return -1;
  return p.exit_code();
}

// Waits until every port accepts TCP connections on 127.0.0.1. Returns why not (the process
// exited first, or `timeout` passed: then it is stopped), with its log; empty when listening.
inline std::string await_listening(child_process& p, const std::vector<std::uint16_t>& ports,
                                   const std::string& what, const std::string& log_path,
                                   milliseconds timeout = 10s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!p.running()) {
      return what + " exited (" + p.exit_status() + ") before listening; its log:\n" +
             tail_of(log_path);
    }
    if (std::all_of(ports.begin(), ports.end(),
                    [](std::uint16_t port) { return test::loopback_port_accepts(port); }))
      return {};
    if (std::chrono::steady_clock::now() >= until) {
      p.stop();
      return what + " did not listen within " + std::to_string(timeout.count()) +
             " ms; its log:\n" + tail_of(log_path);
    }
    std::this_thread::sleep_for(5ms);
  }
}

// Starts a server on ports found free a moment before: `launch()` picks the ports, spawns it
// and returns await_listening()'s verdict. Someone may take a port in between (the ephemeral
// range is shared with every outgoing connection), and the server then exits: it is tried
// again on new ports, three times in all, before the test case fails.
template <class Launch>
void start_with_retries(Launch launch) {
  std::string why;
  for (int attempt = 0; attempt < 3; ++attempt) {
    why = launch();
    if (why.empty()) return;
  }
  FAIL(why);
}

inline std::uint16_t free_port() {
  const std::uint16_t port = test::free_loopback_port();
  REQUIRE_MESSAGE(port != 0, "no free port on 127.0.0.1");
  return port;
}

// ---- certificates -------------------------------------------------------------------------------

// Made once per test process with make_pki.sh (openssl CLI); see that script for what each is.
class pki {
 public:
  static const pki& get() {
    static pki instance;
    if (!instance.error_.empty()) FAIL(instance.error_);
    return instance;
  }

  std::string file(const std::string& name) const { return dir_.file(name); }
  std::string ca() const { return file("ca.pem"); }
  std::string server_cert() const { return file("server.pem"); }
  std::string server_key() const { return file("server.key"); }
  std::string client_cert() const { return file("client.pem"); }
  std::string client_key() const { return file("client.key"); }
  std::string client_key_encrypted() const { return file("client-encrypted.key"); }
  static constexpr const char* client_key_password = "secret";
  std::string other_cert() const { return file("other.pem"); }  // names broker.invalid only
  std::string other_key() const { return file("other.key"); }
  std::string rogue_ca() const { return file("rogue-ca.pem"); }
  std::string rogue_server_cert() const { return file("rogue-server.pem"); }
  std::string rogue_server_key() const { return file("rogue-server.key"); }

 private:
  pki() : dir_("tern-it-pki") {
    if (find_tool("openssl").empty()) {
      error_ = "'openssl' not found: install the Debian package 'openssl'";
      return;
    }
    const std::string script = source_dir() + "/make_pki.sh";
    const std::string log = dir_.file("make_pki.log");
    const int rc = run_command({"/bin/sh", script, dir_.path()}, log, 60s);
    if (rc != 0 || !std::filesystem::exists(rogue_server_key()))
      error_ = "make_pki.sh failed (exit " + std::to_string(rc) + "):\n" + tail_of(log);
  }

  scratch_dir dir_;
  std::string error_;
};

// ---- mosquitto ------------------------------------------------------------------------------------

struct broker_options {
  // TLS listeners: tls (server certificate, no client certificate), mtls (client certificate
  // required), mismatch (a certificate for broker.invalid), rogue (from an unknown CA).
  bool tls = false;
  // A listener that takes only user_name / user_password (allow_anonymous false).
  bool auth = false;
  // Persistence in the scratch directory: written on save() or a graceful stop(), read when
  // the broker starts again.
  bool persistence = false;
  // More global configuration lines (before the listeners).
  std::string extra_config;
};

class broker {
 public:
  explicit broker(broker_options options = {}) : options_(options), dir_("tern-it-mosquitto") {}
  ~broker() { process_.stop(); }
  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;

  // Starts mosquitto (again on the same ports after stop() or kill()) and waits until every
  // listener accepts connections; fails the test case otherwise.
  void start() {
    if (process_.running()) return;
    const std::string binary = require_tool("mosquitto", "mosquitto");
    auto launch = [&] {
      write_config();
      const std::string log = log_file();
      {
        std::ofstream(log, std::ios::app) << "---- tern fixture: starting mosquitto ----\n";
      }
      REQUIRE_MESSAGE(process_.spawn({binary, "-c", dir_.file("mosquitto.conf")}, log),
                      "could not start " << binary);
      return await_listening(process_, ports(), "mosquitto", log);
    };
    if (port_ != 0) {  // a restart: the same ports, so only wait a little between attempts
      std::string why;
      for (int attempt = 0; attempt < 3; ++attempt) {
        why = launch();
        if (why.empty()) return;
        std::this_thread::sleep_for(200ms);
      }
      FAIL(why);
    }
    start_with_retries([&] {
      allocate();
      return launch();
    });
  }

  void stop() { process_.stop(); }  // SIGTERM: a clean shutdown (saves, with persistence)
  void kill() { process_.kill(); }  // SIGKILL: a crash
  bool running() { return process_.running(); }

  // Writes the in-memory state to disk now (SIGUSR1), waiting until the file is complete.
  void save() {
    REQUIRE(options_.persistence);
    REQUIRE(process_.running());
    const std::string db = dir_.file("mosquitto.db");
    std::error_code ec;
    std::filesystem::remove(db, ec);  // read only at start-up: the fresh file marks the save
    process_.signal(SIGUSR1);
    const auto until = std::chrono::steady_clock::now() + patience;
    while (!std::filesystem::exists(db) || std::filesystem::exists(db + ".new")) {
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until,
                      "mosquitto did not save its database; its log:\n" << log());
      std::this_thread::sleep_for(5ms);
    }
  }

  std::uint16_t port() const noexcept { return port_; }
  std::uint16_t tls_port() const { return need(tls_port_, "tls"); }
  std::uint16_t mtls_port() const { return need(mtls_port_, "tls"); }
  std::uint16_t mismatch_port() const { return need(mismatch_port_, "tls"); }
  std::uint16_t rogue_port() const { return need(rogue_port_, "tls"); }
  std::uint16_t auth_port() const { return need(auth_port_, "auth"); }

  std::string log_file() const { return dir_.file("mosquitto.log"); }
  std::string log() const { return read_file(log_file()); }

 private:
  static std::uint16_t need(std::uint16_t port, const char* option) {
    REQUIRE_MESSAGE(port != 0, "the broker was not started with broker_options::" << option);
    return port;
  }

  std::vector<std::uint16_t> ports() const {
    std::vector<std::uint16_t> all{port_};
    for (std::uint16_t p : {tls_port_, mtls_port_, mismatch_port_, rogue_port_, auth_port_})
      if (p != 0) all.push_back(p);
    return all;
  }

  void allocate() {
    port_ = free_port();
    if (options_.tls) {
      tls_port_ = free_port();
      mtls_port_ = free_port();
      mismatch_port_ = free_port();
      rogue_port_ = free_port();
    }
    if (options_.auth) auth_port_ = free_port();
    // Ports found free one after the other may repeat: ask again until all differ.
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto all = ports();
      std::sort(all.begin(), all.end());
      if (std::adjacent_find(all.begin(), all.end()) == all.end()) return;
      port_ = free_port();
      if (options_.tls) {
        tls_port_ = free_port();
        mtls_port_ = free_port();
        mismatch_port_ = free_port();
        rogue_port_ = free_port();
      }
      if (options_.auth) auth_port_ = free_port();
    }
    FAIL("could not find distinct free ports");
  }

  void write_config() {
    std::ofstream out(dir_.file("mosquitto.conf"));
    out << "per_listener_settings true\n";
    if (options_.persistence) {
      out << "persistence true\n"
          << "persistence_location " << dir_.path() << "/\n"
          << "persistence_file mosquitto.db\n"
          << "autosave_interval 86400\n";  // only on save() / stop()
    } else {
      out << "persistence false\n";
    }
    // Never drop a QoS 1/2 message for a slow or absent subscriber: tests count every one.
    out << "max_queued_messages 1000000\n"
        << "log_dest stderr\n"
        << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        << "connection_messages true\n"
        << "log_timestamp_format %H:%M:%S\n";
    // As root, mosquitto would switch to the user "mosquitto", which cannot read our files.
    if (::geteuid() == 0) out << "user root\n";
    out << options_.extra_config << "\n";

    out << "\nlistener " << port_ << " " << loopback << "\nallow_anonymous true\n";
    if (options_.tls) {
      const pki& p = pki::get();
      auto tls_listener = [&](std::uint16_t port, const std::string& cert, const std::string& key) {
        out << "\nlistener " << port << " " << loopback << "\nallow_anonymous true\n"
            << "cafile " << p.ca() << "\ncertfile " << cert << "\nkeyfile " << key << "\n";
      };
      tls_listener(tls_port_, p.server_cert(), p.server_key());
      tls_listener(mtls_port_, p.server_cert(), p.server_key());
      out << "require_certificate true\n";
      tls_listener(mismatch_port_, p.other_cert(), p.other_key());
      tls_listener(rogue_port_, p.rogue_server_cert(), p.rogue_server_key());
    }
    if (options_.auth) {
      const std::string passwords = dir_.file("passwords");
      if (!std::filesystem::exists(passwords)) {
        const std::string tool = require_tool("mosquitto_passwd", "mosquitto");
        const std::string log = dir_.file("mosquitto_passwd.log");
        const int rc = run_command({tool, "-b", "-c", passwords, user_name, user_password}, log, 30s);
        REQUIRE_MESSAGE(rc == 0, "mosquitto_passwd failed (exit " << rc << "):\n" << tail_of(log));
      }
      out << "\nlistener " << auth_port_ << " " << loopback << "\nallow_anonymous false\n"
          << "password_file " << passwords << "\n";
    }
  }

  broker_options options_;
  scratch_dir dir_;
  child_process process_;
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
  std::uint16_t mtls_port_ = 0;
  std::uint16_t mismatch_port_ = 0;
  std::uint16_t rogue_port_ = 0;
  std::uint16_t auth_port_ = 0;
};

// ---- proxies ----------------------------------------------------------------------------------------

// tinyproxy, an HTTP proxy that allows CONNECT to `allowed_ports` only (on 127.0.0.1).
class tinyproxy {
 public:
  tinyproxy() : dir_("tern-it-tinyproxy") {}
  ~tinyproxy() { process_.stop(); }

  void start(const std::vector<std::uint16_t>& allowed_ports) {
    const std::string binary = require_tool("tinyproxy", "tinyproxy-bin");
    start_with_retries([&] {
      port_ = free_port();
      {
        std::ofstream out(dir_.file("tinyproxy.conf"));
        out << "Port " << port_ << "\nListen " << loopback << "\nTimeout 30\nMaxClients 64\n"
            << "Allow 127.0.0.1\nLogLevel Info\nDisableViaHeader Yes\n";
        for (std::uint16_t p : allowed_ports) out << "ConnectPort " << p << "\n";
      }
      REQUIRE(process_.spawn({binary, "-d", "-c", dir_.file("tinyproxy.conf")}, log_file()));
      return await_listening(process_, {port_}, "tinyproxy", log_file());
    });
  }

  void stop() { process_.stop(); }
  std::uint16_t port() const noexcept { return port_; }
  std::string log_file() const { return dir_.file("tinyproxy.log"); }
  std::string log() const { return read_file(log_file()); }

 private:
  scratch_dir dir_;
  child_process process_;
  std::uint16_t port_ = 0;
};

// microsocks, a SOCKS5 proxy; with a user name it requires RFC 1929 authentication.
class microsocks {
 public:
  microsocks() : dir_("tern-it-microsocks") {}
  ~microsocks() { process_.stop(); }

  void start(std::optional<std::pair<std::string, std::string>> credentials = std::nullopt) {
    const std::string binary = require_tool("microsocks", "microsocks");
    start_with_retries([&] {
      port_ = free_port();
      std::vector<std::string> argv{binary, "-i", loopback, "-p", std::to_string(port_)};
      if (credentials) {
        argv.insert(argv.end(), {"-u", credentials->first, "-P", credentials->second});
      }
      REQUIRE(process_.spawn(argv, log_file()));
      return await_listening(process_, {port_}, "microsocks", log_file());
    });
  }

  void stop() { process_.stop(); }
  std::uint16_t port() const noexcept { return port_; }
  std::string log_file() const { return dir_.file("microsocks.log"); }

 private:
  scratch_dir dir_;
  child_process process_;
  std::uint16_t port_ = 0;
};

// ---- node: aedes and the WebSocket bridge ----------------------------------------------------------

// Installs tests/integration/node/node_modules with `npm ci` unless the pinned versions are
// there already. Once per process; a file lock keeps two test processes from racing.
inline void ensure_node_modules() {
  static std::mutex mu;
  static bool done = false;
  const std::lock_guard<std::mutex> lock(mu);
  if (done) return;
  const std::string dir = source_dir() + "/node";
  // The pins of package.json, each checked against what node_modules holds.
  auto installed = [&] {
    const std::string manifest = read_file(dir + "/package.json");
    const auto deps_at = manifest.find("\"dependencies\"");
    if (deps_at == std::string::npos) return false;
    const auto open = manifest.find('{', deps_at);
    const auto close = manifest.find('}', open);
    const std::string deps = manifest.substr(open, close - open);
    const std::regex pin("\"([^\"]+)\"\\s*:\\s*\"([^\"]+)\"");
    int count = 0;
    for (auto it = std::sregex_iterator(deps.begin(), deps.end(), pin); it != std::sregex_iterator();
         ++it) {
      const std::string package = read_file(dir + "/node_modules/" + (*it)[1].str() + "/package.json");
      const std::regex version("\"version\"\\s*:\\s*\"" + std::regex_replace((*it)[2].str(),
                               std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") + "\"");
      if (!std::regex_search(package, version)) return false;
      ++count;
    }
    return count > 0 && std::filesystem::exists(dir + "/node_modules/.package-lock.json");
  };
  const int lock_fd = ::open((dir + "/package-lock.json").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE_MESSAGE(lock_fd >= 0, dir << "/package-lock.json is missing");
  ::flock(lock_fd, LOCK_EX);
  struct unlock {
    int fd;
    ~unlock() {
      ::flock(fd, LOCK_UN);
      ::close(fd);
    }
  } unlock_at_end{lock_fd};
  if (!installed()) {
    const std::string npm = find_tool("npm");
    REQUIRE_MESSAGE(!npm.empty(), "'npm' not found (node is there): install the Debian package "
                                  "'npm' to fetch aedes and ws for the WebSocket tests");
    scratch_dir logs("tern-it-npm");
    const std::string log = logs.file("npm-ci.log");
    std::fprintf(stderr, "tern_integration_tests: npm ci in %s\n", dir.c_str());
    const int rc = run_command({npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"}, log,
                               300s, dir);
    REQUIRE_MESSAGE(rc == 0, "`npm ci --no-audit --no-fund` in " << dir << " failed (exit " << rc
                                                                 << "):\n" << tail_of(log));
    REQUIRE_MESSAGE(installed(), "npm ci did not install the versions package.json pins");
  }
  done = true;
}

struct ws_server_options {
  bool aedes = false;                // MQTT 3.1.1: ws (and wss with tls)
  bool aedes_auth = false;           // aedes takes only user_name / user_password
  std::uint16_t bridge_target = 0;   // mosquitto's TCP port: a bridge, ws (and wss with tls)
  bool tls = false;                  // also the wss:// listeners (server certificate of pki)
};

class ws_servers {
 public:
  ws_servers() : dir_("tern-it-node") {}
  ~ws_servers() { process_.stop(); }

  void start(const ws_server_options& o) {
    const std::string node = require_tool("node", "nodejs");
    ensure_node_modules();
    start_with_retries([&] {
      std::vector<std::string> argv{node, source_dir() + "/node/servers.js"};
      std::vector<std::uint16_t> ports;
      auto add = [&](const char* option, std::uint16_t& port) {
        port = free_port();
        while (std::find(ports.begin(), ports.end(), port) != ports.end()) port = free_port();
        argv.insert(argv.end(), {option, std::to_string(port)});
        ports.push_back(port);
      };
      if (o.aedes) {
        add("--aedes-ws", aedes_ws_);
        if (o.tls) add("--aedes-wss", aedes_wss_);
        if (o.aedes_auth)
          argv.insert(argv.end(), {"--aedes-user", user_name, "--aedes-password", user_password});
      }
      if (o.bridge_target != 0) {
        add("--bridge-ws", bridge_ws_);
        if (o.tls) add("--bridge-wss", bridge_wss_);
        argv.insert(argv.end(), {"--bridge-target", std::to_string(o.bridge_target)});
      }
      if (o.tls) {
        const pki& p = pki::get();
        argv.insert(argv.end(), {"--cert", p.server_cert(), "--key", p.server_key()});
      }
      REQUIRE(process_.spawn(argv, log_file()));
      return await_listening(process_, ports, "node servers.js", log_file(), 30s);
    });
  }

  std::uint16_t aedes_ws() const { return aedes_ws_; }
  std::uint16_t aedes_wss() const { return aedes_wss_; }
  std::uint16_t bridge_ws() const { return bridge_ws_; }
  std::uint16_t bridge_wss() const { return bridge_wss_; }
  std::string log_file() const { return dir_.file("servers.log"); }

 private:
  scratch_dir dir_;
  child_process process_;
  std::uint16_t aedes_ws_ = 0;
  std::uint16_t aedes_wss_ = 0;
  std::uint16_t bridge_ws_ = 0;
  std::uint16_t bridge_wss_ = 0;
};

// ---- clients --------------------------------------------------------------------------------------

inline std::string name_of(protocol_version v) {
  return v == protocol_version::v5 ? "MQTT 5.0" : "MQTT 3.1.1";
}
inline std::string tag_of(protocol_version v) { return v == protocol_version::v5 ? "v5" : "v311"; }

// One SUBCASE per protocol version: doctest runs the test case once with `v` = 3.1.1 and once
// with 5.0. Other SUBCASEs in the same test case would be siblings of these (each run enters
// only one subcase per level): such tests use for_each_version() instead.
#define TERN_FOR_EACH_VERSION(v)                            \
  ::tern::protocol_version v = ::tern::protocol_version::v5; \
  SUBCASE("MQTT 3.1.1") { v = ::tern::protocol_version::v3_1_1; } \
  SUBCASE("MQTT 5.0") { v = ::tern::protocol_version::v5; }  \
  CAPTURE(::tern::it::name_of(v))

// Runs `f` for MQTT 3.1.1, then for 5.0 (for tests whose SUBCASEs are something else; the
// others use TERN_FOR_EACH_VERSION, one SUBCASE per version).
template <class F>
void for_each_version(F f) {
  for (const protocol_version v : {protocol_version::v3_1_1, protocol_version::v5}) {
    INFO(name_of(v));
    f(v);
  }
}

// Bytes that are not all alike (every value occurs), the same for the same seed.
inline std::vector<std::byte> pattern_bytes(std::size_t size, std::uint64_t seed) {
  std::vector<std::byte> out(size);
  std::uint64_t x = seed * 0x9E3779B97F4A7C15u + 1;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<std::byte>(x & 0xFF);
  }
  return out;
}

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// What one client's callbacks reported, under a mutex; wait() blocks until a condition on it
// holds. attach() installs on_connect, on_connect_fail, on_disconnect, on_message,
// on_subscribe, on_publish and on_log.
struct recorder {
  std::mutex mu;
  std::condition_variable cv;
  int connects = 0;              // accepted CONNACKs
  bool connected = false;
  bool session_present = false;  // of the last accepted CONNACK
  int disconnects = 0;
  std::vector<reason_code> refusals;          // CONNACKs with a failure code
  std::vector<reason_code> connect_failures;  // on_connect_fail
  std::vector<reason_code> disconnect_codes;  // on_disconnect
  std::vector<owned_message> messages;
  std::vector<std::pair<std::uint16_t, std::vector<reason_code>>> subacks;
  int published = 0;  // on_publish calls
  std::vector<std::string> logs;

  void attach(client& c) {
    c.on_connect = [this](client&, connect_flags f, reason_code rc, const properties&) {
      const std::lock_guard<std::mutex> lock(mu);
      if (is_failure(rc)) {
        refusals.push_back(rc);
      } else {
        ++connects;
        connected = true;
        session_present = f.session_present;
      }
      cv.notify_all();
    };
    c.on_connect_fail = [this](client&, reason_code rc) {
      const std::lock_guard<std::mutex> lock(mu);
      connect_failures.push_back(rc);
      cv.notify_all();
    };
    c.on_disconnect = [this](client&, disconnect_flags, reason_code rc, const properties&) {
      const std::lock_guard<std::mutex> lock(mu);
      ++disconnects;
      connected = false;
      disconnect_codes.push_back(rc);
      cv.notify_all();
    };
    c.on_message = [this](client&, const publish& m) {
      const std::lock_guard<std::mutex> lock(mu);
      messages.push_back(owned_message::from(m));
      cv.notify_all();
    };
    c.on_subscribe = [this](client&, std::uint16_t id, const reason_code_list& codes,
                            const properties&) {
      const std::lock_guard<std::mutex> lock(mu);
      std::vector<reason_code> list;
      for (const reason_code rc : codes) list.push_back(rc);
      subacks.emplace_back(id, std::move(list));
      cv.notify_all();
    };
    c.on_publish = [this](client&, message_id, reason_code, const properties&) {
      const std::lock_guard<std::mutex> lock(mu);
      ++published;
      cv.notify_all();
    };
    c.on_log = [this](client&, log_level, std::string_view text) {
      const std::lock_guard<std::mutex> lock(mu);
      if (logs.size() < 10'000) logs.emplace_back(text);
    };
  }

  // Waits until `pred` (called with the mutex held) holds; false after `timeout`.
  template <class Pred>
  bool wait(Pred pred, milliseconds timeout = patience) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, pred);
  }

  std::size_t message_count() {
    const std::lock_guard<std::mutex> lock(mu);
    return messages.size();
  }
  std::vector<owned_message> messages_on(const std::string& topic) {
    const std::lock_guard<std::mutex> lock(mu);
    std::vector<owned_message> out;
    for (const auto& m : messages)
      if (m.topic == topic) out.push_back(m);
    return out;
  }
  bool has_message_on(const std::string& topic) { return !messages_on(topic).empty(); }
  std::string all_logs() {
    const std::lock_guard<std::mutex> lock(mu);
    std::string out;
    for (const auto& l : logs) out += l + "\n";
    return out;
  }
};

// Connects (blocking for the transport), starts the loop thread and waits for CONNACK.
inline void connect_and_start(client& c, recorder& r, std::uint16_t port,
                              const std::string& host = loopback,
                              std::chrono::seconds keepalive = 10s) {
  int before = 0;
  {
    const std::lock_guard<std::mutex> lock(r.mu);
    before = r.connects;
  }
  const std::error_code ec = c.connect(host, port, keepalive);
  REQUIRE_MESSAGE(!ec, "connect(" << host << ":" << port << "): " << ec.message() << "\n"
                                  << r.all_logs());
  REQUIRE_FALSE(c.loop_start());
  REQUIRE_MESSAGE(r.wait([&] { return r.connects > before || !r.refusals.empty(); }),
                  "no CONNACK from " << host << ":" << port << "\n" << r.all_logs());
  const std::lock_guard<std::mutex> lock(r.mu);
  REQUIRE_MESSAGE(r.refusals.empty(), "refused: " << make_error_code(r.refusals.front()).message());
}

// Subscribes and waits for the SUBACK; returns its reason code.
inline reason_code subscribe_and_wait(client& c, recorder& r, const std::string& filter,
                                      subscribe_options options) {
  const auto result = c.subscribe(filter, options);
  REQUIRE_MESSAGE(!result.first, "subscribe(" << filter << "): " << result.first.message());
  const std::uint16_t id = result.second;
  std::vector<reason_code> codes;
  REQUIRE_MESSAGE(r.wait([&] {
    for (const auto& s : r.subacks) {
      if (s.first == id) {
        codes = s.second;
        return true;
      }
    }
    return false;
  }),
                  "no SUBACK for " << filter);
  REQUIRE(codes.size() == 1);
  return codes.front();
}

inline reason_code subscribe_and_wait(client& c, recorder& r, const std::string& filter, qos q) {
  subscribe_options o;
  o.max_qos = q;
  return subscribe_and_wait(c, r, filter, o);
}

inline reason_code granted(qos q) {
  return static_cast<reason_code>(static_cast<std::uint8_t>(q));
}

// Stops the loop thread after a clean DISCONNECT.
inline void disconnect_and_stop(client& c) {
  CHECK_FALSE(c.disconnect());
  CHECK_FALSE(c.loop_stop());
}

// Ends a client's connection abruptly, as a crash or a cut cable would: no DISCONNECT, the
// socket shut down under the client. (Whoever runs its loop then sees the connection fail.)
inline void cut_connection(client& c) {
  const int fd = c.socket();
  REQUIRE_MESSAGE(fd >= 0, "the client has no socket to cut");
  ::shutdown(fd, SHUT_RDWR);
}

}  // namespace tern::it
