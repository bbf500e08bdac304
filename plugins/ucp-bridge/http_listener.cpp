#include "http_listener.hpp"

#include <httplib.h>

#include <chrono>

namespace ucp_bridge {

HttpListener::HttpListener(TcpListeners::Accept accept, TcpListeners::Reject reject, ucp::http::Decrypt decrypt,
                           std::size_t max_body_bytes)
    : server_(std::make_unique<httplib::Server>()) {
  // Larger bodies are answered 413 before they are read in full.
  server_->set_payload_max_length(max_body_bytes);
  server_->set_read_timeout(10, 0);
  server_->set_post_routing_handler([reject, max_body_bytes](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 413)
      reject("http", "a request of " + req.get_header_value("Content-Length") + " bytes is larger than listen.max_body_bytes (" +
                         std::to_string(max_body_bytes) + "); answered HTTP 413",
             "");
    if (res.status == 413 && res.body.empty())
      res.set_content(ucp::http::encode_response(false, "the request is larger than the bridge accepts (listen.max_body_bytes)").dump(),
                      "application/json");
  });
  handler_ = [accept = std::move(accept), reject = std::move(reject), decrypt = std::move(decrypt)](
                 const httplib::Request& req, httplib::Response& res) {
    std::string error;
    try {
      error = accept(ucp::http::decode_request(req.get_header_value("Content-Type"), req.body, decrypt), "http");
    } catch (const ucp::DecodeError& e) {
      error = e.what();
      reject("http", error, req.body);
    }
    // Errors too come as HTTP 200 with result "1", as the platform does.
    res.set_content(ucp::http::encode_response(error.empty(), error.empty() ? "accepted" : error).dump(),
                    "application/json");
  };
}

HttpListener::~HttpListener() { stop(); }

int HttpListener::listen(const std::string& host, int port, const std::string& path) {
  server_->Post(path, handler_);
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
