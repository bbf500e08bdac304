// Topic syntax, grants and subscriptions: the host uses the SDK's header-only grammar
// (citylink/topics.h), so plugins, the loader, verify and the router agree by construction.
#include <citylink/host/topic.hpp>
#include <citylink/topics.h>

namespace citylink::host {

bool is_valid_topic(std::string_view topic) { return citylink_topic_is_valid(topic.data(), topic.size()) != 0; }

bool is_valid_grant(std::string_view grant) { return citylink_topic_pattern_is_valid(grant.data(), grant.size()) != 0; }

bool grant_allows(std::string_view grant, std::string_view topic) {
  return citylink_topic_pattern_matches(grant.data(), grant.size(), topic.data(), topic.size()) != 0;
}

bool grants_allow(const std::vector<std::string>& grants, std::string_view topic) {
  for (const auto& g : grants)
    if (grant_allows(g, topic)) return true;
  return false;
}

bool grant_covers(std::string_view grant, std::string_view pattern) {
  if (grant == "*") return true;
  if (pattern == "*" || !is_valid_grant(grant) || !is_valid_grant(pattern)) return false;
  const auto base = [](std::string_view p) {
    if (p.size() > 2 && p.substr(p.size() - 2) == ".*") return p.substr(0, p.size() - 2);
    if (!p.empty() && p.back() == '.') return p.substr(0, p.size() - 1);
    return p;
  };
  const auto b = base(pattern);
  // "camera.*" (descendants only) is also inside the grant "camera.*" / "camera.", which
  // do not match "camera" itself.
  return grant_allows(grant, b) || (b != pattern && base(grant) == b);
}

}  // namespace citylink::host
