// `tern sub`: subscribes to one or more filters and prints each message as it arrives (flushed
// per message), with mosquitto_sub's options for what to print (-v, -F, -N), what to skip (-T,
// -R, --retained-only, --random-filter) and when to stop (-C, -W, -E).
#include <atomic>
#include <cstdio>
#include <random>

#include "commands.hpp"
#include "connect_options.hpp"
#include "message_format.hpp"
#include "tern/topic.hpp"

namespace tern::cli {

namespace {

struct sub_options {
  std::vector<std::string> topics;        // -t
  std::vector<std::string> filter_outs;   // -T
  std::vector<std::string> unsubscribes;  // -U
  std::int64_t count = 0;                 // -C; 0: no limit
  std::int64_t timeout = 0;               // -W seconds; 0: none
  bool no_retained = false;               // -R
  bool retained_only = false;
  bool remove_retained = false;
  bool retain_as_published = false;
  bool exit_after_subscribe = false;  // -E
  double random_filter = 100;         // percent of messages printed
  output_options output;
};

void validate_filters(const std::vector<std::string>& filters, std::string_view what) {
  for (const auto& f : filters)
    if (auto r = validate_topic_filter(f); !r)
      throw usage_error("invalid " + std::string(what) + " '" + f +
                        "': " + std::string(to_string(r.error())));
}

// What happens to each message, on the loop thread.
class receiver {
 public:
  receiver(command_client& cc, const sub_options& so, message_formatter formatter)
      : cc_(cc), so_(so), formatter_(std::move(formatter)) {}

  void subscribe() {
    tern::client& c = cc_.client();
    const connect_options& o = cc_.options();
    const bool v5 = o.version == protocol_version::v5;
    std::vector<std::pair<std::string, subscribe_options>> filters;
    subscribe_options options;
    options.max_qos = o.q;
    options.retain_as_published = so_.retain_as_published;
    for (const auto& t : so_.topics) filters.emplace_back(t, options);
    if (filters.empty()) {
      subscribed_ = true;  // only -U was given
    } else {
      send_subscribe(filters, v5);
    }
    if (!so_.unsubscribes.empty()) {
      const auto [uec, uid] =
          c.unsubscribe(so_.unsubscribes, v5 ? o.properties.unsubscribe : no_properties());
      if (uec) {
        cc_.error("Error: unsubscribe failed: " + uec.message());
        cc_.finish(exit_code::failure);
        return;
      }
      unsubscribe_id_ = uid;
      if (cc_.debugging()) cc_.debug("sending UNSUBSCRIBE (Mid: " + std::to_string(uid) + ")");
    }
  }

  void send_subscribe(const std::vector<std::pair<std::string, subscribe_options>>& filters,
                      bool v5) {
    tern::client& c = cc_.client();
    const connect_options& o = cc_.options();
    const auto [ec, id] = c.subscribe(filters, v5 ? o.properties.subscribe : no_properties());
    if (ec) {
      cc_.error("Error: subscribe failed: " + ec.message());
      cc_.finish(exit_code::failure);
      return;
    }
    subscribe_id_ = id;
    if (cc_.debugging()) {
      char opts[8];
      std::snprintf(opts, sizeof opts, "0x%02x",
                    static_cast<unsigned>(static_cast<unsigned>(o.q) |
                                          (so_.retain_as_published ? 0x08u : 0u)));
      for (const auto& t : so_.topics)
        cc_.debug("sending SUBSCRIBE (Mid: " + std::to_string(id) + ", Topic: " + t +
                  ", QoS: " + std::to_string(static_cast<int>(o.q)) + ", Options: " + opts + ")");
    }
  }

  void subscribed(std::uint16_t id, const reason_code_list& codes) {
    if (id != subscribe_id_) return;
    cc_.debug("received SUBACK");
    std::string granted;
    std::size_t i = 0;
    std::size_t refused = 0;
    for (const reason_code code : codes) {
      if (!granted.empty()) granted += ", ";
      granted += std::to_string(static_cast<int>(code));
      if (is_failure(code)) {
        ++refused;
        if (i < so_.topics.size())
          cc_.error("Warning: subscription to '" + so_.topics[i] +
                    "' refused: " + std::string(describe(code, packet_type::suback)));
      }
      ++i;
    }
    if (cc_.debugging()) {
      std::printf("Subscribed (mid: %u): %s\n", static_cast<unsigned>(id), granted.c_str());
      std::fflush(stdout);
    }
    if (refused != 0 && refused == codes.size()) {
      cc_.error("Error: all subscription requests were denied.");
      cc_.finish(exit_code::failure);
      return;
    }
    subscribed_ = true;
    if (so_.exit_after_subscribe && (so_.unsubscribes.empty() || unsubscribed_))
      cc_.finish(exit_code::success);
  }

  void unsubscribed(std::uint16_t id) {
    if (id != unsubscribe_id_) return;
    cc_.debug("received UNSUBACK");
    unsubscribed_ = true;
    if (so_.exit_after_subscribe && subscribed_) cc_.finish(exit_code::success);
  }

