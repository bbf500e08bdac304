// Topic names, subscription prefixes and publish grants.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace citylink::host {

// A topic is dotted lower-case words: [a-z0-9_-]+ separated by single dots ("incident.112").
bool is_valid_topic(std::string_view topic);

// A grant or subscription is "*" (everything), an exact topic ("sensor.reading"), or a
// subtree written "camera.*" or "camera." (camera.info, camera.status, ...). Matching is
// by segment, never by byte prefix: "grant.video.112" matches itself and
// "grant.video.112.x" but never "grant.video.112-x"; "sensor" never matches "sensors".
bool is_valid_grant(std::string_view grant);
bool grant_allows(std::string_view grant, std::string_view topic);
bool grants_allow(const std::vector<std::string>& grants, std::string_view topic);
// Whether every topic `pattern` matches is also matched by `grant`: a client asking for a
// subscription may narrow what the city granted, never widen it.
bool grant_covers(std::string_view grant, std::string_view pattern);

}  // namespace citylink::host
