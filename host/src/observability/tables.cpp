// The host's counters as the operator reads them: Prometheus text for /metrics and
// --metrics, and fixed-width tables for the terminal. Host's members, kept apart from the
// runtime's lifecycle code in runtime/host.cpp.
#include <citylink/host/host.hpp>
#include <citylink/host/logging.hpp>

#include <cstdio>
#include <sstream>

namespace citylink::host {

std::string Host::metrics_prometheus() const {
  std::ostringstream o;
  auto family = [&](const char* name, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n";
  };
  const auto st = status();
  auto each = [&](const char* name, auto get) {
    for (const auto& s : st) o << name << "{instance=\"" << s.instance_id << "\"} " << get(s.counters) << '\n';
  };
  family("citylink_published_total", "Messages accepted by the router from the instance.");
  each("citylink_published_total", [](const CounterSnapshot& c) { return c.published; });
  family("citylink_delivered_total", "Messages the instance handled successfully.");
  each("citylink_delivered_total", [](const CounterSnapshot& c) { return c.delivered; });
  family("citylink_failed_total", "Messages whose on_message returned an error.");
  each("citylink_failed_total", [](const CounterSnapshot& c) { return c.failed; });
  family("citylink_dropped_total", "Messages dropped, by where (outgoing/incoming queue full, not running).");
  for (const auto& s : st) {
    o << "citylink_dropped_total{instance=\"" << s.instance_id << "\",where=\"outgoing\"} " << s.counters.dropped_outgoing << '\n';
    o << "citylink_dropped_total{instance=\"" << s.instance_id << "\",where=\"incoming\"} " << s.counters.dropped_incoming << '\n';
    o << "citylink_dropped_total{instance=\"" << s.instance_id << "\",where=\"stopped\"} " << s.counters.dropped_stopped << '\n';
  }
  family("citylink_critical_dropped_total",
         "Critical messages (host.critical_topics) dropped at a full queue; each is also logged by name. Alarm on any.");
  each("citylink_critical_dropped_total", [](const CounterSnapshot& c) { return c.dropped_critical; });
  family("citylink_worker_lost_total",
         "Messages handed to an isolated instance's worker process that ended before handling them.");
  each("citylink_worker_lost_total", [](const CounterSnapshot& c) { return c.lost_in_worker; });
  family("citylink_worker_restarts_total", "Restarts of an isolated instance's worker process.");
  each("citylink_worker_restarts_total", [](const CounterSnapshot& c) { return c.restarts; });
  family("citylink_watchdog_overruns_total",
         "In-process on_message calls that ran past the instance's watchdog.message_ms budget.");
  each("citylink_watchdog_overruns_total", [](const CounterSnapshot& c) { return c.overruns; });
  family("citylink_refused_durable_total",
         "Publishes refused because a durable subscriber's outbox could not store them (full or unwritable disk).");
  each("citylink_refused_durable_total", [](const CounterSnapshot& c) { return c.refused_durable; });
  family("citylink_refused_rate_total",
         "Telemetry publishes refused because the instance was over its publish_rate (messages a second).");
  each("citylink_refused_rate_total", [](const CounterSnapshot& c) { return c.refused_rate; });
  family("citylink_durable_accepted_total", "Envelopes written to the outbox for a durable subscriber.");
  each("citylink_durable_accepted_total", [](const CounterSnapshot& c) { return c.durable_accepted; });
  family("citylink_durable_acked_total", "Durable deliveries the subscriber acked.");
  each("citylink_durable_acked_total", [](const CounterSnapshot& c) { return c.acked; });
  family("citylink_durable_redelivered_total", "Durable deliveries that were redeliveries.");
  each("citylink_durable_redelivered_total", [](const CounterSnapshot& c) { return c.redelivered; });
  family("citylink_dead_letters_total", "Messages moved to the outbox's dead letters (each also logged). Alarm on any.");
  each("citylink_dead_letters_total", [](const CounterSnapshot& c) { return c.dead_lettered; });
  family("citylink_outbox_failures_total", "Outbox writes that failed (retried; publishers refused meanwhile).");
  each("citylink_outbox_failures_total", [](const CounterSnapshot& c) { return c.outbox_failures; });
  o << "# HELP citylink_outbox_depth Durable envelopes waiting for the subscriber's ack.\n"
       "# TYPE citylink_outbox_depth gauge\n";
  each("citylink_outbox_depth", [](const CounterSnapshot& c) { return c.outbox_depth; });
  o << "# HELP citylink_outbox_oldest_seconds Age of the oldest durable envelope waiting for an ack.\n"
       "# TYPE citylink_outbox_oldest_seconds gauge\n";
  each("citylink_outbox_oldest_seconds", [](const CounterSnapshot& c) { return c.outbox_oldest_ms / 1000.0; });
  family("citylink_rejected_total", "Messages the router refused, by reason.");
  for (const auto& s : st)
    for (int r = 0; r < static_cast<int>(RejectReason::count); ++r)
      o << "citylink_rejected_total{instance=\"" << s.instance_id << "\",reason=\""
        << to_string(static_cast<RejectReason>(r)) << "\"} " << s.counters.rejected[r] << '\n';
  o << "# HELP citylink_undeliverable_total Agency outputs (grant/dispatch/audit) no bound instance received.\n"
       "# TYPE citylink_undeliverable_total counter\ncitylink_undeliverable_total "
    << router_->undeliverable() << '\n';
  o << "# HELP citylink_log_dropped_total Log lines overwritten because stderr did not keep up (its queue was full).\n"
       "# TYPE citylink_log_dropped_total counter\ncitylink_log_dropped_total "
    << log_lines_dropped() << '\n';
  if (remote_) {
    const auto& r = remote_->refusals();
    o << "# HELP citylink_remote_refused_total Connections the CURVE endpoint refused, by why.\n"
         "# TYPE citylink_remote_refused_total counter\n"
      << "citylink_remote_refused_total{why=\"unknown_key\"} " << r.unknown_key.load() << '\n'
      << "citylink_remote_refused_total{why=\"no_curve\"} " << r.no_curve.load() << '\n'
      << "citylink_remote_refused_total{why=\"bad_handshake\"} " << r.bad_handshake.load() << '\n';
  }
  o << "# HELP citylink_instance_up 1 when the instance is running.\n# TYPE citylink_instance_up gauge\n";
  for (const auto& s : st) o << "citylink_instance_up{instance=\"" << s.instance_id << "\"} " << (s.state == "running") << '\n';
  return o.str();
}

std::string Host::status_table() const {
  std::ostringstream o;
  char line[256];
  std::snprintf(line, sizeof line, "%-24s %-9s %10s %10s %8s %9s %9s\n", "instance", "state", "published", "delivered",
                "failed", "rejected", "dropped");
  o << line;
  for (const auto& s : status()) {
    const auto& c = s.counters;
    std::snprintf(line, sizeof line, "%-24s %-9s %10llu %10llu %8llu %9llu %9llu\n", s.instance_id.c_str(),
                  s.state.c_str(), static_cast<unsigned long long>(c.published),
                  static_cast<unsigned long long>(c.delivered), static_cast<unsigned long long>(c.failed),
                  static_cast<unsigned long long>(c.rejected_total()),
                  static_cast<unsigned long long>(c.dropped_outgoing + c.dropped_incoming + c.dropped_stopped));
    o << line;
  }
  return o.str();
}

std::string Host::component_table() const {
  std::ostringstream o;
  char line[256];
  for (const auto& c : components_) {
    const auto counters = c->counters();
    if (counters.empty()) continue;
    std::snprintf(line, sizeof line, "%-50s %10s\n", c->name().c_str(), "count");
    o << line;
    for (const auto& [key, n] : counters) {
      std::snprintf(line, sizeof line, "%-50s %10llu\n", key.c_str(), static_cast<unsigned long long>(n));
      o << line;
    }
  }
  return o.str();
}

}  // namespace citylink::host
