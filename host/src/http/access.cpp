// Bearer tokens and roles of the management API.
#include <citylink/host/keys.hpp>
#include <citylink/host/management_server.hpp>

#include <sodium.h>

namespace citylink::host {

std::optional<Caller> AccessControl::authenticate(const std::string& authorization) const {
  static const std::string kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size() || authorization.compare(0, kScheme.size(), kScheme) != 0)
    return std::nullopt;
  const std::string token = authorization.substr(kScheme.size());
  const std::string hash = keys::sha256_hex(token.data(), token.size());
  std::optional<Caller> found;
  // Every entry is compared, in constant time, so the answer's timing tells nothing.
  for (const auto& t : tokens_)
    if (t.sha256_hex.size() == hash.size() && sodium_memcmp(t.sha256_hex.data(), hash.data(), hash.size()) == 0)
      found = Caller{t.name, t.role};
  return found;
}

bool AccessControl::allows(const std::string& role, const std::string& needed) {
  auto rank = [](const std::string& r) { return r == "admin" ? 3 : r == "operator" ? 2 : r == "viewer" ? 1 : 0; };
  return rank(role) >= rank(needed) && rank(needed) > 0;
}

}  // namespace citylink::host
