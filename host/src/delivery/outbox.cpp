// The durable outbox file (see outbox.hpp and docs/delivery.md).
#include <citylink/host/outbox.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/topic.hpp>
#include <citylink/host/wall_clock.hpp>

#include <algorithm>
#include <chrono>

#include <citylink/host/sqlite_file.hpp>

namespace citylink::host {
namespace {

// "CLOB" in PRAGMA application_id marks a CityLink outbox; user_version is the schema.
constexpr int kApplicationId = 0x434C4F42;
// 2: a subscriber's rows are one range of seq (no index on subscriber); 1 had an index.
constexpr int kSchemaVersion = 2;

// A seq is the subscriber's id in the high bits and its own count below, so the table's own
// key keeps each subscriber's rows together and in order: no second index to write on every
// append and every ack (it cost a third of a commit, BM_OutboxCommit).
// 48 bits: 2.8e14 rows per subscriber (nine years at a million a second); 32,767 subscribers.
constexpr int kSeqBits = 48;
int64_t first_seq_of(int64_t subscriber_id) { return subscriber_id << kSeqBits; }
int64_t last_seq_of(int64_t subscriber_id) { return first_seq_of(subscriber_id) | ((int64_t{1} << kSeqBits) - 1); }
constexpr int64_t kMaxSubscriberId = (int64_t{1} << (63 - kSeqBits)) - 1;

struct OutboxFile {
  using Error = OutboxError;
  static constexpr const char* kKind = "outbox";
};
using Stmt = storage::Stmt<OutboxFile>;
using Txn = storage::Txn<OutboxFile>;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS subscribers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS pending (
  seq INTEGER PRIMARY KEY,
  subscriber TEXT NOT NULL,
  topic TEXT NOT NULL,
  envelope BLOB NOT NULL,
  accepted_unix_ms INTEGER NOT NULL,
  deliveries INTEGER NOT NULL DEFAULT 0,
  strikes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS delivered_upto (
  subscriber TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  clean INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dead_letters (
  seq INTEGER PRIMARY KEY,
  subscriber TEXT NOT NULL,
  topic TEXT NOT NULL,
  envelope BLOB NOT NULL,
  envelope_id TEXT NOT NULL,
  accepted_unix_ms INTEGER NOT NULL,
  dead_unix_ms INTEGER NOT NULL,
  deliveries INTEGER NOT NULL,
  reason TEXT NOT NULL
);
)sql";

// Schema 1 (one AUTOINCREMENT seq for all subscribers, an index on subscriber) to 2: the
// old `pending` is set aside, kSchema makes the new tables, and each old seq moves into its
// subscriber's range, which keeps the order per subscriber and every comparison with
// delivered_upto.
constexpr const char* kSetSchema1Aside = "ALTER TABLE pending RENAME TO pending_1;";  // its index goes with it
constexpr const char* kFromSchema1 = R"sql(
INSERT INTO subscribers(name) SELECT subscriber FROM pending_1 UNION SELECT subscriber FROM delivered_upto
  UNION SELECT subscriber FROM dead_letters;
INSERT INTO pending SELECT (s.id << 48) | p.seq, p.subscriber, p.topic, p.envelope, p.accepted_unix_ms,
  p.deliveries, p.strikes FROM pending_1 p JOIN subscribers s ON s.name = p.subscriber ORDER BY p.seq;
DROP TABLE pending_1;
UPDATE delivered_upto SET seq = ((SELECT id FROM subscribers WHERE name = delivered_upto.subscriber) << 48) | seq;
UPDATE dead_letters SET seq = ((SELECT id FROM subscribers WHERE name = dead_letters.subscriber) << 48) | seq;
PRAGMA user_version = 2;
)sql";
static_assert(kSeqBits == 48, "kFromSchema1 shifts by 48");

}  // namespace

// The statements of a commit, prepared once: preparing them for every commit cost a tenth
// of it (BM_OutboxCommit).
struct Outbox::Statements {
  Statements(sqlite3* db, const std::filesystem::path& path)
      : forget(db, path, "DELETE FROM pending WHERE seq BETWEEN ?1 AND ?2"),
        move_dead(db, path,
                  "INSERT OR REPLACE INTO dead_letters(seq, subscriber, topic, envelope, envelope_id, "
                  "accepted_unix_ms, dead_unix_ms, deliveries, reason) SELECT seq, subscriber, topic, envelope, ?2, "
                  "accepted_unix_ms, ?3, ?4, ?5 FROM pending WHERE seq = ?1"),
        count(db, path, "UPDATE pending SET deliveries = ?2, strikes = ?3 WHERE seq = ?1"),
        delivered(db, path,
                  "INSERT INTO delivered_upto(subscriber, seq, clean) VALUES(?1, ?2, 0) ON CONFLICT(subscriber) DO "
                  "UPDATE SET seq = MAX(seq, excluded.seq), clean = 0"),
        append(db, path,
               "INSERT INTO pending(seq, subscriber, topic, envelope, accepted_unix_ms) VALUES(?1, ?2, ?3, ?4, ?5)") {}
  Stmt forget, move_dead, count, delivered, append;
};

Outbox::Outbox(OutboxOptions options) : options_(std::move(options)) { open(); }

Outbox::~Outbox() {
  statements_.reset();  // finalized before the connection closes
  if (db_) sqlite3_close_v2(db_);
}

void Outbox::open() {
  const auto& path = options_.path;
  db_ = storage::open_file<OutboxFile>(
      path, {kApplicationId, kSchemaVersion, kSchema, "host.outbox", options_.fsync_each_commit});
  try {
    // Before the size limit: the conversion holds `pending` twice until it drops the old one.
    if (storage::read_header<OutboxFile>(db_, path).user_version == 1) convert_from_schema_1();
    if (options_.max_bytes > 0) {
      auto pragma = [&](const char* name) {
        Stmt st(db_, path, name);
        return st.step("cannot read its size") ? st.i64(0) : 0;
      };
      const int64_t page = std::max<int64_t>(512, pragma("PRAGMA page_size"));
      int64_t pages = std::max<int64_t>(16, static_cast<int64_t>(options_.max_bytes) / page);
      // SQLite ignores a limit below the file's size, which would leave it with none: a file
      // already larger (a lowered limit, a conversion) is held at its size instead.
      const int64_t now = pragma("PRAGMA page_count");
      if (now > pages) {
        log()->warn("outbox {}: is {:.1f} MB, above host.outbox_max_mb; it may refill its free pages but not grow",
                    path.string(), static_cast<double>(now * page) / (1 << 20));
        pages = now;
      }
      storage::exec<OutboxFile>(db_, path, ("PRAGMA max_page_count=" + std::to_string(pages)).c_str(),
                                "cannot set its size limit (host.outbox_max_mb)");
    }
    statements_ = std::make_unique<Statements>(db_, path);
  } catch (...) {
    // The destructor does not run for a constructor that throws.
    statements_.reset();
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

void Outbox::convert_from_schema_1() {
  const auto& path = options_.path;
  const char* what = "cannot bring its tables to this version (schema 1 to 2; it needs room for its waiting rows twice)";
  Txn t(db_, path, "BEGIN IMMEDIATE", what);
  {
    Stmt st(db_, path,
            "SELECT COUNT(*) FROM (SELECT subscriber FROM pending UNION SELECT subscriber FROM delivered_upto UNION "
            "SELECT subscriber FROM dead_letters)");
    if (st.step(what) && st.i64(0) > kMaxSubscriberId)
      throw OutboxError("outbox " + path.string() + ": names more than " + std::to_string(kMaxSubscriberId) +
                        " subscribers, more than schema 2 numbers; start a new outbox file (host.outbox) and keep "
                        "this one to read");
  }
  for (const char* sql : {kSetSchema1Aside, kSchema, kFromSchema1}) storage::exec<OutboxFile>(db_, path, sql, what);
  t.commit();
  log()->info("outbox {}: its tables were brought from schema 1 to 2 (each subscriber's rows in a range of seq)",
              path.string());
}

std::vector<int64_t> Outbox::commit(const std::string& subscriber, const OutboxBatch& batch) {
  std::vector<int64_t> seqs;
  if (batch.empty()) return seqs;
  std::lock_guard lk(mu_);
  try {
    commit_locked(subscriber, batch, Part::all, &seqs);
  } catch (const OutboxError& e) {
    // A full file: forget what was acked first (that frees pages), then move the dead
    // letters, each on its own, so the subscriber that drains it is never stuck behind the
    // appends that cannot fit.
    for (const Part part : {Part::acks, Part::dead}) {
      try {
        commit_locked(subscriber, batch, part, nullptr);
      } catch (const OutboxError&) {
      }
    }
    set_failing(subscriber, e.what());
    throw;
  }
  set_failing(subscriber, "");
  return seqs;
}

void Outbox::set_failing(const std::string& subscriber, const std::string& error) {
  std::lock_guard lk(gate_mu_);
  for (auto& [name, sub] : subscribers_) {
    if (name != subscriber) continue;
    if (sub.error.empty() != error.empty()) failing_count_.fetch_add(error.empty() ? -1 : 1);
    sub.error = error;
  }
}

// Under mu_. One transaction with the whole batch, or only its acks, or only its dead letters.
void Outbox::commit_locked(const std::string& subscriber, const OutboxBatch& batch, Part part,
                           std::vector<int64_t>* seqs) {
  const auto& path = options_.path;
  if ((part == Part::acks && batch.acked.empty()) || (part == Part::dead && batch.dead.empty())) return;
  // Before the transaction: a new subscriber's id is its own commit, so the cache of ranges
  // never holds an id that a rolled-back transaction took away.
  Range* range = part == Part::all && !batch.append.empty() ? &range_locked(subscriber) : nullptr;
  Txn t(db_, path, "BEGIN IMMEDIATE", "cannot write to it");
  const int64_t now = unix_now_ms();
  auto& st = *statements_;
  if (part != Part::dead && !batch.acked.empty()) {
    // Acks mostly come in order: each run of consecutive seqs is one statement (exact: a run
    // holds only seqs that were acked).
    std::vector<int64_t> acked(batch.acked);
    std::sort(acked.begin(), acked.end());
    for (std::size_t i = 0; i < acked.size();) {
      std::size_t j = i + 1;
      while (j < acked.size() && acked[j] <= acked[j - 1] + 1) ++j;
      st.forget.reset().bind(1, acked[i]).bind(2, acked[j - 1]).run("cannot forget an acked message");
      i = j;
    }
  }
  if (part != Part::acks && !batch.dead.empty()) {
    for (const auto& d : batch.dead) {
      st.move_dead.reset().bind(1, d.seq).bind(2, d.envelope_id).bind(3, now).bind(4, int64_t{d.deliveries}).bind(5, d.reason);
      st.move_dead.run("cannot move a message to the dead letters");
      st.forget.reset().bind(1, d.seq).bind(2, d.seq).run("cannot move a message to the dead letters");
    }
  }
  // With every part: a row leaves `pending` only counted here first, which is what keeps
  // the next seq (range_locked) above every seq ever used, also after a full disk.
  if (batch.delivered_upto > 0)
    st.delivered.reset().bind(1, subscriber).bind(2, batch.delivered_upto).run("cannot record what was delivered");
  if (part == Part::all) {
    for (const auto& c : batch.counted)
      st.count.reset().bind(1, c.seq).bind(2, int64_t{c.deliveries}).bind(3, int64_t{c.strikes}).run("cannot count a delivery");
    if (range) {
      int64_t seq = range->next;
      for (const auto& [topic, envelope] : batch.append) {
        if (seq > last_seq_of(range->id))
          throw OutboxError("outbox " + path.string() + ": subscriber '" + subscriber + "' has used up its 2^48 "
                            "sequence numbers; rename the instance (a new name starts a new range)");
        st.append.reset().bind(1, seq).bind(2, subscriber).bind(3, topic).bind_blob(4, envelope).bind(5, now);
        st.append.run("cannot store a message");
        if (seqs) seqs->push_back(seq);
        ++seq;
      }
      t.commit();
      range->next = seq;  // only once the rows are on file
      return;
    }
  }
  t.commit();
}

// Under mu_. The subscriber's id and the seq of its next row: one past the highest it ever
// used, which is in pending, in the dead letters, or else at most delivered_upto (a row
// leaves pending only acked or dead, and it is delivered, so counted there, before either).
// nullptr: the subscriber never had a row.
Outbox::Range* Outbox::find_range_locked(const std::string& subscriber) const {
  if (auto it = ranges_.find(subscriber); it != ranges_.end()) return &it->second;
  const auto& path = options_.path;
  int64_t id = 0;
  {
    Stmt st(db_, path, "SELECT id FROM subscribers WHERE name = ?1");
    st.bind(1, subscriber);
    if (st.step("cannot read its subscribers")) id = st.i64(0);
  }
  if (id == 0) return nullptr;
  int64_t highest = first_seq_of(id);
  for (const char* sql : {"SELECT MAX(seq) FROM pending WHERE seq BETWEEN ?1 AND ?2",
                          "SELECT MAX(seq) FROM dead_letters WHERE seq BETWEEN ?1 AND ?2",
                          "SELECT MAX(seq) FROM delivered_upto WHERE seq BETWEEN ?1 AND ?2"}) {
    Stmt st(db_, path, sql);
    st.bind(1, first_seq_of(id)).bind(2, last_seq_of(id));
    if (st.step("cannot read its sequence numbers") && !st.is_null(0)) highest = std::max(highest, st.i64(0));
  }
  return &ranges_.emplace(subscriber, Range{id, highest + 1}).first->second;
}

// Under mu_. As find_range_locked, and a new subscriber gets its id.
Outbox::Range& Outbox::range_locked(const std::string& subscriber) {
  if (Range* r = find_range_locked(subscriber)) return *r;
  const auto& path = options_.path;
  Stmt ins(db_, path, "INSERT INTO subscribers(name) VALUES(?1)");
  ins.bind(1, subscriber).run("cannot add a subscriber");
  const int64_t id = sqlite3_last_insert_rowid(db_);
  if (id > kMaxSubscriberId)
    throw OutboxError("outbox " + path.string() + ": has given out all " + std::to_string(kMaxSubscriberId) +
                      " subscriber ids; start a new outbox file (host.outbox)");
  return ranges_.emplace(subscriber, Range{id, first_seq_of(id) + 1}).first->second;
}

std::vector<OutboxRow> Outbox::load(const std::string& subscriber, int64_t after_seq, std::size_t limit) const {
  std::lock_guard lk(mu_);
  std::vector<OutboxRow> rows;
  const Range* range = find_range_locked(subscriber);
  if (!range) return rows;
  Stmt st(db_, options_.path,
          "SELECT seq, topic, envelope, accepted_unix_ms, deliveries, strikes FROM pending WHERE seq > ?1 AND "
          "seq <= ?2 ORDER BY seq LIMIT ?3");
  st.bind(1, std::max(after_seq, first_seq_of(range->id))).bind(2, last_seq_of(range->id))
      .bind(3, static_cast<int64_t>(limit));
  while (st.step("cannot read waiting messages")) {
    OutboxRow r;
    r.seq = st.i64(0);
    r.topic = st.text(1);
    r.envelope = st.blob(2);
    r.accepted_unix_ms = st.i64(3);
    r.deliveries = static_cast<uint32_t>(st.i64(4));
    r.strikes = static_cast<uint32_t>(st.i64(5));
    rows.push_back(std::move(r));
  }
  return rows;
}

uint64_t Outbox::depth(const std::string& subscriber) const {
  std::lock_guard lk(mu_);
  const Range* range = find_range_locked(subscriber);
  if (!range) return 0;
  Stmt st(db_, options_.path, "SELECT COUNT(*) FROM pending WHERE seq BETWEEN ?1 AND ?2");
  st.bind(1, first_seq_of(range->id)).bind(2, last_seq_of(range->id));
  return st.step("cannot count waiting messages") ? static_cast<uint64_t>(st.i64(0)) : 0;
}

Outbox::Delivered Outbox::delivered_upto(const std::string& subscriber) const {
  std::lock_guard lk(mu_);
  Stmt st(db_, options_.path, "SELECT seq, clean FROM delivered_upto WHERE subscriber = ?1");
  st.bind(1, subscriber);
  Delivered d;
  if (st.step("cannot read what was delivered")) {
    d.seq = st.i64(0);
    d.clean = st.i64(1) != 0;
  }
  return d;
}

void Outbox::mark_clean(const std::string& subscriber) {
  std::lock_guard lk(mu_);
  Stmt st(db_, options_.path, "UPDATE delivered_upto SET clean = 1 WHERE subscriber = ?1");
  st.bind(1, subscriber).run("cannot record a clean stop");
}

std::vector<DeadLetter> Outbox::dead_letters(const std::string& subscriber) const {
  std::lock_guard lk(mu_);
  Stmt st(db_, options_.path,
          "SELECT seq, subscriber, topic, envelope, envelope_id, accepted_unix_ms, dead_unix_ms, deliveries, reason "
          "FROM dead_letters WHERE ?1 = '' OR subscriber = ?1 ORDER BY seq");
  st.bind(1, subscriber);
  std::vector<DeadLetter> out;
  while (st.step("cannot read the dead letters")) {
    DeadLetter d;
    d.seq = st.i64(0);
    d.subscriber = st.text(1);
    d.topic = st.text(2);
    d.envelope = st.blob(3);
    d.envelope_id = st.text(4);
    d.accepted_unix_ms = st.i64(5);
    d.dead_unix_ms = st.i64(6);
    d.deliveries = static_cast<uint32_t>(st.i64(7));
    d.reason = st.text(8);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<std::pair<std::string, uint64_t>> Outbox::subscribers() const {
  std::lock_guard lk(mu_);
  Stmt st(db_, options_.path, "SELECT subscriber, COUNT(*) FROM pending GROUP BY subscriber ORDER BY subscriber");
  std::vector<std::pair<std::string, uint64_t>> out;
  while (st.step("cannot list waiting messages")) out.emplace_back(st.text(0), static_cast<uint64_t>(st.i64(1)));
  return out;
}

void Outbox::add_durable_topics(const std::string& subscriber, const std::vector<std::string>& patterns) {
  std::lock_guard lk(gate_mu_);
  subscribers_.push_back({subscriber, Subscriber{patterns, {}, nullptr, 0}});
}

bool Outbox::failing(const std::string& subscriber) const {
  if (failing_count_.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard lk(gate_mu_);
  for (const auto& [name, sub] : subscribers_)
    if (name == subscriber && !sub.error.empty()) return true;
  return false;
}

void Outbox::watch_queue(const std::string& subscriber, std::shared_ptr<QueueBytes> queue, int64_t limit_bytes) {
  std::lock_guard lk(gate_mu_);
  for (auto& [name, sub] : subscribers_) {
    if (name != subscriber) continue;
    if (static_cast<bool>(sub.queue) != static_cast<bool>(queue)) watched_count_.fetch_add(queue ? 1 : -1);
    sub.queue = std::move(queue);
    sub.limit = limit_bytes;
  }
}

citylink_status Outbox::admit(std::string_view topic, std::string* why) const {
  // Cities without durable subscriptions, and the outbox when nothing is wrong with it,
  // never take the lock for a queue check: only the watched queues are read.
  if (failing_count_.load(std::memory_order_acquire) == 0 && watched_count_.load(std::memory_order_acquire) == 0)
    return CITYLINK_OK;
  std::lock_guard lk(gate_mu_);
  for (const auto& [name, sub] : subscribers_) {
    if (sub.error.empty() && !sub.queue) continue;
    if (!grants_allow(sub.topics, topic)) continue;
    if (!sub.error.empty()) {
      if (why)
        *why = "durable subscriber '" + name + "' of '" + std::string(topic) + "' cannot store it: " + sub.error +
               " (nothing was queued; publish again once the outbox is writable)";
      return CITYLINK_ERR_UNAVAILABLE;
    }
    const int64_t queued = sub.queue->normal.load(std::memory_order_relaxed) +
                           sub.queue->critical.load(std::memory_order_relaxed);
    if (queued >= sub.limit) {
      if (why)
        *why = "durable subscriber '" + name + "' of '" + std::string(topic) + "' is behind: " +
               std::to_string(queued) + " bytes wait to be written to its outbox (nothing was queued; publish again "
               "shortly)";
      return CITYLINK_ERR_BACKPRESSURE;
    }
  }
  return CITYLINK_OK;
}

}  // namespace citylink::host
