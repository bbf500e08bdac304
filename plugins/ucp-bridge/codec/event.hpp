// The integrated platform's event as its wires carry it: every value a string, nothing
// interpreted. Each codec (HTTP/JSON, TCP telegram, legacy fixed header) reads into and
// writes from this one form; what the values mean is the bridge's mapping, not the codec's.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace ucp {

struct Item {
  std::string key, val;
};

// One event body (platform-interface.md §A "Event body").
struct Event {
  std::string evt_id;    // event code, e.g. "112UC001"
  std::string evt_nm;    // event name
  std::string evt_grad;  // "10" urgent, "20" normal
  std::string ocr_nbr;   // occurrence number, 14 or 17 digits
  std::string ocr_sts;   // status code as sent: 10, 30, 40, 50, 90, 91, 92, ...
  std::string x, y, z;   // crdntX = longitude, crdntY = latitude, crdntZ
  std::string place;     // ocrPlc
  std::string content;   // ocrEvtCn
  std::string time;      // ocrEvtTime, yyyyMMddHHmmss (Asia/Seoul)
  std::string sts_cd, sts_dtl;  // ocrEvtSts {ocrEvtStsCd, ocrEvtStsDtl}
  std::string usr_id, usr_nm;   // ocrEvtStsUsr (or ocrEvtUsr) {ocrEvtUsrId, ocrEvtUsrNm}
  std::string sts_time, end_time;
  std::vector<Item> items;      // ocrEvtItem [{key, val}]
  std::string dtl_cd, dtl_cd_dtl;  // ocrEvtDtl {ocrEvtDtlCd, ocrEvtDtlCdDtl}
};

// The fields around a body: HTTP header fields, JSON envelope fields, telegram header.
struct Header {
  std::string svc_ty = "EVENT";  // AUTH, EVENT, PREEVT
  std::string send_cd, rcv_cd, sys_cd;
  std::string enc_at = "N";
  std::string rr_key, req_date;
  std::vector<std::string> tran_sys_his;  // "<city>_<sys>", oldest first
};

// One inbound message, decoded; `notes` says where it took a variant (Body for body, ...).
struct Inbound {
  Header header;
  Event event;
  std::vector<std::string> notes;
};

// A message that cannot be read. what() names the field and what was wrong with it.
struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace ucp
