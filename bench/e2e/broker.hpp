// A private mosquitto for one benchmark cell: started on a free 127.0.0.1 port with a config
// written into its own temporary directory, stopped (SIGTERM, then SIGKILL) by the destructor.
//
// Bench code, so errors are exceptions: the constructor throws std::runtime_error saying what
// failed (binary missing, config rejected, port never accepting) with the broker's own output.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace tern::bench {

struct broker_options {
  unsigned max_inflight = 100;  // max_inflight_messages: mosquitto's per-client window
  std::string extra_config;     // appended verbatim to the generated mosquitto.conf
  std::string binary = "/usr/sbin/mosquitto";
  double start_timeout_s = 5.0;  // until the port accepts a connection
};

// Raises this process's RLIMIT_NOFILE soft limit to the hard limit (children inherit it);
// returns the new soft limit. The broker constructor calls it, harnesses may call it earlier.
std::uint64_t raise_fd_limit();

// mosquitto's version ("2.0.11"), from `mosquitto -h`; empty when it cannot be run.
std::string broker_version(const std::string& binary = "/usr/sbin/mosquitto");

class broker {
 public:
  explicit broker(const broker_options& options = {});
  ~broker();
  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;

  std::uint16_t port() const noexcept { return port_; }  // on 127.0.0.1
  pid_t pid() const noexcept { return pid_; }
  // The broker's CPU time so far (user + system, from /proc/<pid>/stat); -1 when unreadable.
  double cpu_seconds() const;
  const std::string& directory() const noexcept { return dir_; }  // config + log live here
  // The last `max_bytes` of the broker's log and stderr, for error messages.
  std::string log_tail(std::size_t max_bytes = 2000) const;
  // Sends SIGTERM and waits (SIGKILL after `timeout_s`); the destructor calls it too.
  void stop(double timeout_s = 3.0) noexcept;

 private:
  void start(const broker_options& options);
  void remove_directory() noexcept;

  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace tern::bench
