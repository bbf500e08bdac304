// The management API's server: its lifecycle, access checks, and routes.
#include <citylink/host/audit_store.hpp>
#include <citylink/host/event_feed.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/management_server.hpp>
#include <citylink/host/transparency.hpp>
#include <citylink/host/wall_clock.hpp>

#include <citylink/http_guard/head_bounded_server.hpp>
#include <httplib.h>

#include <chrono>
#include <ctime>

#include "console_assets.hpp"
#include "views.hpp"

namespace citylink::host {
namespace {

using nlohmann::json;
using Handler = std::function<void(const httplib::Request&, httplib::Response&, const Caller&)>;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void error(httplib::Response& res, int status, const std::string& message) {
  const auto r = api_error(status, message);  // one shape for every refusal, the components' too
  reply(res, r.status, r.body);
}

// "2026-11-30T12:00:00Z", "2026-11-30" or nanoseconds since the epoch; nullopt when neither.
std::optional<int64_t> parse_time(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() <= 19) return std::stoll(s);
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) {
    tm = {};
    end = strptime(s.c_str(), "%Y-%m-%d", &tm);
  }
  if (!end || (*end && std::string(end) != "Z")) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000'000;
}

// "https://tile.example.org" from "https://{s}.tile.example.org/{z}/{x}/{y}.png" (for the
// console's Content-Security-Policy); empty when there is no tile URL.
std::string tile_origin(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  const auto end = url.find('/', scheme + 3);
  std::string origin = url.substr(0, end);
  // A {s} subdomain placeholder becomes a wildcard the policy understands.
  if (const auto p = origin.find("{s}."); p != std::string::npos) origin.replace(p, 3, "*");
  return origin;
}

}  // namespace

ManagementServer::ManagementServer(Host& host, HttpSettings settings)
    : host_(host), settings_(std::move(settings)), access_(settings_.tokens) {}

ManagementServer::~ManagementServer() { stop(); }

std::string ManagementServer::url() const {
  const bool v6 = settings_.address.find(':') != std::string::npos;
  return std::string(settings_.tls_cert.empty() ? "http" : "https") + "://" + (v6 ? "[" : "") + settings_.address +
         (v6 ? "]" : "") + ":" + std::to_string(port_);
}

void ManagementServer::start() {
  if (!settings_.tls_cert.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(settings_.tls_cert.c_str(), settings_.tls_key.c_str());
    if (!tls->is_valid())
      throw std::runtime_error("host.http.tls: cannot use certificate '" + settings_.tls_cert.string() + "' with key '" +
                               settings_.tls_key.string() + "' (unreadable, not PEM, or they do not match)");
    server_ = std::move(tls);
  } else {
    // A request whose headers exceed 64 KiB is answered 431 before it is read. Behind TLS the
    // head cannot be seen before the library decrypts it: there cpp-httplib's own bounds
    // hold (8 KiB per header line, none on their number; security.md T14).
    server_ = std::make_unique<http_guard::HeadBoundedServer>(
        http_guard::HeadBoundedServer::kDefaultMaxHeadBytes, [](const std::string& peer, std::size_t seen) {
          log()->warn("[http] refused a request from {} whose headers passed {} bytes (HTTP 431)", peer, seen);
          return api_error(431, "request headers larger than " +
                                    std::to_string(http_guard::HeadBoundedServer::kDefaultMaxHeadBytes) + " bytes")
              .body.dump();
        });
  }
  // Every event stream holds a thread while it is open; requests get threads of their own.
  const std::size_t threads = static_cast<std::size_t>(settings_.max_event_clients) + 4;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(settings_.max_body_bytes);
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log()->error("[http] request failed: {}", what);
    error(res, 500, "internal error: " + what);
  });
  server_->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404)
      error(res, 404, "no such resource: " + req.method + " " + req.path + " (GET /api/openapi.json lists them)");
    else if (res.status == 413)
      error(res, 413, "request body larger than host.http.max_body_bytes (" +
                          std::to_string(settings_.max_body_bytes) + " bytes)");
    else
      error(res, res.status, "the request could not be served (HTTP " + std::to_string(res.status) + ")");
  });
  routes();
  if (settings_.port == 0) {
    port_ = server_->bind_to_any_port(settings_.address);
  } else {
    port_ = server_->bind_to_port(settings_.address, settings_.port) ? settings_.port : -1;
  }
  if (port_ <= 0)
    throw std::runtime_error("cannot listen on " + settings_.address + ":" + std::to_string(settings_.port) +
                             " (in use, or not an address of this machine); change host.http.listen");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  log()->info("[http] management API on {} ({} token(s))", url(), settings_.tokens.size());
}

