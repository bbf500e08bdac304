// What the host keeps for itself: reserved instance names, the scenario engine's
// namespaces, and recipient-addressed topics. One place so that the config loader, the
// instance and the router apply the same rules.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace citylink::host {

// The scenario engine's name on the bus (the `source` of everything it publishes).
inline constexpr const char* kEngineName = "scenario-engine";
// The recipient audit records are addressed to; bind a privacy-audit instance to it.
inline constexpr const char* kAuditRecipient = "auditor";

// Instance names are what operators, logs and metric labels see: [a-z0-9][a-z0-9-]{0,63}.
bool is_valid_instance_name(std::string_view name);
// Names of host components (scenario-engine, host, router, ...) that no plugin may take.
bool is_reserved_instance_name(std::string_view name);
const std::vector<std::string>& reserved_instance_names();

// A recipient is an agency or party outputs are addressed to ("112", "situation-room"):
// 1-64 characters of [A-Za-z0-9 ._-], starting with a letter or digit. Compared exactly.
bool is_valid_recipient(std::string_view recipient);

// Topics only the scenario engine may publish: grant.*, dispatch.*, audit.* and camera.ptz.
bool is_engine_only_topic(std::string_view topic);
// Topics delivered only to instances bound to the envelope's recipient: grant.*,
// dispatch.*, audit.*. A subscription alone never reads another agency's traffic.
bool is_recipient_addressed(std::string_view topic);

// True when a grant or subscription pattern ("dispatch.112", "grant.*") lies inside one of
// those namespaces, i.e. it names protected topics explicitly. Wider patterns ("*",
// "camera.*") are allowed and simply never reach the protected topics.
bool pattern_inside_engine_only(std::string_view pattern);
bool pattern_inside_recipient_addressed(std::string_view pattern);

}  // namespace citylink::host
