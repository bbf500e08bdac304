// Topic syntax, subscription prefixes and publish grants.
#include <citylink/host/topic.hpp>

namespace citylink::host {

bool is_valid_topic(std::string_view topic) {
  if (topic.empty() || topic.size() > 255) return false;
  bool word_started = false;
  for (char c : topic) {
    if (c == '.') {
      if (!word_started) return false;  // leading or double dot
      word_started = false;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      word_started = true;
    } else {
      return false;
    }
  }
  return word_started;  // no trailing dot
}

bool matches_prefix(std::string_view topic, std::string_view prefix) {
  return topic.substr(0, prefix.size()) == prefix;
}

bool is_valid_grant(std::string_view grant) {
  if (grant == "*") return true;
  if (grant.size() > 2 && grant.substr(grant.size() - 2) == ".*") return is_valid_topic(grant.substr(0, grant.size() - 2));
  if (!grant.empty() && grant.back() == '.') return is_valid_topic(grant.substr(0, grant.size() - 1));
  return is_valid_topic(grant);
}

bool grant_allows(std::string_view grant, std::string_view topic) {
  if (grant == "*") return true;
  if (grant.size() > 2 && grant.substr(grant.size() - 2) == ".*") grant.remove_suffix(1);  // "camera.*" -> "camera."
  if (!grant.empty() && grant.back() == '.') return topic.size() > grant.size() && matches_prefix(topic, grant);
  return topic == grant || (topic.size() > grant.size() && matches_prefix(topic, grant) && topic[grant.size()] == '.');
}

bool grants_allow(const std::vector<std::string>& grants, std::string_view topic) {
  for (const auto& g : grants)
    if (grant_allows(g, topic)) return true;
  return false;
}

}  // namespace citylink::host
