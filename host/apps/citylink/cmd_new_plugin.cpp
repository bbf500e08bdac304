// `citylink new-plugin NAME --kind KIND [--lang cpp|c] [--dir D]`: writes a plugin project
// that builds against the installed SDK and passes `citylink plugin verify` as generated.
// The file texts are in new_plugin_templates.hpp.
#include "commands.hpp"
#include "new_plugin_templates.hpp"

#include <citylink/kinds.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace citylink::cli {
namespace {

namespace fs = std::filesystem;
namespace t = templates;

constexpr const char* kNewPluginUsage =
    "usage: citylink new-plugin NAME --kind camera|analytics|sensor|wearable|bridge|sink [--lang cpp|c] [--dir D]";

// The vendor kinds a scaffold exists for, with their constants (citylink/kinds.h).
struct KindInfo {
  const char* kind;
  const char* macro;
};
constexpr KindInfo kKinds[] = {
    {CITYLINK_KIND_CAMERA, "CITYLINK_KIND_CAMERA"}, {CITYLINK_KIND_ANALYTICS, "CITYLINK_KIND_ANALYTICS"},
    {CITYLINK_KIND_SENSOR, "CITYLINK_KIND_SENSOR"}, {CITYLINK_KIND_WEARABLE, "CITYLINK_KIND_WEARABLE"},
    {CITYLINK_KIND_BRIDGE, "CITYLINK_KIND_BRIDGE"}, {CITYLINK_KIND_SINK, "CITYLINK_KIND_SINK"},
};

std::string kind_choices() {
  std::string out;
  for (const auto& k : kKinds) out += (out.empty() ? "" : ", ") + std::string(k.kind);
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

std::string fill(std::string text, const std::vector<std::pair<std::string, std::string>>& vars) {
  for (const auto& [k, v] : vars) replace_all(text, "@" + k + "@", v);
  return text;
}

// "acme-cam_2" -> "AcmeCam2Plugin": a C++ class name that cannot clash with anything in
// the SDK or the standard library.
std::string class_name(const std::string& name) {
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '-' || c == '_') {
      upper = true;
      continue;
    }
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  return out + "Plugin";
}

// The last label of the descriptor id. The id grammar (host/src/loader/descriptor.cpp)
// wants a label to end in a letter or digit, which NAME need not ("cam-").
std::string id_label(std::string name) {
  while (!name.empty() && (name.back() == '-' || name.back() == '_')) name.pop_back();
  return name;
}

void validate_name(const std::string& name) {
  static const std::regex re("[a-z][a-z0-9_-]{0,62}");
  if (!std::regex_match(name, re))
    throw std::runtime_error("plugin name '" + name +
                             "' is not valid: it must match [a-z][a-z0-9_-]{0,62} (a lower-case letter, then up to 62 "
                             "lower-case letters, digits, '_' or '-'; no '/', '.' or upper case), e.g. 'acme-camera'");
  // CMake reserves these target names, and the SDK's package defines the schema targets.
  static const std::vector<std::string> reserved = {"all",  "clean",   "help",           "install",
                                                    "test", "package", "package_source", "edit_cache",
                                                    "rebuild_cache", "list_install_components"};
  for (const auto& r : reserved)
    if (name == r)
      throw std::runtime_error("plugin name '" + name + "' is a target name CMake reserves; choose another, e.g. '" +
                               name + "-plugin'");
  if (name.rfind("citylink_schema", 0) == 0)
    throw std::runtime_error("plugin name '" + name +
                             "' clashes with the SDK's schema targets (citylink_schema_*); choose another, e.g. "
                             "'acme-camera'");
}

void write_text(const fs::path& path, const std::string& text, bool executable = false) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write '" + path.string() + "'");
  if (executable)
    fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);
}

struct Project {
  std::string name, kind, kind_macro, lang;
  fs::path dir;
};

