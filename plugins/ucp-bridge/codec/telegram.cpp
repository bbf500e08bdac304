#include "telegram.hpp"

#include <vector>

#include "text.hpp"

namespace ucp::telegram {

namespace {

// U+00D0 header/body, U+00D1 field, U+00D2 array element, U+00D3 sub-field; U+00DA, U+00DB
// and U+00DF mark body start, body end and the end.
const std::string kHead = "\xC3\x90", kField = "\xC3\x91", kElem = "\xC3\x92", kSub = "\xC3\x93";
const std::string kMarks[] = {"\xC3\x9A", "\xC3\x9B", "\xC3\x9F"};

std::vector<std::string> split(std::string_view s, const std::string& sep) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (true) {
    const auto at = s.find(sep, from);
    out.emplace_back(s.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from));
    if (at == std::string_view::npos) return out;
    from = at + sep.size();
  }
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// A value may not carry a letter this wire uses as a separator or marker.
std::string clean(std::string v) {
  for (const std::string* sep : {&kHead, &kField, &kElem, &kSub, &kMarks[0], &kMarks[1], &kMarks[2]}) {
    for (auto at = v.find(*sep); at != std::string::npos; at = v.find(*sep, at + 3)) v.replace(at, sep->size(), "\xEF\xBF\xBD");
  }
  return v;
}

std::string strip_marks(std::string s) {
  for (const auto& m : kMarks)
    for (auto at = s.find(m); at != std::string::npos; at = s.find(m)) s.erase(at, m.size());
  return s;
}

}  // namespace

std::size_t char_count(std::string_view utf8) {
  std::size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

std::string encode(const Header& h, const Event& e) {
  std::vector<std::string> items;
  for (const auto& i : e.items) items.push_back(clean(i.key) + kSub + clean(i.val));
  const std::vector<std::string> body = {
      clean(e.evt_id), clean(e.evt_nm), clean(e.evt_grad), clean(e.ocr_nbr), clean(e.ocr_sts),
      join({clean(e.x), clean(e.y), clean(e.z.empty() ? "0" : e.z)}, kElem), clean(e.place), clean(e.content),
      clean(e.time), join({clean(e.sts_cd), clean(e.sts_dtl)}, kElem), join({clean(e.usr_id), clean(e.usr_nm)}, kElem),
      clean(e.sts_time), clean(e.end_time), std::to_string(e.items.size()), join(items, kElem),
      e.dtl_cd_dtl.empty() ? clean(e.dtl_cd) : clean(e.dtl_cd) + kSub + clean(e.dtl_cd_dtl),
      join([&] {
        std::vector<std::string> v;
        for (const auto& s : h.tran_sys_his) v.push_back(clean(s));
        return v;
      }(), kElem)};
  const std::string body_text = join(body, kField);
  const std::vector<std::string> head = {clean(h.svc_ty.empty() ? "EVENT" : h.svc_ty), std::to_string(kHeaderFields),
                                         std::to_string(kBodyFields), "1" + kElem + "1", "TCP", clean(h.send_cd),
                                         clean(h.rcv_cd), clean(h.enc_at.empty() ? "N" : h.enc_at), "async",
                                         clean(h.rr_key), clean(h.req_date), std::to_string(body_text.size())};
  std::string line = join(head, kField) + kHead + kMarks[0] + body_text + kMarks[1] + kMarks[2] + "\n";
  if (char_count(line) > kMaxChars)
    throw DecodeError("the telegram would be " + std::to_string(char_count(line)) +
                      " characters; the limit is 512 including the newline (shorten the content or the items)");
  return line;
}

Inbound decode(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (char_count(line) + 1 > kMaxChars) throw DecodeError(kTooLong);
  if (!valid_utf8(line)) throw DecodeError("the telegram is not valid UTF-8 (set the link's encoding if the sender uses another)");
  const auto at = line.find(kHead);
  if (at == std::string_view::npos) throw DecodeError("the telegram has no header/body separator (U+00D0)");
  const auto head = split(line.substr(0, at), kField);
  const std::string raw_body(line.substr(at + kHead.size()));
  const std::string body_text = strip_marks(raw_body);
  const auto body = split(body_text, kField);
  if (head.size() != kHeaderFields)
    throw DecodeError("the header has " + std::to_string(head.size()) + " fields; a telegram header has " +
                      std::to_string(kHeaderFields));
  if (body.size() != kBodyFields)
    throw DecodeError("the body has " + std::to_string(body.size()) + " fields; a telegram body has " +
                      std::to_string(kBodyFields) + " (a separator letter inside a value splits it)");
  // dataLen counts the body's bytes; senders differ on whether the markers are in it.
  const std::string& data_len = head[11];
  if (!data_len.empty()) {
    if (!all_digits(data_len) || data_len.size() > 9) throw DecodeError("dataLen '" + data_len + "' is not a byte count");
    const auto n = std::stoull(data_len);
    if (n != body_text.size() && n != raw_body.size())
      throw DecodeError("dataLen says " + data_len + " bytes but the body has " + std::to_string(body_text.size()));
  }
  Inbound in;
  in.header.svc_ty = head[0];
  in.header.send_cd = head[5];
  in.header.rcv_cd = split(head[6], kElem)[0];
  in.header.enc_at = head[7].empty() ? "N" : split(head[7], kElem)[0];
  in.header.rr_key = head[9];
  in.header.req_date = head[10];
  Event& e = in.event;
  e.evt_id = body[0];
  e.evt_nm = body[1];
  e.evt_grad = body[2];
  e.ocr_nbr = body[3];
  e.ocr_sts = body[4];
  const auto point = split(body[5], kElem);
  e.x = point[0];
  e.y = point.size() > 1 ? point[1] : "";
  e.z = point.size() > 2 ? point[2] : "";
  e.place = body[6];
  e.content = body[7];
  e.time = body[8];
  const auto progress = split(body[9], kElem);
  e.sts_cd = progress[0];
  e.sts_dtl = progress.size() > 1 ? progress[1] : "";
  const auto user = split(body[10], kElem);
  e.usr_id = user[0];
  e.usr_nm = user.size() > 1 ? user[1] : "";
  e.sts_time = body[11];
  e.end_time = body[12];
  if (!body[14].empty()) {
    for (const auto& item : split(body[14], kElem)) {
      const auto kv = split(item, kSub);
      e.items.push_back(Item{kv[0], kv.size() > 1 ? kv[1] : ""});
    }
  }
  if (!body[13].empty() && (!all_digits(body[13]) || body[13].size() > 9 || std::stoull(body[13]) != e.items.size()))
    in.notes.push_back("eventItemCnt " + body[13] + " but " + std::to_string(e.items.size()) + " items");
  const auto dtl = split(body[15], kSub);
  e.dtl_cd = dtl[0];
  e.dtl_cd_dtl = dtl.size() > 1 ? dtl[1] : "";
  if (!body[16].empty()) in.header.tran_sys_his = split(body[16], kElem);
  return in;
}

std::string ack_ok() { return "0;\n"; }

std::string ack_error(const std::string& message) {
  std::string m = message;
  for (char& c : m)
    if (c == '\n' || c == '\r' || c == ';') c = ' ';
  return "1" + m + ";\n";
}

}  // namespace ucp::telegram
