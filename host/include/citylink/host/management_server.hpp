// The management API: the operator's JSON-over-HTTP view of a running city and its controls
// (host.http in the city config). Every route is described in openapi_document().
#pragma once

#include <citylink/host/city_config.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace citylink::host {

class Host;
class EventFeed;

// Who made a request, from their bearer token.
struct Caller {
  std::string name;
  std::string role;  // viewer, operator, admin
};

// Bearer tokens and roles. Tokens are compared by their SHA-256, in constant time, and
// never logged; only the holder's name appears in logs and the audit log.
class AccessControl {
 public:
  explicit AccessControl(std::vector<HttpToken> tokens) : tokens_(std::move(tokens)) {}
  // The caller for an `Authorization` header value ("Bearer TOKEN"), or nullopt.
  std::optional<Caller> authenticate(const std::string& authorization) const;
  // viewer < operator < admin.
  static bool allows(const std::string& role, const std::string& needed);

 private:
  std::vector<HttpToken> tokens_;
};

// Serves the API on its own threads (a pool sized for the event streams plus requests).
// The Host owns it: started at the end of Host::start, stopped first in Host::stop.
class ManagementServer {
 public:
  ManagementServer(Host& host, HttpSettings settings);
  ~ManagementServer();
  ManagementServer(const ManagementServer&) = delete;
  ManagementServer& operator=(const ManagementServer&) = delete;

  // Binds and starts serving; throws std::runtime_error naming the address when it cannot.
  void start();
  void stop();
  int port() const { return port_; }
  // "http://127.0.0.1:8080" (https when TLS is configured).
  std::string url() const;
  uint64_t requests() const { return requests_.load(); }
  uint64_t denied() const { return denied_.load(); }

 private:
  void routes();
  void audit_operator(const std::string& action, const std::string& actor, const std::string& detail);

  Host& host_;
  HttpSettings settings_;
  AccessControl access_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<uint64_t> requests_{0}, denied_{0}, audit_seq_{0};
  std::atomic<int64_t> denied_window_start_{0};
  std::atomic<uint64_t> denied_in_window_{0};
};

// The OpenAPI 3 document of the management API (served at /api/openapi.json).
const std::string& openapi_document();

}  // namespace citylink::host
