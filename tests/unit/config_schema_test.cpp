#include <citylink/host/config_schema.hpp>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace citylink::host;
using nlohmann::json;

namespace {

// Each violation as "path: message" ("message" alone at the root), so a test states exactly
// what a user would read.
std::vector<std::string> check(const json& schema, const json& config, std::vector<std::string>* ignored = nullptr) {
  std::vector<std::string> out;
  for (const auto& v : validate_config(schema, config, ignored))
    out.push_back(v.path.empty() ? v.message : v.path + ": " + v.message);
  return out;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST(ConfigSchema, SchemaThatIsNotAnObjectAcceptsEverything) {
  for (const json& schema : {json(), json(false), json("object"), json(42), json::array({"type"})}) {
    EXPECT_TRUE(check(schema, json{{"anything", 1}}).empty()) << schema.dump();
    EXPECT_TRUE(check(schema, json("text")).empty()) << schema.dump();
  }
  EXPECT_TRUE(check(json::object(), json{{"a", 1}}).empty());
}

TEST(ConfigSchema, TypeAcceptsAndRefuses) {
  EXPECT_TRUE(check({{"type", "object"}}, json::object()).empty());
  EXPECT_TRUE(check({{"type", "string"}}, "rtsp").empty());
  EXPECT_TRUE(check({{"type", "boolean"}}, false).empty());
  EXPECT_EQ(check({{"type", "integer"}}, "5"), Lines{"is a string, expected an integer"});
  EXPECT_EQ(check({{"type", "object"}}, json::array()), Lines{"is an array, expected an object"});
  const json either = {{"type", {"string", "null"}}};
  EXPECT_TRUE(check(either, nullptr).empty());
  EXPECT_TRUE(check(either, "x").empty());
  EXPECT_EQ(check(either, 3), Lines{"is an integer, expected a string or null"});
  EXPECT_EQ(check({{"type", "int"}}, 3).size(), 1u);  // an unknown type name is a schema error, not a pass
}

TEST(ConfigSchema, IntegerIsANumberWithoutFraction) {
  const json integer = {{"type", "integer"}};
  EXPECT_TRUE(check(integer, 5).empty());
  EXPECT_TRUE(check(integer, -3).empty());
  EXPECT_TRUE(check(integer, 5.0).empty());
  EXPECT_EQ(check(integer, 1.5), Lines{"is a number, expected an integer"});
  const json number = {{"type", "number"}};
  EXPECT_TRUE(check(number, 1.5).empty());
  EXPECT_TRUE(check(number, 7).empty());
  EXPECT_EQ(check(number, true), Lines{"is a boolean, expected a number"});
}

TEST(ConfigSchema, NumericBounds) {
  const json range = {{"minimum", 1}, {"maximum", 10}};
  EXPECT_TRUE(check(range, 1).empty());
  EXPECT_TRUE(check(range, 10).empty());
  EXPECT_EQ(check(range, 0), Lines{"is 0, below the minimum 1"});
  EXPECT_EQ(check(range, 10.5), Lines{"is 10.5, above the maximum 10"});
  const json open = {{"exclusiveMinimum", 0}, {"exclusiveMaximum", 10}};
  EXPECT_TRUE(check(open, 0.5).empty());
  EXPECT_EQ(check(open, 0), Lines{"is 0, not above the exclusive minimum 0"});
  EXPECT_EQ(check(open, 10), Lines{"is 10, not below the exclusive maximum 10"});
  EXPECT_TRUE(check(range, "0").empty());  // bounds apply to numbers only; `type` refuses strings
}

TEST(ConfigSchema, StringLengthCountsCodePoints) {
  const json schema = {{"minLength", 2}, {"maxLength", 3}};
  EXPECT_TRUE(check(schema, "ab").empty());
  EXPECT_TRUE(check(schema, "서울역").empty());  // 3 code points, 9 bytes
  EXPECT_EQ(check(schema, "a"), Lines{R"(is "a" (1 character), shorter than the minimum length 2)"});
  EXPECT_EQ(check(schema, "abcd"), Lines{R"(is "abcd" (4 characters), longer than the maximum length 3)"});
}

TEST(ConfigSchema, PatternSearchesAndBadPatternIsReportedNotThrown) {
  const json rtsp = {{"pattern", "^rtsp://"}};
  EXPECT_TRUE(check(rtsp, "rtsp://cam-7/live").empty());
  EXPECT_EQ(check(rtsp, "http://cam-7"), Lines{R"(is "http://cam-7", which does not match the pattern '^rtsp://')"});
  EXPECT_TRUE(check({{"pattern", "[0-9]+"}}, "port8554").empty());  // unanchored, as JSON Schema says

  std::vector<std::string> out;
  EXPECT_NO_THROW(out = check({{"pattern", "(unclosed"}}, "x"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find("'(unclosed' is not a valid regular expression"), std::string::npos) << out[0];
}

TEST(ConfigSchema, EnumAndConst) {
  const json mode = {{"enum", {"rtsp", "http"}}};
  EXPECT_TRUE(check(mode, "http").empty());
  EXPECT_EQ(check(mode, "ftp"), Lines{R"(is not one of "rtsp", "http")"});
  EXPECT_TRUE(check({{"enum", {1, 2}}}, 2.0).empty());  // JSON numbers compare by value
  EXPECT_TRUE(check({{"const", "v1"}}, "v1").empty());
  EXPECT_EQ(check({{"const", "v1"}}, "v2"), Lines{R"(is "v2", expected the constant "v1")"});
}

TEST(ConfigSchema, PropertiesRequiredAndNestedPaths) {
  const json schema = {
      {"type", "object"},
      {"required", {"camera"}},
      {"properties",
       {{"camera", {{"type", "object"}, {"required", {"host"}}, {"properties", {{"port", {{"type", "integer"}}}}}}}}}};
  EXPECT_TRUE(check(schema, {{"camera", {{"host", "10.0.0.7"}, {"port", 554}}}}).empty());
  EXPECT_EQ(check(schema, json::object()), Lines{"missing required field 'camera'"});
  EXPECT_EQ(check(schema, {{"camera", {{"port", "554"}}}}),
            (Lines{"/camera: missing required field 'host'", "/camera/port: is a string, expected an integer"}));
}

TEST(ConfigSchema, PathsEscapeTildeAndSlash) {
  const json schema = {{"properties", {{"a/b", {{"type", "integer"}}}, {"m~n", {{"type", "integer"}}}}}};
  EXPECT_EQ(check(schema, {{"a/b", "x"}, {"m~n", "y"}}),
            (Lines{"/a~1b: is a string, expected an integer", "/m~0n: is a string, expected an integer"}));
}

TEST(ConfigSchema, AdditionalPropertiesFalseNamesUnknownAndAllowedFields) {
  const json schema = {{"properties", {{"interval_ms", json::object()}, {"topic", json::object()}}},
                       {"additionalProperties", false}};
  EXPECT_TRUE(check(schema, {{"topic", "sensor.reading"}}).empty());
  EXPECT_EQ(check(schema, {{"colour", "red"}, {"topic", "x"}}),
            Lines{"unknown field 'colour' (allowed: interval_ms, topic)"});
  // A schema for the extra fields checks each of them at its own path instead.
  const json typed = {{"additionalProperties", {{"type", "integer"}}}};
  EXPECT_EQ(check(typed, {{"a", 1}, {"b", "2"}}), Lines{"/b: is a string, expected an integer"});
}

TEST(ConfigSchema, ArrayKeywords) {
  const json schema = {{"items", {{"type", "integer"}}}, {"minItems", 1}, {"maxItems", 3}, {"uniqueItems", true}};
  EXPECT_TRUE(check(schema, {1, 2, 3}).empty());
  EXPECT_EQ(check(schema, {1, "2"}), Lines{"/1: is a string, expected an integer"});
  EXPECT_EQ(check(schema, json::array()), Lines{"has 0 items, below the minimum 1"});
  EXPECT_EQ(check(schema, {1, 2, 3, 4}), Lines{"has 4 items, above the maximum 3"});
  EXPECT_EQ(check(schema, {5, 6, 5}), Lines{"has equal items at 0 and 2, but items must be unique"});
}

TEST(ConfigSchema, Combinators) {
  const json any = {{"anyOf", {{{"type", "string"}}, {{"type", "integer"}}}}};
  EXPECT_TRUE(check(any, 4).empty());
  ASSERT_EQ(check(any, true).size(), 1u);
  EXPECT_EQ(check(any, true)[0].rfind("matches none of the anyOf alternatives (1: is a boolean", 0), 0u);

  const json one = {{"oneOf", {{{"type", "integer"}}, {{"type", "number"}}}}};
  EXPECT_TRUE(check(one, 1.5).empty());
  EXPECT_EQ(check(one, 2), Lines{"matches 2 of the oneOf alternatives, expected exactly one"});

  const json all = {{"allOf", {{{"minimum", 0}}, {{"maximum", 10}}}}};
  EXPECT_TRUE(check(all, 5).empty());
  EXPECT_EQ(check(all, 11), Lines{"is 11, above the maximum 10"});

  const json never_string = {{"not", {{"type", "string"}}}};
  EXPECT_TRUE(check(never_string, 1).empty());
  EXPECT_EQ(check(never_string, "x"), Lines{R"(is "x", which matches the schema under 'not')"});
}

TEST(ConfigSchema, IgnoredKeywordsAreReportedOnceSortedAndAnnotationsAreNot) {
  const json schema = {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                       {"$id", "kr.acme.gauge"},
                       {"title", "Gauge"},
                       {"description", "A gauge"},
                       {"examples", json::array({json::object()})},
                       {"if", json::object()},
                       {"patternProperties", json::object()},
                       {"properties",
                        {{"url", {{"type", "string"}, {"format", "uri"}, {"default", "x"}}},
                         {"mail", {{"format", "email"}, {"$ref", "#/x"}}}}}};
  std::vector<std::string> ignored{"stale"};
  EXPECT_TRUE(check(schema, {{"url", "not a uri"}}, &ignored).empty());  // `format` is not checked
  EXPECT_EQ(ignored, (Lines{"$ref", "format", "if", "patternProperties"}));
  EXPECT_EQ(check(schema, {{"url", 1}}), Lines{"/url: is an integer, expected a string"});  // the rest still is
}

TEST(ConfigSchema, DeepNestingIsCappedNotFollowed) {
  json deep = {{"type", "integer"}};
  for (int i = 0; i < 200; ++i) deep = {{"allOf", {deep}}};
  std::vector<std::string> out;
  EXPECT_NO_THROW(out = check(deep, 3));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find("schema nested too deeply"), std::string::npos) << out[0];

  json shallow = {{"type", "integer"}};
  for (int i = 0; i < 20; ++i) shallow = {{"allOf", {shallow}}};
  EXPECT_TRUE(check(shallow, 3).empty());
  EXPECT_EQ(check(shallow, "3"), Lines{"is a string, expected an integer"});
}

TEST(ConfigSchema, MalformedSchemaOrInputIsReportedNeverThrown) {
  EXPECT_EQ(check({{"minimum", "1"}}, 0), Lines{"schema error: 'minimum' must be a number"});
  EXPECT_EQ(check({{"required", "stream"}}, json::object()), Lines{"schema error: 'required' must be an array of field names"});
  EXPECT_EQ(check({{"exclusiveMinimum", true}, {"minimum", 0}}, 0).size(), 1u);  // draft 4 form: said, not misread
  // Invalid UTF-8 makes nlohmann's dump() throw unless handled; messages must still come out.
  EXPECT_NO_THROW(check({{"enum", {"a"}}, {"maxLength", 1}}, std::string("\xff\xfe")));
  EXPECT_EQ(check({{"const", "a"}}, std::string("\xff")).size(), 1u);
}

TEST(ConfigSchema, RealisticCameraPluginSchema) {
  const json schema = json::parse(R"({
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ACME street camera",
    "type": "object",
    "required": ["stream"],
    "additionalProperties": false,
    "properties": {
      "interval_ms": {"type": "integer", "minimum": 1, "maximum": 60000, "default": 1000,
                      "description": "How often to grab a frame."},
      "stream": {"type": "string", "pattern": "^rtsp://"},
      "mode": {"enum": ["continuous", "motion"]},
      "zones": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": true}
    }
  })");
  std::vector<std::string> ignored;
  EXPECT_TRUE(check(schema, json::parse(R"({"interval_ms": 500, "stream": "rtsp://10.0.0.7/live",
                                            "mode": "motion", "zones": ["crosswalk", "bus stop"]})"),
                    &ignored)
                  .empty());
  EXPECT_TRUE(ignored.empty());
  EXPECT_EQ(check(schema, json::parse(R"({"interval_ms": 0, "stream": "http://10.0.0.7", "mode": "burst",
                                          "zones": ["a", ""], "colour": "red"})")),
            (Lines{"/interval_ms: is 0, below the minimum 1",
                   R"(/mode: is not one of "continuous", "motion")",
                   R"(/stream: is "http://10.0.0.7", which does not match the pattern '^rtsp://')",
                   R"(/zones/1: is "" (0 characters), shorter than the minimum length 1)",
                   "unknown field 'colour' (allowed: interval_ms, mode, stream, zones)"}));
  EXPECT_EQ(check(schema, {{"interval_ms", 60001.0}}),
            (Lines{"missing required field 'stream'", "/interval_ms: is 60001.0, above the maximum 60000"}));
}