  void message(const publish& m) {
    if (done_.load()) return;
    if (cc_.debugging())
      cc_.debug("received PUBLISH (d" + std::string(m.dup ? "1" : "0") + ", q" +
                std::to_string(static_cast<int>(m.q)) + ", r" + (m.retain ? "1" : "0") + ", m" +
                std::to_string(m.packet_id) + ", '" + std::string(m.topic) + "', ... (" +
                std::to_string(m.payload.size()) + " bytes))");
    bool filtered = false;
    for (const auto& f : so_.filter_outs)
      if (topic_matches_sub(f, m.topic)) filtered = true;
    // Clearing retained messages applies to everything -T lets through, even with -R.
    if (so_.remove_retained && m.retain && !filtered)
      (void)cc_.client().publish(m.topic, std::string_view(), qos::at_most_once, true);
    if (so_.retained_only && !m.retain) {
      done_ = true;
      cc_.finish(exit_code::success);
      return;
    }
    if (filtered || (so_.no_retained && m.retain)) return;
    if (so_.random_filter < 100 &&
        std::uniform_real_distribution<double>(0, 100)(random_) >= so_.random_filter)
      return;
    std::string out;
    std::string errors;
    formatter_.format(out, m, std::chrono::system_clock::now(), errors);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    if (!errors.empty()) cc_.error(errors.substr(0, errors.size() - 1));
    if (so_.count > 0 && ++received_ >= so_.count) {
      done_ = true;
      cc_.finish(exit_code::success);
    }
  }

 private:
  command_client& cc_;
  const sub_options& so_;
  message_formatter formatter_;
  std::uint16_t subscribe_id_ = 0;
  std::uint16_t unsubscribe_id_ = 0;
  bool subscribed_ = false;
  bool unsubscribed_ = false;
  std::int64_t received_ = 0;
  std::atomic<bool> done_{false};
  std::mt19937 random_{std::random_device{}()};
};

int run(const connect_options& co, const sub_options& so, message_formatter formatter) {
  command_client cc(co, tool::sub);
  receiver r(cc, so, std::move(formatter));
  tern::client& c = cc.client();
  cc.on_connected = [&r] { r.subscribe(); };
  c.on_subscribe = [&r](tern::client&, std::uint16_t id, const reason_code_list& codes,
                        const properties&) { r.subscribed(id, codes); };
  c.on_unsubscribe = [&r](tern::client&, std::uint16_t id, const reason_code_list&,
                          const properties&) { r.unsubscribed(id); };
  c.on_message = [&r](tern::client&, const publish& m) { r.message(m); };
  if (auto failed = cc.start()) {
    cc.stop();
    return *failed;
  }
  // -W counts from the moment the connection is up.
  std::optional<std::chrono::steady_clock::duration> timeout;
  if (so.timeout > 0) timeout = std::chrono::seconds(so.timeout);
  const std::optional<int> code = cc.wait(timeout);
  if (!code) cc.error("Timed out");
  cc.stop();
  return code.value_or(exit_code::timed_out);
}

}  // namespace

int sub_main(int argc, char** argv) {
  const std::string program = argv[0];
  CLI::App app("Subscribe to MQTT topics and print the messages (the options of mosquitto_sub).",
               program);
  app.set_help_flag("--help", "print this help and exit");
  connect_options co;
  sub_options so;
  add_connect_options(app, co, tool::sub);
  app.add_option("-t,--topic", so.topics, "topic filter to subscribe to (repeatable)");
  app.add_option("-T,--filter-out", so.filter_outs, "do not print topics matching this filter");
  app.add_option("-U,--unsubscribe", so.unsubscribes, "unsubscribe from this filter (repeatable)");
  app.add_option("-C", so.count, "exit after this many messages");
  app.add_option("-W", so.timeout, "exit (code 27) after this many seconds");
  app.add_flag("-R", so.no_retained, "do not print retained (stale) messages");
  app.add_flag("--retained-only", so.retained_only,
               "print only retained messages; exit at the first fresh one");
  app.add_flag("--remove-retained", so.remove_retained,
               "clear the retained messages received (except those -T filters out)");
  app.add_flag("--retain-as-published", so.retain_as_published,
               "MQTT 5: keep the retain flag as the publisher set it");
  app.add_flag("-E", so.exit_after_subscribe, "exit once the subscriptions are acknowledged");
  app.add_option("--random-filter", so.random_filter, "print only this percentage of messages");
  app.add_flag("-v,--verbose", so.output.verbose, "print the topic before the payload");
  app.add_option("-F", so.output.format, "output format (%t topic, %p payload, %j JSON, ...)");
  app.add_flag("-N", so.output.no_end_of_line, "no end of line after each message");
  app.add_flag("--pretty", so.output.pretty, "lay %j / %J JSON out on several lines");
  try {
    app.parse(argc, argv);
    resolve(co, tool::sub);
    if (co.url_topic) so.topics.insert(so.topics.begin(), *co.url_topic);
    if (so.topics.empty() && so.unsubscribes.empty())
      throw usage_error("a topic to subscribe to is needed: -t filter (or -U filter)");
    validate_filters(so.topics, "subscription topic");
    validate_filters(so.filter_outs, "filter-out topic (-T)");
    validate_filters(so.unsubscribes, "unsubscribe topic (-U)");
    if (so.count < 0) throw usage_error("-C needs a positive count");
    if (so.timeout < 0) throw usage_error("-W needs a positive number of seconds");
    if (so.retained_only && so.no_retained)
      throw usage_error("-R and --retained-only exclude each other");
    if (so.retain_as_published && co.version != protocol_version::v5)
      throw usage_error("--retain-as-published needs MQTT v5 (-V mqttv5)");
    if (so.random_filter <= 0 || so.random_filter > 100)
      throw usage_error("--random-filter needs a percentage above 0 and at most 100");
    message_formatter formatter(so.output);
    return run(co, so, std::move(formatter));
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return exit_code::success;
  } catch (const CLI::ParseError& e) {
    return report_usage_error(program, e.what());
  } catch (const usage_error& e) {
    return report_usage_error(program, e.what());
  }
}

}  // namespace tern::cli
