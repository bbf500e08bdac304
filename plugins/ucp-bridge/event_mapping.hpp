// The platform's string event <-> CityLink's PlatformEvent, and which incident topic each
// event code goes to. Lossless: what has no PlatformEvent field rides in items under "ucp.".
#pragma once

#include <citylink/v1/platform_event.pb.h>

#include <map>
#include <string>

#include "event.hpp"

namespace ucp_bridge {

// Items the bridge adds: the platform's own fields (ucp.*) and its findings.
// unknown_event_code, unknown_status, occurrence_number_not_14_or_17_digits, bad_event_time
inline constexpr const char* kFlagsItem = "citylink.flags";
// Where the codec read a variant (body under 'Body', a form post, ...), for the operator.
inline constexpr const char* kNotesItem = "ucp.notes";

struct Routing {
  std::map<std::string, std::string> topic_of_code;  // defaults: the scenario codes
  std::string other_topic = "incident.other";        // every other code, known or not
  const std::string& topic(const std::string& code) const;
};
Routing default_routing();

bool is_platform_code(const std::string& code);      // in platform-interface.md's table
std::string default_event_name(const std::string& code);
std::string korean_status_text(citylink::v1::EventStatus s);

// DecodeError (ucp::DecodeError) for what cannot be mapped: no event code, no occurrence
// number, coordinates that are not numbers. Unknown codes and statuses pass, flagged.
citylink::v1::PlatformEvent to_platform_event(const ucp::Inbound& in);
ucp::Event from_platform_event(const citylink::v1::PlatformEvent& ev);

}  // namespace ucp_bridge
