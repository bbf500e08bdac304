// The package manifest: its JSON form, and reading it from beside an installed library.
#include <citylink/host/keys.hpp>
#include <citylink/host/package.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace citylink::host {
namespace {

constexpr std::size_t kMaxManifestBytes = 64 * 1024;

std::optional<std::string> read_small_file(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(p, ec))) return std::nullopt;
  if (std::filesystem::is_symlink(std::filesystem::symlink_status(p, ec)))
    throw std::runtime_error(p.string() + " is a symbolic link; package files must be regular files");
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error(p.string() + " cannot be read; check its permissions");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > kMaxManifestBytes)
    throw std::runtime_error(p.string() + " is over " + std::to_string(kMaxManifestBytes) + " bytes; it is not a manifest");
  return text;
}

}  // namespace

std::filesystem::path manifest_path_of(const std::filesystem::path& library) {
  return library.string() + ".manifest.json";
}
std::filesystem::path signature_path_of(const std::filesystem::path& library) {
  return library.string() + ".manifest.sig";
}

std::string manifest_text(const PackageManifest& m) {
  nlohmann::ordered_json j;
  j["format"] = kPackageFormat;
  j["file"] = m.file;
  j["sha256"] = m.sha256;
  j["abi"] = m.abi;
  j["plugins"] = nlohmann::ordered_json::array();
  for (const auto& p : m.plugins) j["plugins"].push_back({{"id", p.id}, {"version", p.version}, {"vendor", p.vendor}});
  return j.dump(2) + "\n";
}

PackageManifest parse_manifest(const std::string& text, const std::string& where) {
  auto bad = [&](const std::string& what) -> std::runtime_error {
    return std::runtime_error(where + ": " + what + "; write it with `citylink plugin package`");
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw bad(std::string("not JSON (") + e.what() + ")");
  }
  if (!j.is_object()) throw bad("expected a JSON object");
  auto str = [&](const char* k) {
    if (!j.contains(k) || !j[k].is_string()) throw bad(std::string("field '") + k + "' is missing or not text");
    return j[k].get<std::string>();
  };
  if (str("format") != kPackageFormat)
    throw bad("format '" + j["format"].get<std::string>() + "' is not " + kPackageFormat);
  PackageManifest m;
  m.file = str("file");
  if (m.file.empty() || m.file.find('/') != std::string::npos) throw bad("'file' must be a bare file name");
  m.sha256 = str("sha256");
  if (!keys::is_sha256_hex(m.sha256)) throw bad("'sha256' must be 64 lower-case hex digits");
  m.abi = str("abi");
  if (!j.contains("plugins") || !j["plugins"].is_array() || j["plugins"].empty())
    throw bad("'plugins' must list the plugins the library provides");
  for (const auto& p : j["plugins"]) {
    if (!p.is_object() || !p.contains("id") || !p["id"].is_string() || !p.contains("version") ||
        !p["version"].is_string())
      throw bad("every entry of 'plugins' needs text 'id' and 'version'");
    m.plugins.push_back({p["id"].get<std::string>(), p["version"].get<std::string>(),
                         p.contains("vendor") && p["vendor"].is_string() ? p["vendor"].get<std::string>() : ""});
  }
  return m;
}

std::optional<InstalledManifest> read_installed_manifest(const std::filesystem::path& library) {
  const auto mpath = manifest_path_of(library);
  auto text = read_small_file(mpath);
  if (!text) return std::nullopt;
  InstalledManifest out;
  out.text = *text;
  out.manifest = parse_manifest(out.text, mpath.string());
  if (out.manifest.file != library.filename().string())
    throw std::runtime_error(mpath.string() + ": describes '" + out.manifest.file + "', not '" +
                             library.filename().string() + "'; install the package's files under their own names");
  if (auto sig = read_small_file(signature_path_of(library))) {
    std::string s = *sig;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    out.signature_hex = s;
  }
  return out;
}

}  // namespace citylink::host
