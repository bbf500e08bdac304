// Interface A of platform-interface.md: the HTTP/JSON documents. Writes the one form the
// platform documents; reads every variant the public adapters send (body/Body, form posts,
// ocrEvtUsr, tranSysHis as list or object, numbers where strings belong, $DA tags).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "event.hpp"

namespace ucp::http {

using Json = nlohmann::ordered_json;

// The body of an event, fields in the documented order, empty fields left out.
Json encode_body(const Event& e);
// The request around a body (`body` is the JSON object, or the ciphertext text when encAt=Y).
Json encode_request(const Header& h, Json body);
// POST /api/getAuth.json.
Json encode_auth(const Header& h, const std::string& api_key);
// The $DA/$DB/$DF answer: result "0" ok, "1" error.
Json encode_response(bool ok, const std::string& message);

struct Response {
  bool ok = false;
  std::string result, message;
};
// An answer from the platform; DecodeError when it is not one.
Response decode_response(const std::string& text);

// Turns ciphertext text from a body back into the body's JSON text (encAt=Y); nullopt when
// it does not decrypt.
using Decrypt = std::function<std::optional<std::string>(const std::string&)>;

// A request to us: a JSON document, or a form post (content type
// application/x-www-form-urlencoded) with the body as a JSON string. DecodeError names
// the field and the fault.
Inbound decode_request(const std::string& content_type, const std::string& text, const Decrypt& decrypt = {});
Event decode_body(const Json& body, std::vector<std::string>* notes = nullptr);

// Form encoding (application/x-www-form-urlencoded), both ways.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);
std::vector<std::pair<std::string, std::string>> form_decode(const std::string& text);

}  // namespace ucp::http
