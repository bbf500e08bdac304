// The durable outbox file (see outbox.hpp and docs/delivery.md).
#include <citylink/host/outbox.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/topic.hpp>
#include <citylink/host/wall_clock.hpp>

#include <chrono>

#include <citylink/host/sqlite_file.hpp>

namespace citylink::host {
namespace {

// "CLOB" in PRAGMA application_id marks a CityLink outbox; user_version is the schema.
constexpr int kApplicationId = 0x434C4F42;
constexpr int kSchemaVersion = 1;

struct OutboxFile {
  using Error = OutboxError;
  static constexpr const char* kKind = "outbox";
};
using Stmt = storage::Stmt<OutboxFile>;
using Txn = storage::Txn<OutboxFile>;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS pending (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  subscriber TEXT NOT NULL,
  topic TEXT NOT NULL,
  envelope BLOB NOT NULL,
  accepted_unix_ms INTEGER NOT NULL,
  deliveries INTEGER NOT NULL DEFAULT 0,
  strikes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS pending_by_subscriber ON pending(subscriber, seq);
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

}  // namespace

Outbox::Outbox(OutboxOptions options) : options_(std::move(options)) { open(); }

Outbox::~Outbox() {
  if (db_) sqlite3_close_v2(db_);
}

void Outbox::open() {
  const auto& path = options_.path;
  db_ = storage::open_file<OutboxFile>(
      path, {kApplicationId, kSchemaVersion, kSchema, "host.outbox", options_.fsync_each_commit});
  if (options_.max_bytes > 0) {
    int64_t page = 4096;
    {
      Stmt st(db_, path, "PRAGMA page_size");
      if (st.step()) page = st.i64(0);
    }
    const int64_t pages = std::max<int64_t>(16, static_cast<int64_t>(options_.max_bytes) / page);
    storage::exec<OutboxFile>(db_, path, ("PRAGMA max_page_count=" + std::to_string(pages)).c_str(),
                              "cannot set its size limit (host.outbox_max_mb)");
  }
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
  Txn t(db_, path, "BEGIN IMMEDIATE", "cannot write to it");
  const int64_t now = unix_now_ms();
  if (part != Part::dead && !batch.acked.empty()) {
    Stmt del(db_, path, "DELETE FROM pending WHERE seq = ?1");
    for (const int64_t seq : batch.acked) del.reset().bind(1, seq).run("cannot forget an acked message");
  }
  if (part != Part::acks && !batch.dead.empty()) {
    Stmt move(db_, path,
              "INSERT OR REPLACE INTO dead_letters(seq, subscriber, topic, envelope, envelope_id, accepted_unix_ms, "
              "dead_unix_ms, deliveries, reason) SELECT seq, subscriber, topic, envelope, ?2, accepted_unix_ms, ?3, ?4, "
              "?5 FROM pending WHERE seq = ?1");
    Stmt del(db_, path, "DELETE FROM pending WHERE seq = ?1");
    for (const auto& d : batch.dead) {
      move.reset().bind(1, d.seq).bind(2, d.envelope_id).bind(3, now).bind(4, int64_t{d.deliveries}).bind(5, d.reason);
      move.run("cannot move a message to the dead letters");
      del.reset().bind(1, d.seq).run("cannot move a message to the dead letters");
    }
  }
  if (part == Part::all) {
    if (!batch.counted.empty()) {
      Stmt up(db_, path, "UPDATE pending SET deliveries = ?2, strikes = ?3 WHERE seq = ?1");
      for (const auto& c : batch.counted)
        up.reset().bind(1, c.seq).bind(2, int64_t{c.deliveries}).bind(3, int64_t{c.strikes}).run("cannot count a delivery");
    }
    if (batch.delivered_upto > 0) {
      Stmt up(db_, path,
              "INSERT INTO delivered_upto(subscriber, seq, clean) VALUES(?1, ?2, 0) ON CONFLICT(subscriber) DO "
              "UPDATE SET seq = MAX(seq, excluded.seq), clean = 0");
      up.bind(1, subscriber).bind(2, batch.delivered_upto).run("cannot record what was delivered");
    }
    if (!batch.append.empty()) {
      Stmt ins(db_, path,
               "INSERT INTO pending(subscriber, topic, envelope, accepted_unix_ms) VALUES(?1, ?2, ?3, ?4)");
      for (const auto& [topic, envelope] : batch.append) {
        ins.reset().bind(1, subscriber).bind(2, topic).bind_blob(3, envelope).bind(4, now);
        ins.run("cannot store a message");
        if (seqs) seqs->push_back(sqlite3_last_insert_rowid(db_));
      }
    }
  }
  t.commit();
}

std::vector<OutboxRow> Outbox::load(const std::string& subscriber, int64_t after_seq, std::size_t limit) const {
  std::lock_guard lk(mu_);
  Stmt st(db_, options_.path,
          "SELECT seq, topic, envelope, accepted_unix_ms, deliveries, strikes FROM pending WHERE subscriber = ?1 AND "
          "seq > ?2 "
          "ORDER BY seq LIMIT ?3");
  st.bind(1, subscriber).bind(2, after_seq).bind(3, static_cast<int64_t>(limit));
  std::vector<OutboxRow> rows;
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
  Stmt st(db_, options_.path, "SELECT COUNT(*) FROM pending WHERE subscriber = ?1");
  st.bind(1, subscriber);
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