// What each kind does, in words and in code snippets for both languages.
struct KindParts {
  std::string summary;      // one sentence for the source's head comment
  std::string description;  // the descriptor's description
  std::string topic_list;   // "publishes X" / "subscribes to X and forwards ..."
  bool subscriber = false;
  std::string topic_constant;  // publishers: CITYLINK_TOPIC_*
  std::string subscribe;       // subscribers: the subscription ("sensor.")
  std::string cpp_schema, c_schema;  // the payload's generated header (without .pb.h / .pb-c.h)
  const char* cpp_tick = nullptr;
  const char* c_tick = nullptr;
  const char* cpp_decode = nullptr;
  const char* c_decode = nullptr;
  std::string forward_target;
};

KindParts kind_parts(const std::string& kind) {
  KindParts k;
  if (kind == CITYLINK_KIND_CAMERA) {
    k.summary = "Announces its camera (CameraInfo) on camera.info.";
    k.description = "Announces its camera (CameraInfo) on camera.info at a fixed interval.";
    k.topic_list = "publishes `camera.info` (`CameraInfo`)";
    k.topic_constant = "CITYLINK_TOPIC_CAMERA_INFO";
    k.cpp_schema = k.c_schema = "camera";
    k.cpp_tick = t::kCppTickCamera;
    k.c_tick = t::kCTickCamera;
  } else if (kind == CITYLINK_KIND_SENSOR) {
    k.summary = "Publishes a reading (SensorReading) on sensor.reading.";
    k.description = "Publishes a reading (SensorReading) on sensor.reading at a fixed interval.";
    k.topic_list = "publishes `sensor.reading` (`SensorReading`)";
    k.topic_constant = "CITYLINK_TOPIC_SENSOR_READING";
    k.cpp_schema = k.c_schema = "sensor";
    k.cpp_tick = t::kCppTickSensor;
    k.c_tick = t::kCTickSensor;
  } else if (kind == CITYLINK_KIND_ANALYTICS) {
    k.summary = "Publishes detections (Detection) on analytics.detection.";
    k.description = "Publishes detections (Detection) on analytics.detection.";
    k.topic_list = "publishes `analytics.detection` (`Detection`)";
    k.topic_constant = "CITYLINK_TOPIC_ANALYTICS_DETECTION";
    k.cpp_schema = k.c_schema = "analytics";
    k.cpp_tick = t::kCppTickAnalytics;
    k.c_tick = t::kCTickAnalytics;
  } else if (kind == CITYLINK_KIND_WEARABLE) {
    k.summary = "Publishes vulnerable-person SOS incidents (PlatformEvent, WPSSF110) on incident.vulnerable.";
    k.description = "Publishes vulnerable-person SOS incidents (PlatformEvent) on incident.vulnerable.";
    k.topic_list = "publishes `incident.vulnerable` (`PlatformEvent`, event code `WPSSF110`)";
    k.topic_constant = "CITYLINK_TOPIC_INCIDENT_VULNERABLE";
    k.cpp_schema = k.c_schema = "platform_event";
    k.cpp_tick = t::kCppTickWearable;
    k.c_tick = t::kCTickWearable;
  } else if (kind == CITYLINK_KIND_SINK) {
    k.summary = "Receives sensor readings (subscribes to sensor.) and hands them on from its own thread.";
    k.description = "Receives sensor readings and hands them on to an outside system.";
    k.topic_list = "subscribes to `sensor.` (everything below `sensor`) and publishes nothing";
    k.subscriber = true;
    k.subscribe = "sensor.";
    k.cpp_schema = k.c_schema = "sensor";
    k.cpp_decode = t::kCppDecodeSink;
    k.c_decode = t::kCDecodeSink;
    k.forward_target = "the outside system (a console, an archive)";
  } else {  // bridge
    k.summary = "Receives platform incidents (subscribes to incident.) and forwards them from its own thread.";
    k.description = "Forwards platform incidents to another platform.";
    k.topic_list = "subscribes to `incident.` (every incident topic) and publishes nothing";
    k.subscriber = true;
    k.subscribe = "incident.";
    k.cpp_schema = k.c_schema = "platform_event";
    k.cpp_decode = t::kCppDecodeBridge;
    k.c_decode = t::kCDecodeBridge;
    k.forward_target = "the other platform";
  }
  return k;
}

