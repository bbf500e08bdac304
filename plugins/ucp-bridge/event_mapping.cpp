#include "event_mapping.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstdio>

#include "text.hpp"

namespace ucp_bridge {

using citylink::v1::EventGrade;
using citylink::v1::EventStatus;

namespace {

const std::map<std::string, std::string>& names() {
  static const std::map<std::string, std::string> n = {
      {"112UC001", "112 긴급영상지원"},        {"112UC120", "112 긴급출동지원"},
      {"112UC110", "112 순찰차 위치"},         {"119UC001", "119 긴급출동지원"},
      {"DUCDP110", "재난 긴급대응 지원"},      {"WPSSF110", "사회적약자 지원"},
      {"MOJUC110", "전자발찌 위치추적"},       {"EBSCP110", "비상벨"},
      {"SEBSF110", "비상벨"},                  {"FMSFT110", "차량번호 인식"},
      {"LPRUM120", "차량번호 인식"},           {"POCCP103", "안심귀가"},
      {"STLSF110", "안심택시"},                {"TUATR100", "교통사고"},
      {"APLEN110", "기상특보"},                {"WESEN110", "기상특보"},
      {"BNRCP140", "강도"},                    {"MTSUC210", "방범"},
      {"MTSUC220", "방재"},                    {"MTSUC230", "안전"},
      {"MTSUC240", "CCTV"},                    {"MTSUC250", "일반시설물"}};
  return n;
}

double coordinate(const std::string& v, const char* field, double limit) {
  const std::string t(ucp::trim(v));
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(t.c_str(), &end);
  // Decimal degrees only: strtod also takes "inf", "nan" and hex, which no sender means.
  const bool decimal = !t.empty() && t.find_first_not_of("+-.0123456789") == std::string::npos;
  if (!decimal || end != t.c_str() + t.size() || errno == ERANGE)
    throw ucp::DecodeError(std::string(field) + " '" + v + "' is not a number (WGS84 decimal degrees)");
  if (d < -limit || d > limit)
    throw ucp::DecodeError(std::string(field) + " '" + v + "' is outside -" + std::to_string(static_cast<int>(limit)) +
                           ".." + std::to_string(static_cast<int>(limit)) + " degrees");
  return d;
}

}  // namespace

const std::string& Routing::topic(const std::string& code) const {
  const auto it = topic_of_code.find(code);
  return it == topic_of_code.end() ? other_topic : it->second;
}

Routing default_routing() {
  Routing r;
  r.topic_of_code = {{"112UC001", "incident.112"}, {"112UC120", "incident.112"}, {"112UC110", "incident.112"},
                     {"119UC001", "incident.119"}, {"DUCDP110", "incident.disaster"},
                     {"WPSSF110", "incident.vulnerable"}, {"MOJUC110", "incident.moj"}};
  return r;
}

bool is_platform_code(const std::string& code) { return names().count(code) > 0; }

std::string default_event_name(const std::string& code) {
  const auto it = names().find(code);
  return it == names().end() ? code : it->second;
}

std::string korean_status_text(EventStatus s) {
  switch (s) {
    case citylink::v1::EVENT_STATUS_OCCURRED: return "발생";
    case citylink::v1::EVENT_STATUS_CHANGED: return "변경";
    case citylink::v1::EVENT_STATUS_RELEASED: return "해제";
    case citylink::v1::EVENT_STATUS_CANCELLED: return "취소";
    case citylink::v1::EVENT_STATUS_FINISHED: return "종료";
    default: return "";
  }
}

citylink::v1::PlatformEvent to_platform_event(const ucp::Inbound& in) {
  const ucp::Event& e = in.event;
  if (e.evt_id.empty()) throw ucp::DecodeError("the event has no event code (evtId)");
  if (e.ocr_nbr.empty()) throw ucp::DecodeError("event " + e.evt_id + " has no occurrence number (ocrNbr)");
  citylink::v1::PlatformEvent ev;
  std::vector<std::string> flags;
  auto& items = *ev.mutable_items();
  ev.set_event_code(e.evt_id);
  if (!is_platform_code(e.evt_id)) flags.push_back("unknown_event_code");
  ev.set_event_name(e.evt_nm.empty() ? default_event_name(e.evt_id) : e.evt_nm);
  if (e.evt_grad == "10") ev.set_grade(citylink::v1::EVENT_GRADE_URGENT);
  else if (e.evt_grad == "20") ev.set_grade(citylink::v1::EVENT_GRADE_NORMAL);
  else ev.set_raw_grade_code(e.evt_grad);
  ev.set_occurrence_number(e.ocr_nbr);
  if (!(ucp::all_digits(e.ocr_nbr) && (e.ocr_nbr.size() == 14 || e.ocr_nbr.size() == 17)))
    flags.push_back("occurrence_number_not_14_or_17_digits");
  const std::string& st = e.ocr_sts;
  // 30 is read as occurred and 92 (finished automatically) as finished; both are kept raw.
  if (st == "10" || st == "30") ev.set_status(citylink::v1::EVENT_STATUS_OCCURRED);
  else if (st == "40") ev.set_status(citylink::v1::EVENT_STATUS_CHANGED);
  else if (st == "50") ev.set_status(citylink::v1::EVENT_STATUS_RELEASED);
  else if (st == "90") ev.set_status(citylink::v1::EVENT_STATUS_CANCELLED);
  else if (st == "91" || st == "92") ev.set_status(citylink::v1::EVENT_STATUS_FINISHED);
  else flags.push_back("unknown_status");
  if (st == "30" || st == "92" || ev.status() == citylink::v1::EVENT_STATUS_UNSPECIFIED) ev.set_raw_status_code(st);
  if (!ucp::trim(e.x).empty() || !ucp::trim(e.y).empty()) {
    auto* p = ev.mutable_location();
    p->set_lon(coordinate(e.x, "crdntX (longitude)", 180));
    p->set_lat(coordinate(e.y, "crdntY (latitude)", 90));
  }
  if (!e.place.empty()) ev.mutable_place()->set_full_text(e.place);
  ev.set_content(e.content);
  if (!e.time.empty()) {
    if (const auto t = ucp::parse_seoul_time(e.time)) ev.set_occurred_unix_ns(*t);
    else flags.push_back("bad_event_time");
    items["ucp.ocrEvtTime"] = e.time;
  }
  ev.set_sender_system(!in.header.sys_cd.empty() ? in.header.sys_cd : in.header.send_cd);
  ev.set_receiver_system(in.header.rcv_cd);
  for (const auto& i : e.items) items[i.key] = i.val;
  auto extra = [&](const char* key, const std::string& v) {
    if (!v.empty()) items[key] = v;
  };
  extra("ucp.ocrSts", st);
  extra("ucp.ocrEvtStsCd", e.sts_cd);
  extra("ucp.ocrEvtStsDtl", e.sts_dtl);
  extra("ucp.ocrEvtUsrId", e.usr_id);
  extra("ucp.ocrEvtUsrNm", e.usr_nm);
  extra("ucp.ocrEvtStsTime", e.sts_time);
  extra("ucp.ocrEvtEndTime", e.end_time);
  extra("ucp.ocrEvtDtlCd", e.dtl_cd);
  extra("ucp.ocrEvtDtlCdDtl", e.dtl_cd_dtl);
  extra("ucp.sendCd", in.header.send_cd);
  extra("ucp.rcvCd", in.header.rcv_cd);
  std::string his;
  for (const auto& h : in.header.tran_sys_his) his += (his.empty() ? "" : ",") + h;
  extra("ucp.tranSysHis", his);
  auto join = [](const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
  };
  extra(kFlagsItem, join(flags, ","));
  extra(kNotesItem, join(in.notes, "; "));
  return ev;
}

ucp::Event from_platform_event(const citylink::v1::PlatformEvent& ev) {
  ucp::Event e;
  const auto& items = ev.items();
  auto item = [&](const char* key) {
    const auto it = items.find(key);
    return it == items.end() ? std::string() : it->second;
  };
  e.evt_id = ev.event_code();
  e.evt_nm = ev.event_name().empty() ? default_event_name(ev.event_code()) : ev.event_name();
  e.evt_grad = ev.grade() == citylink::v1::EVENT_GRADE_URGENT   ? "10"
               : ev.grade() == citylink::v1::EVENT_GRADE_NORMAL ? "20"
                                                                 : ev.raw_grade_code();
  e.ocr_nbr = ev.occurrence_number();
  // 92 (finished automatically) is read, never written: a finished event goes out as 91.
  e.ocr_sts = ev.status() == citylink::v1::EVENT_STATUS_UNSPECIFIED ? ev.raw_status_code()
                                                                    : std::to_string(static_cast<int>(ev.status()));
  if (ev.has_location()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.7f", ev.location().lon());
    e.x = buf;
    std::snprintf(buf, sizeof buf, "%.7f", ev.location().lat());
    e.y = buf;
    e.z = "0";
  }
  e.place = ev.place().full_text();
  e.content = ev.content();
  e.time = ev.occurred_unix_ns() ? ucp::seoul_time(ev.occurred_unix_ns()) : item("ucp.ocrEvtTime");
  e.sts_cd = e.ocr_sts;
  e.sts_dtl = korean_status_text(ev.status());
  e.usr_id = item("ucp.ocrEvtUsrId");
  e.usr_nm = item("ucp.ocrEvtUsrNm");
  e.sts_time = item("ucp.ocrEvtStsTime");
  e.end_time = item("ucp.ocrEvtEndTime");
  e.dtl_cd = item("ucp.ocrEvtDtlCd");
  e.dtl_cd_dtl = item("ucp.ocrEvtDtlCdDtl");
  // The free items, in key order (a map has no other), without what the bridge added.
  std::map<std::string, std::string> sorted(items.begin(), items.end());
  for (const auto& [k, v] : sorted)
    if (k.rfind("ucp.", 0) != 0 && k.rfind("citylink.", 0) != 0) e.items.push_back(ucp::Item{k, v});
  return e;
}

}  // namespace ucp_bridge
