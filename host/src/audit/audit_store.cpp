// The tamper-evident audit store (see audit_store.hpp and docs/audit.md).
#include <citylink/host/audit_store.hpp>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/host/wall_clock.hpp>
#include <sodium.h>
#include <sqlite3.h>

#include <citylink/host/sqlite_file.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <mutex>
#include <ostream>

namespace citylink::host {
namespace {

using citylink::v1::AuditRecord;

// "CLAU" in PRAGMA application_id marks a CityLink audit log; user_version is the schema.
constexpr int kApplicationId = 0x434C4155;
constexpr int kSchemaVersion = 1;
constexpr const char* kCheckpointDomain = "citylink-audit-checkpoint-v1";
// How far from its position verify looks for where a misplaced record was written.
constexpr int64_t kMoveSearchWindow = 4096;

constexpr const char* kSchema = R"sql(
CREATE TABLE records (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  time_unix_ns  INTEGER NOT NULL,
  action        TEXT NOT NULL,
  incident_id   TEXT NOT NULL,
  recipient     TEXT NOT NULL,
  record        BLOB NOT NULL,  -- the serialized AuditRecord, hash field cleared: the hashed bytes
  previous_hash TEXT NOT NULL,
  hash          TEXT NOT NULL
);
CREATE INDEX records_time ON records(time_unix_ns);
CREATE INDEX records_incident ON records(incident_id);
CREATE INDEX records_recipient ON records(recipient);
CREATE TABLE checkpoints (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  purged_up_to_seq INTEGER NOT NULL,
  head_hash        TEXT NOT NULL,
  time_unix_ns     INTEGER NOT NULL,
  records_purged   INTEGER NOT NULL,
  public_key       TEXT NOT NULL,
  signature        TEXT NOT NULL
);
-- The triggers stop accidents (an operator's UPDATE in the sqlite3 shell); the hash chain
-- catches anyone who drops them first.
CREATE TRIGGER records_append_only BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only: they cannot be changed'); END;
CREATE TRIGGER records_delete_purged_only BEFORE DELETE ON records
WHEN OLD.seq > (SELECT COALESCE(MAX(purged_up_to_seq), 0) FROM checkpoints)
BEGIN SELECT RAISE(ABORT, 'audit records are append-only: only a retention purge (citylink audit purge) deletes them'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints cannot be changed'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints cannot be deleted'); END;
)sql";

constexpr const char* kRowColumns = "seq, time_unix_ns, action, incident_id, recipient, record, previous_hash, hash";

// The one SQLite helper (citylink/host/sqlite_file.hpp), raising AuditError "audit log PATH: ...".
struct AuditFile {
  using Error = AuditError;
  static constexpr const char* kKind = "audit log";
};
using Stmt = storage::Stmt<AuditFile>;
using Txn = storage::Txn<AuditFile>;
[[noreturn]] void fail(sqlite3* db, const std::filesystem::path& path, const std::string& what, int rc) {
  storage::fail<AuditFile>(db, path, what, rc);
}
void exec(sqlite3* db, const std::filesystem::path& path, const char* sql, const char* what) {
  storage::exec<AuditFile>(db, path, sql, what);
}

void put_be64(std::string& out, int64_t v) {
  const auto u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((u >> shift) & 0xff));
}

using keys::from_hex;
using keys::to_hex;

bool is_hash_text(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void init_sodium() {
  if (sodium_init() < 0) throw AuditError("libsodium failed to initialise");
}

// Replaces every invalid UTF-8 sequence with U+FFFD, so that a record built from a
// plugin's bytes always serializes and parses back (proto3 refuses invalid UTF-8 in
// string fields on parse, which would make the record unverifiable).
std::string repair_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  const auto cont = [&](std::size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    if (k >= s.size()) return false;
    const auto c = static_cast<unsigned char>(s[k]);
    return c >= lo && c <= hi;
  };
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    if (c < 0x80) len = 1;
    else if (c >= 0xC2 && c <= 0xDF) len = cont(i + 1) ? 2 : 0;
    else if (c == 0xE0) len = cont(i + 1, 0xA0, 0xBF) && cont(i + 2) ? 3 : 0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = cont(i + 1) && cont(i + 2) ? 3 : 0;
    else if (c == 0xED) len = cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0;
    else if (c == 0xF0) len = cont(i + 1, 0x90, 0xBF) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    else if (c >= 0xF1 && c <= 0xF3) len = cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    else if (c == 0xF4) len = cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

void repair_strings(AuditRecord& rec) {
  const auto* d = rec.GetDescriptor();
  const auto* r = rec.GetReflection();
  for (int f = 0; f < d->field_count(); ++f) {
    const auto* fd = d->field(f);
    if (fd->type() != google::protobuf::FieldDescriptor::TYPE_STRING) continue;
    if (fd->is_repeated()) {
      for (int i = 0; i < r->FieldSize(rec, fd); ++i) {
        const std::string v = r->GetRepeatedString(rec, fd, i);
        std::string fixed = repair_utf8(v);
        if (fixed != v) r->SetRepeatedString(&rec, fd, i, std::move(fixed));
      }
    } else {
      const std::string v = r->GetString(rec, fd);
      std::string fixed = repair_utf8(v);
      if (fixed != v) r->SetString(&rec, fd, std::move(fixed));
    }
  }
}

std::string iso_time(int64_t ns) {
  int64_t secs = ns / 1'000'000'000;
  int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
  return buf;
}

std::string records_text(int64_t from, int64_t to) {
  if (from == to) return "record " + std::to_string(from);
  return "records " + std::to_string(from) + "-" + std::to_string(to);
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

template <typename List>
std::string joined(const List& items, char sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// One row of the records table.
struct Row {
  int64_t seq = 0;
  int64_t time_unix_ns = 0;
  std::string action, incident_id, recipient, blob, previous_hash, hash;
};

Row read_row(const Stmt& st) {
  Row r;
  r.seq = st.i64(0);
  r.time_unix_ns = st.i64(1);
  r.action = st.text(2);
  r.incident_id = st.text(3);
  r.recipient = st.text(4);
  r.blob = st.blob(5);
  r.previous_hash = st.text(6);
  r.hash = st.text(7);
  return r;
}

bool hash_ok_at(const Row& r, int64_t seq) {
  return AuditStore::compute_hash(r.previous_hash, seq, r.blob) == r.hash;
}

// Empty when the indexed columns agree with the hashed content, else what disagrees.
std::string column_problem(const Row& r) {
  AuditRecord rec;
  if (!rec.ParseFromString(r.blob)) return "its stored record cannot be parsed";
  const auto differs = [](const char* col, const std::string& column, const std::string& content) {
    return std::string("its ") + col + " column ('" + column + "') does not match its hashed content ('" + content + "')";
  };
  if (rec.previous_hash() != r.previous_hash) return differs("previous_hash", r.previous_hash, rec.previous_hash());
  if (rec.time_unix_ns() != r.time_unix_ns)
    return differs("time_unix_ns", std::to_string(r.time_unix_ns), std::to_string(rec.time_unix_ns()));
  if (rec.action() != r.action) return differs("action", r.action, rec.action());
  if (rec.incident_id() != r.incident_id) return differs("incident_id", r.incident_id, rec.incident_id());
  if (rec.recipient() != r.recipient) return differs("recipient", r.recipient, rec.recipient());
  if (!rec.hash().empty()) return "its stored record carries a hash field, which is never stored";
  return {};
}

AuditCheckpoint read_checkpoint(const Stmt& st) {
  AuditCheckpoint c;
  c.purged_up_to_seq = st.i64(0);
  c.head_hash = st.text(1);
  c.time_unix_ns = st.i64(2);
  c.records_purged = static_cast<uint64_t>(st.i64(3));
  c.public_key_hex = st.text(4);
  c.signature_hex = st.text(5);
  return c;
}

constexpr const char* kCheckpointColumns = "purged_up_to_seq, head_hash, time_unix_ns, records_purged, public_key, signature";

}  // namespace

const char* to_string(AuditProblem p) {
  switch (p) {
    case AuditProblem::none: return "none";
    case AuditProblem::edited: return "edited";
    case AuditProblem::deleted: return "deleted";
    case AuditProblem::inserted: return "inserted";
    case AuditProblem::reordered: return "reordered";
    case AuditProblem::checkpoint: return "checkpoint";
    case AuditProblem::unreadable: return "unreadable";
  }
  return "unknown";
}

struct AuditStore::Impl {
  std::filesystem::path path;
  OpenMode mode;
  sqlite3* db = nullptr;
  mutable std::mutex mu;

  ~Impl() {
    if (db) sqlite3_close_v2(db);
  }

  void open();
  int64_t max_issued_seq() const;
  std::optional<AuditCheckpoint> latest_checkpoint() const;
  std::vector<int64_t> seqs_where(const char* column, const std::string& value) const;
  std::optional<Row> row_after(int64_t seq) const;
  std::optional<Row> row_at(int64_t seq) const;
  AuditVerifyResult verify(const std::optional<std::string>& public_key_hex) const;
  void for_each(const AuditQuery& q, const std::function<void(StoredAuditRecord&&)>& fn) const;
  void require_writable() const {
    if (mode == OpenMode::read_only)
      throw AuditError("audit log " + path.string() + ": opened read-only (for verify or export); nothing can be written");
  }
};

void AuditStore::Impl::open() {
  const bool must_exist = mode != OpenMode::create;
  std::error_code ec;
  if (must_exist && !std::filesystem::exists(path, ec))
    throw AuditError("audit log " + path.string() + ": no such file; give the path of the host's audit database");
  if (std::filesystem::is_directory(path, ec))
    throw AuditError("audit log " + path.string() + ": is a directory; give the path of a database file");

  int flags = SQLITE_OPEN_NOMUTEX;
  if (mode == OpenMode::read_only) flags |= SQLITE_OPEN_READONLY;
  else flags |= SQLITE_OPEN_READWRITE;
  if (mode == OpenMode::create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) fail(db, path, mode == OpenMode::create ? "cannot open or create it" : "cannot open it", rc);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);

  const auto header = storage::read_header<AuditFile>(db, path);
  const int64_t app_id = header.application_id, version = header.user_version;
  const bool fresh = header.fresh();
  if (!(fresh && mode == OpenMode::create) && app_id != kApplicationId)
    throw AuditError("audit log " + path.string() +
                     (fresh ? ": is empty, not a CityLink audit log (the host creates it when it first runs with this audit log)"
                            : ": is not a CityLink audit log (an SQLite file without its application id); check the path"));
  if (version > kSchemaVersion)
    throw AuditError("audit log " + path.string() + ": has schema version " + std::to_string(version) +
                     ", newer than this citylink understands (" + std::to_string(kSchemaVersion) + "); use a newer citylink");

  if (mode == OpenMode::read_only) return;
  {
    Stmt st(db, path, "PRAGMA journal_mode=WAL");
    std::string jm;
    if (st.step("cannot switch it to WAL journal mode")) jm = st.text(0);
    if (jm != "wal")
      throw AuditError("audit log " + path.string() + ": cannot switch it to WAL journal mode (SQLite kept '" + jm +
                       "'); put it on a local file system that supports shared memory (not NFS)");
  }
  exec(db, path, "PRAGMA synchronous=FULL", "cannot set synchronous=FULL");
  if (fresh) {
    Txn t(db, path, "BEGIN IMMEDIATE", "cannot create its schema");
    Stmt st(db, path, "SELECT COUNT(*) FROM sqlite_master");
    st.step("cannot create its schema");
    if (st.i64(0) == 0) {  // nobody else created it meanwhile
      exec(db, path, kSchema, "cannot create its schema");
      exec(db, path, ("PRAGMA application_id=" + std::to_string(kApplicationId)).c_str(), "cannot create its schema");
      exec(db, path, ("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str(), "cannot create its schema");
    }
    t.commit();
  }
}

int64_t AuditStore::Impl::max_issued_seq() const {
  Stmt st(db, path, "SELECT seq FROM sqlite_sequence WHERE name = 'records'");
  return st.step() ? st.i64(0) : 0;
}

std::optional<AuditCheckpoint> AuditStore::Impl::latest_checkpoint() const {
  Stmt st(db, path, (std::string("SELECT ") + kCheckpointColumns + " FROM checkpoints ORDER BY purged_up_to_seq DESC, id DESC LIMIT 1").c_str());
  if (!st.step()) return std::nullopt;
  return read_checkpoint(st);
}

std::vector<int64_t> AuditStore::Impl::seqs_where(const char* column, const std::string& value) const {
  Stmt st(db, path, (std::string("SELECT seq FROM records WHERE ") + column + " = ? ORDER BY seq").c_str());
  st.bind(1, value);
  std::vector<int64_t> out;
  while (st.step()) out.push_back(st.i64(0));
  return out;
}

std::optional<Row> AuditStore::Impl::row_after(int64_t seq) const {
  Stmt st(db, path, (std::string("SELECT ") + kRowColumns + " FROM records WHERE seq > ? ORDER BY seq LIMIT 1").c_str());
  st.bind(1, seq);
  if (!st.step()) return std::nullopt;
  return read_row(st);
}

std::optional<Row> AuditStore::Impl::row_at(int64_t seq) const {
  Stmt st(db, path, (std::string("SELECT ") + kRowColumns + " FROM records WHERE seq = ?").c_str());
  st.bind(1, seq);
  if (!st.step()) return std::nullopt;
  return read_row(st);
}

AuditVerifyResult AuditStore::Impl::verify(const std::optional<std::string>& public_key_hex) const {
  AuditVerifyResult res;
  auto bad = [&](AuditProblem kind, int64_t seq, std::string text) {
    res.ok = false;
    res.kind = kind;
    res.first_bad_seq = seq;
    res.problem = std::move(text);
    return res;
  };

  std::optional<std::string> public_key;
  if (public_key_hex) {
    public_key = from_hex(*public_key_hex, crypto_sign_PUBLICKEYBYTES);
    if (!public_key)
      throw AuditError("the public key must be " + std::to_string(crypto_sign_PUBLICKEYBYTES * 2) +
                       " hex characters (as printed by `citylink audit keygen`)");
  }

  Txn t(db, path, "BEGIN", "cannot read it");  // one snapshot for checkpoints and records

  // The checkpoints: each signature (with a key), increasing, and the latest is the anchor.
  int64_t anchor_seq = 0;
  std::string anchor_hash = genesis_hash();
  {
    Stmt st(db, path, (std::string("SELECT ") + kCheckpointColumns + " FROM checkpoints ORDER BY id").c_str());
    while (st.step()) {
      const AuditCheckpoint c = read_checkpoint(st);
      const std::string which = "the checkpoint of the purge up to record " + std::to_string(c.purged_up_to_seq) +
                                " (written " + iso_time(c.time_unix_ns) + ")";
      if (!is_hash_text(c.head_hash) || c.purged_up_to_seq <= 0)
        return bad(AuditProblem::checkpoint, c.purged_up_to_seq, which + " was altered: its head hash or sequence number is not valid");
      if (public_key) {
        const auto sig = from_hex(c.signature_hex, crypto_sign_BYTES);
        const std::string msg = checkpoint_message(c.purged_up_to_seq, c.head_hash, c.time_unix_ns);
        if (!sig || crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                                reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                                                reinterpret_cast<const unsigned char*>(public_key->data())) != 0)
          return bad(AuditProblem::checkpoint, c.purged_up_to_seq,
                     which + " does not verify with the given public key: it was altered or forged, or signed with another key");
      }
      if (c.purged_up_to_seq <= anchor_seq)
        return bad(AuditProblem::checkpoint, c.purged_up_to_seq,
                   which + " was altered: it goes back before an earlier checkpoint (up to record " + std::to_string(anchor_seq) + ")");
      anchor_seq = c.purged_up_to_seq;
      anchor_hash = c.head_hash;
    }
  }
  res.checkpoint_seq = anchor_seq;
  res.checkpoint_signature_checked = public_key.has_value() && anchor_seq > 0;

  const std::string anchor_text =
      anchor_seq > 0 ? "the checkpoint (records up to " + std::to_string(anchor_seq) + " were purged)" : "the start of the log";

  // The chain, in sequence order.
  int64_t exp_seq = anchor_seq + 1;
  std::string exp_prev = anchor_hash;
  int64_t pred_seq = anchor_seq;  // the last good record, or the anchor
  bool pred_is_row = false;
  auto pred_text = [&]() { return pred_is_row ? "record " + std::to_string(pred_seq) : anchor_text; };

  Stmt rows(db, path, (std::string("SELECT ") + kRowColumns + " FROM records ORDER BY seq").c_str());
  while (rows.step()) {
    const Row r = read_row(rows);
    const bool hash_ok = is_hash_text(r.previous_hash) && hash_ok_at(r, r.seq);
    const std::string columns = hash_ok ? column_problem(r) : std::string();
    const bool content_ok = hash_ok && columns.empty();
    if (content_ok && r.seq == exp_seq && r.previous_hash == exp_prev) {
      ++res.records_checked;
      exp_seq = r.seq + 1;
      exp_prev = r.hash;
      pred_seq = r.seq;
      pred_is_row = true;
      continue;
    }
    const std::string s = std::to_string(r.seq);

    // A record at or before the anchor: only the first row can get here.
    if (r.seq < exp_seq && anchor_seq == 0)
      return bad(AuditProblem::inserted, r.seq, "record " + s + " was inserted: sequence numbers start at 1");
    if (r.seq < exp_seq)
      return bad(AuditProblem::inserted, r.seq,
                 "record " + s + " lies in the purged range (the checkpoint says records up to " + std::to_string(anchor_seq) +
                     " were purged): it was inserted after the purge, or the checkpoint was altered");

    // A gap: records are missing here, deleted or moved elsewhere.
    if (r.seq > exp_seq) {
      const std::string missing = records_text(exp_seq, r.seq - 1);
      if (!hash_ok && hash_ok_at(r, exp_seq))
        return bad(AuditProblem::reordered, exp_seq, "record " + std::to_string(exp_seq) + " was renumbered to " + s + " (reordered)");
      for (int64_t k : seqs_where("hash", r.previous_hash))
        if (k > r.seq)
          return bad(AuditProblem::reordered, exp_seq,
                     missing + (exp_seq == r.seq - 1 ? " is" : " are") + " not in place: record " + s +
                         " follows, in the chain, the record now at position " + std::to_string(k) + " (reordered)");
      return bad(AuditProblem::deleted, exp_seq,
                 missing + (exp_seq == r.seq - 1 ? " is" : " are") + " missing (deleted): record " + s + " follows " + pred_text());
    }

    // In its place, but its content does not match its hash: edited, moved here, or inserted.
    if (!content_ok) {
      if (hash_ok) return bad(AuditProblem::edited, r.seq, "record " + s + " was edited: " + columns);
      // Written at another position? Try the neighbours in the chain first (after the
      // record it names as previous, before the record naming it), then nearby positions.
      std::optional<int64_t> written;
      {
        std::vector<int64_t> candidates;
        for (int64_t k : seqs_where("hash", r.previous_hash)) candidates.push_back(k + 1);
        for (int64_t k : seqs_where("previous_hash", r.hash)) candidates.push_back(k - 1);
        for (int64_t d = 1; d <= kMoveSearchWindow; ++d) {
          candidates.push_back(r.seq - d);
          candidates.push_back(r.seq + d);
        }
        for (int64_t w : candidates)
          if (w > 0 && w != r.seq && hash_ok_at(r, w)) {
            written = w;
            break;
          }
      }
      if (written) {
        const int64_t w = *written;
        const std::string ws = std::to_string(w);
        const auto there = row_at(w);
        if (there && there->hash == r.hash && there->blob == r.blob)
          return bad(AuditProblem::inserted, r.seq, "record " + s + " was inserted: it is a copy of record " + ws);
        const auto preds = seqs_where("hash", r.previous_hash);  // where its chain predecessor is now
        if (w < r.seq) {
          for (int64_t k : preds)
            if (k < pred_seq)
              return bad(AuditProblem::inserted, k + 1,
                         records_text(k + 1, r.seq - 1) + (k + 1 == r.seq - 1 ? " was" : " were") +
                             " inserted: the record now at " + s + " was written as record " + ws + " and follows record " +
                             std::to_string(k) + " in the chain");
        } else if (preds.empty() && r.previous_hash != exp_prev && w - 1 > pred_seq) {
          return bad(AuditProblem::deleted, pred_seq + 1,
                     records_text(pred_seq + 1, w - 1) + (pred_seq + 1 == w - 1 ? " is" : " are") +
                         " missing (deleted) and the records after it were renumbered: the record now at " + s +
                         " was written as record " + ws);
        }
        return bad(AuditProblem::reordered, r.seq,
                   "record " + s + " was reordered: it holds the record written as " + ws + " (records were swapped or moved)");
      }
      const auto next = row_after(r.seq);
      if (next && next->previous_hash == r.hash)
        return bad(AuditProblem::edited, r.seq, "record " + s + " was edited: its hash does not match its content");
      if (next && next->previous_hash == exp_prev)
        return bad(AuditProblem::inserted, r.seq,
                   "record " + s + " was inserted: it is not part of the chain (record " + std::to_string(next->seq) +
                       " follows " + pred_text() + ")");
      if (!next && r.previous_hash != exp_prev)
        return bad(AuditProblem::inserted, r.seq,
                   "record " + s + " was inserted: neither its hash nor its previous_hash fits the chain after " + pred_text());
      return bad(AuditProblem::edited, r.seq, "record " + s + " was edited: its hash does not match its content");
    }

    // Its content is intact but it does not follow its predecessor.
    const auto follows = seqs_where("hash", r.previous_hash);
    for (int64_t k : follows) {
      if (k > r.seq)
        return bad(AuditProblem::reordered, r.seq,
                   "record " + s + " was reordered: it follows, in the chain, record " + std::to_string(k) + ", which now comes after it");
      if (k < pred_seq)
        return bad(AuditProblem::inserted, k + 1,
                   records_text(k + 1, r.seq - 1) + (k + 1 == r.seq - 1 ? " was" : " were") + " inserted: record " + s +
                       " follows record " + std::to_string(k) + " in the chain");
    }
    if (!pred_is_row && anchor_seq > 0)
      return bad(AuditProblem::checkpoint, r.seq,
                 "record " + s + " does not follow the checkpoint: its previous_hash does not match the checkpoint's head hash "
                 "(the checkpoint or the record was altered)");
    if (!pred_is_row)
      return bad(AuditProblem::edited, r.seq, "record " + s + " was edited: its previous_hash is not the genesis hash (64 zeros)");
    return bad(AuditProblem::edited, pred_seq,
               "record " + std::to_string(pred_seq) + " was edited and its hash recomputed, or record " + s +
                   " was inserted in place of the original: record " + s + "'s previous_hash does not match record " +
                   std::to_string(pred_seq));
  }

  // The end: every sequence number ever issued must still be there (or purged).
  const int64_t last = pred_seq;
  const int64_t issued = max_issued_seq();
  if (issued > last)
    return bad(AuditProblem::deleted, last + 1,
               records_text(last + 1, issued) + (last + 1 == issued ? " is" : " are") +
                   " missing at the end (deleted): the log issued sequence numbers up to " + std::to_string(issued) +
                   " but ends at " + (pred_is_row ? "record " + std::to_string(last) : anchor_text));
  res.head_seq = last;
  res.head_hash = exp_prev;
  t.commit();
  return res;
}

void AuditStore::Impl::for_each(const AuditQuery& q, const std::function<void(StoredAuditRecord&&)>& fn) const {
  std::string sql = std::string("SELECT ") + kRowColumns + " FROM records WHERE 1";
  if (q.from_ns) sql += " AND time_unix_ns >= ?";
  if (q.to_ns) sql += " AND time_unix_ns < ?";
  if (!q.incident_id.empty()) sql += " AND incident_id = ?";
  if (!q.recipient.empty()) sql += " AND recipient = ?";
  sql += " ORDER BY seq LIMIT ?";
  Stmt st(db, path, sql.c_str());
  int i = 0;
  if (q.from_ns) st.bind(++i, *q.from_ns);
  if (q.to_ns) st.bind(++i, *q.to_ns);
  if (!q.incident_id.empty()) st.bind(++i, q.incident_id);
  if (!q.recipient.empty()) st.bind(++i, q.recipient);
  st.bind(++i, q.limit == 0 ? int64_t{-1} : static_cast<int64_t>(q.limit));
  while (st.step()) {
    const Row r = read_row(st);
    StoredAuditRecord out;
    out.seq = r.seq;
    if (!out.record.ParseFromString(r.blob)) {
      // Export what is there and flag it: verify names the record.
      out.record.Clear();
      out.record.set_detail("(unreadable stored record: run citylink audit verify)");
    }
    out.record.set_previous_hash(r.previous_hash);
    out.record.set_hash(r.hash);
    fn(std::move(out));
  }
}

// ---- AuditStore ----

AuditStore::AuditStore(const std::filesystem::path& path, OpenMode mode) : impl_(std::make_unique<Impl>()) {
  init_sodium();
  impl_->path = path;
  impl_->mode = mode;
  impl_->open();
}

AuditStore::~AuditStore() = default;

const std::filesystem::path& AuditStore::path() const { return impl_->path; }

StoredAuditRecord AuditStore::append(AuditRecord record) {
  impl_->require_writable();
  repair_strings(record);
  if (record.time_unix_ns() == 0) record.set_time_unix_ns(unix_now_ns());
  record.clear_hash();

  std::lock_guard lk(impl_->mu);
  sqlite3* db = impl_->db;
  const auto& path = impl_->path;
  Txn t(db, path, "BEGIN IMMEDIATE", "cannot append a record");

  int64_t anchor_seq = 0;
  std::string prev = genesis_hash();
  if (const auto cp = impl_->latest_checkpoint()) {
    anchor_seq = cp->purged_up_to_seq;
    prev = cp->head_hash;
  }
  int64_t last_seq = 0;
  {
    Stmt st(db, path, "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1");
    if (st.step("cannot append a record")) {
      last_seq = st.i64(0);
      if (last_seq > anchor_seq) prev = st.text(1);
    }
  }
  const int64_t seq = std::max({impl_->max_issued_seq(), last_seq, anchor_seq}) + 1;

  record.set_previous_hash(prev);
  std::string blob;
  if (!record.SerializeToString(&blob)) throw AuditError("audit log " + path.string() + ": cannot serialize the record");
  const std::string hash = compute_hash(prev, seq, blob);

  Stmt ins(db, path,
           "INSERT INTO records (seq, time_unix_ns, action, incident_id, recipient, record, previous_hash, hash) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, seq).bind(2, record.time_unix_ns()).bind(3, record.action()).bind(4, record.incident_id());
  ins.bind(5, record.recipient()).bind_blob(6, blob).bind(7, prev).bind(8, hash);
  ins.run("cannot append a record");
  t.commit();

  record.set_hash(hash);
  return StoredAuditRecord{seq, std::move(record)};
}

AuditVerifyResult AuditStore::verify(const std::optional<std::string>& public_key_hex) const {
  std::lock_guard lk(impl_->mu);
  return impl_->verify(public_key_hex);
}

std::vector<StoredAuditRecord> AuditStore::query(const AuditQuery& q) const {
  std::lock_guard lk(impl_->mu);
  std::vector<StoredAuditRecord> out;
  impl_->for_each(q, [&](StoredAuditRecord&& r) { out.push_back(std::move(r)); });
  return out;
}

std::size_t AuditStore::export_csv(std::ostream& out, std::optional<int64_t> from_ns, std::optional<int64_t> to_ns) const {
  std::lock_guard lk(impl_->mu);
  out << "seq,time,time_unix_ns,action,actor,recipient,incident_id,camera_ids,purpose,legal_basis,valid_until,"
         "valid_until_unix_ns,data_fields,detail,record_id,previous_hash,hash,incident_source,grant_id\r\n";
  std::size_t n = 0;
  AuditQuery q;
  q.from_ns = from_ns;
  q.to_ns = to_ns;
  impl_->for_each(q, [&](StoredAuditRecord&& s) {
    const auto& r = s.record;
    const std::string fields[] = {std::to_string(s.seq),
                                  iso_time(r.time_unix_ns()),
                                  std::to_string(r.time_unix_ns()),
                                  r.action(),
                                  r.actor(),
                                  r.recipient(),
                                  r.incident_id(),
                                  joined(r.camera_ids(), ';'),
                                  r.purpose(),
                                  r.legal_basis(),
                                  r.valid_until_unix_ns() ? iso_time(r.valid_until_unix_ns()) : std::string(),
                                  r.valid_until_unix_ns() ? std::to_string(r.valid_until_unix_ns()) : std::string(),
                                  joined(r.data_fields(), ';'),
                                  r.detail(),
                                  r.record_id(),
                                  r.previous_hash(),
                                  r.hash(),
                                  r.incident_source(),
                                  r.grant_id()};
    bool first = true;
    for (const auto& f : fields) {
      if (!first) out << ',';
      out << csv_field(f);
      first = false;
    }
    out << "\r\n";
    ++n;
  });
  out.flush();
  if (!out) throw AuditError("audit export: cannot write the output (disk full or closed pipe?)");
  return n;
}

std::size_t AuditStore::export_json(std::ostream& out, std::optional<int64_t> from_ns, std::optional<int64_t> to_ns) const {
  using nlohmann::json;
  std::lock_guard lk(impl_->mu);
  const auto bound = [](const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); };
  const auto dump = [](const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); };
  out << "{\"format\":\"citylink.audit.export.v1\",\"from_unix_ns\":" << dump(bound(from_ns))
      << ",\"to_unix_ns\":" << dump(bound(to_ns)) << ",\"records\":[";
  std::size_t n = 0;
  AuditQuery q;
  q.from_ns = from_ns;
  q.to_ns = to_ns;
  impl_->for_each(q, [&](StoredAuditRecord&& s) {
    const auto& r = s.record;
    json j = {{"seq", s.seq},
              {"time", iso_time(r.time_unix_ns())},
              {"time_unix_ns", r.time_unix_ns()},
              {"action", r.action()},
              {"actor", r.actor()},
              {"recipient", r.recipient()},
              {"incident_id", r.incident_id()},
              {"camera_ids", std::vector<std::string>(r.camera_ids().begin(), r.camera_ids().end())},
              {"purpose", r.purpose()},
              {"legal_basis", r.legal_basis()},
              {"valid_until", r.valid_until_unix_ns() ? json(iso_time(r.valid_until_unix_ns())) : json(nullptr)},
              {"valid_until_unix_ns", r.valid_until_unix_ns() ? json(r.valid_until_unix_ns()) : json(nullptr)},
              {"data_fields", std::vector<std::string>(r.data_fields().begin(), r.data_fields().end())},
              {"detail", r.detail()},
              {"record_id", r.record_id()},
              {"previous_hash", r.previous_hash()},
              {"hash", r.hash()},
              {"incident_source", r.incident_source()},
              {"grant_id", r.grant_id()}};
    out << (n == 0 ? "\n" : ",\n") << dump(j);
    ++n;
  });
  out << "\n],\"count\":" << n << "}\n";
  out.flush();
  if (!out) throw AuditError("audit export: cannot write the output (disk full or closed pipe?)");
  return n;
}

AuditPurgeResult AuditStore::purge_before(int64_t time_ns, const std::string& secret_key_hex) {
  impl_->require_writable();
  const auto sk = from_hex(secret_key_hex, crypto_sign_SECRETKEYBYTES);
  if (!sk)
    throw AuditError("the secret key must be " + std::to_string(crypto_sign_SECRETKEYBYTES * 2) +
                     " hex characters (as written by `citylink audit keygen`)");
  const std::string pk_hex = public_key_of(secret_key_hex);

  std::lock_guard lk(impl_->mu);
  sqlite3* db = impl_->db;
  const auto& path = impl_->path;
  Txn t(db, path, "BEGIN IMMEDIATE", "cannot purge it");

  if (const auto cp = impl_->latest_checkpoint(); cp && cp->public_key_hex != pk_hex)
    throw AuditError("audit log " + path.string() + ": its latest checkpoint was signed by key " + cp->public_key_hex +
                     ", not by this secret key (public key " + pk_hex + "); purge with the key that signed it");
  const AuditVerifyResult v = impl_->verify(pk_hex);
  if (!v.ok)
    throw AuditChainBroken("audit log " + path.string() + " does not verify, so nothing was purged (a checkpoint would vouch for "
                           "tampered records): " + v.problem, v);

  // The longest prefix of the chain older than time_ns.
  int64_t upto = 0;
  {
    Stmt st(db, path, "SELECT MIN(seq) FROM records WHERE time_unix_ns >= ?");
    st.bind(1, time_ns);
    st.step("cannot purge it");
    if (!st.is_null(0)) upto = st.i64(0) - 1;
    else upto = v.head_seq;
  }
  AuditPurgeResult result;
  if (upto <= v.checkpoint_seq) return result;

  AuditCheckpoint c;
  c.purged_up_to_seq = upto;
  c.time_unix_ns = unix_now_ns();
  c.public_key_hex = pk_hex;
  {
    Stmt st(db, path, "SELECT hash, (SELECT COUNT(*) FROM records WHERE seq <= ?1) FROM records WHERE seq = ?1");
    st.bind(1, upto);
    if (!st.step("cannot purge it")) throw AuditError("audit log " + path.string() + ": record " + std::to_string(upto) + " vanished during the purge");
    c.head_hash = st.text(0);
    c.records_purged = static_cast<uint64_t>(st.i64(1));
  }
  const std::string msg = checkpoint_message(c.purged_up_to_seq, c.head_hash, c.time_unix_ns);
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                       reinterpret_cast<const unsigned char*>(sk->data()));
  c.signature_hex = to_hex(sig.data(), sig.size());

  // Deleted personal data is overwritten, not left in free pages.
  exec(db, path, "PRAGMA secure_delete=ON", "cannot purge it");
  {
    Stmt st(db, path,
            "INSERT INTO checkpoints (purged_up_to_seq, head_hash, time_unix_ns, records_purged, public_key, signature) "
            "VALUES (?, ?, ?, ?, ?, ?)");
    st.bind(1, c.purged_up_to_seq).bind(2, c.head_hash).bind(3, c.time_unix_ns);
    st.bind(4, static_cast<int64_t>(c.records_purged)).bind(5, c.public_key_hex).bind(6, c.signature_hex);
    st.run("cannot write the checkpoint");
  }
  {
    Stmt st(db, path, "DELETE FROM records WHERE seq <= ?");
    st.bind(1, upto);
    st.run("cannot delete the purged records");
  }
  t.commit();
  // Move the change out of the WAL so the purged content leaves the -wal file too
  // (best effort: a concurrent reader may keep it until the next checkpoint).
  sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);

