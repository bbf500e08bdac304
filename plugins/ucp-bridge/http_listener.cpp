#include "http_listener.hpp"

#include <citylink/http_guard/head_bounded_server.hpp>

#include <chrono>

namespace ucp_bridge {

namespace {
const char* kTooLarge = "the request is larger than the bridge accepts (listen.max_body_bytes)";
const char* kHeadTooLarge = "the request's headers are larger than the bridge accepts (16 KiB)";
// The platform's posts carry a handful of headers; a head this long is not one of them.
constexpr std::size_t kMaxHeadBytes = 16 * 1024;
}

HttpListener::HttpListener(TcpListeners::Accept accept, TcpListeners::Reject reject, ucp::http::Decrypt decrypt,
                           std::size_t max_body_bytes)
    : server_(std::make_unique<citylink::http_guard::HeadBoundedServer>(
          kMaxHeadBytes, [reject](const std::string& peer, std::size_t seen) {
            const std::string why = std::string(kHeadTooLarge) + " (" + std::to_string(seen) + " bytes from " + peer +
                                    " without the end of the headers)";
            reject("http", why + "; answered HTTP 431", "");
            return ucp::http::encode_response(false, kHeadTooLarge).dump();
          })) {
  // A declared Content-Length over the limit is refused before the body is read; a chunked
  // body (or one without a length) is counted as it is read, below.
  server_->set_payload_max_length(max_body_bytes);
  // A slow sender cannot hold the listener (or its stop) for long.
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  // Errors the library answers itself (413 above all) still get the platform's $DA answer,
  // set here so its length is counted.
  server_->set_error_handler(httplib::Server::HandlerWithResponse([reject](const httplib::Request& req,
                                                                            httplib::Response& res) {
    if (res.status != 413) return httplib::Server::HandlerResponse::Unhandled;
    reject("http", std::string(kTooLarge) + ": Content-Length " + req.get_header_value("Content-Length") + "; answered HTTP 413", "");
    res.set_content(ucp::http::encode_response(false, kTooLarge).dump(), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  handler_ = [accept = std::move(accept), reject = std::move(reject), decrypt = std::move(decrypt), max_body_bytes](
                 const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    std::string body;
    bool too_large = false;
    read([&](const char* data, std::size_t n) {
      if (body.size() + n > max_body_bytes) return !(too_large = true);
      body.append(data, n);
      return true;
    });
    std::string error;
    if (too_large) {
      error = kTooLarge;
      reject("http", error + " (read past " + std::to_string(max_body_bytes) + " bytes); answered HTTP 413", body.substr(0, 1024));
      res.status = 413;
    } else {
      try {
        error = accept(ucp::http::decode_request(req.get_header_value("Content-Type"), body, decrypt), "http");
      } catch (const ucp::DecodeError& e) {
        error = e.what();
        reject("http", error, body);
      } catch (const std::exception& e) {
        error = std::string("the bridge could not take it: ") + e.what();
        reject("http", error, body);
      }
    }
    // Errors too come as HTTP 200 with result "1", as the platform does (413 aside).
    res.set_content(ucp::http::encode_response(error.empty(), error.empty() ? "accepted" : error).dump(),
                    "application/json");
  };
}

HttpListener::~HttpListener() { stop(); }

int HttpListener::listen(const std::string& host, int port, const std::string& path) {
  // httplib matches paths as regular expressions: the configured path is taken literally.
  std::string pattern;
  for (char c : path) pattern += c == '.' ? std::string("\\.") : std::string(1, c);
  server_->Post(pattern, handler_);
  if (port == 0) return server_->bind_to_any_port(host);
  return server_->bind_to_port(host, port) ? port : -1;
}

void HttpListener::run() {
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() does nothing until the server runs: a stop right after start would
  // otherwise leave it listening for ever.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void HttpListener::stop() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ucp_bridge
