// The platform-bridge codecs (plugins/ucp-bridge/codec) against hand-written wire text:
// every vector below is spelled out here, byte by byte where it matters, never produced by
// the encoder under test; round trips come on top. The forms are those of
// platform-interface.md §A (HTTP/JSON), §B (TCP telegram) and §C (legacy fixed header).
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aria.hpp"
#include "event.hpp"
#include "http_json.hpp"
#include "legacy.hpp"
#include "telegram.hpp"
#include "text.hpp"

// Telegram separators and markers, U+00D0..U+00D3, U+00DA, U+00DB, U+00DF in UTF-8. Macros,
// so that vectors are plain adjacent literals (a "\xC3\x91" followed by "1" in one literal
// would read as one escape).
#define TG_HEAD "\xC3\x90"
#define TG_F "\xC3\x91"
#define TG_E "\xC3\x92"
#define TG_S "\xC3\x93"
#define TG_BODY "\xC3\x9A"
#define TG_BODY_END "\xC3\x9B"
#define TG_END "\xC3\x9F"
#define REPL "\xEF\xBF\xBD"  // U+FFFD
// Legacy body: RS after each field, US between array items.
#define LG_RS "\x1E"
#define LG_US "\x1F"

namespace {

using Json = ucp::http::Json;
using KV = std::vector<std::pair<std::string, std::string>>;
using Strings = std::vector<std::string>;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The message of the DecodeError `f` throws; a test failure when it throws none.
template <class F>
std::string decode_error(F&& f) {
  try {
    f();
  } catch (const ucp::DecodeError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ucp::DecodeError";
  return "<no error>";
}

// Code points of UTF-8 text, counted here rather than with the codec's own helper.
std::size_t chars(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

KV pairs(const std::vector<ucp::Item>& items) {
  KV out;
  for (const auto& i : items) out.emplace_back(i.key, i.val);
  return out;
}

ucp::Event korean_event() {
  ucp::Event e;
  e.evt_id = "112UC001";
  e.evt_nm = "112 긴급영상지원";
  e.evt_grad = "10";
  e.ocr_nbr = "20240315093000123";
  e.ocr_sts = "10";
  e.x = "127.0276";
  e.y = "37.4979";
  e.z = "0";
  e.place = "강남대로 396";
  e.content = "폭행 신고 접수";
  e.time = "20240315092955";
  e.sts_cd = "10";
  e.sts_dtl = "발생";
  e.usr_id = "U001";
  e.usr_nm = "홍길동";
  e.sts_time = "20240315093001";
  e.end_time = "20240315095959";
  e.items = {{"OCCUR_FCLT_ID", "CCTV-0001"}, {"IMAGE_SEND_TY_CD", "FTP"}};
  e.dtl_cd = "D01";
  e.dtl_cd_dtl = "상세";
  return e;
}

ucp::Header platform_header() {
  ucp::Header h;
  h.send_cd = "B4113000000";
  h.rcv_cd = "B4119000000";
  h.sys_cd = "UCP";
  h.rr_key = "7f3c9a";
  h.req_date = "20240315093000";
  h.tran_sys_his = {"41130_112", "41190_UCP"};
  return h;
}

void expect_same_event(const ucp::Event& got, const ucp::Event& want) {
  EXPECT_EQ(got.evt_id, want.evt_id);
  EXPECT_EQ(got.evt_nm, want.evt_nm);
  EXPECT_EQ(got.evt_grad, want.evt_grad);
  EXPECT_EQ(got.ocr_nbr, want.ocr_nbr);
  EXPECT_EQ(got.ocr_sts, want.ocr_sts);
  EXPECT_EQ(got.x, want.x);
  EXPECT_EQ(got.y, want.y);
  EXPECT_EQ(got.z, want.z);
  EXPECT_EQ(got.place, want.place);
  EXPECT_EQ(got.content, want.content);
  EXPECT_EQ(got.time, want.time);
  EXPECT_EQ(got.sts_cd, want.sts_cd);
  EXPECT_EQ(got.sts_dtl, want.sts_dtl);
  EXPECT_EQ(got.usr_id, want.usr_id);
  EXPECT_EQ(got.usr_nm, want.usr_nm);
  EXPECT_EQ(got.sts_time, want.sts_time);
  EXPECT_EQ(got.end_time, want.end_time);
  EXPECT_EQ(pairs(got.items), pairs(want.items));
  EXPECT_EQ(got.dtl_cd, want.dtl_cd);
  EXPECT_EQ(got.dtl_cd_dtl, want.dtl_cd_dtl);
}

// ---- HTTP/JSON ----

ucp::Inbound decode_json(const std::string& text) { return ucp::http::decode_request("application/json", text); }

// A minimal request around a hand-written body.
std::string request_with_body(const std::string& body) {
  return R"({"svcTy":"EVENT","sendCd":"B4113000000","rcvCd":"B4119000000","encAt":"N","body":)" + body + "}";
}

std::string text_at(const Json& j, const char* key) { return j.at(key).get<std::string>(); }

}  // namespace

TEST(HttpJsonCodec, DecodesEveryFieldOfAFullDocumentedRequest) {
  // bodyLen is informational; the reader does not check it.
  const std::string text = R"json({
    "svcTy": "EVENT", "hdCnt": "14", "dtCnt": "16",
    "apSeq": {"apCurrent": "1", "apTotal": "1"}, "cmnMtd": "1",
    "sendCd": "B4113000000", "rcvCd": "B4119000000", "encAt": "N", "tranTy": "HTTP",
    "rrKey": "7f3c9a", "reqDate": "20240315093000", "bodyLen": "600", "sysCd": "UCP",
    "tranSysHis": [{"tranSysHis": "41130_112"}, {"tranSysHis": "41190_UCP"}],
    "callBack": {"useYn": "N", "targetUrl": ""},
    "body": {
      "evtId": "112UC001", "evtNm": "112 긴급영상지원", "evtGrad": "10",
      "ocrNbr": "20240315093000123", "ocrSts": "10",
      "ocrLc": {"crdntX": "127.0276", "crdntY": "37.4979", "crdntZ": "0"},
      "ocrPlc": "강남대로 396", "ocrEvtCn": "폭행 신고 접수", "ocrEvtTime": "20240315092955",
      "ocrEvtSts": {"ocrEvtStsCd": "10", "ocrEvtStsDtl": "발생"},
      "ocrEvtStsUsr": {"ocrEvtUsrId": "U001", "ocrEvtUsrNm": "홍길동"},
      "ocrEvtStsTime": "20240315093001", "ocrEvtEndTime": "20240315095959",
      "ocrEvtItemCnt": "2",
      "ocrEvtItem": [{"key": "OCCUR_FCLT_ID", "val": "CCTV-0001"}, {"key": "IMAGE_SEND_TY_CD", "val": "FTP"}],
      "ocrEvtDtl": {"ocrEvtDtlCd": "D01", "ocrEvtDtlCdDtl": "상세"}
    }
  })json";
  const ucp::Inbound in = decode_json(text);
  EXPECT_EQ(in.header.svc_ty, "EVENT");
  EXPECT_EQ(in.header.send_cd, "B4113000000");
  EXPECT_EQ(in.header.rcv_cd, "B4119000000");
  EXPECT_EQ(in.header.sys_cd, "UCP");
  EXPECT_EQ(in.header.enc_at, "N");
  EXPECT_EQ(in.header.rr_key, "7f3c9a");
  EXPECT_EQ(in.header.req_date, "20240315093000");
  EXPECT_EQ(in.header.tran_sys_his, (Strings{"41130_112", "41190_UCP"}));
  expect_same_event(in.event, korean_event());
  EXPECT_TRUE(in.notes.empty());  // the documented form takes no variant
}