std::vector<std::pair<std::string, std::string>> name_vars(const Project& p, const KindParts& k) {
  return {{"NAME", p.name},
          {"ID", "com.example." + id_label(p.name)},
          {"KIND", p.kind},
          {"KIND_MACRO", p.kind_macro},
          {"CLASS", class_name(p.name)},
          {"TOPIC_LIST", k.topic_list},
          {"SUMMARY", k.summary},
          {"DESCRIPTION", k.description},
          {"FORWARD_TARGET", k.forward_target}};
}

std::string cpp_source(const Project& p, const KindParts& k) {
  std::string topics, on_message, tick, members, guards, deque, utility;
  if (k.subscriber) {
    topics = "    d.subscribes = {\"" + k.subscribe + "\"};  // a request; the city config grants it\n";
    on_message = fill(t::kCppOnMessage, {{"DECODE", k.cpp_decode}});
    tick = t::kCppTickForward;
    members = t::kCppForwardMembers;
    guards = ", pending_, dropped_";
    deque = "#include <deque>\n";
    utility = "#include <utility>\n";
  } else {
    topics = "    d.publishes = {" + k.topic_constant + "};  // a request; the city config grants it\n";
    tick = k.cpp_tick;
  }
  std::string s = fill(t::kCppSource, {{"SCHEMA_INCLUDE", "#include <citylink/v1/" + k.cpp_schema + ".pb.h>\n"},
                                       {"INCLUDE_DEQUE", deque},
                                       {"INCLUDE_UTILITY", utility},
                                       {"TOPICS", topics},
                                       {"ON_MESSAGE", on_message},
                                       {"TICK", tick},
                                       {"MEMBERS", members},
                                       {"MU_GUARDS", guards}});
  return fill(s, name_vars(p, k));
}

std::string c_source(const Project& p, const KindParts& k) {
  std::string topics, publishes = "NULL /* publishes nothing */", subscribes = "NULL /* subscribes to nothing */";
  std::string on_message, on_message_slot = "NULL /* subscribes to nothing */", helper, tick, members;
  if (k.subscriber) {
    topics = "static const char *const subscribes[] = {\"" + k.subscribe + "\", NULL};\n";
    subscribes = "subscribes";
    on_message = fill(t::kCOnMessage, {{"DECODE", k.c_decode}});
    on_message_slot = "plugin_on_message";
    tick = t::kCTickForward;
    members = t::kCForwardMembers;
  } else {
    topics = "static const char *const publishes[] = {" + k.topic_constant + ", NULL};\n";
    publishes = "publishes";
    helper = t::kCPublishHelper;
    tick = k.c_tick;
  }
  const bool uses_time = tick.find("now_unix_ns()") != std::string::npos;
  std::string s = fill(t::kCSource, {{"SCHEMA_INCLUDE", "#include <citylink/v1/" + k.c_schema + ".pb-c.h>\n"},
                                     {"TOPICS", topics},
                                     {"PUBLISHES_FIELD", publishes},
                                     {"SUBSCRIBES_FIELD", subscribes},
                                     {"ON_MESSAGE", on_message},
                                     {"ON_MESSAGE_SLOT", on_message_slot},
                                     {"NOW_HELPER", uses_time ? t::kCNowHelper : ""},
                                     {"PUBLISH_HELPER", helper},
                                     {"TICK", tick},
                                     {"MEMBERS", members}});
  return fill(s, name_vars(p, k));
}

std::string readme(const Project& p, const KindParts& k) {
  const bool c = p.lang == "c";
  auto vars = name_vars(p, k);
  vars.insert(vars.begin(),
              {{"LANG_NAME", c ? "C99 with protobuf-c" : "C++17"},
               {"SOURCE_FILE", p.name + (c ? ".c" : ".cpp")},
               {"ON_MESSAGE_ROW", k.subscriber ? ", `on_message`" : ""},
               {"BUILD_DEPS", c ? "Debian 12 also needs `cmake`, a C compiler, `protobuf-c-compiler` and "
                                  "`libprotobuf-c-dev`."
                                : "Debian 12 also needs `cmake`, a C++17 compiler, `protobuf-compiler`, "
                                  "`libprotobuf-dev` and `nlohmann-json3-dev`."}});
  return fill(t::kReadme, vars);
}

}  // namespace

