// The host's one SQLite helper (prepared statements, transactions, error messages, opening a
// file of one kind), used by the audit log, the outbox and the platform's incident book.
// `File` names the file's kind for messages and the error type to raise:
//   struct F { using Error = AuditError; static constexpr const char* kKind = "audit log"; };
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

namespace citylink::host::storage {

// What the operator should do about a failed SQLite call; empty when there is nothing to add.
inline std::string fix_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return "the disk (or quota, or the configured size limit) holding it is full: free space on that file "
             "system or raise the limit, then retry";
    case SQLITE_READONLY:
      return "the file or its directory is read-only: make both writable by the user the host runs as "
             "(SQLite also creates the -wal and -shm files beside it)";
    case SQLITE_CANTOPEN:
      return "check that the directory exists and that the user the host runs as may create and write files in it";
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return "permission denied: give the user the host runs as read and write access to the file and its directory";
    case SQLITE_IOERR:
      return "an input/output error: check the disk and the file system (dmesg)";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "another process kept it locked longer than the 5 s busy timeout: find that process, then retry";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "it is not an SQLite database or it is damaged: point at the right file or restore it from a backup";
    default:
      return {};
  }
}

// Raises File::Error "KIND PATH: WHAT: SQLite's message (errno text); the fix".
template <class File>
[[noreturn]] void fail(sqlite3* db, const std::filesystem::path& path, const std::string& what, int rc) {
  std::string msg = std::string(File::kKind) + " " + path.string() + ": " + what + ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (db && sqlite3_system_errno(db) != 0 && (rc & 0xff) != SQLITE_CONSTRAINT)
    msg += std::string(" (") + std::strerror(sqlite3_system_errno(db)) + ")";
  const std::string fix = fix_for(rc);
  if (!fix.empty()) msg += "; " + fix;
  throw typename File::Error(msg);
}

// A prepared statement. Text and blob parameters are bound SQLITE_TRANSIENT (copied).
template <class File>
class Stmt {
 public:
  Stmt(sqlite3* db, const std::filesystem::path& path, const char* sql) : db_(db), path_(path) {
    const int rc = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr);
    if (rc != SQLITE_OK) fail<File>(db_, path_, "cannot prepare a statement", rc);
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    check(sqlite3_bind_int64(st_, i, v));
    return *this;
  }
  Stmt& bind(int i, std::string_view v) {
    check(sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind_blob(int i, std::string_view v) {
    check(sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  // true: a row is available; false: done.
  bool step(const char* what = "cannot read it") {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3_reset(st_);
    fail<File>(db_, path_, what, rc);
  }
  void run(const char* what) {
    while (step(what)) {
    }
    sqlite3_reset(st_);
  }
  bool is_null(int c) const { return sqlite3_column_type(st_, c) == SQLITE_NULL; }
  int64_t i64(int c) const { return sqlite3_column_int64(st_, c); }
  std::string text(int c) const {
    const auto* p = sqlite3_column_text(st_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st_, c)))
             : std::string();
  }
  std::string blob(int c) const {
    const void* p = sqlite3_column_blob(st_, c);
    return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st_, c)))
             : std::string();
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail<File>(db_, path_, "cannot bind a statement parameter", rc);
  }
  sqlite3* db_;
  const std::filesystem::path& path_;
  sqlite3_stmt* st_ = nullptr;
};

template <class File>
void exec(sqlite3* db, const std::filesystem::path& path, const char* sql, const char* what) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) fail<File>(db, path, what, rc);
}

// A transaction that rolls back unless committed. Does nothing when one is already open.
template <class File>
class Txn {
 public:
  Txn(sqlite3* db, const std::filesystem::path& path, const char* begin, const char* what)
      : db_(db), path_(path), what_(what), own_(sqlite3_get_autocommit(db) != 0) {
    if (own_) exec<File>(db_, path_, begin, what_);
  }
  ~Txn() {
    if (own_ && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  void commit() {
    if (own_ && !done_) exec<File>(db_, path_, "COMMIT", what_);
    done_ = true;
  }

 private:
  sqlite3* db_;
  const std::filesystem::path& path_;
  const char* what_;
  bool own_;
  bool done_ = false;
};

// What a file says it is: PRAGMA application_id, PRAGMA user_version (the schema) and how
// many objects its schema has (0 with application_id 0: a fresh, empty file).
struct Header {
  int64_t application_id = 0;
  int64_t user_version = 0;
  int64_t objects = 0;
  bool fresh() const { return application_id == 0 && objects == 0; }
};

template <class File>
Header read_header(sqlite3* db, const std::filesystem::path& path) {
  Header h;
  {
    Stmt<File> st(db, path, "PRAGMA application_id");
    if (st.step("cannot read its header")) h.application_id = st.i64(0);
  }
  {
    Stmt<File> st(db, path, "PRAGMA user_version");
    if (st.step("cannot read its header")) h.user_version = st.i64(0);
  }
  {
    Stmt<File> st(db, path, "SELECT COUNT(*) FROM sqlite_master");
    if (st.step("cannot read its schema")) h.objects = st.i64(0);
  }
  return h;
}

// A read-write file of one kind: what it must say it is, and how it is made when new.
struct FileSpec {
  int64_t application_id;
  int64_t schema_version;
  const char* schema;        // run once, when the file is new
  const char* config_key;    // the config key that names it, for messages ("host.outbox")
  bool fsync_each_commit;    // synchronous=FULL (a power cut loses nothing) or NORMAL (a crash loses nothing)
};

// Opens (or creates, with its directory) a file of this kind in WAL mode, refusing a
// directory, another SQLite database and a newer schema, each by name. Returns the handle,
// which the caller closes with sqlite3_close_v2.
template <class File>
sqlite3* open_file(const std::filesystem::path& path, const FileSpec& spec) {
  using Error = typename File::Error;
  const std::string name = std::string(File::kKind) + " " + path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(name + ": is a directory; give the path of a database file (" + spec.config_key + ")");
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  struct Closer {  // until it is handed over
    sqlite3*& db;
    bool armed = true;
    ~Closer() {
      if (armed && db) sqlite3_close_v2(db);
    }
  } closer{db};
  if (rc != SQLITE_OK) fail<File>(db, path, "cannot open or create it", rc);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  const auto header = read_header<File>(db, path);
  if (!header.fresh() && header.application_id != spec.application_id)
    throw Error(name + ": is not a CityLink " + File::kKind + " (another SQLite database); point " + spec.config_key +
                " at its own file");
  if (!header.fresh() && header.user_version > spec.schema_version)
    throw Error(name + ": was written by a newer CityLink (schema " + std::to_string(header.user_version) +
                "); run that version");
  // WAL: a reader never blocks the writer, and a commit is one append to the log.
  exec<File>(db, path, "PRAGMA journal_mode=WAL", "cannot switch it to WAL");
  exec<File>(db, path, spec.fsync_each_commit ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
             "cannot set its synchronous mode");
  if (header.fresh()) {
    Txn<File> t(db, path, "BEGIN IMMEDIATE", "cannot create its tables");
    exec<File>(db, path, spec.schema, "cannot create its tables");
    exec<File>(db, path, ("PRAGMA application_id=" + std::to_string(spec.application_id)).c_str(), "cannot mark it");
    exec<File>(db, path, ("PRAGMA user_version=" + std::to_string(spec.schema_version)).c_str(), "cannot mark it");
    t.commit();
  }
  closer.armed = false;
  return db;
}

}  // namespace citylink::host::storage