TEST(HttpJsonCodec, ReadsBodyUnderCapitalBAndNotesIt) {
  const auto in = decode_json(R"({"svcTy":"EVENT","encAt":"N","Body":{"evtId":"119UC001","ocrSts":"10"}})");
  EXPECT_EQ(in.event.evt_id, "119UC001");
  ASSERT_EQ(in.notes.size(), 1u);
  EXPECT_TRUE(contains(in.notes[0], "Body")) << in.notes[0];
}

TEST(HttpJsonCodec, ReadsBodyGivenAsAJsonString) {
  const auto in = decode_json(
      R"({"svcTy":"EVENT","encAt":"N","body":"{\"evtId\":\"119UC001\",\"ocrNbr\":\"20240315101500\",\"ocrPlc\":\"세종대로 110\"}"})");
  EXPECT_EQ(in.event.evt_id, "119UC001");
  EXPECT_EQ(in.event.ocr_nbr, "20240315101500");
  EXPECT_EQ(in.event.place, "세종대로 110");
}

TEST(HttpJsonCodec, ReadsFormPostWithPercentEncodedKoreanBody) {
  // body = {"evtId":"112UC001","ocrPlc":"강남대로 396","ocrEvtSts":{"ocrEvtStsCd":"10","ocrEvtStsDtl":"발생"}}
  // percent-escaped by hand: 강 EA B0 95, 남 EB 82 A8, 대 EB 8C 80, 로 EB A1 9C, 발 EB B0 9C, 생 EC 83 9D.
  const std::string form =
      "svcTy=EVENT&sendCd=B4113000000&rcvCd=B4119000000&sysCd=UCP&encAt=N&rrKey=7f3c9a&reqDate=20240315093000"
      "&body=%7B%22evtId%22%3A%22112UC001%22%2C%22ocrPlc%22%3A%22%EA%B0%95%EB%82%A8%EB%8C%80%EB%A1%9C+396%22"
      "%2C%22ocrEvtSts%22%3A%7B%22ocrEvtStsCd%22%3A%2210%22%2C%22ocrEvtStsDtl%22%3A%22%EB%B0%9C%EC%83%9D%22%7D%7D";
  const auto in = ucp::http::decode_request("application/x-www-form-urlencoded; charset=UTF-8", form);
  EXPECT_EQ(in.header.svc_ty, "EVENT");
  EXPECT_EQ(in.header.send_cd, "B4113000000");
  EXPECT_EQ(in.header.rcv_cd, "B4119000000");
  EXPECT_EQ(in.header.sys_cd, "UCP");
  EXPECT_EQ(in.header.rr_key, "7f3c9a");
  EXPECT_EQ(in.header.req_date, "20240315093000");
  EXPECT_EQ(in.event.evt_id, "112UC001");
  EXPECT_EQ(in.event.place, "강남대로 396");  // '+' is a space
  EXPECT_EQ(in.event.sts_cd, "10");
  EXPECT_EQ(in.event.sts_dtl, "발생");
  ASSERT_FALSE(in.notes.empty());
  EXPECT_TRUE(contains(in.notes[0], "form")) << in.notes[0];
}

TEST(HttpJsonCodec, FormEncodingRoundTripsReservedAndKoreanText) {
  const KV fields = {{"body", R"({"ocrPlc":"강남대로 396","ocrEvtCn":"a+b=c&d%e"})"}, {"svcTy", "EVENT"}};
  EXPECT_EQ(ucp::http::form_decode(ucp::http::form_encode(fields)), fields);
  EXPECT_EQ(ucp::http::form_encode({{"a b", "강"}}), "a+b=%EA%B0%95");
}

TEST(HttpJsonCodec, ReadsUserUnderOcrEvtUsrAndNotesIt) {
  const auto in = decode_json(
      request_with_body(R"({"evtId":"112UC001","ocrEvtUsr":{"ocrEvtUsrId":"U002","ocrEvtUsrNm":"김철수"}})"));
  EXPECT_EQ(in.event.usr_id, "U002");
  EXPECT_EQ(in.event.usr_nm, "김철수");
  ASSERT_EQ(in.notes.size(), 1u);
  EXPECT_TRUE(contains(in.notes[0], "ocrEvtUsr")) << in.notes[0];
}

TEST(HttpJsonCodec, ReadsTranSysHisAsListOfObjects) {
  const auto in = decode_json(
      R"({"encAt":"N","tranSysHis":[{"tranSysHis":"41130_112"},{"tranSysHis":"41190_UCP"}],"body":{"evtId":"112UC001"}})");
  EXPECT_EQ(in.header.tran_sys_his, (Strings{"41130_112", "41190_UCP"}));
}

TEST(HttpJsonCodec, ReadsTranSysHisAsNumberedObjectInNumberOrder) {
  const auto in = decode_json(
      R"({"encAt":"N","tranSysHis":{"tranSysHis1":"41130_112","tranSysHis2":"41190_UCP"},"body":{"evtId":"112UC001"}})");
  EXPECT_EQ(in.header.tran_sys_his, (Strings{"41130_112", "41190_UCP"}));
  // The numbers give the order, not the order the keys happen to be written in.
  const auto swapped = decode_json(
      R"({"encAt":"N","tranSysHis":{"tranSysHis2":"41190_UCP","tranSysHis1":"41130_112"},"body":{"evtId":"112UC001"}})");
  EXPECT_EQ(swapped.header.tran_sys_his, (Strings{"41130_112", "41190_UCP"}));
}

TEST(HttpJsonCodec, Keeps14And17DigitOccurrenceNumbersVerbatim) {
  EXPECT_EQ(decode_json(request_with_body(R"({"ocrNbr":"20240315093000"})")).event.ocr_nbr, "20240315093000");
  EXPECT_EQ(decode_json(request_with_body(R"({"ocrNbr":"20240315093000123"})")).event.ocr_nbr, "20240315093000123");
}

TEST(HttpJsonCodec, ReadsNumbersWhereTextBelongsAsText) {
  const auto in = decode_json(request_with_body(
      R"({"evtId":"112UC001","evtGrad":10,"ocrNbr":20240315093000123,"ocrSts":40,)"
      R"("ocrLc":{"crdntX":127.02,"crdntY":37.5,"crdntZ":0}})"));
  EXPECT_EQ(in.event.evt_grad, "10");
  EXPECT_EQ(in.event.ocr_nbr, "20240315093000123");
  EXPECT_EQ(in.event.ocr_sts, "40");
  EXPECT_EQ(in.event.x, "127.02");
  EXPECT_EQ(in.event.y, "37.5");
  EXPECT_EQ(in.event.z, "0");
}

TEST(HttpJsonCodec, IgnoresDaDbDfTagsInsideTheBody) {
  const auto in = decode_json(
      request_with_body(R"({"startTag":"$DA","endTag":"$DB","finishTag":"$DF","evtId":"112UC001","ocrSts":"10"})"));
  EXPECT_EQ(in.event.evt_id, "112UC001");
  EXPECT_EQ(in.event.ocr_sts, "10");
  EXPECT_TRUE(in.event.items.empty());
  EXPECT_TRUE(in.notes.empty());
}

