// The platform's part of the management API, which the scenario engine hands to the host as
// a bus component: its routes and its live events.
#pragma once

#include <citylink/host/bus_component.hpp>
#include <citylink/host/event_feed.hpp>
#include <citylink/platform/scenarios/engine.hpp>

#include <memory>
#include <vector>

namespace citylink::platform::api {

// GET /api/incidents, /api/grants, /api/cameras; POST /api/grants/{id}/revoke.
std::vector<ApiRoute> engine_routes(scenarios::ScenarioEngine& engine);

// An engine observer that turns incidents, grants and dispatches into live events.
std::shared_ptr<scenarios::EngineObserver> feed_observer(std::shared_ptr<EventFeed> feed);

}  // namespace citylink::platform::api
