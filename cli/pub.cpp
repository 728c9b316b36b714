// `tern pub`: publishes one message (-m, -f, -s, -n, optionally --repeat'ed) or one per line
// of stdin (-l), with mosquitto_pub's options, then disconnects once the broker has everything.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "commands.hpp"
#include "connect_options.hpp"
#include "tern/topic.hpp"

namespace tern::cli {

namespace {

struct pub_options {
  std::optional<std::string> topic;
  std::optional<std::string> message;
  std::optional<std::string> file;
  bool stdin_file = false;
  bool stdin_line = false;
  bool null_message = false;
  bool retain = false;
  std::int64_t repeat = 1;
  double repeat_delay = 0;  // seconds
  std::optional<std::int64_t> max_inflight;
};

std::string read_all(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class publisher {
 public:
  publisher(command_client& cc, const pub_options& po) : cc_(cc), po_(po) {}

  // Publishes one message; false when the client refused it (the error is printed).
  bool send(std::string_view payload) {
    const connect_options& o = cc_.options();
    const property_list& props =
        o.version == protocol_version::v5 ? o.properties.publish : no_properties();
    for (;;) {
      message_info info = cc_.client().publish(*po_.topic, payload, o.q, po_.retain, props);
      const std::error_code ec = info.rc();
      // The loop thread is still writing what came before: give it a moment.
      if (ec == errc::would_block || ec == errc::queue_full) {
        if (cc_.finished()) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      if (ec) {
        cc_.error("Error: publish failed: " + ec.message());
        return false;
      }
      if (cc_.debugging()) {
        cc_.debug("sending PUBLISH (d0, q" + std::to_string(static_cast<int>(o.q)) + ", r" +
                  (po_.retain ? "1" : "0") + ", m" + std::to_string(info.mid()) + ", '" +
                  *po_.topic + "', ... (" + std::to_string(payload.size()) + " bytes))");
      }
      pending_.push_back(std::move(info));
      return true;
    }
  }

  // Waits until the broker has every message (QoS 0: written), the connection is lost, or a
  // message failed. Returns the exit code.
  int wait_all() {
    int code = exit_code::success;
    for (const message_info& info : pending_) {
      while (!info.wait_for_publish(std::chrono::milliseconds(100))) {
        if (cc_.finished()) return cc_.wait(std::chrono::seconds(0)).value_or(exit_code::failure);
      }
      if (is_failure(info.reason())) {
        cc_.error("Warning: Publish " + std::to_string(info.mid()) +
                  " failed: " + std::string(describe(info.reason(), packet_type::puback)) + ".");
        code = exit_code::failure;
      }
    }
    return code;
  }

 private:
  command_client& cc_;
  const pub_options& po_;
  std::vector<message_info> pending_;
};

int run(connect_options& co, pub_options& po) {
  // Read a whole-message payload before connecting: a missing file should not cost a connection.
  std::string payload;
  if (po.message) {
    payload = *po.message;
  } else if (po.file) {
    std::ifstream in(*po.file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "Error: cannot open file '%s'.\n", po.file->c_str());
      return exit_code::failure;
    }
    payload = read_all(in);
  } else if (po.stdin_file) {
    payload = read_all(std::cin);
  }

  command_client cc(co, tool::pub);
  if (po.max_inflight)
    cc.client().max_inflight_messages_set(static_cast<std::uint16_t>(*po.max_inflight));
  cc.on_connection_lost = [&cc](reason_code code) {
    cc.error("Error: the connection was lost (" +
             std::string(describe(code, packet_type::disconnect)) + ").");
    cc.finish(exit_code::connection_lost);
  };
  if (cc.debugging() && co.q != qos::at_most_once) {
    const char* ack = co.q == qos::at_least_once ? "PUBACK" : "PUBCOMP";
    cc.client().on_publish = [&cc, ack](tern::client&, message_id mid, reason_code code,
                                        const properties&) {
      cc.debug(std::string("received ") + ack + " (Mid: " + std::to_string(mid) +
               ", RC:" + std::to_string(static_cast<int>(code)) + ")");
    };
  }
  if (auto failed = cc.start()) {
    cc.stop();
    return *failed;
  }

  publisher p(cc, po);
  bool sent = true;
  if (po.stdin_line) {
    std::string line;
    while (sent && !cc.finished() && std::getline(std::cin, line)) sent = p.send(line);
  } else {
    for (std::int64_t i = 0; sent && i < po.repeat && !cc.finished(); ++i) {
      if (i != 0 && po.repeat_delay > 0)
        std::this_thread::sleep_for(std::chrono::duration<double>(po.repeat_delay));
      sent = p.send(payload);
    }
  }
  int code = p.wait_all();
  if (!sent && code == exit_code::success) code = exit_code::failure;
  if (cc.finished()) code = cc.wait(std::chrono::seconds(0)).value_or(code);
  cc.stop();
  return code;
}

}  // namespace

int pub_main(int argc, char** argv) {
  const std::string program = argv[0];
  CLI::App app("Publish MQTT messages (the options of mosquitto_pub).", program);
  app.set_help_flag("--help", "print this help and exit");
  connect_options co;
  pub_options po;
  add_connect_options(app, co, tool::pub);
  app.add_option("-t,--topic", po.topic, "topic to publish to");
  app.add_option("-m,--message", po.message, "message payload");
  app.add_option("-f,--file", po.file, "send the contents of a file as the message");
  app.add_flag("-s,--stdin-file", po.stdin_file, "send all of stdin as the message");
  app.add_flag("-l,--stdin-line", po.stdin_line, "send each line of stdin as a message");
  app.add_flag("-n,--null-message", po.null_message, "send a zero-length message");
  app.add_flag("-r,--retain", po.retain, "retain the message");
  app.add_option("--repeat", po.repeat, "publish the message this many times");
  app.add_option("--repeat-delay", po.repeat_delay, "seconds between repeated messages");
  app.add_option("-M", po.max_inflight, "most QoS 1/2 messages in flight (default 20)");
  try {
    app.parse(argc, argv);
    resolve(co, tool::pub);
    if (!po.topic && co.url_topic) po.topic = co.url_topic;
    if (!po.topic) throw usage_error("a topic is needed: -t topic, or -L mqtt://host/topic");
    if (auto r = validate_topic_name(*po.topic); !r)
      throw usage_error("invalid publish topic '" + *po.topic +
                        "': " + std::string(to_string(r.error())));
    const int sources = (po.message ? 1 : 0) + (po.file ? 1 : 0) + (po.stdin_file ? 1 : 0) +
                        (po.stdin_line ? 1 : 0) + (po.null_message ? 1 : 0);
    if (sources == 0) throw usage_error("a message is needed: -m, -f, -s, -l or -n");
    if (sources > 1) throw usage_error("only one of -m, -f, -s, -l and -n can be given");
    if (po.repeat < 1) throw usage_error("--repeat needs a count of 1 or more");
    if (po.repeat_delay < 0) throw usage_error("--repeat-delay cannot be negative");
    if (po.stdin_line && (po.repeat != 1 || po.repeat_delay != 0))
      throw usage_error("--repeat applies to -m, -f, -s and -n, not to -l");
    if (po.max_inflight && (*po.max_inflight < 1 || *po.max_inflight > 65535))
      throw usage_error("-M needs a number from 1 to 65535");
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return exit_code::success;
  } catch (const CLI::ParseError& e) {
    return report_usage_error(program, e.what());
  } catch (const usage_error& e) {
    return report_usage_error(program, e.what());
  }
  return run(co, po);
}

}  // namespace tern::cli
