// Topic names, subscription prefixes and publish grants.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace citylink::host {

// A topic is dotted lower-case words: [a-z0-9_-]+ separated by single dots ("incident.112").
bool is_valid_topic(std::string_view topic);

// Subscriptions are ZeroMQ-style byte prefixes ("incident." matches "incident.112").
bool matches_prefix(std::string_view topic, std::string_view prefix);

// A grant is "*" (everything), an exact topic ("sensor.reading"), or a subtree written
// "camera.*" or "camera." (camera.info, camera.status, ...). "sensor" grants "sensor" and
// "sensor.x" but never "sensors".
bool is_valid_grant(std::string_view grant);
bool grant_allows(std::string_view grant, std::string_view topic);
bool grants_allow(const std::vector<std::string>& grants, std::string_view topic);

}  // namespace citylink::host
