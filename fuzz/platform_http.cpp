// The platform bridge's HTTP request decoder (interface A): JSON documents and form posts,
// and an encrypted body (the first byte chooses which).
#include <string>

#include "aria.hpp"
#include "fuzz_target.hpp"
#include "http_json.hpp"

CITYLINK_FUZZ_TARGET(platform_http) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const char* type = data[0] % 2 ? "application/x-www-form-urlencoded" : "application/json";
  try {
    (void)ucp::http::decode_request(type, text, [](const std::string& t) { return ucp::aria::decrypt(t, "fuzz-secret"); });
  } catch (const ucp::DecodeError&) {
  }
  try {
    (void)ucp::http::decode_response(text);
  } catch (const ucp::DecodeError&) {
  }
  return 0;
}
