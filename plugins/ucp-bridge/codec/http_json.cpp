#include "http_json.hpp"

#include <cctype>
#include <map>

#include "text.hpp"

namespace ucp::http {

namespace {

void put(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

// Every value is a string on the wire, but some senders write numbers.
std::string str(const Json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  // Unsigned first: nlohmann counts an unsigned number as an integer too.
  if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  if (it->is_number_float() || it->is_boolean()) return it->dump();
  throw DecodeError(std::string("field '") + key + "' is " + it->type_name() + ", not text");
}

const Json* object_at(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  if (!it->is_object()) throw DecodeError(std::string("field '") + key + "' is " + it->type_name() + ", not an object");
  return &*it;
}

Json parse(const std::string& text, const char* what) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for a number too large for a double (found by fuzzing).
    throw DecodeError(std::string(what) + " is not JSON: " + e.what());
  }
}

Header decode_header(const Json& j) {
  Header h;
  h.svc_ty = str(j, "svcTy");
  h.send_cd = str(j, "sendCd");
  h.rcv_cd = str(j, "rcvCd");
  h.sys_cd = str(j, "sysCd");
  h.enc_at = str(j, "encAt");
  if (h.enc_at.empty()) h.enc_at = "N";
  h.rr_key = str(j, "rrKey");
  h.req_date = str(j, "reqDate");
  const auto his = j.find("tranSysHis");
  if (his != j.end() && !his->is_null()) {
    if (his->is_array()) {  // [{tranSysHis: ".."}, ...]
      for (const auto& e : *his) h.tran_sys_his.push_back(e.is_string() ? e.get<std::string>() : str(e, "tranSysHis"));
    } else if (his->is_object()) {  // {tranSysHis1: .., tranSysHis2: ..}, in number order, gaps allowed
      std::map<long, std::string> numbered;
      for (const auto& [key, value] : his->items()) {
        const std::string digits = key.rfind("tranSysHis", 0) == 0 ? key.substr(10) : "";
        if (all_digits(digits) && digits.size() < 9) numbered[std::stol(digits)] = str(*his, key.c_str());
      }
      for (auto& [n, v] : numbered) h.tran_sys_his.push_back(std::move(v));
    } else if (his->is_string()) {
      h.tran_sys_his.push_back(his->get<std::string>());
    }
  }
  return h;
}

}  // namespace

Json encode_body(const Event& e) {
  Json b = Json::object();
  put(b, "evtId", e.evt_id);
  put(b, "evtNm", e.evt_nm);
  put(b, "evtGrad", e.evt_grad);
  put(b, "ocrNbr", e.ocr_nbr);
  put(b, "ocrSts", e.ocr_sts);
  if (!e.x.empty() || !e.y.empty())
    b["ocrLc"] = Json{{"crdntX", e.x}, {"crdntY", e.y}, {"crdntZ", e.z.empty() ? "0" : e.z}};
  put(b, "ocrPlc", e.place);
  put(b, "ocrEvtCn", e.content);
  put(b, "ocrEvtTime", e.time);
  if (!e.sts_cd.empty() || !e.sts_dtl.empty()) {
    Json s = Json::object();
    put(s, "ocrEvtStsCd", e.sts_cd);
    put(s, "ocrEvtStsDtl", e.sts_dtl);
    b["ocrEvtSts"] = s;
  }
  if (!e.usr_id.empty() || !e.usr_nm.empty()) {
    Json u = Json::object();
    put(u, "ocrEvtUsrId", e.usr_id);
    put(u, "ocrEvtUsrNm", e.usr_nm);
    b["ocrEvtStsUsr"] = u;
  }
  put(b, "ocrEvtStsTime", e.sts_time);
  put(b, "ocrEvtEndTime", e.end_time);
  if (!e.items.empty()) {
    b["ocrEvtItemCnt"] = std::to_string(e.items.size());
    Json items = Json::array();
    for (const auto& i : e.items) items.push_back(Json{{"key", i.key}, {"val", i.val}});
    b["ocrEvtItem"] = items;
  }
  if (!e.dtl_cd.empty() || !e.dtl_cd_dtl.empty()) {
    Json d = Json::object();
    put(d, "ocrEvtDtlCd", e.dtl_cd);
    put(d, "ocrEvtDtlCdDtl", e.dtl_cd_dtl);
    b["ocrEvtDtl"] = d;
  }
  return b;
}

Json encode_request(const Header& h, Json body) {
  const std::string body_text = body.is_string() ? body.get<std::string>() : body.dump();
  Json r = Json::object();
  put(r, "svcTy", h.svc_ty);
  r["hdCnt"] = "14";
  r["dtCnt"] = "16";
  r["apSeq"] = Json{{"apCurrent", "1"}, {"apTotal", "1"}};
  r["cmnMtd"] = "1";
  put(r, "sendCd", h.send_cd);
  put(r, "rcvCd", h.rcv_cd);
  r["encAt"] = h.enc_at.empty() ? "N" : h.enc_at;
  r["tranTy"] = "HTTP";
  put(r, "rrKey", h.rr_key);
  put(r, "reqDate", h.req_date);
  r["bodyLen"] = std::to_string(body_text.size());
  put(r, "sysCd", h.sys_cd);
  if (!h.tran_sys_his.empty()) {
    Json his = Json::array();
    for (const auto& s : h.tran_sys_his) his.push_back(Json{{"tranSysHis", s}});
    r["tranSysHis"] = his;
  }
  r["callBack"] = Json{{"useYn", "N"}, {"targetUrl", ""}};
  r["body"] = std::move(body);
  return r;
}

