// The incident book's SQLite file: one row per incident, replaced on every accepted change.
#include <citylink/host/sqlite_file.hpp>
#include <citylink/platform/scenarios/incident_journal.hpp>

namespace citylink::platform::scenarios {
namespace storage = citylink::host::storage;

namespace {

constexpr int kApplicationId = 0x434C4942;  // "CLIB"
constexpr int kSchemaVersion = 1;

struct BookFile {
  using Error = IncidentJournalError;
  static constexpr const char* kKind = "incident book";
};
using Stmt = storage::Stmt<BookFile>;
using Txn = storage::Txn<BookFile>;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS incidents (
  source TEXT NOT NULL,
  number TEXT NOT NULL,
  event_code TEXT NOT NULL,
  open INTEGER NOT NULL,
  updates INTEGER NOT NULL,
  last_change_ns INTEGER NOT NULL,
  latest BLOB NOT NULL,
  PRIMARY KEY (source, number)
);
)sql";

}  // namespace

IncidentJournal::IncidentJournal(std::filesystem::path path) : path_(std::move(path)) {
  db_ = storage::open_file<BookFile>(path_, {kApplicationId, kSchemaVersion, kSchema, "host.incident_book", false});
}

IncidentJournal::~IncidentJournal() {
  if (db_) sqlite3_close_v2(db_);
}

std::vector<Incident> IncidentJournal::load(std::size_t* unreadable) const {
  std::vector<Incident> out;
  std::size_t bad = 0;
  Stmt st(db_, path_, "SELECT source, number, event_code, open, updates, last_change_ns, latest FROM incidents");
  while (st.step("cannot read its incidents")) {
    Incident inc;
    inc.source = st.text(0);
    inc.id = st.text(1);
    inc.event_code = st.text(2);
    inc.open = st.i64(3) != 0;
    inc.updates = static_cast<int>(st.i64(4));
    inc.last_change_ns = st.i64(5);
    const std::string latest = st.blob(6);
    if (!inc.latest.ParseFromString(latest) || inc.latest.occurrence_number() != inc.id ||
        inc.latest.event_code() != inc.event_code) {
      ++bad;
      continue;
    }
    out.push_back(std::move(inc));
  }
  if (unreadable) *unreadable = bad;
  return out;
}

void IncidentJournal::record(const Incident& inc) {
  Stmt st(db_, path_,
          "INSERT OR REPLACE INTO incidents (source, number, event_code, open, updates, last_change_ns, latest) "
          "VALUES (?, ?, ?, ?, ?, ?, ?)");
  st.bind(1, inc.source)
      .bind(2, inc.id)
      .bind(3, inc.event_code)
      .bind(4, int64_t{inc.open ? 1 : 0})
      .bind(5, int64_t{inc.updates})
      .bind(6, inc.last_change_ns)
      .bind_blob(7, inc.latest.SerializeAsString());
  st.run("cannot write an incident");
}

void IncidentJournal::forget(const std::vector<IncidentKey>& keys) {
  if (keys.empty()) return;
  Txn t(db_, path_, "BEGIN IMMEDIATE", "cannot remove retired incidents");
  Stmt st(db_, path_, "DELETE FROM incidents WHERE source = ? AND number = ?");
  for (const auto& k : keys) st.reset().bind(1, k.source).bind(2, k.number).run("cannot remove retired incidents");
  t.commit();
}

}  // namespace citylink::platform::scenarios