TEST(HttpJsonCodec, ReadsStatus92Verbatim) {
  // 92 (finished automatically) is the bridge's to map to 91; the codec keeps it as sent.
  EXPECT_EQ(decode_json(request_with_body(R"({"evtId":"112UC001","ocrSts":"92"})")).event.ocr_sts, "92");
}

TEST(HttpJsonCodec, KoreanTextSurvivesDecodeAndEncodeDecodeRoundTrip) {
  // Raw UTF-8 and \u escapes both read to the same text.
  const auto in = decode_json(request_with_body(
      R"({"ocrPlc":"강남대로 396","ocrEvtSts":{"ocrEvtStsCd":"10","ocrEvtStsDtl":"\ubc1c\uc0dd"}})"));
  EXPECT_EQ(in.event.place, "강남대로 396");
  EXPECT_EQ(in.event.sts_dtl, "발생");

  const ucp::Event e = korean_event();
  const Json request = ucp::http::encode_request(platform_header(), ucp::http::encode_body(e));
  for (const std::string& text : {request.dump(), request.dump(-1, ' ', true /* ASCII only */)}) {
    const auto back = decode_json(text);
    expect_same_event(back.event, e);
    EXPECT_EQ(back.header.send_cd, "B4113000000");
    EXPECT_EQ(back.header.rcv_cd, "B4119000000");
    EXPECT_EQ(back.header.sys_cd, "UCP");
    EXPECT_EQ(back.header.rr_key, "7f3c9a");
    EXPECT_EQ(back.header.req_date, "20240315093000");
    EXPECT_EQ(back.header.tran_sys_his, (Strings{"41130_112", "41190_UCP"}));
  }
}

TEST(HttpJsonCodec, EncodeBodyWritesDocumentedOrderOmitsEmptyFieldsAndUsesVal) {
  ucp::Event e;
  e.evt_id = "112UC001";
  e.evt_grad = "10";
  e.ocr_nbr = "20240315093000123";
  e.ocr_sts = "10";
  e.x = "127.0276";
  e.y = "37.4979";  // z left empty: written as "0"
  e.place = "강남대로 396";
  e.content = "폭행 신고";
  e.time = "20240315092955";
  e.sts_cd = "10";
  e.sts_dtl = "발생";
  e.usr_id = "U001";
  e.sts_time = "20240315093001";
  e.items = {{"IMAGE_SEND_TY_CD", "FTP"}};
  e.dtl_cd = "D01";
  EXPECT_EQ(ucp::http::encode_body(e).dump(),
            R"({"evtId":"112UC001","evtGrad":"10","ocrNbr":"20240315093000123","ocrSts":"10",)"
            R"("ocrLc":{"crdntX":"127.0276","crdntY":"37.4979","crdntZ":"0"},"ocrPlc":"강남대로 396",)"
            R"("ocrEvtCn":"폭행 신고","ocrEvtTime":"20240315092955",)"
            R"("ocrEvtSts":{"ocrEvtStsCd":"10","ocrEvtStsDtl":"발생"},"ocrEvtStsUsr":{"ocrEvtUsrId":"U001"},)"
            R"("ocrEvtStsTime":"20240315093001","ocrEvtItemCnt":"1","ocrEvtItem":[{"key":"IMAGE_SEND_TY_CD","val":"FTP"}],)"
            R"("ocrEvtDtl":{"ocrEvtDtlCd":"D01"}})");

  Strings keys;
  const Json full = ucp::http::encode_body(korean_event());
  for (auto it = full.begin(); it != full.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (Strings{"evtId", "evtNm", "evtGrad", "ocrNbr", "ocrSts", "ocrLc", "ocrPlc", "ocrEvtCn", "ocrEvtTime",
                           "ocrEvtSts", "ocrEvtStsUsr", "ocrEvtStsTime", "ocrEvtEndTime", "ocrEvtItemCnt", "ocrEvtItem",
                           "ocrEvtDtl"}));
  EXPECT_EQ(ucp::http::encode_body(ucp::Event{}).dump(), "{}");
}

TEST(HttpJsonCodec, EncodeRequestCountsBodyBytesAndWritesDocumentedEnvelope) {
  // {"ocrPlc":"강남"} is 13 ASCII bytes and two 3-byte characters: 19 bytes, 15 characters.
  const Json r = ucp::http::encode_request(platform_header(), Json::parse(R"({"ocrPlc":"강남"})"));
  EXPECT_EQ(text_at(r, "bodyLen"), "19");
  EXPECT_EQ(text_at(r, "hdCnt"), "14");
  EXPECT_EQ(text_at(r, "dtCnt"), "16");
  EXPECT_EQ(text_at(r, "svcTy"), "EVENT");
  EXPECT_EQ(text_at(r, "encAt"), "N");
  EXPECT_EQ(text_at(r, "tranTy"), "HTTP");
  EXPECT_EQ(text_at(r, "sendCd"), "B4113000000");
  EXPECT_EQ(text_at(r, "rcvCd"), "B4119000000");
  EXPECT_EQ(text_at(r, "sysCd"), "UCP");
  EXPECT_EQ(text_at(r, "rrKey"), "7f3c9a");
  EXPECT_EQ(text_at(r, "reqDate"), "20240315093000");
  EXPECT_EQ(r.at("tranSysHis").dump(), R"([{"tranSysHis":"41130_112"},{"tranSysHis":"41190_UCP"}])");
  EXPECT_EQ(r.at("body").dump(), R"({"ocrPlc":"강남"})");

  // encAt = Y: the body is the ciphertext text, and bodyLen its length.
  ucp::Header h = platform_header();
  h.enc_at = "Y";
  const Json y = ucp::http::encode_request(h, Json("mqfC7nF+RkuUND5Vo0DEWA=="));
  EXPECT_EQ(text_at(y, "encAt"), "Y");
  EXPECT_EQ(text_at(y, "bodyLen"), "24");
  EXPECT_EQ(text_at(y, "body"), "mqfC7nF+RkuUND5Vo0DEWA==");
}

TEST(HttpJsonCodec, DecodesResponsesResult0And1) {
  const auto ok = ucp::http::decode_response(
      R"({"startTag":"$DA","endTag":"$DB","finishTag":"$DF","result":"0","message":"a1b2c3-session"})");
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.result, "0");
  EXPECT_EQ(ok.message, "a1b2c3-session");
  const auto err = ucp::http::decode_response(
      R"({"startTag":"$DA","endTag":"$DB","finishTag":"$DF","result":"1","message":"invalid session"})");
  EXPECT_FALSE(err.ok);
  EXPECT_EQ(err.result, "1");
  EXPECT_EQ(err.message, "invalid session");
}

TEST(HttpJsonCodec, DecodeResponseRefusesWhatIsNotAResponse) {
  EXPECT_THROW(ucp::http::decode_response("<html>502 Bad Gateway</html>"), ucp::DecodeError);
  EXPECT_THROW(ucp::http::decode_response("[]"), ucp::DecodeError);
  const auto msg = decode_error([] { ucp::http::decode_response(R"({"startTag":"$DA","message":"x"})"); });
  EXPECT_TRUE(contains(msg, "result")) << msg;
  EXPECT_THROW(ucp::http::decode_response(R"({"result":"2","message":"x"})"), ucp::DecodeError);
}

