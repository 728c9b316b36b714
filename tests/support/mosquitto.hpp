// A real mosquitto broker for tests: started on a free loopback port with a configuration the
// test writes, stopped by its PID. Only 127.0.0.1 is ever used.
//
//   tern::test::mosquitto broker;            // plain TCP, anonymous, no persistence
//   REQUIRE(broker.start());
//   client.connect("127.0.0.1", broker.port());
//   broker.kill();  broker.start();          // crash and restart on the same port
//
// Extra configuration lines (a password file, more listeners, "allow_anonymous false" instead
// of the default true) go to the constructor. The
// broker's output is kept in a log file in its scratch directory (log()).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tern::test {

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
inline std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t size = sizeof a;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// Whether something accepts TCP connections on 127.0.0.1:port.
inline bool loopback_port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

class mosquitto {
 public:
  static constexpr const char* binary = "/usr/sbin/mosquitto";

  // `extra_config`: lines appended to the generated mosquitto.conf.
  explicit mosquitto(std::string extra_config = {}, std::uint16_t port = 0)
      : extra_(std::move(extra_config)), port_(port) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tern-mosquitto-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
  }
  ~mosquitto() {
    stop();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  mosquitto(const mosquitto&) = delete;
  mosquitto& operator=(const mosquitto&) = delete;

  static bool available() { return ::access(binary, X_OK) == 0; }

  // Starts the broker (on the same port as before, after a stop or kill) and waits until it
  // accepts connections. False if it could not start within `timeout`.
  bool start(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    if (pid_ > 0) return true;
    if (dir_.empty() || !available()) return false;
    if (port_ == 0) port_ = free_loopback_port();
    if (port_ == 0) return false;
    const std::string conf = dir_ + "/mosquitto.conf";
    {
      std::ofstream out(conf);
      out << "listener " << port_ << " 127.0.0.1\n";
      if (extra_.find("allow_anonymous") == std::string::npos) out << "allow_anonymous true\n";
      out << "persistence false\n"
          << "log_dest stderr\n"
          << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
          << "connection_messages true\n";
      // Run as whoever we are: as root, mosquitto would switch to user "mosquitto" and then
      // could not read files in our scratch directory.
      if (::geteuid() == 0) out << "user root\n";
      out << extra_ << '\n';
    }
    const std::string log_path = log_file();
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) return false;
    // Everything the child needs is prepared before fork(): after it, only exec.
    std::vector<std::string> args{binary, "-c", conf};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(log_fd);
      return false;
    }
    if (pid == 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
      ::execv(binary, argv.data());
      ::_exit(127);
    }
    ::close(log_fd);
    pid_ = pid;
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (loopback_port_accepts(port_)) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // it exited: bad config, port taken
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop();
    return false;
  }

  // Graceful stop (SIGTERM; SIGKILL if it lingers), then reaps the process.
  void stop() { end(SIGTERM); }
  // A crash: SIGKILL, no goodbye to the clients.
  void kill() { end(SIGKILL); }

  bool running() const noexcept { return pid_ > 0; }
  pid_t pid() const noexcept { return pid_; }
  std::uint16_t port() const noexcept { return port_; }
  const std::string& directory() const noexcept { return dir_; }
  std::string log_file() const { return dir_ + "/mosquitto.log"; }
  std::string log() const {
    std::ifstream in(log_file());
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  void end(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    pid_ = -1;
  }

  std::string extra_;
  std::uint16_t port_ = 0;
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace tern::test
