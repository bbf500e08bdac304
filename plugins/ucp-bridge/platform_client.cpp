#include "platform_client.hpp"

#include <httplib.h>

#include <chrono>
#include <regex>

#include "http_json.hpp"
#include "text.hpp"

namespace ucp_bridge {

namespace {
std::string now_text() {
  return ucp::seoul_time(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count());
}
}  // namespace

PlatformClient::PlatformClient(PlatformSettings s) : s_(std::move(s)), http_(std::make_unique<httplib::Client>(s_.url)) {
  const auto t = std::chrono::milliseconds(s_.timeout_ms);
  http_->set_connection_timeout(t);
  http_->set_read_timeout(t);
  http_->set_write_timeout(t);
}

PlatformClient::~PlatformClient() = default;

void PlatformClient::cancel() {
  cancelled_ = true;
  http_->stop();
}

std::string check_url(const std::string& url) {
  static const std::regex form(R"(^https?://[A-Za-z0-9.\-\[\]:]+?(:([0-9]{1,5}))?$)");
  std::smatch m;
  if (!std::regex_match(url, m, form))
    return "'" + url + "' is not http://HOST[:PORT] or https://HOST[:PORT] (no path, no trailing '/')";
  if (m[2].matched && (std::stoi(m[2].str()) < 1 || std::stoi(m[2].str()) > 65535))
    return "'" + url + "' has no valid port (1-65535)";
  return "";
}

std::optional<std::string> PlatformClient::post(const char* path, const char* svc, const std::string& body,
                                                std::string& why) {
  if (cancelled_) {
    why = "the bridge is stopping";
    return std::nullopt;
  }
  httplib::Headers h = {{"X-Scsns-svcTy", svc},          {"X-Scsns-sendCd", s_.send_code},
                        {"X-Scsns-rcvCd", s_.receive_code}, {"X-Scsns-sysCd", s_.system_code},
                        {"X-Scsns-encAt", s_.encrypt && std::string(svc) != "AUTH" ? "Y" : "N"}, {"X-Scsns-Secret", std::string(svc) == "AUTH" ? "" : session_},
                        {"X-Scsns-type", "sync"}};
  auto r = http_->Post(path, h, body, "application/json");
  if (!r) {
    why = "no answer from " + s_.url + path + " (" + httplib::to_string(r.error()) + ")";
    return std::nullopt;
  }
  if (r->status != 200) {
    why = s_.url + path + " answered HTTP " + std::to_string(r->status);
    return std::nullopt;
  }
  return r->body;
}

bool PlatformClient::authenticate(std::string& why) {
  ucp::Header h;
  h.send_cd = s_.send_code;
  h.rcv_cd = s_.receive_code;
  h.sys_cd = s_.system_code;
  h.req_date = now_text();
  const auto text = post("/api/getAuth.json", "AUTH", ucp::http::encode_auth(h, s_.api_key).dump(), why);
  if (!text) return false;
  try {
    const auto r = ucp::http::decode_response(*text);
    if (!r.ok || r.message.empty()) {
      why = "the platform refused the authentication (api_key): " + r.message;
      return false;
    }
    session_ = r.message;
    return true;
  } catch (const ucp::DecodeError& e) {
    why = std::string("the authentication answer is not the platform's: ") + e.what();
    return false;
  }
}

PlatformClient::Result PlatformClient::send(const ucp::Event& e) {
  std::string why;
  // A refusal with a session we had could be the session's fault; with a fresh one it is the event's.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = session_.empty();
    if (fresh && !authenticate(why)) return {Outcome::unreachable, why};
    ucp::Header h;
    h.send_cd = s_.send_code;
    h.rcv_cd = s_.receive_code;
    h.sys_cd = s_.system_code;
    h.enc_at = s_.encrypt ? "Y" : "N";
    h.rr_key = session_;
    h.req_date = now_text();
    h.tran_sys_his = {s_.send_code + "_" + s_.system_code};
    auto body = ucp::http::encode_body(e);
    ucp::http::Json request = s_.encrypt ? ucp::http::encode_request(h, ucp::aria::encrypt(body.dump(), s_.secret, s_.ciphertext))
                                         : ucp::http::encode_request(h, std::move(body));
    const auto text = post("/linkHttp/recvEvent.json", "EVENT", request.dump(), why);
    if (!text) return {Outcome::unreachable, why};
    ucp::http::Response r;
    try {
      r = ucp::http::decode_response(*text);
    } catch (const ucp::DecodeError& err) {
      return {Outcome::unreachable, std::string("the answer to an event is not the platform's: ") + err.what()};
    }
    if (r.ok) return {Outcome::accepted, r.message};
    if (fresh) return {Outcome::refused, r.message};
    session_.clear();  // authenticate again, then retry once
  }
  return {Outcome::refused, why};
}

}  // namespace ucp_bridge
