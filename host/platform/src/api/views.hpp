// The management API's JSON shapes of the platform's objects: incidents, grants, dispatches
// and cameras. What an operator does not need is left out on purpose (incident content and
// items, personal data, stream URIs, which may carry camera credentials); see docs/api.md.
#pragma once

#include <citylink/platform/camera_registry.hpp>
#include <citylink/platform/scenarios/incidents.hpp>
#include <citylink/v1/dispatch.pb.h>
#include <citylink/v1/camera.pb.h>

#include <nlohmann/json.hpp>

namespace citylink::platform::api {

nlohmann::json incident_json(const scenarios::Incident& i);
nlohmann::json grant_json(const citylink::v1::VideoShareGrant& g, int64_t now_ns);
nlohmann::json dispatch_json(const std::string& topic, const citylink::v1::DispatchSupport& d);
// A GeoJSON Feature (Point) with the camera's pose and state in its properties.
nlohmann::json camera_feature(const CameraRecord& c, bool live);

}  // namespace citylink::platform::api
