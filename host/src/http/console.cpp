// The web console's static files, from the host binary.
#include <httplib.h>

#include "console_assets.hpp"

namespace citylink::host::http {
namespace {

std::string content_type(const std::string& url) {
  auto ends = [&](const char* ext) {
    const std::string e(ext);
    return url.size() >= e.size() && url.compare(url.size() - e.size(), e.size(), e) == 0;
  };
  if (url == "/" || ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

}  // namespace

void serve_console(httplib::Server& server, const std::string& tile_origin) {
  const std::string csp = "default-src 'self'; img-src 'self' data:" + (tile_origin.empty() ? "" : " " + tile_origin) +
                          "; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; "
                          "base-uri 'none'; form-action 'self'";
  for (const auto& f : console_assets()) {
    const std::string url = f.url;
    const std::string type = content_type(url);
    const auto* data = f.data;
    const auto size = f.size;
    server.Get(url, [=](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy", csp);
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_header("Cache-Control", "no-cache");
      res.set_content(reinterpret_cast<const char*>(data), size, type);
    });
  }
}

}  // namespace citylink::host::http
