// The management API's JSON shapes: one function per object the operator sees. What an
// operator does not need is left out on purpose (incident content and items, personal data,
// stream URIs, which may carry camera credentials); see docs/api.md.
#pragma once

#include <citylink/host/audit_store.hpp>
#include <citylink/host/camera_registry.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/scenarios/incidents.hpp>
#include <citylink/v1/camera.pb.h>
#include <citylink/v1/dispatch.pb.h>

#include <nlohmann/json.hpp>

namespace citylink::host::http {

std::string iso_time(int64_t unix_ns);  // "2026-12-02T17:03:04.120Z"; empty for 0
nlohmann::json counters_json(const CounterSnapshot& c);
nlohmann::json instance_json(const InstanceReport& r);
nlohmann::json incident_json(const scenarios::Incident& i);
nlohmann::json grant_json(const citylink::v1::VideoShareGrant& g, int64_t now_ns);
nlohmann::json dispatch_json(const std::string& topic, const citylink::v1::DispatchSupport& d);
// A GeoJSON Feature (Point) with the camera's pose and state in its properties.
nlohmann::json camera_feature(const CameraRecord& c, bool live);
nlohmann::json audit_json(const StoredAuditRecord& r);
nlohmann::json verify_json(const AuditVerifyResult& r);

}  // namespace citylink::host::http