TEST(HttpJsonCodec, RefusesTextThatIsNotJson) {
  auto msg = decode_error([] { decode_json(R"({"svcTy":"EVENT","body":{"evtId":)"); });
  EXPECT_TRUE(contains(msg, "not JSON")) << msg;
  msg = decode_error([] { decode_json("[1,2]"); });
  EXPECT_TRUE(contains(msg, "not a JSON object")) << msg;
}

TEST(HttpJsonCodec, RefusesRequestWithoutBody) {
  auto msg = decode_error([] { decode_json(R"({"svcTy":"EVENT","encAt":"N"})"); });
  EXPECT_TRUE(contains(msg, "no 'body'")) << msg;
  msg = decode_error([] { decode_json(R"({"svcTy":"EVENT","body":null})"); });
  EXPECT_TRUE(contains(msg, "no 'body'")) << msg;
}

TEST(HttpJsonCodec, RefusesOcrLcThatIsNotAnObject) {
  const auto msg = decode_error([] { decode_json(request_with_body(R"({"ocrLc":"127.0276,37.4979"})")); });
  EXPECT_TRUE(contains(msg, "ocrLc")) << msg;
  EXPECT_TRUE(contains(msg, "not an object")) << msg;
}

TEST(HttpJsonCodec, RefusesOcrEvtItemThatIsNotAList) {
  const auto msg =
      decode_error([] { decode_json(request_with_body(R"({"ocrEvtItem":{"key":"CAR_NUM","val":"12가3456"}})")); });
  EXPECT_TRUE(contains(msg, "ocrEvtItem")) << msg;
  EXPECT_TRUE(contains(msg, "not a list")) << msg;
}

