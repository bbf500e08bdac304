// Small text helpers the codecs share: encodings, trimming, Seoul time stamps.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ucp {

// Text from one encoding to another with iconv; nullopt when the input is not valid in
// `from` (or the encoding is unknown to iconv).
std::optional<std::string> convert(std::string_view bytes, const std::string& from, const std::string& to);
bool valid_utf8(std::string_view s);
std::string_view trim(std::string_view s);  // spaces on both sides (fixed-width fields)
bool all_digits(std::string_view s);
// yyyyMMddHHmmss in Asia/Seoul (UTC+9, no daylight saving since 1988).
std::string seoul_time(int64_t unix_ns);
std::optional<int64_t> parse_seoul_time(std::string_view yyyymmddhhmmss);

}  // namespace ucp
