// Copying and validating descriptors across the ABI boundary.
#include <citylink/host/descriptor.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/ext/extension_id.h>
#include <citylink/kinds.h>
#include <citylink/topics.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>

namespace citylink::host {
namespace {

std::string str(const char* s) { return s ? std::string(s) : std::string(); }

std::vector<std::string> list(const char* const* l) {
  std::vector<std::string> out;
  // A bound on the walk keeps a list missing its NULL terminator from running away.
  for (std::size_t i = 0; l && i < 1024 && l[i]; ++i) out.emplace_back(l[i]);
  return out;
}

}  // namespace

const std::vector<std::string>& known_plugin_kinds() {
  static const std::vector<std::string> kinds = {
      CITYLINK_KIND_CAMERA, CITYLINK_KIND_ANALYTICS, CITYLINK_KIND_SENSOR,   CITYLINK_KIND_WEARABLE,
      CITYLINK_KIND_BRIDGE, CITYLINK_KIND_SINK,      CITYLINK_KIND_SOURCE,   CITYLINK_KIND_AGENCY,
      CITYLINK_KIND_SCENARIO, CITYLINK_KIND_TEST};
  return kinds;
}

PluginDescriptor copy_descriptor(const citylink_descriptor* raw, const std::string& where) {
  if (!raw) throw LoadError(where + ": descriptor() returned NULL");
  if (raw->struct_size < offsetof(citylink_descriptor, subscribes) + sizeof(raw->subscribes))
    throw LoadError(where + ": descriptor struct_size " + std::to_string(raw->struct_size) +
                    " is too small to be a CityLink 1.x descriptor; rebuild with the CityLink SDK");
  // Copy min(struct_size, sizeof) and zero the rest: fields from a newer minor are ignored,
  // fields an older plugin does not have read as empty.
  citylink_descriptor d{};
  std::memcpy(&d, raw, std::min<std::size_t>(raw->struct_size, sizeof d));

  PluginDescriptor out;
  out.id = str(d.id);
  out.name = str(d.name);
  out.vendor = str(d.vendor);
  out.version = str(d.version);
  out.kind = str(d.kind);
  out.description = str(d.description);
  out.publishes = list(d.publishes);
  out.subscribes = list(d.subscribes);
  out.config_schema = str(d.config_schema);
  out.extensions = list(d.extensions);
  out.features = list(d.features);

  if (out.id.empty())
    throw LoadError(where + ": the descriptor has no id; give it a reverse-DNS id such as 'kr.vendor.product'");
  static const std::regex id_re(R"(^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]*[a-z0-9])?)+$)");
  if (!std::regex_match(out.id, id_re))
    throw LoadError(where + ": descriptor id '" + out.id +
                    "' is not a reverse-DNS name (lower case, dotted, e.g. 'kr.vendor.product')");
  const std::string w = where + " ('" + out.id + "')";
  if (out.name.empty()) throw LoadError(w + ": the descriptor has no name");
  if (out.version.empty()) throw LoadError(w + ": the descriptor has no version; use semver such as '1.0.0'");
  static const std::regex semver_re(R"(^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$)");
  if (!std::regex_match(out.version, semver_re))
    throw LoadError(w + ": version '" + out.version + "' is not semver (MAJOR.MINOR.PATCH)");
  if (out.kind.empty()) throw LoadError(w + ": the descriptor has no kind (camera, analytics, sensor, sink, ...)");
  // A plugin may declare a subtree ("incident.*") when it publishes several topics under
  // it; "*" is left to the city config, which grants it explicitly when it must.
  for (const auto& t : out.publishes)
    if (t == "*" || !citylink_topic_pattern_is_valid(t.data(), t.size()))
      throw LoadError(w + ": publishes '" + t + "', which is neither a topic (dotted lower-case words) nor a subtree "
                      "such as 'incident.*'");
  // The same SDK grammar the router and the city config apply, so a subscription that could
  // never match ("Sensor Reading", "camera..info") is refused here, not silently idle.
  for (const auto& t : out.subscribes)
    if (t == "*" || !citylink_topic_pattern_is_valid(t.data(), t.size()))
      throw LoadError(w + ": subscribes to '" + t + "'; subscriptions are topics or subtrees such as 'camera.info', 'camera.' or 'camera.*' (dotted lower-case words; '*' alone is left to the city config), matched by segment");
  if (!out.config_schema.empty() && !nlohmann::json::accept(out.config_schema))
    throw LoadError(w + ": config_schema is not valid JSON");
  // An extension id is the extension's whole contract (its revision is in it), so a typo
  // is refused here rather than showing up later as a feature that silently never works.
  for (const auto& x : out.extensions)
    if (!citylink_extension_id_is_valid(x.c_str()))
      throw LoadError(w + ": extension id '" + x + "' is not 'name/revision' (dotted lower-case name, a revision "
                      "from 1, e.g. 'citylink.health/1' or 'kr.vendor.feature.draft/2')");
  // Features are machine-read (a city picks plugins by them), so they share the topic words' grammar.
  for (const auto& f : out.features)
    if (!citylink_topic_is_valid(f.data(), f.size()))
      throw LoadError(w + ": feature '" + f + "' is not dotted lower-case words such as 'analytics.detection' or 'ptz'");
  const auto& kinds = known_plugin_kinds();
  if (std::find(kinds.begin(), kinds.end(), out.kind) == kinds.end())
    log()->warn("{}: unknown plugin kind '{}' (known: camera, analytics, sensor, wearable, bridge, sink, ...)", w,
                out.kind);
  return out;
}

nlohmann::json to_json(const PluginDescriptor& d) {
  nlohmann::json j;
  j["id"] = d.id;
  j["name"] = d.name;
  j["vendor"] = d.vendor;
  j["version"] = d.version;
  j["kind"] = d.kind;
  j["description"] = d.description;
  j["publishes"] = d.publishes;
  j["subscribes"] = d.subscribes;
  j["config_schema"] = d.config_schema.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(d.config_schema);
  j["extensions"] = d.extensions;
  j["features"] = d.features;
  return j;
}

}  // namespace citylink::host

