// Validating plugin instance configs against the JSON Schema subset listed in docs/plugin-guide.md.
#include <citylink/host/config_schema.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <regex>
#include <set>

namespace citylink::host {
namespace {

using nlohmann::json;

// Each nesting level costs a stack frame (or several), so a generated or hostile schema must
// not be able to recurse without bound; 64 is far beyond any hand-written plugin schema.
constexpr int kMaxDepth = 64;

// Keywords for people and tools: they never constrain a value, so they are neither checked nor
// reported as ignored (reporting them would make every well-documented schema look suspect).
const std::set<std::string> kAnnotations = {"default", "description", "title", "$schema", "$id", "examples"};
const std::set<std::string> kChecked = {
    "type",      "properties", "required", "additionalProperties", "enum",  "const", "minimum",
    "maximum",   "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
    "items",     "minItems",   "maxItems", "uniqueItems", "anyOf", "oneOf", "allOf", "not"};
const std::set<std::string> kTypes = {"object", "array", "string", "number", "integer", "boolean", "null"};

// dump() throws on invalid UTF-8 in strings unless told to replace it; messages must never throw.
std::string dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// JSON has one number type; an integer is any number without a fractional part, so 5.0 counts.
bool is_integer(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool has_type(const json& v, const std::string& t) {
  if (t == "integer") return is_integer(v);
  if (t == "number") return v.is_number();
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "boolean") return v.is_boolean();
  return t == "null" && v.is_null();
}

std::string article(const std::string& t) {
  if (t == "null") return t;
  return (t == "object" || t == "array" || t == "integer" ? "an " : "a ") + t;
}

std::string type_of(const json& v) {
  for (const char* t : {"object", "array", "string", "integer", "number", "boolean"})
    if (has_type(v, t)) return t;
  return "null";
}

// A value as it appears in a message: containers by kind only (a whole config object would
// drown the message), long strings cut at a code point boundary.
std::string show(const json& v) {
  if (v.is_object() || v.is_array()) return article(type_of(v));
  if (v.is_string() && v.get_ref<const std::string&>().size() > 60) {
    const auto& s = v.get_ref<const std::string&>();
    std::size_t n = 57;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return dump(json(s.substr(0, n))) + "...";
  }
  return dump(v);
}

std::string join(const std::vector<std::string>& parts, const std::string& sep, const std::string& last) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i)
    out += (i == 0 ? "" : i + 1 == parts.size() ? last : sep) + parts[i];
  return out;
}