void ManagementServer::stop() {
  if (!server_) return;
  if (auto feed = host_.events()) feed->close();  // open event streams end, so their threads return
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

void ManagementServer::audit_operator(const std::string& action, const std::string& actor, const std::string& detail) {
  const auto store = host_.audit_store();
  if (!store) return;
  citylink::v1::AuditRecord r;
  r.set_record_id("OP-" + std::to_string(unix_now_ns()) + "-" + std::to_string(++audit_seq_));
  r.set_action(action);
  r.set_actor(actor);
  r.set_time_unix_ns(unix_now_ns());
  r.set_detail(detail);
  try {
    store->append(std::move(r));
  } catch (const std::exception& e) {
    log()->error("[http] AUDIT NOT STORED ({} by {}): {}", action, actor, e.what());
  }
}

void ManagementServer::routes() {
  auto& s = *server_;
  // Every route but health, readiness and the API description needs a token with `role`;
  // a refusal is answered, logged and audited (at most 20 a minute, then only counted).
  auto guarded = [this](std::string role, Handler h) {
    return [this, role, h](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      const auto caller = access_.authenticate(req.get_header_value("Authorization"));
      const bool ok = caller && AccessControl::allows(caller->role, role);
      if (!ok) {
        ++denied_;
        const int status = caller ? 403 : 401;
        const std::string who = caller ? "operator:" + caller->name : "http:" + req.remote_addr;
        const std::string why = caller ? "role " + caller->role + " may not do this; it needs " + role
                                       : "no valid bearer token (send Authorization: Bearer TOKEN)";
        const int64_t minute = unix_now_ns() / 60'000'000'000;
        if (denied_window_start_.exchange(minute) != minute) denied_in_window_ = 0;
        if (++denied_in_window_ <= 20) {
          log()->warn("[http] {} {} {} refused: {}", who, req.method, req.path, why);
          audit_operator("operator.denied", who, req.method + " " + req.path + ": " + std::to_string(status) + " " + why);
        }
        if (!caller) res.set_header("WWW-Authenticate", "Bearer realm=\"citylink\"");
        return error(res, status, why);
      }
      h(req, res, *caller);
    };
  };
  auto body_json = [](const httplib::Request& req, httplib::Response& res) -> std::optional<json> {
    if (req.body.empty()) return json::object();
    try {
      auto j = json::parse(req.body);
      if (j.is_object()) return j;
    } catch (const json::exception&) {
    }
    error(res, 400, "the request body is not a JSON object");
    return std::nullopt;
  };

  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { reply(res, 200, {{"status", "ok"}}); });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    bool ready = true;
    for (const auto& c : host_.components()) ready = ready && c->running();
    reply(res, ready ? 200 : 503, {{"ready", ready}, {"city", host_.config().city}});
  });
  s.Get("/api/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(openapi_document(), "application/json");
  });
  http::serve_console(s, tile_origin(settings_.tile_url));
  s.Get("/api/console/settings", guarded("viewer", [this](const httplib::Request&, httplib::Response& res, const Caller&) {
          reply(res, 200, {{"city", host_.config().city}, {"tile_url", settings_.tile_url},
                           {"tile_attribution", settings_.tile_attribution}});
        }));
  s.Get("/api/whoami", guarded("viewer", [](const httplib::Request&, httplib::Response& res, const Caller& c) {
          reply(res, 200, {{"name", c.name}, {"role", c.role}});
        }));
  s.Get("/metrics", guarded("viewer", [this](const httplib::Request&, httplib::Response& res, const Caller&) {
          std::string text = host_.metrics_prometheus();
          text += "# HELP citylink_http_requests_total Management API requests that needed a token.\n"
                  "# TYPE citylink_http_requests_total counter\ncitylink_http_requests_total " +
                  std::to_string(requests_.load()) +
                  "\n# HELP citylink_http_denied_total Management API requests refused (401/403).\n"
                  "# TYPE citylink_http_denied_total counter\ncitylink_http_denied_total " +
                  std::to_string(denied_.load()) + "\n";
          if (auto feed = host_.events())
            text += "# HELP citylink_http_event_streams_dropped_total Event streams cut off for falling behind.\n"
                    "# TYPE citylink_http_event_streams_dropped_total counter\n"
                    "citylink_http_event_streams_dropped_total " + std::to_string(feed->dropped_listeners()) + "\n";
          res.set_content(text, "text/plain; version=0.0.4");
        }));

  s.Get("/api/instances", guarded("viewer", [this](const httplib::Request&, httplib::Response& res, const Caller&) {
          json out = json::array();
          for (const auto& r : host_.instance_reports()) out.push_back(http::instance_json(r));
          reply(res, 200, out);
        }));
  s.Get(R"(/api/instances/([^/]+))", guarded("viewer", [this](const httplib::Request& req, httplib::Response& res, const Caller&) {
          const std::string id = req.matches[1];
          for (const auto& r : host_.instance_reports())
            if (r.instance_id == id) return reply(res, 200, http::instance_json(r));
          error(res, 404, "the city config has no instance '" + id + "'; GET /api/instances lists them");
        }));
  s.Post(R"(/api/instances/([^/]+)/(enable|disable|restart))",
         guarded("admin", [this](const httplib::Request& req, httplib::Response& res, const Caller& c) {
           const std::string id = req.matches[1], what = req.matches[2];
           const std::string actor = "operator:" + c.name;
           try {
             if (what == "enable") host_.enable_instance(id, actor);
             else if (what == "disable") host_.disable_instance(id, actor);
             else host_.restart_instance(id, actor);
           } catch (const std::out_of_range& e) {
             return error(res, 404, e.what());
           } catch (const std::logic_error& e) {
             return error(res, 409, e.what());
           } catch (const std::exception& e) {
             audit_operator("operator.instance." + what, actor, "instance " + id + " could not start: " + e.what());
             return error(res, 422, std::string("instance '") + id + "' could not start: " + e.what());
           }
           audit_operator("operator.instance." + what, actor, "instance " + id);
           for (const auto& r : host_.instance_reports())
             if (r.instance_id == id) return reply(res, 200, http::instance_json(r));
         }));

  // The routes of the host's bus components (the platform's incidents, grants and cameras),
  // behind the same tokens; 503 while the component is not running.
  for (const auto& component : host_.components()) {
    BusComponent* c = component.get();
    for (auto& route : c->api_routes()) {
      auto handler = guarded(route.role, [c, body_json, handle = std::move(route.handle)](
                                             const httplib::Request& req, httplib::Response& res, const Caller& caller) {
        if (!c->running()) return error(res, 503, "the " + c->name() + " is not running");
        const auto body = body_json(req, res);
        if (!body) return;
        ApiRequest call;
        for (const auto& m : req.matches) call.matches.push_back(m.str());
        for (const auto& [k, v] : req.params) call.params.emplace(k, v);  // the first of each name
        call.body = *body;
        call.caller = caller.name;
        const ApiResponse r = handle(call);
        reply(res, r.status, r.body);
      });
      if (route.method == "POST") s.Post(route.pattern, handler);
      else s.Get(route.pattern, handler);
    }
  }
  s.Get("/api/audit", guarded("viewer", [this](const httplib::Request& req, httplib::Response& res, const Caller&) {
          const auto store = host_.audit_store();
          if (!store) return error(res, 404, "this city keeps no audit log; set host.audit_log");
          AuditQuery q;
          q.incident_id = req.get_param_value("incident");
          q.recipient = req.get_param_value("recipient");
          for (const char* key : {"from", "to"}) {
            if (!req.has_param(key)) continue;
            const auto t = parse_time(req.get_param_value(key));
            if (!t)
              return error(res, 400, std::string(key) + " '" + req.get_param_value(key) +
                                         "' is not a time; write 2026-11-30T12:00:00Z, 2026-11-30 or nanoseconds");
            (std::string(key) == "from" ? q.from_ns : q.to_ns) = *t;
          }
          q.limit = 1000;
          if (req.has_param("limit")) {
            const auto v = req.get_param_value("limit");
            if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos || std::stoul(v) == 0 ||
                std::stoul(v) > 1000)
              return error(res, 400, "limit '" + v + "' is not a whole number from 1 to 1000");
            q.limit = std::stoul(v);
          }
          json out = json::array();
          for (const auto& r : store->query(q)) out.push_back(http::audit_json(r));
          reply(res, 200, out);
        }));
  s.Get("/api/audit/verify", guarded("viewer", [this](const httplib::Request&, httplib::Response& res, const Caller&) {
          const auto store = host_.audit_store();
          if (!store) return error(res, 404, "this city keeps no audit log; set host.audit_log");
          reply(res, 200, http::verify_json(store->verify()));
        }));
  s.Get("/api/transparency", guarded("viewer", [this](const httplib::Request& req, httplib::Response& res, const Caller&) {
          const auto store = host_.audit_store();
          if (!store) return error(res, 404, "this city keeps no audit log; set host.audit_log");
          try {
            reply(res, 200, transparency_report(*store, req.get_param_value("month")));
          } catch (const std::invalid_argument& e) {
            error(res, 400, std::string(e.what()) + "; ask /api/transparency?month=YYYY-MM");
          }
        }));
  s.Get("/api/events", guarded("viewer", [this](const httplib::Request&, httplib::Response& res, const Caller& c) {
          auto feed = host_.events();
          auto listener = feed ? feed->listen(static_cast<std::size_t>(settings_.max_event_clients)) : nullptr;
          if (!listener)
            return error(res, 503, "already " + std::to_string(settings_.max_event_clients) +
                                       " event streams are open (host.http.max_event_clients)");
          log()->info("[http] event stream opened for {}", c.name);
          res.set_header("Cache-Control", "no-cache");
          res.set_chunked_content_provider(
              "text/event-stream",
              [listener](size_t, httplib::DataSink& sink) {
                if (listener->closed()) {
                  if (listener->overflowed()) {
                    static const std::string kCut = "event: overflow\ndata: {\"error\": \"this stream fell behind and "
                                                    "was closed; reconnect and reload the lists\"}\n\n";
                    sink.write(kCut.data(), kCut.size());
                  }
                  sink.done();
                  return true;
                }
                const auto ev = listener->next(std::chrono::seconds(1));
                std::string chunk = ev ? "id: " + std::to_string(ev->seq) + "\nevent: " + ev->type + "\ndata: " +
                                             ev->json + "\n\n"
                                       : std::string(": keep-alive\n\n");
                return sink.write(chunk.data(), chunk.size());
              },
              [feed, listener](bool) { feed->unlisten(listener); });
        }));
}

}  // namespace citylink::host