namespace citylink::host {

PluginDescriptor descriptor_from_json(const std::string& text, const std::string& where) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw LoadError(where + ": the descriptor is not a JSON object");
  // Laid out as the C struct, so one validator (copy_descriptor) judges every plugin.
  auto field = [&](const char* key) -> std::string {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (!it->is_string()) throw LoadError(where + ": descriptor field '" + key + "' must be a string");
    return it->get<std::string>();
  };
  auto list = [&](const char* key) {
    std::vector<std::string> out;
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    if (!it->is_array()) throw LoadError(where + ": descriptor field '" + key + "' must be a list of strings");
    for (const auto& v : *it) {
      if (!v.is_string()) throw LoadError(where + ": descriptor field '" + key + "' must be a list of strings");
      out.push_back(v.get<std::string>());
    }
    return out;
  };
  const std::string id = field("id"), name = field("name"), vendor = field("vendor"), version = field("version"),
                    kind = field("kind"), description = field("description");
  std::string schema;
  if (const auto it = j.find("config_schema"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw LoadError(where + ": descriptor field 'config_schema' must be a JSON Schema object");
    schema = it->dump();
  }
  const auto publishes = list("publishes"), subscribes = list("subscribes"), extensions = list("extensions"),
             features = list("features");
  auto pointers = [](const std::vector<std::string>& v) {
    std::vector<const char*> p;
    for (const auto& s : v) p.push_back(s.c_str());
    p.push_back(nullptr);
    return p;
  };
  const auto pub = pointers(publishes), sub = pointers(subscribes), ext = pointers(extensions),
             feat = pointers(features);
  citylink_descriptor d{};
  d.struct_size = sizeof d;
  d.id = id.c_str();
  d.name = name.c_str();
  d.vendor = vendor.c_str();
  d.version = version.c_str();
  d.kind = kind.c_str();
  d.description = description.c_str();
  d.publishes = pub.data();
  d.subscribes = sub.data();
  d.config_schema = schema.empty() ? nullptr : schema.c_str();
  d.extensions = ext.data();
  d.features = feat.data();
  return copy_descriptor(&d, where);
}

}  // namespace citylink::host
