// Interface C of platform-interface.md: the 112 / 119 / social-vulnerable links' 48-byte
// fixed header, RS-terminated body fields, US-separated arrays, a `;` at the end, and a
// 102-byte answer.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "event.hpp"

namespace ucp::legacy {

inline constexpr std::size_t kHeaderBytes = 48, kResponseBytes = 102;
inline constexpr std::size_t kMaxBody = 64 * 1024;  // larger is refused before it is read

struct Header {
  std::string msg_type;    // 99 login, 10 incident, 20 dispatch, 30 lead-vehicle position
  std::string status;      // 99 login, or a status code (10, 40, 50, 90, 91)
  std::string msg_time;    // MSG_STA_DTM, yyyyMMddHHmmss
  std::string sender;      // SND_SYS_CD: 112, 119, UCP, DSC, WP1, SKT
  std::string receiver;    // RCV_SYS_CD
  std::string send_time;   // SND_DTM
  std::size_t data_len = 0;
};

struct Message {
  Header header;
  std::vector<std::vector<std::string>> fields;  // each field, split on US into its items
};

// The header of 48 bytes; DecodeError names the field that is wrong.
Header decode_header(std::string_view bytes);
// The whole message, header and body (DATA_LEN bytes, ending with ';').
Message decode(std::string_view bytes);
std::string encode(const Message& m);  // DATA_LEN is computed

// A message as a platform event, by its sender's field order (112, 119, DSC). A login
// (99) has none. DecodeError when the sender or the field count is unknown.
Event to_event(const Message& m);

std::string response(bool ok, const std::string& message);  // 102 bytes
struct Response {
  bool ok = false;
  std::string message;
};
std::optional<Response> decode_response(std::string_view bytes);

}  // namespace ucp::legacy
