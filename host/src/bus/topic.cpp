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

}  // namespace citylink::host
