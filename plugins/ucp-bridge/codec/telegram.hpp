// Interface B of platform-interface.md: one event per LF-ended line, fields split by the
// Latin-1 letters U+00D0..U+00D3 (two bytes each in UTF-8), at most 512 characters.
#pragma once

#include <string>
#include <string_view>

#include "event.hpp"

namespace ucp::telegram {

inline constexpr std::size_t kMaxChars = 512;  // including the LF
inline constexpr const char* kTooLong = "FAILED: Event exceeds the maximum length (512 chars, including newline)";
inline constexpr std::size_t kHeaderFields = 12, kBodyFields = 17;

// The line for one event, LF included. Separator letters inside a value cannot be escaped
// on this wire: they become U+FFFD. DecodeError when the line would pass 512 characters.
std::string encode(const Header& h, const Event& e);
// One line (LF and CR already removed or not), UTF-8. DecodeError names the fault.
Inbound decode(std::string_view line);
// Characters (code points) of UTF-8 text.
std::size_t char_count(std::string_view utf8);

std::string ack_ok();                              // "0;\n"
std::string ack_error(const std::string& message);  // "1<message>;\n"

}  // namespace ucp::telegram
