// `citylink audit`: verify, export and purge the tamper-evident audit log, and make the
// key that signs retention checkpoints. See docs/audit.md.
#include "commands.hpp"
#include "options.hpp"

#include <citylink/host/audit_store.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/host/transparency.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace citylink::cli {
namespace {

using host::AuditStore;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Unix nanoseconds from one of:
//   1714521600000000000              unix nanoseconds
//   2024-05-01T09:00:00+09:00        ISO 8601 with a zone (Z, +HH:MM, +HHMM); seconds and
//   2024-05-01T00:00Z                a fraction (up to 9 digits) are optional
//   30d, 12h, 90m                    that long before now
// A date or time without a zone is refused: it would silently mean UTC or local time.
int64_t parse_time(const std::string& s, const std::string& option) {
  const auto bad = [&]() -> std::runtime_error {
    return std::runtime_error(option + " '" + s +
                              "' is not a time: give ISO 8601 with a zone (2024-05-01T09:00:00+09:00 or "
                              "2024-05-01T00:00:00Z), unix nanoseconds, or an age such as 30d, 12h, 90m");
  };
  if (s.empty()) throw bad();
  // Unix nanoseconds have 19 digits today; int64 holds up to 9223372036854775807.
  const auto digits = [](const std::string& t) {
    return !t.empty() && t.find_first_not_of("0123456789") == std::string::npos && t.size() <= 19;
  };
  const auto to_int = [&](const std::string& t) -> int64_t {
    try {
      return std::stoll(t);
    } catch (const std::out_of_range&) {
      throw bad();
    }
  };
  if (digits(s)) return to_int(s);
  if (const char unit = s.back(); (unit == 'd' || unit == 'h' || unit == 'm') && digits(s.substr(0, s.size() - 1))) {
    const int64_t n = to_int(s.substr(0, s.size() - 1));
    const int64_t unit_s = unit == 'd' ? 86400 : unit == 'h' ? 3600 : 60;
    if (n > 100000 * 365LL * 86400 / unit_s) throw bad();
    return now_ns() - n * unit_s * 1'000'000'000;
  }

  // YYYY-MM-DD[T ]HH:MM[:SS[.fffffffff]](Z|+HH:MM|+HHMM|-...)
  std::size_t i = 0;
  const auto num = [&](std::size_t n) {
    if (i + n > s.size()) throw bad();
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const char c = s[i + k];
      if (!std::isdigit(static_cast<unsigned char>(c))) throw bad();
      v = v * 10 + (c - '0');
    }
    i += n;
    return v;
  };
  const auto expect = [&](char c) {
    if (i >= s.size() || s[i] != c) throw bad();
    ++i;
  };
  std::tm tm{};
  tm.tm_year = num(4) - 1900;
  expect('-');
  tm.tm_mon = num(2) - 1;
  expect('-');
  tm.tm_mday = num(2);
  if (i >= s.size() || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) throw bad();
  ++i;
  tm.tm_hour = num(2);
  expect(':');
  tm.tm_min = num(2);
  int64_t frac_ns = 0;
  if (i < s.size() && s[i] == ':') {
    ++i;
    tm.tm_sec = num(2);
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      ++i;
      int64_t scale = 100'000'000;
      std::size_t n = 0;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        if (++n > 9) throw bad();
        frac_ns += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
      }
      if (n == 0) throw bad();
    }
  }
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60)
    throw bad();
  int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const int sign = s[i] == '-' ? -1 : 1;
    ++i;
    const int hh = num(2);
    if (i < s.size() && s[i] == ':') ++i;
    const int mm = num(2);
    if (hh > 23 || mm > 59) throw bad();
    offset_s = sign * (hh * 3600 + mm * 60);
  } else {
    throw bad();  // no zone
  }
  if (i != s.size()) throw bad();
  const int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_s;
  return secs * 1'000'000'000 + frac_ns;
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  const auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string read_secret_key_file(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) throw std::runtime_error("--secret-key-file " + file + ": no such file");
  if (st.st_mode & 077)
    std::fprintf(stderr, "citylink audit: warning: %s is readable by group or others: chmod 600 %s\n", file.c_str(), file.c_str());
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) throw std::runtime_error("--secret-key-file " + file + ": cannot read it");
  return trim(text);
}

}  // namespace

int cmd_audit_verify(const Args& args) {
  const std::string usage = "usage: citylink audit verify DB [--public-key HEX] [--json]";
  const Parsed p = parse(args, {"--public-key"}, {"--json"}, usage);
  AuditStore store(p.positional, AuditStore::OpenMode::read_only);
  const auto r = store.verify(p.get("--public-key"));
  if (p.has("--json")) {
    nlohmann::json j = {{"database", p.positional},
                        {"ok", r.ok},
                        {"records_checked", r.records_checked},
                        {"checkpoint_seq", r.checkpoint_seq},
                        {"checkpoint_signature_checked", r.checkpoint_signature_checked}};
    if (r.ok) {
      j["head_seq"] = r.head_seq;
      j["head_hash"] = r.head_hash;
    } else {
      j["kind"] = host::to_string(r.kind);
      j["first_bad_seq"] = r.first_bad_seq;
      j["problem"] = r.problem;
    }
    std::printf("%s\n", j.dump(2).c_str());
    return r.ok ? kOk : kFailed;
  }
  if (!r.ok) {
    std::printf("audit log %s: TAMPERED (%s, record %lld): %s\n", p.positional.c_str(), host::to_string(r.kind),
                static_cast<long long>(r.first_bad_seq), r.problem.c_str());
    return kFailed;
  }
  std::printf("audit log %s: OK: %llu records verified", p.positional.c_str(), static_cast<unsigned long long>(r.records_checked));
  if (r.records_checked > 0)
    std::printf(" (records %lld-%lld)", static_cast<long long>(r.head_seq - static_cast<int64_t>(r.records_checked) + 1),
                static_cast<long long>(r.head_seq));
  std::printf("\n");
  if (r.checkpoint_seq > 0)
    std::printf("  records up to %lld were purged by retention; checkpoint signature %s\n",
                static_cast<long long>(r.checkpoint_seq),
                r.checkpoint_signature_checked ? "verified" : "NOT checked (give --public-key HEX to check it)");
  std::printf("  head: record %lld, hash %s\n", static_cast<long long>(r.head_seq), r.head_hash.c_str());
  return kOk;
}

