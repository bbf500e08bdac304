// Checks a plugin instance's config against its descriptor's config_schema: a documented
// subset of JSON Schema (docs/plugin-guide.md lists it), since Debian ships no C++ validator.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
namespace citylink::host {
// One way the config breaks the schema: where (a JSON pointer like "/interval_ms", "" for the root) and what.
struct SchemaViolation { std::string path; std::string message; };
// Validates `config` against `schema`. Keywords outside the subset are ignored (listed in
// `ignored` when given, so the caller can say so). Never throws on any input; a schema that
// is not an object accepts everything.
std::vector<SchemaViolation> validate_config(const nlohmann::json& schema, const nlohmann::json& config,
                                             std::vector<std::string>* ignored = nullptr);
}
