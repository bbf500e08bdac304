// A part of the city that runs on the bus beside the plugin instances and is handed to the
// host before start by whoever embeds it (the platform's scenario engine, host/platform/).
// The runtime knows it only through this interface (ARCHITECTURE.md §1).
#pragma once

#include <citylink/host/counters.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace citylink::host {

class AuditStore;
class EventFeed;
struct CityConfig;

// What the host lends a component for one run.
struct ComponentContext {
  const CityConfig& config;
  std::shared_ptr<AuditStore> audit;   // the audit log, when host.audit_log is set
  std::shared_ptr<EventFeed> events;   // the management API's live stream, when host.http is set
};

// One call to a route a component adds to the management API, after the caller's token and
// role were checked.
struct ApiRequest {
  std::vector<std::string> matches;           // the path pattern's groups; [0] is the whole path
  std::map<std::string, std::string> params;  // query parameters, the first value of each
  nlohmann::json body;                        // a JSON object ({} without a body)
  std::string caller;                         // the token holder's name
};

struct ApiResponse {
  int status = 200;
  nlohmann::json body;
};

// {"error": message, "status": status}, as every route of the API answers a refusal.
ApiResponse api_error(int status, const std::string& message);
// "2026-12-02T17:03:04.120Z", as the API writes times; empty for 0.
std::string iso_time(int64_t unix_ns);

struct ApiRoute {
  std::string method;   // "GET" or "POST"
  std::string pattern;  // a regular expression over the path: R"(/api/grants/([^/]+)/revoke)"
  std::string role;     // the least role it needs: viewer, operator or admin
  // On one of the API's threads; answered 503 while the component is not running.
  std::function<ApiResponse(const ApiRequest&)> handle;
};

class BusComponent {
 public:
  virtual ~BusComponent() = default;

  // Its name on the bus, in the status table, the metrics and the API ("scenario-engine").
  virtual std::string name() const = 0;
  // [main] After the router starts and before the first plugin is created, so what the
  // plugins publish from their start on reaches it. Throwing stops the city's start.
  virtual void start(const ComponentContext& context) = 0;
  // [main] Once every plugin of the city config has started (or failed to).
  virtual void plugins_started() {}
  // [main] After the instances that only feed it and before those that receive what it
  // publishes (publishes()), so it handles what the first send while stopping and its last
  // outputs reach the others; idempotent.
  virtual void stop() = 0;
  // [any] The topics it publishes (grants, "dispatch.*"): an instance subscribed to any of
  // them stops after it.
  virtual std::vector<std::string> publishes() const { return {}; }
  // [any] Between start and stop.
  virtual bool running() const = 0;
  // [any] Its traffic on the bus, for status() and the metrics.
  virtual CounterSnapshot bus_counters() const = 0;
  // [any] Its own counters by name ("emergency_video_112/fired" -> 3), for the terminal.
  virtual std::map<std::string, uint64_t> counters() const { return {}; }
  // [main] Before start: routes it adds to the management API (when host.http is set).
  virtual std::vector<ApiRoute> api_routes() { return {}; }
};

}  // namespace citylink::host
