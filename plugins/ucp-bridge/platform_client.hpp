// The bridge's outbound half: posts events to the platform's /linkHttp/recvEvent.json with
// a session from /api/getAuth.json, authenticating again once when a session is refused.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "aria.hpp"
#include "event.hpp"

namespace httplib {
class Client;
}

namespace ucp_bridge {

struct PlatformSettings {
  std::string url;  // http://host:port
  std::string api_key, send_code, receive_code, system_code;
  bool encrypt = false;  // encAt = Y
  std::string secret;
  ucp::aria::TextForm ciphertext = ucp::aria::TextForm::base64;
  int timeout_ms = 5000;
};

class PlatformClient {
 public:
  enum class Outcome { accepted, refused, unreachable };
  struct Result {
    Outcome outcome;
    std::string detail;  // the platform's message, or why it could not be reached
  };

  explicit PlatformClient(PlatformSettings s);
  ~PlatformClient();
  // accepted: the platform answered result "0". refused: it answered "1" to a fresh
  // session (the event itself is refused). unreachable: no answer, an HTTP error, or the
  // authentication failed; try again later.
  Result send(const ucp::Event& e);

 private:
  std::optional<std::string> post(const char* path, const char* svc, const std::string& body, std::string& why);
  bool authenticate(std::string& why);

  PlatformSettings s_;
  std::unique_ptr<httplib::Client> http_;
  std::string session_;
};

}  // namespace ucp_bridge
