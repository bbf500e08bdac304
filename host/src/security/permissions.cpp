// Reserved names and protected namespaces (see permissions.hpp).
#include <citylink/host/permissions.hpp>
#include <citylink/host/topic.hpp>

#include <algorithm>

namespace citylink::host {
namespace {

// Subtrees: the name itself and every topic below it.
constexpr std::string_view kEngineOnly[] = {"grant", "dispatch", "audit", "camera.ptz"};
constexpr std::string_view kAddressed[] = {"grant", "dispatch", "audit"};

bool in_subtree(std::string_view topic, std::string_view root) {
  return topic == root || (topic.size() > root.size() && topic.substr(0, root.size()) == root && topic[root.size()] == '.');
}

// The topic part of a pattern: "camera.*" and "camera." -> "camera"; "*" stays "*".
std::string_view pattern_base(std::string_view p) {
  if (p.size() > 2 && p.substr(p.size() - 2) == ".*") return p.substr(0, p.size() - 2);
  if (!p.empty() && p.back() == '.') return p.substr(0, p.size() - 1);
  return p;
}

template <std::size_t N>
bool any_root(std::string_view topic, const std::string_view (&roots)[N]) {
  return std::any_of(std::begin(roots), std::end(roots), [&](std::string_view r) { return in_subtree(topic, r); });
}

}  // namespace

const std::vector<std::string>& reserved_instance_names() {
  static const std::vector<std::string> names = {kEngineName, "host",   "router",   "citylink", "engine", "supervisor",
                                                  "worker",    "system", "operator", "audit",    kAuditRecipient,
                                                  "remote"};
  return names;
}

bool is_reserved_instance_name(std::string_view name) {
  const auto& n = reserved_instance_names();
  return std::find(n.begin(), n.end(), name) != n.end();
}

bool is_valid_instance_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && !(i > 0 && c == '-')) return false;
  }
  return true;
}

bool is_valid_recipient(std::string_view r) {
  if (r.empty() || r.size() > 64) return false;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const char c = r[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(i > 0 && (c == ' ' || c == '.' || c == '_' || c == '-'))) return false;
  }
  return true;
}

bool is_engine_only_topic(std::string_view topic) { return any_root(topic, kEngineOnly); }
bool is_recipient_addressed(std::string_view topic) { return any_root(topic, kAddressed); }

bool pattern_inside_engine_only(std::string_view pattern) {
  const auto base = pattern_base(pattern);
  return base != "*" && any_root(base, kEngineOnly);
}

bool pattern_inside_recipient_addressed(std::string_view pattern) {
  const auto base = pattern_base(pattern);
  return base != "*" && any_root(base, kAddressed);
}

}  // namespace citylink::host