Json encode_auth(const Header& h, const std::string& api_key) {
  Header a = h;
  a.svc_ty = "AUTH";
  return encode_request(a, Json{{"startTag", "$DA"}, {"endTag", "$DB"}, {"finishTag", "$DF"}, {"apiKey", api_key}});
}

Json encode_response(bool ok, const std::string& message) {
  return Json{{"startTag", "$DA"}, {"endTag", "$DB"}, {"finishTag", "$DF"}, {"result", ok ? "0" : "1"},
              {"message", message}};
}

Response decode_response(const std::string& text) {
  const Json j = parse(text, "the answer");
  if (!j.is_object()) throw DecodeError("the answer is not a JSON object");
  Response r;
  r.result = str(j, "result");
  r.message = str(j, "message");
  if (r.result != "0" && r.result != "1") throw DecodeError("the answer's 'result' is '" + r.result + "', not \"0\" or \"1\"");
  r.ok = r.result == "0";
  return r;
}

Event decode_body(const Json& b, std::vector<std::string>* notes) {
  if (!b.is_object()) throw DecodeError("'body' is " + std::string(b.type_name()) + ", not an object");
  Event e;
  e.evt_id = str(b, "evtId");
  e.evt_nm = str(b, "evtNm");
  e.evt_grad = str(b, "evtGrad");
  e.ocr_nbr = str(b, "ocrNbr");
  e.ocr_sts = str(b, "ocrSts");
  if (const Json* lc = object_at(b, "ocrLc")) {
    e.x = str(*lc, "crdntX");
    e.y = str(*lc, "crdntY");
    e.z = str(*lc, "crdntZ");
  }
  e.place = str(b, "ocrPlc");
  e.content = str(b, "ocrEvtCn");
  e.time = str(b, "ocrEvtTime");
  if (const Json* s = object_at(b, "ocrEvtSts")) {
    e.sts_cd = str(*s, "ocrEvtStsCd");
    e.sts_dtl = str(*s, "ocrEvtStsDtl");
  }
  const Json* u = object_at(b, "ocrEvtStsUsr");
  if (!u && (u = object_at(b, "ocrEvtUsr")) && notes) notes->push_back("user under 'ocrEvtUsr'");
  if (u) {
    e.usr_id = str(*u, "ocrEvtUsrId");
    e.usr_nm = str(*u, "ocrEvtUsrNm");
  }
  e.sts_time = str(b, "ocrEvtStsTime");
  e.end_time = str(b, "ocrEvtEndTime");
  const auto items = b.find("ocrEvtItem");
  if (items != b.end() && !items->is_null()) {
    if (!items->is_array()) throw DecodeError("field 'ocrEvtItem' is " + std::string(items->type_name()) + ", not a list");
    for (const auto& i : *items) {
      if (!i.is_object()) throw DecodeError("an element of 'ocrEvtItem' is not an object");
      Item it{str(i, "key"), str(i, "val")};
      if (it.val.empty() && i.contains("value")) {
        it.val = str(i, "value");
        if (notes) notes->push_back("item value under 'value'");
      }
      e.items.push_back(std::move(it));
    }
  }
  if (const Json* d = object_at(b, "ocrEvtDtl")) {
    e.dtl_cd = str(*d, "ocrEvtDtlCd");
    e.dtl_cd_dtl = str(*d, "ocrEvtDtlCdDtl");
  }
  // startTag/endTag/finishTag ($DA/$DB/$DF) may ride along; they carry nothing.
  return e;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    for (const std::string* s : {&k, &v}) {
      for (unsigned char c : *s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
        else if (c == ' ') out += '+';
        else out += '%', out += hex[c >> 4], out += hex[c & 15];
      }
      if (s == &k) out += '=';
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> form_decode(const std::string& text) {
  auto unescape = [](std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') out += ' ';
      else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> fields;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    fields.emplace_back(unescape(part.substr(0, eq)), eq == std::string_view::npos ? "" : unescape(part.substr(eq + 1)));
  }
  return fields;
}

Inbound decode_request(const std::string& content_type, const std::string& text, const Decrypt& decrypt) {
  if (!valid_utf8(text)) throw DecodeError("the request is not valid UTF-8");
  Json doc;
  Inbound in;
  if (content_type.find("application/x-www-form-urlencoded") != std::string::npos) {
    doc = Json::object();
    for (auto& [k, v] : form_decode(text)) {
      if (!valid_utf8(k) || !valid_utf8(v)) throw DecodeError("form field '" + k + "' is not valid UTF-8");
      doc[k] = v;
    }
    in.notes.push_back("form post");
  } else {
    doc = parse(text, "the request");
    if (!doc.is_object()) throw DecodeError("the request is not a JSON object");
  }
  in.header = decode_header(doc);
  const char* key = "body";
  auto it = doc.find("body");
  if (it == doc.end() || it->is_null()) {
    it = doc.find("Body");
    key = "Body";
    if (it != doc.end()) in.notes.push_back("body under 'Body'");
  }
  if (it == doc.end() || it->is_null()) throw DecodeError("the request has no 'body' (nor 'Body')");
  Json body = *it;
  if (body.is_string()) {  // a body sent as JSON text (form posts always, some JSON senders too)
    std::string body_text = body.get<std::string>();
    if (in.header.enc_at == "Y") {
      if (!decrypt) throw DecodeError("the body is encrypted (encAt=Y) but no secret is configured; set the bridge's secret");
      auto plain = decrypt(body_text);
      if (!plain) throw DecodeError("the body does not decrypt with the configured secret (encAt=Y)");
      body_text = *plain;
    }
    body = parse(body_text, (std::string("field '") + key + "'").c_str());
  }
  in.event = decode_body(body, &in.notes);
  return in;
}

}  // namespace ucp::http