int cmd_new_plugin(const Args& args) {
  Project p;
  std::string dir;
  bool have_dir = false;
  p.lang = "cpp";
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw std::runtime_error(a + " needs a value; " + kNewPluginUsage);
      return args[++i];
    };
    if (a == "--kind") p.kind = value();
    else if (a == "--lang") p.lang = value();
    else if (a == "--dir") dir = value(), have_dir = true;
    else if (a == "-h" || a == "--help") {
      std::printf("%s\n", kNewPluginUsage);
      return kOk;
    } else if (p.name.empty() && a.rfind("--", 0) != 0) p.name = a;
    else throw std::runtime_error("unknown argument '" + a + "'; " + kNewPluginUsage);
  }
  if (p.name.empty()) throw std::runtime_error(std::string("no plugin name given; ") + kNewPluginUsage);
  validate_name(p.name);
  if (p.kind.empty())
    throw std::runtime_error("--kind is required; choose one of: " + kind_choices() + " (e.g. --kind camera)");
  for (const auto& k : kKinds)
    if (p.kind == k.kind) p.kind_macro = k.macro;
  if (p.kind_macro.empty())
    throw std::runtime_error("unknown kind '" + p.kind + "'; choose one of: " + kind_choices());
  if (p.lang != "cpp" && p.lang != "c")
    throw std::runtime_error("unknown language '" + p.lang + "'; choose --lang cpp (the default) or --lang c");
  if (have_dir && dir.empty()) throw std::runtime_error("--dir needs a directory");
  p.dir = have_dir ? fs::path(dir) : fs::path(p.name);

  std::error_code ec;
  if (fs::exists(p.dir, ec)) {
    if (!fs::is_directory(p.dir, ec))
      throw std::runtime_error("'" + p.dir.string() + "' exists and is not a directory; give another --dir");
    if (!fs::is_empty(p.dir, ec))
      throw std::runtime_error("'" + p.dir.string() +
                               "' exists and is not empty; new-plugin writes only into a new or empty directory "
                               "(give another --dir)");
  }

  const KindParts k = kind_parts(p.kind);
  const bool c = p.lang == "c";
  const auto vars = name_vars(p, k);
  std::vector<std::pair<fs::path, std::string>> files = {
      {"CMakeLists.txt", fill(c ? t::kCCMakeLists : t::kCppCMakeLists, vars)},
      {fs::path("src") / (p.name + (c ? ".c" : ".cpp")), c ? c_source(p, k) : cpp_source(p, k)},
      {"README.md", readme(p, k)},
      {fs::path("test") / "smoke.sh", fill(t::kSmokeTest, vars)},
  };
  for (const auto& [rel, text] : files) write_text(p.dir / rel, text, rel.filename() == "smoke.sh");

  std::printf("created %s plugin project '%s' (%s, kind %s, id com.example.%s) in %s:\n", c ? "C" : "C++",
              p.name.c_str(), c ? "C99 + protobuf-c" : "C++17", p.kind.c_str(), id_label(p.name).c_str(),
              p.dir.string().c_str());
  for (const auto& f : files) std::printf("  %s\n", (p.dir / f.first).string().c_str());
  std::printf(
      "next:\n"
      "  cmake -S %s -B %s/build -DCMAKE_PREFIX_PATH=<SDK prefix, e.g. /opt/citylink>\n"
      "  cmake --build %s/build\n"
      "  citylink plugin verify %s/build/plugins/%s.so\n"
      "then change the descriptor id (TODO in the source) to your own reverse-DNS name.\n",
      p.dir.string().c_str(), p.dir.string().c_str(), p.dir.string().c_str(), p.dir.string().c_str(),
      p.name.c_str());
  return kOk;
}

}  // namespace citylink::cli
