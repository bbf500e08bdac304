// The bridge's outbound half: posts events to the platform's /linkHttp/recvEvent.json with
// a session from /api/getAuth.json, authenticating again once when a session is refused.
#pragma once

#include <atomic>
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
  // From another thread: ends a call in progress (it returns unreachable) and every later
  // one, so a stop does not wait out timeout_ms.
  void cancel();

 private:
  std::optional<std::string> post(const char* path, const char* svc, const std::string& body, std::string& why);
  bool authenticate(std::string& why);

  PlatformSettings s_;
  std::unique_ptr<httplib::Client> http_;
  std::string session_;
  std::atomic<bool> cancelled_{false};
};

// "http://host:port" or "https://host" (no path): the form httplib's client takes. Returns
// why not, or "".
std::string check_url(const std::string& url);

}  // namespace ucp_bridge
