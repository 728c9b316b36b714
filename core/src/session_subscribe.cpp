// SUBSCRIBE / UNSUBSCRIBE requests, their acknowledgements, and the record of active
// subscriptions that auto_resubscribe replays when the broker lost the session.
#include <algorithm>
#include <array>

#include "session_impl.hpp"
#include "tern/topic.hpp"

namespace tern {

using detail::request_record;

result<std::uint16_t, errc> session::impl::subscribe(std::span<const subscription> subs,
                                                     const properties& props, time_point) {
  if (st != session_state::connected) return unexpected{errc::not_connected};
  for (const subscription& s : subs) {
    const bool shared = v5() && parse_shared_subscription(s.filter).has_value();
    if (!limits.wildcard_subscription_available && has_wildcard(s.filter))
      return unexpected{errc::wildcard_subscriptions_not_supported};
    if (!limits.shared_subscription_available && shared)
      return unexpected{errc::shared_subscriptions_not_supported};
  }
  const auto identifier = props.number(property_id::subscription_identifier);
  if (identifier && !limits.subscription_identifier_available)
    return unexpected{errc::subscription_identifiers_not_supported};

  tern::subscribe request{0, subscription_list(subs), props};
  request.packet_id = 1;  // validate with a placeholder id
  const auto size = measure(request, cfg.version);
  if (!size) return unexpected{size.error()};
  if (size->total > limits.maximum_packet_size) return unexpected{errc::packet_too_large};
  if (transmit_full(size->total)) return unexpected{errc::would_block};
  request.packet_id = allocate_packet_id();
  if (request.packet_id == 0) return unexpected{errc::packet_ids_exhausted};

  request_record r{request.packet_id, false, false, identifier.value_or(0),
                   decltype(request_record::entries)(mem)};
  r.entries.reserve(subs.size());
  for (const subscription& s : subs) r.entries.emplace_back(std::pmr::string(s.filter, mem), s.options);
  requests.push_back(std::move(r));
  write(request, cfg.version, *size, reserve_owned(size->total));
  end_packet();
  return request.packet_id;
}

result<std::uint16_t, errc> session::impl::unsubscribe(std::span<const std::string_view> filters,
                                                       const properties& props, time_point) {
  if (st != session_state::connected) return unexpected{errc::not_connected};
  tern::unsubscribe request{1, topic_filter_list(filters), props};
  const auto size = measure(request, cfg.version);
  if (!size) return unexpected{size.error()};
  if (size->total > limits.maximum_packet_size) return unexpected{errc::packet_too_large};
  if (transmit_full(size->total)) return unexpected{errc::would_block};
  request.packet_id = allocate_packet_id();
  if (request.packet_id == 0) return unexpected{errc::packet_ids_exhausted};

  request_record r{request.packet_id, true, false, 0, decltype(request_record::entries)(mem)};
  for (const std::string_view f : filters)
    r.entries.emplace_back(std::pmr::string(f, mem), subscribe_options{});
  requests.push_back(std::move(r));
  write(request, cfg.version, *size, reserve_owned(size->total));
  end_packet();
  return request.packet_id;
}

void session::impl::on_suback(const suback& p, time_point now) {
  auto r = std::find_if(requests.begin(), requests.end(), [&](const request_record& x) {
    return x.packet_id == p.packet_id && !x.unsubscribe;
  });
  if (r == requests.end()) {
    log(log_level::warning, "SUBACK for unknown packet id ", p.packet_id, " ignored");
    return;
  }
  if (p.codes.size() != r->entries.size())  // one code per filter [MQTT-3.8.4-6]
    return protocol_violation(reason_code::protocol_error, now);
  // Remember what the broker granted, for auto_resubscribe.
  std::size_t i = 0;
  for (const reason_code code : p.codes) {
    if (i >= r->entries.size()) break;
    auto& entry = r->entries[i++];
    std::pmr::string& filter = entry.first;
    const subscribe_options options = entry.second;
    if (is_failure(code)) {  // a refused resubscription is no longer active
      if (r->resubscribe)
        std::erase_if(active_subscriptions, [&](const auto& a) { return a.filter == filter; });
      continue;
    }
    if (r->resubscribe) continue;
    auto known = std::find_if(active_subscriptions.begin(), active_subscriptions.end(),
                              [&](const auto& a) { return a.filter == filter; });
    if (known != active_subscriptions.end()) {
      known->options = options;
      known->identifier = r->identifier;
    } else {
      active_subscriptions.push_back({std::move(filter), options, r->identifier});
    }
  }
  const bool resub = r->resubscribe;
  requests.erase(r);
  push_event(subscribed{p.packet_id, p.codes, p.props, resub});
}

void session::impl::on_unsuback(const unsuback& p, time_point) {
  auto r = std::find_if(requests.begin(), requests.end(), [&](const request_record& x) {
    return x.packet_id == p.packet_id && x.unsubscribe;
  });
  if (r == requests.end()) {
    log(log_level::warning, "UNSUBACK for unknown packet id ", p.packet_id, " ignored");
    return;
  }
  // A filter the broker refused to remove (5.0 failure code) is still subscribed there.
  auto code = p.codes.begin();
  for (const auto& entry : r->entries) {
    const bool refused = code != p.codes.end() && is_failure(*code);
    if (code != p.codes.end()) ++code;
    if (refused) continue;
    const std::pmr::string& filter = entry.first;
    std::erase_if(active_subscriptions, [&](const auto& a) { return a.filter == filter; });
  }
  requests.erase(r);
  push_event(unsubscribed{p.packet_id, p.codes, p.props});
}

void session::impl::resubscribe(time_point) {
  if (!cfg.auto_resubscribe || active_subscriptions.empty()) return;
  // What the new server does not support is dropped from the set (and logged) rather than
  // sent to be refused with a disconnect.
  const auto unsupported = [this](const detail::subscription_record& a) {
    const bool shared = v5() && parse_shared_subscription(a.filter).has_value();
    return (!limits.wildcard_subscription_available && has_wildcard(a.filter)) ||
           (!limits.shared_subscription_available && shared);
  };
  const auto dropped = std::erase_if(active_subscriptions, unsupported);
  if (dropped != 0)
    log(log_level::warning, "not resubscribing ", static_cast<std::uint64_t>(dropped),
        " filters the server does not support");
  if (!limits.subscription_identifier_available)
    for (auto& a : active_subscriptions) a.identifier = 0;
  // One SUBSCRIBE per Subscription Identifier (it is a property of the whole packet).
  std::pmr::vector<std::uint32_t> identifiers(mem);
  for (const auto& a : active_subscriptions)
    if (std::find(identifiers.begin(), identifiers.end(), a.identifier) == identifiers.end())
      identifiers.push_back(a.identifier);
  for (const std::uint32_t id : identifiers) {
    std::pmr::vector<subscription> subs(mem);
    request_record r{0, false, true, id, decltype(request_record::entries)(mem)};
    for (const auto& a : active_subscriptions) {
      if (a.identifier != id) continue;
      subs.push_back({a.filter, a.options});
      r.entries.emplace_back(a.filter, a.options);
    }
    const std::array<property, 1> sub_id{
        property::integer(property_id::subscription_identifier, id)};
    tern::subscribe request{allocate_packet_id(), subscription_list(subs),
                           id != 0 ? properties(sub_id) : properties()};
    if (request.packet_id == 0) return;
    r.packet_id = request.packet_id;
    if (send_packet(request)) {
      requests.push_back(std::move(r));
    } else {  // larger than the server accepts: those subscriptions cannot be restored
      for (const auto& e : r.entries)
        std::erase_if(active_subscriptions, [&](const auto& a) { return a.filter == e.first; });
    }
  }
  log(log_level::info, "resubscribed to ", static_cast<std::uint64_t>(active_subscriptions.size()),
      " filters");
}

void session::impl::abort_requests() {
  // The broker answers a request only on the connection it arrived on.
  for (const auto& r : requests) {
    if (r.unsubscribe)
      push_event(unsubscribed{r.packet_id, {}, {}, true});
    else
      push_event(subscribed{r.packet_id, {}, {}, r.resubscribe, true});
  }
  requests.clear();
}

}  // namespace tern