TEST(HttpJsonCodec, RefusesInvalidUtf8) {
  // C3 28: a lead byte followed by '(' instead of a continuation byte.
  auto msg = decode_error([] { decode_json(request_with_body(std::string(R"({"ocrPlc":")") + "\xC3\x28" + R"("})")); });
  EXPECT_TRUE(contains(msg, "UTF-8")) << msg;
  // In a form post the bad byte only appears once the field is unescaped.
  msg = decode_error([] {
    ucp::http::decode_request("application/x-www-form-urlencoded", "svcTy=EVENT&body=%7B%22ocrPlc%22%3A%22%FF%22%7D");
  });
  EXPECT_TRUE(contains(msg, "body")) << msg;
  EXPECT_TRUE(contains(msg, "UTF-8")) << msg;
}

namespace {
const std::string kSecretPlain = R"({"evtId":"112UC001","ocrPlc":"강남대로 396"})";
std::string encrypted_request(const std::string& cipher) {
  return R"({"svcTy":"EVENT","sendCd":"B4113000000","encAt":"Y","body":")" + cipher + R"("})";
}
}  // namespace

TEST(HttpJsonCodec, RefusesEncryptedBodyWithoutADecryptFunction) {
  const std::string text = encrypted_request(ucp::aria::encrypt(kSecretPlain, "right-secret"));
  const auto msg = decode_error([&] { decode_json(text); });
  EXPECT_TRUE(contains(msg, "encAt=Y")) << msg;
  EXPECT_TRUE(contains(msg, "secret")) << msg;
}

TEST(HttpJsonCodec, RefusesEncryptedBodyWithTheWrongSecret) {
  const std::string text = encrypted_request(ucp::aria::encrypt(kSecretPlain, "right-secret"));
  const ucp::http::Decrypt wrong = [](const std::string& t) { return ucp::aria::decrypt(t, "wrong-secret"); };
  const auto msg = decode_error([&] { ucp::http::decode_request("application/json", text, wrong); });
  EXPECT_TRUE(contains(msg, "does not decrypt")) << msg;
}

TEST(HttpJsonCodec, DecodesEncryptedBodyWithTheRightSecret) {
  const std::string text = encrypted_request(ucp::aria::encrypt(kSecretPlain, "right-secret"));
  const ucp::http::Decrypt right = [](const std::string& t) { return ucp::aria::decrypt(t, "right-secret"); };
  const auto in = ucp::http::decode_request("application/json", text, right);
  EXPECT_EQ(in.header.enc_at, "Y");
  EXPECT_EQ(in.event.evt_id, "112UC001");
  EXPECT_EQ(in.event.place, "강남대로 396");
}

TEST(HttpJsonCodec, TelegramSeparatorLettersInTextRoundTripThroughJson) {
  // Ð Ñ Ò Ó are ordinary letters to JSON: nothing is replaced on this interface.
  const auto in = decode_json(request_with_body(R"({"ocrEvtCn":"a\u00d0b\u00d1c\u00d2d\u00d3e"})"));
  EXPECT_EQ(in.event.content, "a" TG_HEAD "b" TG_F "c" TG_E "d" TG_S "e");

  ucp::Event e = korean_event();
  e.content = "a" TG_HEAD "b" TG_F "c" TG_E "d" TG_S "e" TG_BODY TG_BODY_END TG_END;
  e.items[0].val = "v" TG_S "w";
  const auto back = decode_json(ucp::http::encode_request(platform_header(), ucp::http::encode_body(e)).dump());
  expect_same_event(back.event, e);
}

// ---- TCP telegram ----

namespace {

// Header fields up to dataLen: event, headCnt, bodyCnt, telegramOrder*, linkType, sendCode,
// receiveCode*, encryptYN, sendType, rrKey, reqDate.
const std::string kTgHead = "EVENT" TG_F "12" TG_F "17" TG_F "1" TG_E "1" TG_F "TCP" TG_F "B4113000000" TG_F
                            "B4119000000" TG_E "B4120000000" TG_F "N" TG_F "async" TG_F "RRKEY01" TG_F
                            "20240315093000" TG_F;
// The 17 body fields of korean_event(), sendHis last: 285 bytes.
const std::string kTgBody = "112UC001" TG_F "112 긴급영상지원" TG_F "10" TG_F "20240315093000123" TG_F "10" TG_F
                            "127.0276" TG_E "37.4979" TG_E "0" TG_F "강남대로 396" TG_F "폭행 신고 접수" TG_F
                            "20240315092955" TG_F "10" TG_E "발생" TG_F "U001" TG_E "홍길동" TG_F "20240315093001" TG_F
                            "20240315095959" TG_F "2" TG_F "OCCUR_FCLT_ID" TG_S "CCTV-0001" TG_E "IMAGE_SEND_TY_CD" TG_S
                            "FTP" TG_F "D01" TG_S "상세" TG_F "Seoul_112" TG_E "Seoul_UCP";

std::string tg_line(const std::string& head, const std::string& data_len, const std::string& body) {
  return head + data_len + TG_HEAD TG_BODY + body + TG_BODY_END TG_END "\n";
}

// A hand-built line whose content field (index 7) is `content`, dataLen counted.
std::string tg_with_content(const std::string& content) {
  const std::string body = std::string("112UC001" TG_F TG_F "10" TG_F "20240315093000123" TG_F "10" TG_F "127.0276" TG_E
                                       "37.4979" TG_E "0" TG_F "강남대로 396" TG_F) +
                           content + TG_F "20240315092955" TG_F "10" TG_E "발생" TG_F TG_F TG_F TG_F "0" TG_F TG_F TG_F;
  return tg_line(kTgHead, std::to_string(body.size()), body);
}

// A line of exactly `target` characters, LF included: 100 Korean letters (300 bytes)
// then ASCII until it is long enough.
std::string tg_line_of_chars(std::size_t target) {
  const std::string korean = repeat("가", 100);
  for (std::string fill;; fill += 'x') {
    std::string line = tg_with_content(korean + fill);
    if (chars(line) >= target) return line;
  }
}

}  // namespace

TEST(TelegramCodec, DecodesEveryFieldOfAHandWrittenLine) {
  ASSERT_EQ(kTgBody.size(), 285u);
  const std::string line = kTgHead + "285" TG_HEAD TG_BODY + kTgBody + TG_BODY_END TG_END "\n";
  const ucp::Inbound in = ucp::telegram::decode(line);
  EXPECT_EQ(in.header.svc_ty, "EVENT");
  EXPECT_EQ(in.header.send_cd, "B4113000000");
  EXPECT_EQ(in.header.rcv_cd, "B4119000000");  // the first receiver of the array
  EXPECT_EQ(in.header.enc_at, "N");
  EXPECT_EQ(in.header.rr_key, "RRKEY01");
  EXPECT_EQ(in.header.req_date, "20240315093000");
  EXPECT_EQ(in.header.tran_sys_his, (Strings{"Seoul_112", "Seoul_UCP"}));
  expect_same_event(in.event, korean_event());
  EXPECT_TRUE(in.notes.empty());  // eventItemCnt 2 matches the two items
}

TEST(TelegramCodec, AcceptsCrLfAndALineWithoutNewline) {
  std::string bare = tg_line(kTgHead, "285", kTgBody);
  bare.pop_back();  // the LF
  expect_same_event(ucp::telegram::decode(bare + "\r\n").event, korean_event());
  expect_same_event(ucp::telegram::decode(bare).event, korean_event());
}

TEST(TelegramCodec, EncodeDecodeRoundTripKeepsKoreanTextAndItems) {
  const ucp::Event e = korean_event();
  const std::string line = ucp::telegram::encode(platform_header(), e);
  ASSERT_GE(line.size(), 7u);
  EXPECT_EQ(line.substr(line.size() - 5), TG_BODY_END TG_END "\n");
  const auto in = ucp::telegram::decode(line);
  expect_same_event(in.event, e);
  EXPECT_EQ(in.header.svc_ty, "EVENT");
  EXPECT_EQ(in.header.send_cd, "B4113000000");
  EXPECT_EQ(in.header.rcv_cd, "B4119000000");
  EXPECT_EQ(in.header.enc_at, "N");
  EXPECT_EQ(in.header.rr_key, "7f3c9a");
  EXPECT_EQ(in.header.req_date, "20240315093000");
  EXPECT_EQ(in.header.tran_sys_his, (Strings{"41130_112", "41190_UCP"}));
  EXPECT_TRUE(in.notes.empty());
}

TEST(TelegramCodec, ALineOfExactly512CharactersIsAccepted) {
  const std::string line = tg_line_of_chars(512);
  ASSERT_EQ(chars(line), 512u);
  EXPECT_EQ(ucp::telegram::char_count(line), 512u);
  EXPECT_GT(line.size(), 512u);  // bytes: the limit counts characters, not bytes
  const auto in = ucp::telegram::decode(line);
  EXPECT_EQ(in.event.place, "강남대로 396");
  EXPECT_EQ(in.event.content.substr(0, 6), "가가");
}

TEST(TelegramCodec, ALineOf513CharactersIsRefusedWithTheDocumentedText) {
  const std::string line = tg_line_of_chars(513);
  ASSERT_EQ(chars(line), 513u);
  EXPECT_EQ(decode_error([&] { ucp::telegram::decode(line); }), std::string(ucp::telegram::kTooLong));
}

TEST(TelegramCodec, EncodeCountsCharactersAndRefusesATooLongEvent) {
  ucp::Event e = korean_event();
  e.content = repeat("가", 150);  // 450 bytes, but the line stays under 512 characters
  const std::string line = ucp::telegram::encode(platform_header(), e);
  EXPECT_GT(line.size(), 512u);
  EXPECT_LE(chars(line), 512u);
  EXPECT_EQ(ucp::telegram::decode(line).event.content, e.content);

  e.content = repeat("가", 500);
  EXPECT_THROW(ucp::telegram::encode(platform_header(), e), ucp::DecodeError);
}

TEST(TelegramCodec, EncodeReplacesSeparatorLettersInValuesWithReplacementCharacter) {
  ucp::Event e = korean_event();
  e.content = "A" TG_HEAD "B" TG_F "C" TG_E "D" TG_S "E" TG_BODY "F" TG_BODY_END "G" TG_END "H";
  e.place = "x" TG_F "y";
  e.items[0].val = "v" TG_S "w";
  ucp::Header h = platform_header();
  h.rr_key = "k" TG_HEAD "1";
  const auto in = ucp::telegram::decode(ucp::telegram::encode(h, e));  // still 12 + 17 fields
  EXPECT_EQ(in.event.content, "A" REPL "B" REPL "C" REPL "D" REPL "E" REPL "F" REPL "G" REPL "H");
  EXPECT_EQ(in.event.place, "x" REPL "y");
  EXPECT_EQ(pairs(in.event.items), (KV{{"OCCUR_FCLT_ID", "v" REPL "w"}, {"IMAGE_SEND_TY_CD", "FTP"}}));
  EXPECT_EQ(in.header.rr_key, "k" REPL "1");
  EXPECT_EQ(in.event.evt_id, "112UC001");
  EXPECT_EQ(in.event.time, "20240315092955");  // the fields after the content did not shift
}

TEST(TelegramCodec, RawFieldSeparatorInContentGivesEighteenFields) {
  const auto msg = decode_error([] { ucp::telegram::decode(tg_with_content("폭행" TG_F "신고")); });
  EXPECT_TRUE(contains(msg, "18")) << msg;
  EXPECT_TRUE(contains(msg, "17")) << msg;
}

TEST(TelegramCodec, RefusesTooFewHeaderFields) {
  // sendType ("async") left out: 11 fields.
  const std::string head11 = "EVENT" TG_F "12" TG_F "17" TG_F "1" TG_E "1" TG_F "TCP" TG_F "B4113000000" TG_F
                             "B4119000000" TG_F "N" TG_F "RRKEY01" TG_F "20240315093000" TG_F;
  const auto msg = decode_error([&] { ucp::telegram::decode(tg_line(head11, "285", kTgBody)); });
  EXPECT_TRUE(contains(msg, "header has 11 fields")) << msg;
  EXPECT_TRUE(contains(msg, "12")) << msg;
}

TEST(TelegramCodec, RefusesTooFewBodyFields) {
  const std::string body16 = kTgBody.substr(0, kTgBody.rfind(TG_F));  // sendHis dropped
  const std::string line = tg_line(kTgHead, std::to_string(body16.size()), body16);
  const auto msg = decode_error([&] { ucp::telegram::decode(line); });
  EXPECT_TRUE(contains(msg, "body has 16 fields")) << msg;
  EXPECT_TRUE(contains(msg, "17")) << msg;
}

TEST(TelegramCodec, RefusesAWrongDataLen) {
  auto msg = decode_error([] { ucp::telegram::decode(tg_line(kTgHead, "284", kTgBody)); });
  EXPECT_TRUE(contains(msg, "dataLen")) << msg;
  EXPECT_TRUE(contains(msg, "284")) << msg;
  msg = decode_error([] { ucp::telegram::decode(tg_line(kTgHead, "26x", kTgBody)); });
  EXPECT_TRUE(contains(msg, "dataLen")) << msg;
}

TEST(TelegramCodec, AcceptsDataLenCountedWithOrWithoutTheMarkers) {
  // 285 bytes of fields; 291 with the body-start, body-end and end markers (2 bytes each).
  EXPECT_EQ(ucp::telegram::decode(tg_line(kTgHead, "285", kTgBody)).event.evt_id, "112UC001");
  EXPECT_EQ(ucp::telegram::decode(tg_line(kTgHead, "291", kTgBody)).event.evt_id, "112UC001");
}

TEST(TelegramCodec, RefusesInvalidUtf8) {
  const auto msg = decode_error([] { ucp::telegram::decode(tg_with_content("bad \xFF byte")); });
  EXPECT_TRUE(contains(msg, "UTF-8")) << msg;
}

TEST(TelegramCodec, AcknowledgementsAreTheDocumentedText) {
  EXPECT_EQ(ucp::telegram::ack_ok(), "0;\n");
  EXPECT_EQ(ucp::telegram::ack_error("x"), "1x;\n");
  // A ';' or a newline would end the acknowledgement early.
  EXPECT_EQ(ucp::telegram::ack_error("bad;field\nhere\r"), "1bad field here ;\n");
}

// ---- Legacy fixed header ----

namespace {

// MSG_TYP_CD(2) STA_TYP_CD(2) MSG_STA_DTM(14) SND_SYS_CD(3) RCV_SYS_CD(3) SND_DTM(14) DATA_LEN(10)
const std::string kHead112 = "10" "10" "20240315093000" "112" "UCP" "20240315093001" "0000000118";
const std::string kBody112 = "20240315000123" LG_RS "C0" LG_RS "폭행" LG_RS "127.0276" LG_RS "37.4979" LG_RS
                             "서울특별시 강남구 강남대로 396" LG_RS "1168010100" LG_RS "20240315092955" LG_RS "P0001" LG_RS ";";

}  // namespace

TEST(LegacyCodec, Decodes112IncidentAndMapsItToAnEvent) {
  ASSERT_EQ(kHead112.size(), 48u);
  ASSERT_EQ(kBody112.size(), 118u);
  const auto m = ucp::legacy::decode(kHead112 + kBody112);
  EXPECT_EQ(m.header.msg_type, "10");
  EXPECT_EQ(m.header.status, "10");
  EXPECT_EQ(m.header.msg_time, "20240315093000");
  EXPECT_EQ(m.header.sender, "112");
  EXPECT_EQ(m.header.receiver, "UCP");
  EXPECT_EQ(m.header.send_time, "20240315093001");
  EXPECT_EQ(m.header.data_len, 118u);
  ASSERT_EQ(m.fields.size(), 9u);
  EXPECT_EQ(m.fields[5], (Strings{"서울특별시 강남구 강남대로 396"}));

  const ucp::Event e = ucp::legacy::to_event(m);
  EXPECT_EQ(e.evt_id, "112UC001");
  EXPECT_EQ(e.ocr_nbr, "20240315000123");
  EXPECT_EQ(e.evt_grad, "C0");  // verbatim: grades are the bridge's to map
  EXPECT_EQ(e.ocr_sts, "10");
  EXPECT_EQ(e.x, "127.0276");
  EXPECT_EQ(e.y, "37.4979");
  EXPECT_EQ(e.z, "0");
  EXPECT_EQ(e.place, "서울특별시 강남구 강남대로 396");
  EXPECT_EQ(e.time, "20240315092955");
  EXPECT_EQ(e.usr_id, "P0001");
  EXPECT_EQ(pairs(e.items), (KV{{"CASE_NO", "20240315000123"},
                                {"GRADE", "C0"},
                                {"INCIDENT_TYPE", "폭행"},
                                {"LON", "127.0276"},
                                {"LAT", "37.4979"},
                                {"ADDRESS", "서울특별시 강남구 강남대로 396"},
                                {"REGION_CD", "1168010100"},
                                {"EVT_DTM", "20240315092955"},
                                {"USER_ID", "P0001"}}));
}

TEST(LegacyCodec, The112MessageTypeChoosesTheEventCode) {
  // 10 incident, 20 dispatch, 30 lead-vehicle position.
  EXPECT_EQ(ucp::legacy::to_event(ucp::legacy::decode("10" + kHead112.substr(2) + kBody112)).evt_id, "112UC001");
  EXPECT_EQ(ucp::legacy::to_event(ucp::legacy::decode("20" + kHead112.substr(2) + kBody112)).evt_id, "112UC120");
  EXPECT_EQ(ucp::legacy::to_event(ucp::legacy::decode("30" + kHead112.substr(2) + kBody112)).evt_id, "112UC110");
}

TEST(LegacyCodec, Decodes119DispatchAndMapsItToAnEvent) {
  const std::string msg = "10" "10" "20240315101500" "119" "UCP" "20240315101501" "0000000120"
                          "2024031511900001" LG_RS "화재" LG_RS "주택" LG_RS "126.9780" LG_RS "37.5665" LG_RS
                          "서울특별시 중구 세종대로 110" LG_RS "1114010300" LG_RS "20240315101500" LG_RS "F119" LG_RS ";";
  const auto m = ucp::legacy::decode(msg);
  EXPECT_EQ(m.header.sender, "119");
  ASSERT_EQ(m.fields.size(), 9u);
  const ucp::Event e = ucp::legacy::to_event(m);
  EXPECT_EQ(e.evt_id, "119UC001");
  EXPECT_EQ(e.ocr_nbr, "2024031511900001");
  EXPECT_EQ(e.evt_grad, "10");  // 119 sends no grade
  EXPECT_EQ(e.x, "126.9780");
  EXPECT_EQ(e.y, "37.5665");
  EXPECT_EQ(e.place, "서울특별시 중구 세종대로 110");
  EXPECT_EQ(e.time, "20240315101500");
  EXPECT_EQ(e.usr_id, "F119");
  EXPECT_EQ(pairs(e.items), (KV{{"TRANS_NO", "2024031511900001"},
                                {"EVT_TYPE", "화재"},
                                {"EVT_SUB_TYPE", "주택"},
                                {"LON", "126.9780"},
                                {"LAT", "37.5665"},
                                {"ADDRESS", "서울특별시 중구 세종대로 110"},
                                {"BJD_CD", "1114010300"},
                                {"EVT_DTM", "20240315101500"},
                                {"SENDER_ID", "F119"}}));
}

TEST(LegacyCodec, DecodesSociallyVulnerableMessageWithArrays) {
  const std::string msg = "10" "10" "20240315110000" "DSC" "UCP" "20240315110001" "0000000238"
                          "DSC2024031500007" LG_RS "01" LG_RS "127.1000" LG_RS "37.5000" LG_RS
                          "서울특별시 송파구 올림픽로 300" LG_RS "1171010100" LG_RS "R77" LG_RS "김민수" LG_RS
                          "01012345678" LG_RS "19400101" LG_RS "M" LG_RS "서울 송파구" LG_US "서울 강동구" LG_RS
                          "김보호" LG_US "이보호" LG_RS "01011112222" LG_US "01033334444" LG_RS "20240315110000" LG_RS
                          "" LG_RS "치매" LG_RS "" LG_RS "WP1SYS" LG_RS ";";
  const auto m = ucp::legacy::decode(msg);
  ASSERT_EQ(m.fields.size(), 19u);
  EXPECT_EQ(m.fields[12], (Strings{"김보호", "이보호"}));
  EXPECT_EQ(m.fields[15], (Strings{""}));
  const ucp::Event e = ucp::legacy::to_event(m);
  EXPECT_EQ(e.evt_id, "WPSSF110");
  EXPECT_EQ(e.ocr_nbr, "DSC2024031500007");
  EXPECT_EQ(e.x, "127.1000");
  EXPECT_EQ(e.y, "37.5000");
  EXPECT_EQ(e.place, "서울특별시 송파구 올림픽로 300");
  EXPECT_EQ(e.time, "20240315110000");
  EXPECT_EQ(e.usr_id, "WP1SYS");
  // Empty fields (IMAGE, NOTE) are left out; an array's further elements are NAME.2.
  EXPECT_EQ(pairs(e.items), (KV{{"SEND_NUM", "DSC2024031500007"},
                                {"SVC_TYP", "01"},
                                {"EVT_LON", "127.1000"},
                                {"EVT_LAT", "37.5000"},
                                {"EVT_ADDR", "서울특별시 송파구 올림픽로 300"},
                                {"EVT_BJD", "1171010100"},
                                {"REF_ID", "R77"},
                                {"DSC_NM", "김민수"},
                                {"DSC_PHONE", "01012345678"},
                                {"DSC_BIRTH", "19400101"},
                                {"DSC_SEX", "M"},
                                {"DSC_ADDR", "서울 송파구"},
                                {"DSC_ADDR.2", "서울 강동구"},
                                {"GUARD_NM", "김보호"},
                                {"GUARD_NM.2", "이보호"},
                                {"GUARD_PHONE", "01011112222"},
                                {"GUARD_PHONE.2", "01033334444"},
                                {"EVT_DTM", "20240315110000"},
                                {"INFO", "치매"},
                                {"SENDER_ID", "WP1SYS"}}));
}

TEST(LegacyCodec, EncodeRightJustifiesHeaderFieldsAndZeroPadsDataLen) {
  ucp::legacy::Message m;
  m.header.msg_type = "10";
  m.header.status = "9";
  m.header.msg_time = "";
  m.header.sender = "112";
  m.header.receiver = "UCP";
  m.header.send_time = "20240315093001";
  m.fields.push_back(Strings{"a"});
  const std::string want = std::string("10 9") + std::string(14, ' ') + "112UCP20240315093001" "0000000003" "a" LG_RS ";";
  EXPECT_EQ(ucp::legacy::encode(m), want);
  const auto back = ucp::legacy::decode(want);
  EXPECT_EQ(back.header.status, "9");
  EXPECT_EQ(back.header.msg_time, "");
}

TEST(LegacyCodec, AcceptsDataLenWithoutTheClosingSemicolonOrSpacePadded) {
  EXPECT_EQ(ucp::legacy::decode(kHead112.substr(0, 38) + "0000000117" + kBody112).fields.size(), 9u);
  EXPECT_EQ(ucp::legacy::decode(kHead112.substr(0, 38) + "       118" + kBody112).fields.size(), 9u);
}

TEST(LegacyCodec, RefusesADataLenThatDoesNotMatchTheBody) {
  auto msg = decode_error([] { ucp::legacy::decode(kHead112.substr(0, 38) + "0000000130" + kBody112); });
  EXPECT_TRUE(contains(msg, "DATA_LEN")) << msg;
  EXPECT_TRUE(contains(msg, "118")) << msg;
  msg = decode_error([] { ucp::legacy::decode(kHead112.substr(0, 38) + "0000000100" + kBody112); });
  EXPECT_TRUE(contains(msg, "DATA_LEN")) << msg;
}

TEST(LegacyCodec, RefusesADataLenThatIsNotANumber) {
  const auto msg = decode_error([] { ucp::legacy::decode(kHead112.substr(0, 38) + "00000001x8" + kBody112); });
  EXPECT_TRUE(contains(msg, "DATA_LEN")) << msg;
  EXPECT_TRUE(contains(msg, "not a number")) << msg;
}

TEST(LegacyCodec, RefusesADataLenAboveTheLimitBeforeReadingTheBody) {
  // The header alone: the limit is checked before any body is waited for.
  const auto msg = decode_error([] { ucp::legacy::decode_header(kHead112.substr(0, 38) + "0000065537"); });
  EXPECT_TRUE(contains(msg, "DATA_LEN")) << msg;
  EXPECT_TRUE(contains(msg, std::to_string(ucp::legacy::kMaxBody))) << msg;
  EXPECT_THROW(ucp::legacy::decode(kHead112.substr(0, 38) + "0000065537"), ucp::DecodeError);
}

TEST(LegacyCodec, RefusesANonAsciiOrShortHeader) {
  std::string head = kHead112;
  head[5] = '\xEC';
  const auto msg = decode_error([&] { ucp::legacy::decode(head + kBody112); });
  EXPECT_TRUE(contains(msg, "ASCII")) << msg;
  EXPECT_THROW(ucp::legacy::decode_header("1010"), ucp::DecodeError);
}

TEST(LegacyCodec, RefusesA112MessageWithTheWrongFieldCount) {
  // USER_ID left out: 8 fields, 112 bytes.
  const std::string body8 = "20240315000123" LG_RS "C0" LG_RS "폭행" LG_RS "127.0276" LG_RS "37.4979" LG_RS
                            "서울특별시 강남구 강남대로 396" LG_RS "1168010100" LG_RS "20240315092955" LG_RS ";";
  const auto m = ucp::legacy::decode(kHead112.substr(0, 38) + "0000000112" + body8);
  ASSERT_EQ(m.fields.size(), 8u);
  const auto msg = decode_error([&] { ucp::legacy::to_event(m); });
  EXPECT_TRUE(contains(msg, "has 9")) << msg;
  EXPECT_TRUE(contains(msg, "has 8")) << msg;
}

TEST(LegacyCodec, RefusesAnUnknownSenderSystem) {
  const auto m = ucp::legacy::decode("10" "10" "20240315093000" "SKT" "UCP" "20240315093001" "0000000118" + kBody112);
  EXPECT_EQ(m.header.sender, "SKT");
  const auto msg = decode_error([&] { ucp::legacy::to_event(m); });
  EXPECT_TRUE(contains(msg, "SKT")) << msg;
}

TEST(LegacyCodec, EncodeDecodeRoundTrip) {
  ucp::legacy::Message m;
  m.header.msg_type = "20";
  m.header.status = "40";
  m.header.msg_time = "20240315110000";
  m.header.sender = "DSC";
  m.header.receiver = "UCP";
  m.header.send_time = "20240315110001";
  m.fields = {Strings{"DSC2024031500007"}, Strings{"서울 송파구", "서울 강동구"}, Strings{""}, Strings{"치매"}};
  const std::string wire = ucp::legacy::encode(m);
  const auto back = ucp::legacy::decode(wire);
  EXPECT_EQ(back.header.msg_type, "20");
  EXPECT_EQ(back.header.status, "40");
  EXPECT_EQ(back.header.msg_time, "20240315110000");
  EXPECT_EQ(back.header.sender, "DSC");
  EXPECT_EQ(back.header.receiver, "UCP");
  EXPECT_EQ(back.header.send_time, "20240315110001");
  EXPECT_EQ(back.header.data_len, wire.size() - ucp::legacy::kHeaderBytes);
  EXPECT_EQ(back.fields, m.fields);
}

TEST(LegacyCodec, ResponseIs102BytesPaddedWithSpaces) {
  const std::string r = ucp::legacy::response(true, "ok");
  EXPECT_EQ(r, "0ok" + std::string(98, ' ') + ";");
  EXPECT_EQ(r.size(), ucp::legacy::kResponseBytes);
  EXPECT_EQ(ucp::legacy::response(false, std::string(150, 'e')), "1" + std::string(100, 'e') + ";");
}

TEST(LegacyCodec, ResponseCutsALongKoreanMessageAtACharacterBoundary) {
  // 40 letters, 120 bytes: 33 whole letters fit in 100 bytes; the 34th would be split.
  const std::string r = ucp::legacy::response(false, repeat("가", 40));
  EXPECT_EQ(r.size(), 102u);
  EXPECT_EQ(r, "1" + repeat("가", 33) + " ;");
  EXPECT_TRUE(ucp::valid_utf8(r));
}

TEST(LegacyCodec, DecodesA102ByteAnswer) {
  const auto ok = ucp::legacy::decode_response("0" "accepted" + std::string(92, ' ') + ";");
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(ok->message, "accepted");
  const auto err = ucp::legacy::decode_response("1" "no such case" + std::string(88, ' ') + ";");
  ASSERT_TRUE(err.has_value());
  EXPECT_FALSE(err->ok);
  EXPECT_EQ(err->message, "no such case");
  EXPECT_FALSE(ucp::legacy::decode_response("0;").has_value());
  EXPECT_FALSE(ucp::legacy::decode_response("2" + std::string(100, ' ') + ";").has_value());
}

// ---- ARIA (encAt = Y) ----

TEST(AriaCodec, MatchesTheRfc5794KnownAnswerForAria256) {
  const std::string key = from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  EXPECT_EQ(ucp::aria::encrypt_blocks(key, from_hex("00112233445566778899aabbccddeeff")),
            from_hex("f92bd7c79fb72e2f2b8f80c1972d24fc"));
}

TEST(AriaCodec, KeyFromSecretPadsWithX923AndCutsAt32) {
  // X9.23: zero bytes, the last one the number of bytes added.
  EXPECT_EQ(ucp::aria::key_from_secret("right-secret"), std::string("right-secret") + std::string(19, '\0') + '\x14');
  EXPECT_EQ(ucp::aria::key_from_secret(""), std::string(31, '\0') + '\x20');
  const std::string forty = "0123456789abcdefghijABCDEFGHIJ!@#$%^&*()";
  ASSERT_EQ(forty.size(), 40u);
  EXPECT_EQ(ucp::aria::key_from_secret(forty), forty.substr(0, 32));
  EXPECT_EQ(ucp::aria::key_from_secret(forty.substr(0, 32)), forty.substr(0, 32));
}

TEST(AriaCodec, MatchesCiphertextMadeWithTheOpensslCommandLine) {
  // `openssl enc -aria-256-ecb -nopad -K <key>` over input padded by hand (X9.23), the key
  // being "right-secret" padded as above.
  EXPECT_EQ(ucp::aria::encrypt("", "right-secret"), "mqfC7nF+RkuUND5Vo0DEWA==");
  EXPECT_EQ(ucp::aria::encrypt(kSecretPlain, "right-secret"),
            "k/m/NC7nNq3e5UTss/NiVFX7YUMxtJwTbAYxeEmLNxtyxJ7PCENyTomQNBssw7RkmqfC7nF+RkuUND5Vo0DEWA==");
  EXPECT_EQ(lower(ucp::aria::encrypt("", "right-secret", ucp::aria::TextForm::hex)), "9aa7c2ee717e464b94343e55a340c458");
  const auto plain = ucp::aria::decrypt("9aa7c2ee717e464b94343e55a340c458", "right-secret", ucp::aria::TextForm::hex);
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(*plain, "");
}

TEST(AriaCodec, EncryptDecryptRoundTripsInBase64AndHex) {
  for (const auto form : {ucp::aria::TextForm::base64, ucp::aria::TextForm::hex}) {
    for (const std::string& plain : {std::string(), std::string("0123456789abcdef"), std::string("강남대로 396 발생"),
                                     kSecretPlain}) {
      const std::string cipher = ucp::aria::encrypt(plain, "right-secret", form);
      const auto back = ucp::aria::decrypt(cipher, "right-secret", form);
      ASSERT_TRUE(back.has_value()) << plain;
      EXPECT_EQ(*back, plain);
    }
  }
}

TEST(AriaCodec, X923AddsAWholeBlockToAFullBlock) {
  const std::string hex = lower(ucp::aria::encrypt("0123456789abcdef", "right-secret", ucp::aria::TextForm::hex));
  EXPECT_EQ(hex.size(), 64u);  // 16 bytes of text + 16 of padding
  // ECB: the second block is the padding block alone, the ciphertext of "".
  EXPECT_EQ(hex.substr(32), lower(ucp::aria::encrypt("", "right-secret", ucp::aria::TextForm::hex)));
  EXPECT_EQ(ucp::aria::encrypt("0123456789abcdef", "right-secret").size(), 44u);  // base64 of 32 bytes
}

TEST(AriaCodec, WrongSecretOrGarbageDoesNotDecrypt) {
  const std::string cipher = ucp::aria::encrypt(kSecretPlain, "right-secret");
  EXPECT_FALSE(ucp::aria::decrypt(cipher, "wrong-secret").has_value());
  EXPECT_FALSE(ucp::aria::decrypt(cipher, "right-secreT").has_value());
  const std::string hex = ucp::aria::encrypt("강남대로 396 발생", "right-secret", ucp::aria::TextForm::hex);
  EXPECT_FALSE(ucp::aria::decrypt(hex, "wrong-secret", ucp::aria::TextForm::hex).has_value());

  EXPECT_FALSE(ucp::aria::decrypt("this is not ciphertext", "right-secret").has_value());
  EXPECT_FALSE(ucp::aria::decrypt("not base64!!", "right-secret").has_value());
  EXPECT_FALSE(ucp::aria::decrypt("AAAA", "right-secret").has_value());  // 3 bytes: not whole blocks
  EXPECT_FALSE(ucp::aria::decrypt("", "right-secret").has_value());
  EXPECT_FALSE(ucp::aria::decrypt("zz", "right-secret", ucp::aria::TextForm::hex).has_value());
  EXPECT_FALSE(ucp::aria::decrypt("abc", "right-secret", ucp::aria::TextForm::hex).has_value());
}

// ---- Seoul time stamps ----

TEST(SeoulTime, TheEpochIsNineInTheMorningInSeoul) {
  EXPECT_EQ(ucp::seoul_time(0), "19700101090000");
  const auto t = ucp::parse_seoul_time("19700101090000");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, 0);
}

TEST(SeoulTime, RoundTripsAndDropsFractionsOfASecond) {
  const int64_t ns = int64_t{1710462600} * 1'000'000'000;  // 2024-03-15 00:30:00 UTC
  EXPECT_EQ(ucp::seoul_time(ns), "20240315093000");
  EXPECT_EQ(ucp::seoul_time(ns + 999'999'999), "20240315093000");
  const auto back = ucp::parse_seoul_time("20240315093000");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, ns);
  EXPECT_EQ(ucp::seoul_time(*back), "20240315093000");
}

TEST(SeoulTime, RefusesMalformedStamps) {
  for (const char* bad : {"1970010109000", "197001010900000", "1970010109000a", "19701301090000", "19700100090000",
                          "19700101240000", ""}) {
    EXPECT_FALSE(ucp::parse_seoul_time(bad).has_value()) << bad;
  }
}
