// An httplib::Server that refuses a request whose head (request line and headers) is larger
// than a byte bound, before the library reads any of it. The distribution's cpp-httplib
// (0.11) bounds each header line at 8 KiB but not how many there are: 200,000 headers of
// 100 bytes cost a server 50 MB, and nothing stops ten times that.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace citylink::http_guard {

// What the bytes seen so far say about a request's head.
enum class HeadCheck { complete, incomplete, too_large };
// `seen`: the first bytes of a request. Complete once the blank line that ends the head is
// within `max_head_bytes` of the start; too large when it cannot be.
HeadCheck check_head(std::string_view seen, std::size_t max_head_bytes);

class HeadBoundedServer : public httplib::Server {
 public:
  static constexpr std::size_t kDefaultMaxHeadBytes = 64 * 1024;
  // The body sent with the 431 answer (JSON, in the server's own error shape), given the
  // peer's address and the bytes of head seen.
  using Refusal = std::function<std::string(const std::string& peer, std::size_t seen)>;

  // One request per connection (no keep-alive): every head passes through the check.
  explicit HeadBoundedServer(std::size_t max_head_bytes = kDefaultMaxHeadBytes, Refusal refusal = {});

 protected:
  // Runs on the library's worker thread for each accepted connection: reads (up to the read
  // timeout) until the head is complete, then has the library serve that one request, the
  // bytes already read first; a head past the bound is answered 431 and the connection closed.
  bool process_and_close_socket(socket_t sock) override;

 private:
  enum class Wait { complete, too_large, timed_out };
  // `taken`: what was read, the head and perhaps the start of what follows it.
  Wait wait_for_head(socket_t sock, std::string& taken) const;

  std::size_t max_head_;
  Refusal refusal_;
};

}  // namespace citylink::http_guard
