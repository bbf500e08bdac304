#include "legacy.hpp"

#include <cstdio>

#include "text.hpp"

namespace ucp::legacy {

namespace {

constexpr char kRS = 0x1E, kUS = 0x1F;

// Text right-justified and space-padded to its width.
std::string field(const std::string& v, std::size_t width, const char* name) {
  if (v.size() > width) throw DecodeError(std::string(name) + " '" + v + "' is wider than " + std::to_string(width));
  for (char c : v)
    if (c < 0x20 || c > 0x7E) throw DecodeError(std::string(name) + " '" + v + "' is not ASCII");
  return std::string(width - v.size(), ' ') + v;
}

struct Layout {
  const char* event_code;
  std::vector<const char*> names;  // one per body field; "*" suffix: an array
};

// Field orders seen on the links (platform-interface.md §C). The named fields that carry
// event data are mapped to the event; every field is also kept as an item under its name.
const Layout* layout_of(const std::string& sender, const std::string& msg_type) {
  static const Layout k112_incident{"112UC001", {"CASE_NO", "GRADE", "INCIDENT_TYPE", "LON", "LAT", "ADDRESS",
                                                 "REGION_CD", "EVT_DTM", "USER_ID"}};
  static const Layout k112_dispatch{"112UC120", k112_incident.names};
  static const Layout k112_position{"112UC110", k112_incident.names};
  static const Layout k119{"119UC001", {"TRANS_NO", "EVT_TYPE", "EVT_SUB_TYPE", "LON", "LAT", "ADDRESS", "BJD_CD",
                                        "EVT_DTM", "SENDER_ID"}};
  static const Layout kDsc{"WPSSF110", {"SEND_NUM", "SVC_TYP", "EVT_LON", "EVT_LAT", "EVT_ADDR", "EVT_BJD", "REF_ID",
                                        "DSC_NM", "DSC_PHONE", "DSC_BIRTH", "DSC_SEX", "DSC_ADDR*", "GUARD_NM*",
                                        "GUARD_PHONE*", "EVT_DTM", "IMAGE*", "INFO*", "NOTE*", "SENDER_ID"}};
  if (sender == "112") return msg_type == "20" ? &k112_dispatch : msg_type == "30" ? &k112_position : &k112_incident;
  if (sender == "119") return &k119;
  if (sender == "DSC" || sender == "WP1") return &kDsc;
  return nullptr;
}

}  // namespace

Header decode_header(std::string_view b) {
  if (b.size() < kHeaderBytes)
    throw DecodeError("the header has " + std::to_string(b.size()) + " bytes; it has 48");
  for (std::size_t i = 0; i < kHeaderBytes; ++i)
    if (static_cast<unsigned char>(b[i]) < 0x20 || static_cast<unsigned char>(b[i]) > 0x7E)
      throw DecodeError("the header is not ASCII text (byte " + std::to_string(i) + ")");
  Header h;
  h.msg_type = std::string(trim(b.substr(0, 2)));
  h.status = std::string(trim(b.substr(2, 2)));
  h.msg_time = std::string(trim(b.substr(4, 14)));
  h.sender = std::string(trim(b.substr(18, 3)));
  h.receiver = std::string(trim(b.substr(21, 3)));
  h.send_time = std::string(trim(b.substr(24, 14)));
  const auto len = trim(b.substr(38, 10));
  if (!all_digits(len)) throw DecodeError("DATA_LEN '" + std::string(b.substr(38, 10)) + "' is not a number");
  h.data_len = std::stoull(std::string(len));
  if (h.data_len > kMaxBody)
    throw DecodeError("DATA_LEN " + std::to_string(h.data_len) + " is larger than the limit of " +
                      std::to_string(kMaxBody) + " bytes");
  if (h.msg_type.empty() || h.sender.empty()) throw DecodeError("the header has no MSG_TYP_CD or SND_SYS_CD");
  return h;
}

Message decode(std::string_view b) {
  Message m;
  m.header = decode_header(b);
  const auto body = b.substr(kHeaderBytes);
  // Some senders leave the closing ';' out of DATA_LEN.
  if (body.size() != m.header.data_len && !(body.size() == m.header.data_len + 1 && !body.empty() && body.back() == ';'))
    throw DecodeError("DATA_LEN says " + std::to_string(m.header.data_len) + " bytes but the body has " +
                      std::to_string(body.size()));
  if (body.empty() || body.back() != ';') throw DecodeError("the body does not end with ';' (wrong DATA_LEN?)");
  const auto text = body.substr(0, body.size() - 1);
  if (!valid_utf8(text)) throw DecodeError("the body is not valid UTF-8");
  std::size_t from = 0;
  while (from < text.size()) {
    const auto rs = text.find(kRS, from);
    if (rs == std::string_view::npos) throw DecodeError("the last body field is not followed by RS (0x1E)");
    std::vector<std::string> items;
    const auto f = text.substr(from, rs - from);
    std::size_t i = 0;
    while (true) {
      const auto us = f.find(kUS, i);
      items.emplace_back(f.substr(i, us == std::string_view::npos ? std::string_view::npos : us - i));
      if (us == std::string_view::npos) break;
      i = us + 1;
    }
    m.fields.push_back(std::move(items));
    from = rs + 1;
  }
  return m;
}

std::string encode(const Message& m) {
  std::string body;
  for (const auto& f : m.fields) {
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (f[i].find_first_of(std::string{kRS, kUS, ';'}) != std::string::npos)
        throw DecodeError("a value holds RS, US or ';', which this link cannot carry: '" + f[i] + "'");
      body += (i ? std::string(1, kUS) : "") + f[i];
    }
    body += kRS;
  }
  body += ';';
  if (body.size() > kMaxBody) throw DecodeError("the body is larger than " + std::to_string(kMaxBody) + " bytes");
  char len[11];
  std::snprintf(len, sizeof len, "%010zu", body.size());
  const auto& h = m.header;
  return field(h.msg_type, 2, "MSG_TYP_CD") + field(h.status, 2, "STA_TYP_CD") + field(h.msg_time, 14, "MSG_STA_DTM") +
         field(h.sender, 3, "SND_SYS_CD") + field(h.receiver, 3, "RCV_SYS_CD") + field(h.send_time, 14, "SND_DTM") + len +
         body;
}