std::string escape(const std::string& key) {  // RFC 6901: '~' first, or "/" would become "~01"
  std::string out;
  for (char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

// maxLength counts characters as the user sees them, not bytes: count UTF-8 lead bytes.
std::size_t code_points(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

using Violations = std::vector<SchemaViolation>;
void check(const json& s, const json& v, const std::string& path, int depth, Violations& out);

// Runs one alternative on its own so anyOf/oneOf/not can judge it without its failures leaking out.
Violations trial(const json& s, const json& v, const std::string& path, int depth) {
  Violations sub;
  check(s, v, path, depth, sub);
  return sub;
}

void check(const json& s, const json& v, const std::string& path, int depth, Violations& out) {
  auto add = [&](std::string msg) { out.push_back({path, std::move(msg)}); };
  auto is = [&](const std::string& why) { add("is " + show(v) + ", " + why); };
  if (depth > kMaxDepth) return add("schema nested too deeply (more than 64 levels)");
  // Draft 6 boolean schemas: `false` below the root admits nothing; `true` (any non-object) admits all.
  if (s.is_boolean() && !s.get<bool>()) return is("but nothing is allowed here");
  if (!s.is_object()) return;
  // A malformed keyword is the plugin author's bug; saying so beats silently accepting anything.
  auto bad = [&](const std::string& kw, const std::string& need) { add("schema error: '" + kw + "' " + need); };
  auto number = [&](const char* kw) -> const json* {
    const auto it = s.find(kw);
    if (it == s.end()) return nullptr;
    if (it->is_number()) return &*it;
    bad(kw, it->is_boolean() ? "must be a number (draft 4's boolean form is not supported)" : "must be a number");
    return nullptr;
  };
  auto count = [&](const char* kw) -> std::optional<std::uint64_t> {
    const auto it = s.find(kw);
    if (it == s.end()) return std::nullopt;
    const double d = it->is_number() ? it->get<double>() : -1;
    if (!is_integer(*it) || d < 0) {
      bad(kw, "must be a non-negative integer");
      return std::nullopt;
    }
    if (it->is_number_unsigned()) return it->get<std::uint64_t>();
    return d >= 1.8e19 ? UINT64_MAX : static_cast<std::uint64_t>(d);  // casting beyond uint64 is UB
  };

  if (const auto it = s.find("type"); it != s.end()) {
    std::vector<std::string> names;
    for (const auto& t : it->is_array() ? *it : json::array({*it}))
      if (t.is_string() && kTypes.count(t.get<std::string>())) names.push_back(t.get<std::string>());
    if (names.empty() || names.size() != (it->is_array() ? it->size() : 1)) {
      bad("type", "must be one of object, array, string, number, integer, boolean, null, or an array of them");
    } else if (std::none_of(names.begin(), names.end(), [&](const std::string& t) { return has_type(v, t); })) {
      std::transform(names.begin(), names.end(), names.begin(), article);
      // Every other keyword would only restate the mismatch, so stop at the clearest message.
      return add("is " + article(type_of(v)) + ", expected " + join(names, ", ", " or "));
    }
  }
  if (const auto it = s.find("enum"); it != s.end()) {
    if (!it->is_array() || it->empty()) bad("enum", "must be a non-empty array");
    else if (std::find(it->begin(), it->end(), v) == it->end()) {
      std::vector<std::string> shown;
      for (const auto& e : *it) shown.push_back(show(e));
      add("is not one of " + join(shown, ", ", ", "));
    }
  }
  if (const auto it = s.find("const"); it != s.end() && *it != v) is("expected the constant " + show(*it));

  if (v.is_number()) {  // doubles: exact for every integer a config plausibly holds (below 2^53)
    const double x = v.get<double>();
    if (const json* m = number("minimum"); m && x < m->get<double>()) is("below the minimum " + show(*m));
    if (const json* m = number("maximum"); m && x > m->get<double>()) is("above the maximum " + show(*m));
    if (const json* m = number("exclusiveMinimum"); m && x <= m->get<double>())
      is("not above the exclusive minimum " + show(*m));
    if (const json* m = number("exclusiveMaximum"); m && x >= m->get<double>())
      is("not below the exclusive maximum " + show(*m));
  }

  if (v.is_string()) {
    const auto& str = v.get_ref<const std::string&>();
    const std::size_t n = code_points(str);
    const std::string what = "is " + show(v) + " (" + std::to_string(n) + (n == 1 ? " character), " : " characters), ");
    if (const auto m = count("minLength"); m && n < *m) add(what + "shorter than the minimum length " + std::to_string(*m));
    if (const auto m = count("maxLength"); m && n > *m) add(what + "longer than the maximum length " + std::to_string(*m));
    if (const auto it = s.find("pattern"); it != s.end()) {
      if (!it->is_string()) bad("pattern", "must be a string");
      else {
        // std::regex reports a bad pattern, and an input too complex to match, by throwing.
        const auto& p = it->get_ref<const std::string&>();
        std::optional<std::regex> re;
        try { re.emplace(p, std::regex::ECMAScript); } catch (const std::regex_error& e) {
          add("schema pattern '" + p + "' is not a valid regular expression (" + e.what() + ")");
        }
        // GCC's std::regex recurses per character and can overflow the stack on long input,
        // which no catch can stop: long strings are refused before matching.
        constexpr std::size_t kMaxPatternInput = 4096;
        if (re && str.size() > kMaxPatternInput) {
          is("which is too long (" + std::to_string(str.size()) + " bytes) to check against the pattern '" + p +
             "' (the host checks up to " + std::to_string(kMaxPatternInput) + ")");
          re.reset();
        }
        try {
          if (re && !std::regex_search(str, *re)) is("which does not match the pattern '" + p + "'");
        } catch (const std::regex_error& e) {
          is("which could not be matched against the pattern '" + p + "' (" + e.what() + ")");
        }
      }
    }
  }

  if (v.is_array()) {
    const std::string has = "has " + std::to_string(v.size()) + " items, ";
    if (const auto m = count("minItems"); m && v.size() < *m) add(has + "below the minimum " + std::to_string(*m));
    if (const auto m = count("maxItems"); m && v.size() > *m) add(has + "above the maximum " + std::to_string(*m));
    if (const auto it = s.find("uniqueItems"); it != s.end() && *it == json(true)) {
      // Quadratic, but config arrays are short; report only the first pair to keep output readable.
      for (auto a = v.begin(); a != v.end(); ++a)
        if (auto b = std::find(std::next(a), v.end(), *a); b != v.end()) {
          add("has equal items at " + std::to_string(a - v.begin()) + " and " + std::to_string(b - v.begin()) +
              ", but items must be unique");
          break;
        }
    }
    if (const auto it = s.find("items"); it != s.end()) {
      if (it->is_array()) bad("items", "must be a single schema (the array form is not supported)");
      else
        for (std::size_t i = 0; i < v.size(); ++i)
          check(*it, v[i], path + "/" + std::to_string(i), depth + 1, out);
    }
  }

  if (v.is_object()) {
    static const json kNone = json::object();
    const auto pit = s.find("properties");
    if (pit != s.end() && !pit->is_object()) bad("properties", "must be an object");
    const json& props = pit != s.end() && pit->is_object() ? *pit : kNone;
    if (const auto it = s.find("required"); it != s.end()) {
      if (!it->is_array() || !std::all_of(it->begin(), it->end(), [](const json& r) { return r.is_string(); }))
        bad("required", "must be an array of field names");
      else
        for (const auto& r : *it)
          if (!v.contains(r.get<std::string>())) add("missing required field '" + r.get<std::string>() + "'");
    }
    for (auto p = props.begin(); p != props.end(); ++p)
      if (v.contains(p.key())) check(p.value(), v[p.key()], path + "/" + escape(p.key()), depth + 1, out);
    if (const auto ap = s.find("additionalProperties"); ap != s.end()) {
      // Naming the allowed fields turns a typo ("colour") into an obvious fix ("color").
      std::vector<std::string> allowed;
      for (auto p = props.begin(); p != props.end(); ++p) allowed.push_back(p.key());
      const std::string names = allowed.empty() ? "none" : join(allowed, ", ", ", ");
      for (auto f = v.begin(); f != v.end(); ++f) {
        if (props.contains(f.key())) continue;
        if (*ap == json(false)) add("unknown field '" + f.key() + "' (allowed: " + names + ")");
        else check(*ap, f.value(), path + "/" + escape(f.key()), depth + 1, out);
      }
    }
  }

  for (const std::string kw : {"anyOf", "oneOf", "allOf"}) {
    const auto it = s.find(kw);
    if (it == s.end()) continue;
    if (!it->is_array() || it->empty()) { bad(kw, "must be a non-empty array of schemas"); continue; }
    if (kw == "allOf") { for (const auto& sub : *it) check(sub, v, path, depth + 1, out); continue; }
    std::size_t matched = 0;
    std::vector<std::string> why;  // each failed alternative's first reason, so the user sees what to fix
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto sub = trial((*it)[i], v, path, depth + 1);
      if (sub.empty()) ++matched;
      else
        why.push_back(std::to_string(i + 1) + ": " + (sub[0].path == path ? "" : sub[0].path + " ") + sub[0].message);
    }
    if (matched == 0) add("matches none of the " + kw + " alternatives (" + join(why, "; ", "; ") + ")");
    else if (kw == "oneOf" && matched > 1)
      add("matches " + std::to_string(matched) + " of the oneOf alternatives, expected exactly one");
  }
  if (const auto it = s.find("not"); it != s.end() && trial(*it, v, path, depth + 1).empty())
    is("which matches the schema under 'not'");
}

// Walks the whole schema, not just the parts this config reaches, so the ignored list is the
// same for every config and a plugin author sees it at once.
void collect_ignored(const json& s, int depth, std::set<std::string>& out) {
  if (depth > kMaxDepth || !s.is_object()) return;
  for (auto it = s.begin(); it != s.end(); ++it)
    if (!kChecked.count(it.key()) && !kAnnotations.count(it.key())) out.insert(it.key());
  for (const char* kw : {"items", "additionalProperties", "not"})
    if (const auto it = s.find(kw); it != s.end()) collect_ignored(*it, depth + 1, out);
  for (const char* kw : {"properties", "anyOf", "oneOf", "allOf"})
    if (const auto it = s.find(kw); it != s.end() && it->is_structured())
      for (const auto& sub : *it) collect_ignored(sub, depth + 1, out);
}

}  // namespace

std::vector<SchemaViolation> validate_config(const nlohmann::json& schema, const nlohmann::json& config,
                                             std::vector<std::string>* ignored) {
  std::vector<SchemaViolation> out;
  try {
    if (ignored) {
      std::set<std::string> names;  // a set: each keyword once, sorted
      collect_ignored(schema, 0, names);
      ignored->assign(names.begin(), names.end());
    }
    if (schema.is_object()) check(schema, config, "", 0, out);
  } catch (const std::exception& e) {
    // Nothing above should throw, but instance create must not fail on a validator bug.
    out.push_back({"", std::string("could not validate the config: ") + e.what()});
  } catch (...) {
    out.push_back({"", "could not validate the config"});
  }
  return out;
}

}  // namespace citylink::host
