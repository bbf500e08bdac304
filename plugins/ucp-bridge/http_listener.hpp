// The bridge's inbound HTTP endpoint (interface A, platform -> partner): JSON documents and
// form posts on one path, answered with the $DA/$DB/$DF response.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "http_json.hpp"
#include "tcp_listeners.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
class ContentReader;
}

namespace ucp_bridge {

class HttpListener {
 public:
  HttpListener(TcpListeners::Accept accept, TcpListeners::Reject reject, ucp::http::Decrypt decrypt,
               std::size_t max_body_bytes);
  ~HttpListener();
  // Binds now (a taken port is a start error); returns the port.
  int listen(const std::string& host, int port, const std::string& path);
  void run();
  void stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::function<void(const httplib::Request&, httplib::Response&, const httplib::ContentReader&)> handler_;
  std::thread thread_;
};

}  // namespace ucp_bridge
