// The platform's routes of the management API: the engine's books, read between two
// messages on its thread, and the operator's revoke.
#include <citylink/host/wall_clock.hpp>
#include <citylink/platform/scenarios/engine.hpp>

#include <chrono>

#include "api.hpp"
#include "views.hpp"

namespace citylink::platform::api {
namespace {

using nlohmann::json;

const char* const kStopped = "the scenario engine stopped";

}  // namespace

std::vector<ApiRoute> engine_routes(scenarios::ScenarioEngine& e) {
  std::vector<ApiRoute> routes;
  routes.push_back({"GET", "/api/incidents", "viewer", [&e](const ApiRequest& req) {
                      const auto it = req.params.find("state");
                      const std::string state = it == req.params.end() ? "all" : it->second;
                      if (state != "all" && state != "open" && state != "closed")
                        return api_error(400, "state '" + state + "' is not one of open, closed, all");
                      const auto snap = e.snapshot();
                      if (!snap) return api_error(503, kStopped);
                      json out = json::array();
                      for (const auto& i : snap->incidents)
                        if (state == "all" || (state == "open") == i.open) {
                          auto j = incident_json(i);
                          json grants = json::array();
                          for (const auto& g : snap->grants)
                            if (g.incident == i.key()) grants.push_back(g.grant.grant_id());
                          j["live_grants"] = grants;
                          out.push_back(std::move(j));
                        }
                      return ApiResponse{200, out};
                    }});
  routes.push_back({"GET", "/api/grants", "viewer", [&e](const ApiRequest&) {
                      const auto snap = e.snapshot();
                      if (!snap) return api_error(503, kStopped);
                      json out = json::array();
                      const int64_t now = host::unix_now_ns();
                      for (const auto& g : snap->grants) out.push_back(grant_json(g.grant, now));
                      return ApiResponse{200, out};
                    }});
  routes.push_back({"POST", R"(/api/grants/([^/]+)/revoke)", "operator", [&e](const ApiRequest& req) {
                      const auto reason = req.body.value("reason", json()).is_string()
                                              ? req.body["reason"].get<std::string>()
                                              : "";
                      if (reason.empty() || reason.size() > 500)
                        return api_error(400, "give a reason of 1 to 500 characters: {\"reason\": \"...\"}; it is audited");
                      std::string why;
                      const auto g = e.revoke_grant(req.matches.at(1), req.caller, reason, &why);
                      if (!g) return api_error(e.running() ? 404 : 503, why);
                      return ApiResponse{200, grant_json(*g, host::unix_now_ns())};
                    }});
  routes.push_back({"GET", "/api/cameras", "viewer", [&e](const ApiRequest& req) {
                      std::size_t limit = 100000;
                      if (const auto it = req.params.find("limit"); it != req.params.end()) {
                        const auto& v = it->second;
                        if (v.empty() || v.size() > 7 || v.find_first_not_of("0123456789") != std::string::npos)
                          return api_error(400, "limit '" + v + "' is not a whole number up to 9999999");
                        limit = std::stoul(v);
                      }
                      const auto& reg = e.camera_registry();
                      const int64_t now = e.clock_ns();  // the registry keeps the engine's time
                      json features = json::array();
                      for (auto c : reg.all(limit)) {
                        const bool live = reg.is_live(c, now);
                        c.last_seen_ns = e.as_wall_ns(c.last_seen_ns);
                        features.push_back(camera_feature(c, live));
                      }
                      return ApiResponse{200, {{"type", "FeatureCollection"}, {"total", reg.size()}, {"features", features}}};
                    }});
  return routes;
}

}  // namespace citylink::platform::api