Event to_event(const Message& m) {
  const Layout* l = layout_of(m.header.sender, m.header.msg_type);
  if (!l)
    throw DecodeError("SND_SYS_CD '" + m.header.sender + "' has no known field order (known: 112, 119, DSC, WP1)");
  if (m.fields.size() != l->names.size())
    throw DecodeError("a message from " + m.header.sender + " has " + std::to_string(l->names.size()) +
                      " body fields; this one has " + std::to_string(m.fields.size()));
  Event e;
  e.evt_id = l->event_code;
  e.ocr_sts = m.header.status;
  e.z = "0";
  for (std::size_t i = 0; i < l->names.size(); ++i) {
    std::string name = l->names[i];
    const bool array = name.back() == '*';
    if (array) name.pop_back();
    const auto& v = m.fields[i];
    const std::string& first = v[0];
    if (!array && v.size() > 1) throw DecodeError("field " + name + " holds " + std::to_string(v.size()) + " items; it holds one");
    if (name == "CASE_NO" || name == "TRANS_NO" || name == "SEND_NUM") e.ocr_nbr = first;
    else if (name == "GRADE") e.evt_grad = first;
    else if (name == "LON" || name == "EVT_LON") e.x = first;
    else if (name == "LAT" || name == "EVT_LAT") e.y = first;
    else if (name == "ADDRESS" || name == "EVT_ADDR") e.place = first;
    else if (name == "EVT_DTM") e.time = first;
    else if (name == "USER_ID" || name == "SENDER_ID") e.usr_id = first;
    // Every field is also an item under its own name; an array's further elements as NAME.2, ...
    for (std::size_t k = 0; k < v.size(); ++k)
      if (!v[k].empty()) e.items.push_back(Item{k == 0 ? name : name + "." + std::to_string(k + 1), v[k]});
  }
  if (e.evt_grad.empty()) e.evt_grad = "10";
  return e;
}

std::string response(bool ok, const std::string& message) {
  std::string m = message.substr(0, 100);
  // Cut at a character boundary: the answer is fixed-width bytes.
  while (!m.empty() && message.size() > 100 && (static_cast<unsigned char>(message[m.size()]) & 0xC0) == 0x80) m.pop_back();
  m.resize(100, ' ');
  return std::string(ok ? "0" : "1") + m + ";";
}

std::optional<Response> decode_response(std::string_view b) {
  if (b.size() != kResponseBytes || (b[0] != '0' && b[0] != '1') || b.back() != ';') return std::nullopt;
  return Response{b[0] == '0', std::string(trim(b.substr(1, 100)))};
}

}  // namespace ucp::legacy
