// Enforcing the allow-list: by hash, or by a vendor signature over the package manifest.
#include <citylink/host/allow_list.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/keys.hpp>

#include <sstream>
#include <stdexcept>

namespace citylink::host {
namespace {

// MAJOR.MINOR.PATCH[-suffix] into three numbers; false when it is not that.
bool parse_version(const std::string& s, int out[3]) {
  std::size_t i = 0;
  for (int part = 0; part < 3; ++part) {
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    long v = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      v = v * 10 + (s[i++] - '0');
      if (v > 1'000'000) return false;
    }
    out[part] = static_cast<int>(v);
    if (part < 2) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size() || s[i] == '-' || s[i] == '+';
}

int compare(const int a[3], const int b[3]) {
  for (int i = 0; i < 3; ++i)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

}  // namespace

VersionRange VersionRange::parse(const std::string& text) {
  VersionRange r;
  r.text_ = text;
  std::istringstream in(text);
  for (std::string tok; in >> tok;) {
    Bound b{};
    std::size_t n = 0;
    for (const char* op : {">=", "<=", ">", "<", "="})
      if (tok.rfind(op, 0) == 0) {
        b.op = op;
        n = b.op.size();
        break;
      }
    if (b.op.empty()) b.op = "=";
    if (!parse_version(tok.substr(n), b.v))
      throw std::invalid_argument("'" + tok + "' is not a version bound; write comparisons like \">=1.2.0 <2.0.0\"");
    r.bounds_.push_back(b);
  }
  return r;
}

bool VersionRange::contains(const std::string& version) const {
  int v[3];
  if (!parse_version(version, v)) return bounds_.empty();
  for (const auto& b : bounds_) {
    const int c = compare(v, b.v);
    const bool ok = b.op == ">=" ? c >= 0 : b.op == "<=" ? c <= 0 : b.op == ">" ? c > 0 : b.op == "<" ? c < 0 : c == 0;
    if (!ok) return false;
  }
  return true;
}

std::vector<AllowMatch> admit_file(const std::vector<AllowedPlugin>& list, const std::filesystem::path& path,
                                   const std::string& sha256, const std::string& plugin_id) {
  std::vector<AllowMatch> matches;
  std::optional<InstalledManifest> installed;
  std::string manifest_problem, signature_problem;
  bool manifest_read = false;
  for (const auto& e : list) {
    if (!plugin_id.empty() && e.plugin_id != plugin_id) continue;
    if (!e.sha256.empty() && e.sha256 == sha256) {
      matches.push_back({&e, std::nullopt});
      continue;
    }
    if (e.vendor_key.empty()) continue;
    if (!manifest_read) {
      manifest_read = true;
      try {
        installed = read_installed_manifest(path);
        if (!installed) manifest_problem = "there is no signed manifest next to it";
        else if (installed->signature_hex.empty()) manifest_problem = "its manifest is not signed";
        else if (installed->manifest.sha256 != sha256)
          manifest_problem = "its manifest names SHA-256 " + installed->manifest.sha256 +
                             ", not this file's: the library was changed after it was packaged";
      } catch (const std::exception& ex) {
        manifest_problem = ex.what();
      }
    }
    if (!manifest_problem.empty() || !installed) continue;
    if (keys::verify_hex(installed->text, installed->signature_hex, e.vendor_key))
      matches.push_back({&e, installed->manifest});
    else
      signature_problem = "its manifest signature does not verify with the vendor key on allow_list line " +
                          std::to_string(e.line);
  }
  if (manifest_problem.empty()) manifest_problem = signature_problem;
  if (matches.empty()) {
    std::string msg = "plugin file '" + path.string() + "' (SHA-256 " + sha256 + ") is not on the city's allow-list";
    if (!plugin_id.empty()) msg += " for plugin '" + plugin_id + "'";
    if (!manifest_problem.empty()) msg += " (" + manifest_problem + ")";
    msg += "; after reviewing it, add `- {plugin: " + (plugin_id.empty() ? std::string("ID") : plugin_id) +
           ", sha256: " + sha256 + "}` to allow_list, or install the vendor's signed package and list its vendor_key";
    throw LoadError(msg);
  }
  return matches;
}

void admit_plugin(const std::vector<AllowMatch>& matches, const std::filesystem::path& path, const std::string& id,
                  const std::string& version) {
  std::string why;
  for (const auto& m : matches) {
    if (m.entry->plugin_id != id) continue;
    if (!m.entry->versions.contains(version)) {
      why = "version " + version + " is outside '" + m.entry->versions.text() + "' (allow_list line " +
            std::to_string(m.entry->line) + ")";
      continue;
    }
    if (m.manifest) {
      bool listed = false;
      for (const auto& p : m.manifest->plugins) listed = listed || (p.id == id && p.version == version);
      if (!listed) {
        why = "the signed manifest does not list " + id + " " + version;
        continue;
      }
    }
    return;
  }
  throw LoadError("plugin file '" + path.string() + "': plugin '" + id + "' " + version +
                  " is not allowed by the city's allow-list" + (why.empty() ? "" : ": " + why) +
                  "; review the new version and widen `versions`, or install the version the city allows");
}

}  // namespace citylink::host