int cmd_audit_transparency(const Args& args) {
  const std::string usage = "usage: citylink audit transparency DB --month YYYY-MM";
  const Parsed p = parse(args, {"--month"}, {}, usage);
  const auto month = p.get("--month");
  if (!month) throw std::runtime_error("--month YYYY-MM is required\n" + usage);
  AuditStore store(p.positional, AuditStore::OpenMode::read_only);
  std::printf("%s\n", host::transparency_report(store, *month).dump(2).c_str());
  return kOk;
}

int cmd_audit_export(const Args& args) {
  const std::string usage =
      "usage: citylink audit export DB --format csv|json [--from TIME] [--to TIME] [--out FILE]\n"
      "  TIME: ISO 8601 with a zone (2024-05-01T00:00:00+09:00), unix nanoseconds, or an age (30d, 12h)";
  const Parsed p = parse(args, {"--format", "--from", "--to", "--out"}, {}, usage);
  const auto format = p.get("--format");
  if (!format || (*format != "csv" && *format != "json")) throw std::runtime_error("--format csv or --format json is required\n" + usage);
  std::optional<int64_t> from, to;
  if (const auto v = p.get("--from")) from = parse_time(*v, "--from");
  if (const auto v = p.get("--to")) to = parse_time(*v, "--to");
  if (from && to && *from >= *to) throw std::runtime_error("--from must be before --to");

  AuditStore store(p.positional, AuditStore::OpenMode::read_only);
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (const auto path = p.get("--out")) {
    file.open(*path, std::ios::binary | std::ios::trunc);
    if (!file) throw std::runtime_error("--out " + *path + ": cannot create it");
    out = &file;
  }
  const std::size_t n = *format == "csv" ? store.export_csv(*out, from, to) : store.export_json(*out, from, to);
  std::fprintf(stderr, "citylink audit export: %zu records from %s (run `citylink audit verify` to check them)\n", n, p.positional.c_str());
  return kOk;
}

int cmd_audit_purge(const Args& args) {
  const std::string usage =
      "usage: citylink audit purge DB --before TIME --secret-key-file FILE\n"
      "  TIME: ISO 8601 with a zone, unix nanoseconds, or an age (30d = older than 30 days)";
  const Parsed p = parse(args, {"--before", "--secret-key-file"}, {}, usage);
  const auto before = p.get("--before");
  const auto key_file = p.get("--secret-key-file");
  if (!before || !key_file) throw std::runtime_error(usage);
  const int64_t t = parse_time(*before, "--before");
  const std::string secret = read_secret_key_file(*key_file);

  AuditStore store(p.positional, AuditStore::OpenMode::existing);
  host::AuditPurgeResult r;
  try {
    r = store.purge_before(t, secret);
  } catch (const host::AuditChainBroken& e) {
    std::printf("audit log %s: TAMPERED (%s, record %lld): %s\nnothing was purged.\n", p.positional.c_str(),
                host::to_string(e.result.kind), static_cast<long long>(e.result.first_bad_seq), e.result.problem.c_str());
    return kFailed;
  }
  if (r.records_purged == 0 || !r.checkpoint) {
    std::printf("audit log %s: nothing to purge: no record older than %s\n", p.positional.c_str(), before->c_str());
    return kOk;
  }
  std::printf("audit log %s: purged %llu records (up to record %lld)\n  checkpoint head hash %s\n  signed by public key %s\n",
              p.positional.c_str(), static_cast<unsigned long long>(r.records_purged),
              static_cast<long long>(r.checkpoint->purged_up_to_seq), r.checkpoint->head_hash.c_str(),
              r.checkpoint->public_key_hex.c_str());
  return kOk;
}

int cmd_audit_keygen(const Args& args) {
  const std::string usage = "usage: citylink audit keygen --secret-key-file FILE   (prints the public key)";
  const Parsed p = parse(args, {"--secret-key-file"}, {}, usage, false);
  const auto file = p.get("--secret-key-file");
  if (!file) throw std::runtime_error(usage);
  const auto key = AuditStore::generate_signing_key();
  host::keys::write_secret_file(*file, key.secret_key_hex + "\n");
  std::printf("%s\n", key.public_key_hex.c_str());
  std::fprintf(stderr,
               "citylink audit keygen: secret key written to %s (mode 0600); the line above is the public key for "
               "`citylink audit verify --public-key`\n",
               file->c_str());
  return kOk;
}

}  // namespace citylink::cli