  result.records_purged = c.records_purged;
  result.checkpoint = std::move(c);
  return result;
}

std::optional<AuditCheckpoint> AuditStore::latest_checkpoint() const {
  std::lock_guard lk(impl_->mu);
  return impl_->latest_checkpoint();
}

const std::string& AuditStore::genesis_hash() {
  static const std::string zeros(64, '0');
  return zeros;
}

std::string AuditStore::compute_hash(std::string_view previous_hash, int64_t seq, std::string_view record_bytes) {
  std::string head(previous_hash);
  put_be64(head, seq);
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(head.data()), head.size());
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(record_bytes.data()), record_bytes.size());
  std::array<unsigned char, crypto_hash_sha256_BYTES> out{};
  crypto_hash_sha256_final(&st, out.data());
  return to_hex(out.data(), out.size());
}

std::string AuditStore::checkpoint_message(int64_t purged_up_to_seq, std::string_view head_hash, int64_t time_unix_ns) {
  std::string msg = kCheckpointDomain;
  put_be64(msg, purged_up_to_seq);
  msg.append(head_hash);
  put_be64(msg, time_unix_ns);
  return msg;
}

AuditSigningKey AuditStore::generate_signing_key() {
  const auto k = keys::generate_signing_key();
  return AuditSigningKey{k.public_key_hex, k.secret_key_hex};
}

std::string AuditStore::public_key_of(const std::string& secret_key_hex) {
  try {
    return keys::public_key_of(secret_key_hex);
  } catch (const std::invalid_argument& e) {
    throw AuditError(e.what());
  }
}

}  // namespace citylink::host
