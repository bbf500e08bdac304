// The web console's files (host/console and Debian's Leaflet), embedded at build time.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace citylink::host::http {

struct EmbeddedFile {
  const char* url;  // "/", "/console/console.js", "/console/leaflet/leaflet.js", ...
  const unsigned char* data;
  std::size_t size;
};

const std::vector<EmbeddedFile>& console_assets();

}  // namespace citylink::host::http

namespace httplib {
class Server;
}

namespace citylink::host::http {

// Serves the console's files: "/" and "/console/...", with headers that keep the page to
// its own origin (Content-Security-Policy; tiles from `tile_origin` when one is configured).
void serve_console(httplib::Server& server, const std::string& tile_origin);

}  // namespace citylink::host::http
