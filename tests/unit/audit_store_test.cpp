// The tamper-evident audit store: the chain, each kind of tampering (done with raw SQL on
// the real SQLite file, as an attacker with file access would), retention checkpoints,
// exports and errors.
#include <citylink/host/audit_store.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace {

using citylink::host::AuditError;
using citylink::host::AuditProblem;
using citylink::host::AuditQuery;
using citylink::host::AuditStore;
using citylink::host::StoredAuditRecord;
using citylink::v1::AuditRecord;

constexpr int64_t kT0 = 1'714'521'600'000'000'000;  // 2024-05-01T00:00:00Z
constexpr int64_t kSecond = 1'000'000'000;

AuditRecord make_record(int i) {
  AuditRecord r;
  r.set_record_id("A-" + std::to_string(i));
  r.set_action(i % 2 ? "video_grant.issue" : "personal_data.deliver");
  r.set_actor("scenario-engine");
  r.set_recipient(i % 3 ? "112" : "119");
  r.set_incident_id("112UC001-" + std::to_string(i / 5));
  r.add_camera_ids("CAM-" + std::to_string(i));
  r.add_camera_ids("CAM-" + std::to_string(i + 1));
  r.set_purpose("emergency response");
  r.set_legal_basis("Personal Information Protection Act art. 15(1)5");
  r.set_time_unix_ns(kT0 + i * kSecond);
  r.set_valid_until_unix_ns(kT0 + i * kSecond + 1200 * kSecond);
  r.add_data_fields("name");
  r.set_detail("record " + std::to_string(i));
  return r;
}

std::vector<StoredAuditRecord> fill(AuditStore& store, int n) {
  std::vector<StoredAuditRecord> out;
  for (int i = 1; i <= n; ++i) out.push_back(store.append(make_record(i)));
  return out;
}

// The attacker's view: raw SQL on the file. Triggers stop accidents, so drop them first.
class Raw {
 public:
  explicit Raw(const std::filesystem::path& p) {
    EXPECT_EQ(sqlite3_open(p.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Raw() { sqlite3_close(db_); }
  // Empty on success, else SQLite's message.
  std::string try_exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = rc == SQLITE_OK ? "" : (err ? err : "error");
    sqlite3_free(err);
    return msg;
  }
  void exec(const std::string& sql) { ASSERT_EQ(try_exec(sql), "") << sql; }
  void drop_triggers() {
    exec("DROP TRIGGER records_append_only; DROP TRIGGER records_delete_purged_only;"
         "DROP TRIGGER checkpoints_no_update; DROP TRIGGER checkpoints_no_delete;");
  }
  int64_t count(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK);
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }
  // Inserts a row with the given content (columns consistent with the record).
  void insert(int64_t seq, const AuditRecord& rec, const std::string& hash) {
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_,
                                 "INSERT INTO records (seq, time_unix_ns, action, incident_id, recipient, record, previous_hash, hash) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 -1, &st, nullptr),
              SQLITE_OK);
    const std::string blob = rec.SerializeAsString();
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_int64(st, 2, rec.time_unix_ns());
    sqlite3_bind_text(st, 3, rec.action().c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, rec.incident_id().c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, rec.recipient().c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 6, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, rec.previous_hash().c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 8, hash.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(st);
  }
  void set_blob(int64_t seq, const std::string& blob) {
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, "UPDATE records SET record = ? WHERE seq = ?", -1, &st, nullptr), SQLITE_OK);
    sqlite3_bind_blob(st, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, seq);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(st);
  }
  // Moves rows from..to (inclusive) by `by` positions, in an order that keeps seq unique.
  void shift(int64_t from, int64_t to, int64_t by) {
    if (by > 0)
      for (int64_t s = to; s >= from; --s) exec("UPDATE records SET seq = " + std::to_string(s + by) + " WHERE seq = " + std::to_string(s));
    else
      for (int64_t s = from; s <= to; ++s) exec("UPDATE records SET seq = " + std::to_string(s + by) + " WHERE seq = " + std::to_string(s));
  }

 private:
  sqlite3* db_ = nullptr;
};

// The stored bytes of a record: what its hash covers.
std::string hashed_bytes(const StoredAuditRecord& s) {
  AuditRecord copy = s.record;
  copy.clear_hash();
  return copy.SerializeAsString();
}

class AuditStoreTest : public ::testing::Test {
 protected:
  citylink::test::TempDir dir;
  std::filesystem::path db = dir / "audit.db";
};

#define EXPECT_PROBLEM(result, kind_, seq_, text_)                                     \
  do {                                                                                 \
    const auto& r_ = (result);                                                         \
    EXPECT_FALSE(r_.ok);                                                               \
    EXPECT_EQ(r_.kind, kind_) << citylink::host::to_string(r_.kind) << ": " << r_.problem; \
    EXPECT_EQ(r_.first_bad_seq, seq_) << r_.problem;                                   \
    EXPECT_NE(r_.problem.find(text_), std::string::npos) << r_.problem;                \
  } while (0)

TEST_F(AuditStoreTest, AppendChainsRecordsAndVerifies) {
  AuditStore store(db);
  EXPECT_TRUE(store.verify().ok);  // empty
  const auto recs = fill(store, 20);
  std::string prev = AuditStore::genesis_hash();
  for (std::size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(recs[i].record.previous_hash(), prev);
    EXPECT_EQ(recs[i].record.hash(), AuditStore::compute_hash(prev, recs[i].seq, hashed_bytes(recs[i])));
    EXPECT_EQ(recs[i].record.hash().size(), 64u);
    prev = recs[i].record.hash();
  }
  const auto v = store.verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records_checked, 20u);
  EXPECT_EQ(v.head_seq, 20);
  EXPECT_EQ(v.head_hash, recs.back().record.hash());

  // The file is WAL, and the chain continues after a reopen.
  Raw raw(db);
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM records"), 20);
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, nullptr);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
    sqlite3_finalize(st);
    sqlite3_close(h);
  }
  AuditStore again(db);
  const auto next = again.append(make_record(21));
  EXPECT_EQ(next.seq, 21);
  EXPECT_EQ(next.record.previous_hash(), prev);
  EXPECT_TRUE(again.verify().ok);
}

TEST_F(AuditStoreTest, AppendSetsTimeWhenZeroAndKeepsInvalidUtf8Verifiable) {
  AuditStore store(db);
  AuditRecord r = make_record(1);
  r.set_time_unix_ns(0);
  r.set_detail(std::string("bad \xff\xfe bytes"));
  r.add_camera_ids(std::string("\xc3"));
  const auto s = store.append(r);
  EXPECT_GT(s.record.time_unix_ns(), kT0);
  EXPECT_EQ(s.record.detail(), "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
  const auto v = store.verify();
  EXPECT_TRUE(v.ok) << v.problem;
}

TEST_F(AuditStoreTest, TriggersRefuseChangesThroughPlainSql) {
  AuditStore store(db);
  fill(store, 3);
  Raw raw(db);
  EXPECT_NE(raw.try_exec("UPDATE records SET recipient = 'x' WHERE seq = 2").find("append-only"), std::string::npos);
  EXPECT_NE(raw.try_exec("DELETE FROM records WHERE seq = 2").find("append-only"), std::string::npos);
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM records"), 3);
  EXPECT_TRUE(store.verify().ok);
}

TEST_F(AuditStoreTest, EditedContentIsNamed) {
  AuditStore store(db);
  const auto recs = fill(store, 20);
  Raw raw(db);
  raw.drop_triggers();
  AuditRecord changed = recs[16].record;  // record 17
  changed.clear_hash();
  changed.set_recipient("attacker");
  raw.set_blob(17, changed.SerializeAsString());
  EXPECT_PROBLEM(store.verify(), AuditProblem::edited, 17, "record 17 was edited: its hash does not match its content");
}

TEST_F(AuditStoreTest, EditedColumnIsNamed) {
  AuditStore store(db);
  fill(store, 20);
  Raw raw(db);
  raw.drop_triggers();
  raw.exec("UPDATE records SET recipient = 'attacker' WHERE seq = 9");
  EXPECT_PROBLEM(store.verify(), AuditProblem::edited, 9, "record 9 was edited: its recipient column");
}

TEST_F(AuditStoreTest, EditedHashColumnIsNamed) {
  AuditStore store(db);
  fill(store, 20);
  Raw raw(db);
  raw.drop_triggers();
  raw.exec("UPDATE records SET hash = '" + std::string(64, 'a') + "' WHERE seq = 4");
  EXPECT_PROBLEM(store.verify(), AuditProblem::edited, 4, "record 4 was edited");
}

TEST_F(AuditStoreTest, EditWithRecomputedHashIsNamed) {
  AuditStore store(db);
  const auto recs = fill(store, 20);
  Raw raw(db);
  raw.drop_triggers();
  AuditRecord changed = recs[11].record;  // record 12
  changed.clear_hash();
  changed.set_legal_basis("none");
  const std::string blob = changed.SerializeAsString();
  raw.set_blob(12, blob);
  raw.exec("UPDATE records SET hash = '" + AuditStore::compute_hash(changed.previous_hash(), 12, blob) + "' WHERE seq = 12");
  EXPECT_PROBLEM(store.verify(), AuditProblem::edited, 12, "record 12 was edited and its hash recomputed");
}

TEST_F(AuditStoreTest, DeletedRecordIsNamed) {
  AuditStore store(db);
  fill(store, 20);
  Raw raw(db);
  raw.drop_triggers();
  raw.exec("DELETE FROM records WHERE seq = 12");
  EXPECT_PROBLEM(store.verify(), AuditProblem::deleted, 12, "record 12 is missing (deleted): record 13 follows record 11");
}

TEST_F(AuditStoreTest, DeletedRangeAndFirstRecordAreNamed) {
  {
    AuditStore store(db);
    fill(store, 20);
    Raw raw(db);
    raw.drop_triggers();
    raw.exec("DELETE FROM records WHERE seq BETWEEN 5 AND 7");
    EXPECT_PROBLEM(store.verify(), AuditProblem::deleted, 5, "records 5-7 are missing (deleted): record 8 follows record 4");
    raw.exec("DELETE FROM records WHERE seq = 1");
    EXPECT_PROBLEM(store.verify(), AuditProblem::deleted, 1, "record 1 is missing (deleted): record 2 follows the start of the log");
  }
}

TEST_F(AuditStoreTest, DeletedTailIsNamed) {
  AuditStore store(db);
  fill(store, 20);
  Raw raw(db);
  raw.drop_triggers();
  raw.exec("DELETE FROM records WHERE seq >= 19");
  EXPECT_PROBLEM(store.verify(), AuditProblem::deleted, 19, "records 19-20 are missing at the end (deleted)");
}

TEST_F(AuditStoreTest, DeletedAndRenumberedIsNamed) {
  AuditStore store(db);
  fill(store, 20);
  Raw raw(db);
  raw.drop_triggers();
  raw.exec("DELETE FROM records WHERE seq = 12");
  raw.shift(13, 20, -1);
  EXPECT_PROBLEM(store.verify(), AuditProblem::deleted, 12, "record 12 is missing (deleted) and the records after it were renumbered");
}

TEST_F(AuditStoreTest, InsertedCopyIsNamed) {
  AuditStore store(db);
  fill(store, 20);
  Raw raw(db);
  raw.drop_triggers();
  raw.exec("INSERT INTO records SELECT 21, time_unix_ns, action, incident_id, recipient, record, previous_hash, hash "
           "FROM records WHERE seq = 5");
  EXPECT_PROBLEM(store.verify(), AuditProblem::inserted, 21, "record 21 was inserted: it is a copy of record 5");
}

TEST_F(AuditStoreTest, InsertedWithRecomputedHashIsNamed) {
  // The strongest insert: make room at 13 and add a record whose hash is computed
  // correctly for its place after record 12.
  AuditStore store(db);
  const auto recs = fill(store, 20);
  Raw raw(db);
  raw.drop_triggers();
  raw.shift(13, 20, +1);
  AuditRecord forged = make_record(99);
  forged.set_previous_hash(recs[11].record.hash());
  raw.insert(13, forged, AuditStore::compute_hash(forged.previous_hash(), 13, forged.SerializeAsString()));
  EXPECT_PROBLEM(store.verify(), AuditProblem::inserted, 13, "record 13 was inserted");
}

TEST_F(AuditStoreTest, InsertedWithGarbageHashIsNamed) {
  AuditStore store(db);
  const auto recs = fill(store, 20);
  Raw raw(db);
  raw.drop_triggers();
  raw.shift(13, 20, +1);
  AuditRecord forged = make_record(99);
  forged.set_previous_hash(recs[11].record.hash());
  raw.insert(13, forged, std::string(64, 'b'));
  EXPECT_PROBLEM(store.verify(), AuditProblem::inserted, 13, "record 13 was inserted");
}

TEST_F(AuditStoreTest, SwappedRecordsAreNamed) {
  AuditStore store(db);
  fill(store, 20);
  Raw raw(db);
  raw.drop_triggers();
  raw.exec("UPDATE records SET seq = -5 WHERE seq = 5");
  raw.exec("UPDATE records SET seq = 5 WHERE seq = 6");
  raw.exec("UPDATE records SET seq = 6 WHERE seq = -5");
  EXPECT_PROBLEM(store.verify(), AuditProblem::reordered, 5, "record 5 was reordered: it holds the record written as 6");
}

TEST_F(AuditStoreTest, MovedRecordIsNamed) {
  AuditStore store(db);
  fill(store, 20);
  Raw raw(db);
  raw.drop_triggers();
  raw.exec("UPDATE records SET seq = 100 WHERE seq = 5");
  EXPECT_PROBLEM(store.verify(), AuditProblem::reordered, 5, "position 100 (reordered)");
}

TEST_F(AuditStoreTest, EachKindHasItsOwnMessage) {
  // The four kinds an inspector must tell apart, side by side.
  std::vector<std::string> problems;
  const std::vector<std::string> attacks = {
      "UPDATE records SET action = 'x' WHERE seq = 7",
      "DELETE FROM records WHERE seq = 7",
      "INSERT INTO records SELECT 11, time_unix_ns, action, incident_id, recipient, record, previous_hash, hash FROM records WHERE seq = 7",
      "UPDATE records SET seq = -1 WHERE seq = 7; UPDATE records SET seq = 7 WHERE seq = 8; UPDATE records SET seq = 8 WHERE seq = -1"};
  for (std::size_t i = 0; i < attacks.size(); ++i) {
    const auto p = dir / ("kinds" + std::to_string(i) + ".db");
    AuditStore store(p);
    fill(store, 10);
    Raw raw(p);
    raw.drop_triggers();
    raw.exec(attacks[i]);
    const auto v = store.verify();
    EXPECT_FALSE(v.ok);
    problems.push_back(citylink::host::to_string(v.kind));
  }
  EXPECT_EQ(problems, (std::vector<std::string>{"edited", "deleted", "inserted", "reordered"}));
}

TEST_F(AuditStoreTest, PurgeWritesASignedCheckpointAndVerificationContinues) {
  const auto key = AuditStore::generate_signing_key();
  EXPECT_EQ(key.public_key_hex.size(), 64u);
  EXPECT_EQ(key.secret_key_hex.size(), 128u);
  EXPECT_EQ(AuditStore::public_key_of(key.secret_key_hex), key.public_key_hex);

  AuditStore store(db);
  const auto recs = fill(store, 20);
  // Nothing older than the first record.
  EXPECT_EQ(store.purge_before(kT0, key.secret_key_hex).records_purged, 0u);
  EXPECT_FALSE(store.latest_checkpoint());

  // Records 1..10 have times kT0+1s..kT0+10s.
  const auto r = store.purge_before(kT0 + 10 * kSecond + 1, key.secret_key_hex);
  EXPECT_EQ(r.records_purged, 10u);
  ASSERT_TRUE(r.checkpoint);
  EXPECT_EQ(r.checkpoint->purged_up_to_seq, 10);
  EXPECT_EQ(r.checkpoint->head_hash, recs[9].record.hash());
  EXPECT_EQ(r.checkpoint->public_key_hex, key.public_key_hex);
  Raw raw(db);
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM records"), 10);
  EXPECT_EQ(raw.count("SELECT MIN(seq) FROM records"), 11);

  auto v = store.verify(key.public_key_hex);
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.checkpoint_seq, 10);
  EXPECT_TRUE(v.checkpoint_signature_checked);
  EXPECT_EQ(v.records_checked, 10u);
  v = store.verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_FALSE(v.checkpoint_signature_checked);

  // Appending goes on from the chain; a second purge removes everything, and appending
  // after that follows the checkpoint.
  EXPECT_EQ(store.append(make_record(21)).seq, 21);
  const auto r2 = store.purge_before(kT0 + 1000 * kSecond, key.secret_key_hex);
  EXPECT_EQ(r2.records_purged, 11u);
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM records"), 0);
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM checkpoints"), 2);
  v = store.verify(key.public_key_hex);
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.checkpoint_seq, 21);
  const auto after = store.append(make_record(22));
  EXPECT_EQ(after.seq, 22);
  EXPECT_EQ(after.record.previous_hash(), r2.checkpoint->head_hash);
  v = store.verify(key.public_key_hex);
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records_checked, 1u);
}

TEST_F(AuditStoreTest, PurgeStopsAtTheFirstNewerRecord) {
  // Time is not strictly monotonic (clock steps): the purge takes only the prefix.
  const auto key = AuditStore::generate_signing_key();
  AuditStore store(db);
  for (int i = 1; i <= 6; ++i) {
    auto rec = make_record(i);
    if (i == 3) rec.set_time_unix_ns(kT0 + 500 * kSecond);
    store.append(rec);
  }
  const auto r = store.purge_before(kT0 + 100 * kSecond, key.secret_key_hex);
  EXPECT_EQ(r.records_purged, 2u);
  EXPECT_TRUE(store.verify(key.public_key_hex).ok);
}

TEST_F(AuditStoreTest, TamperingAfterAPurgeIsDetected) {
  const auto key = AuditStore::generate_signing_key();
  AuditStore store(db);
  fill(store, 20);
  store.purge_before(kT0 + 10 * kSecond + 1, key.secret_key_hex);
  Raw raw(db);
  raw.drop_triggers();
  raw.exec("UPDATE records SET incident_id = 'other' WHERE seq = 15");
  EXPECT_PROBLEM(store.verify(key.public_key_hex), AuditProblem::edited, 15, "record 15 was edited");
}

TEST_F(AuditStoreTest, AlteredCheckpointIsDetected) {
  const auto key = AuditStore::generate_signing_key();
  AuditStore store(db);
  const auto recs = fill(store, 20);
  store.purge_before(kT0 + 10 * kSecond + 1, key.secret_key_hex);
  Raw raw(db);
  raw.drop_triggers();
  raw.exec("UPDATE checkpoints SET head_hash = '" + recs[3].record.hash() + "'");
  // Without the key the broken link to record 11 still shows; with it, the signature.
  EXPECT_PROBLEM(store.verify(), AuditProblem::checkpoint, 11, "record 11 does not follow the checkpoint");
  EXPECT_PROBLEM(store.verify(key.public_key_hex), AuditProblem::checkpoint, 10, "does not verify with the given public key");
}

TEST_F(AuditStoreTest, ForgedCheckpointNeedsTheKeyToBeCaught) {
  // An attacker deletes records 11-13 and moves the checkpoint over them. The chain
  // alone cannot tell (documented); the signature can.
  const auto key = AuditStore::generate_signing_key();
  AuditStore store(db);
  const auto recs = fill(store, 20);
  store.purge_before(kT0 + 10 * kSecond + 1, key.secret_key_hex);
  Raw raw(db);
  raw.drop_triggers();
  raw.exec("DELETE FROM records WHERE seq <= 13");
  raw.exec("UPDATE checkpoints SET purged_up_to_seq = 13, head_hash = '" + recs[12].record.hash() + "'");
  EXPECT_TRUE(store.verify().ok);
  EXPECT_PROBLEM(store.verify(key.public_key_hex), AuditProblem::checkpoint, 13, "does not verify with the given public key");
  // And with another key.
  const auto other = AuditStore::generate_signing_key();
  EXPECT_PROBLEM(store.verify(other.public_key_hex), AuditProblem::checkpoint, 13, "does not verify");
  // The purge refuses to sign over it.
  EXPECT_THROW(store.purge_before(kT0 + 100 * kSecond, key.secret_key_hex), citylink::host::AuditChainBroken);
}

TEST_F(AuditStoreTest, DeletedCheckpointIsDetected) {
  const auto key = AuditStore::generate_signing_key();
  AuditStore store(db);
  fill(store, 20);
  store.purge_before(kT0 + 10 * kSecond + 1, key.secret_key_hex);
  Raw raw(db);
  raw.drop_triggers();
  raw.exec("DELETE FROM checkpoints");
  EXPECT_PROBLEM(store.verify(), AuditProblem::deleted, 1, "records 1-10 are missing (deleted)");
}

TEST_F(AuditStoreTest, PurgeRefusesATamperedLogAndAnotherKey) {
  const auto key = AuditStore::generate_signing_key();
  AuditStore store(db);
  fill(store, 20);
  {
    Raw raw(db);
    raw.drop_triggers();
    raw.exec("UPDATE records SET action = 'x' WHERE seq = 15");
    try {
      store.purge_before(kT0 + 100 * kSecond, key.secret_key_hex);
      ADD_FAILURE() << "purged a tampered log";
    } catch (const citylink::host::AuditChainBroken& e) {
      EXPECT_EQ(e.result.kind, AuditProblem::edited);
      EXPECT_NE(std::string(e.what()).find("nothing was purged"), std::string::npos) << e.what();
    }
    EXPECT_EQ(raw.count("SELECT COUNT(*) FROM records"), 20);
  }
  const auto p2 = dir / "b.db";
  AuditStore s2(p2);
  fill(s2, 5);
  s2.purge_before(kT0 + 2 * kSecond + 1, key.secret_key_hex);
  const auto other = AuditStore::generate_signing_key();
  try {
    s2.purge_before(kT0 + 100 * kSecond, other.secret_key_hex);
    ADD_FAILURE() << "purged with another key";
  } catch (const AuditError& e) {
    EXPECT_NE(std::string(e.what()).find("purge with the key that signed it"), std::string::npos) << e.what();
  }
  EXPECT_THROW(s2.purge_before(kT0, "not hex"), AuditError);
  EXPECT_THROW(s2.verify(std::string("abcd")), AuditError);
}

TEST_F(AuditStoreTest, QueryFilters) {
  AuditStore store(db);
  fill(store, 20);
  AuditQuery q;
  EXPECT_EQ(store.query(q).size(), 20u);
  q.from_ns = kT0 + 5 * kSecond;
  q.to_ns = kT0 + 10 * kSecond;  // 5..9
  auto r = store.query(q);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r.front().seq, 5);
  EXPECT_EQ(r.back().seq, 9);
  EXPECT_EQ(r.front().record.hash().size(), 64u);
  q = {};
  q.incident_id = "112UC001-1";  // records 5..9
  EXPECT_EQ(store.query(q).size(), 5u);
  q.recipient = "119";  // i % 3 == 0: 6, 9
  r = store.query(q);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].seq, 6);
  q = {};
  q.limit = 3;
  EXPECT_EQ(store.query(q).size(), 3u);
}

TEST_F(AuditStoreTest, ExportCsvQuotesAndFilters) {
  AuditStore store(db);
  fill(store, 4);
  auto tricky = make_record(5);
  tricky.set_detail("said \"stop\", then\nleft");
  store.append(tricky);
  std::ostringstream out;
  EXPECT_EQ(store.export_csv(out, kT0 + 2 * kSecond, kT0 + 6 * kSecond), 4u);  // 2..5
  const std::string csv = out.str();
  const std::string header =
      "seq,time,time_unix_ns,action,actor,recipient,incident_id,camera_ids,purpose,legal_basis,valid_until,"
      "valid_until_unix_ns,data_fields,detail,record_id,previous_hash,hash,incident_source,grant_id\r\n";
  EXPECT_EQ(csv.substr(0, header.size()), header);
  EXPECT_NE(csv.find("\r\n2,2024-05-01T00:00:02.000000000Z,1714521602000000000,personal_data.deliver,scenario-engine,112,"
                     "112UC001-0,CAM-2;CAM-3,emergency response,Personal Information Protection Act art. 15(1)5,"
                     "2024-05-01T00:20:02.000000000Z,1714522802000000000,name,record 2,A-2,"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find(",\"said \"\"stop\"\", then\nleft\",A-5,"), std::string::npos) << csv;
  EXPECT_EQ(csv.find("\r\n1,"), std::string::npos);
  // Rows end in CRLF; the one embedded LF is inside quotes.
  std::size_t rows = 0;
  for (std::size_t i = csv.find("\r\n"); i != std::string::npos; i = csv.find("\r\n", i + 2)) ++rows;
  EXPECT_EQ(rows, 5u);  // header + 4
}

TEST_F(AuditStoreTest, ExportJson) {
  AuditStore store(db);
  const auto recs = fill(store, 6);
  std::ostringstream out;
  EXPECT_EQ(store.export_json(out, kT0 + 3 * kSecond, std::nullopt), 4u);
  const auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["format"], "citylink.audit.export.v1");
  EXPECT_EQ(j["from_unix_ns"], kT0 + 3 * kSecond);
  EXPECT_TRUE(j["to_unix_ns"].is_null());
  EXPECT_EQ(j["count"], 4);
  ASSERT_EQ(j["records"].size(), 4u);
  const auto& first = j["records"][0];
  EXPECT_EQ(first["seq"], 3);
  EXPECT_EQ(first["time"], "2024-05-01T00:00:03.000000000Z");
  EXPECT_EQ(first["action"], "video_grant.issue");
  EXPECT_EQ(first["recipient"], "119");
  EXPECT_EQ(first["camera_ids"], nlohmann::json::array({"CAM-3", "CAM-4"}));
  EXPECT_EQ(first["data_fields"], nlohmann::json::array({"name"}));
  EXPECT_EQ(first["legal_basis"], "Personal Information Protection Act art. 15(1)5");
  EXPECT_EQ(first["hash"], recs[2].record.hash());
  EXPECT_EQ(first["previous_hash"], recs[1].record.hash());
  std::ostringstream empty;
  EXPECT_EQ(store.export_json(empty, kT0 + 100 * kSecond, std::nullopt), 0u);
  EXPECT_EQ(nlohmann::json::parse(empty.str())["records"].size(), 0u);
}

TEST_F(AuditStoreTest, ConcurrentAppendsKeepOneChain) {
  AuditStore store(db);
  AuditStore second(db);  // another connection, as another process would have
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) (t % 2 ? second : store).append(make_record(t * 100 + i));
    });
  for (auto& th : threads) th.join();
  const auto v = store.verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records_checked, 100u);
}

TEST_F(AuditStoreTest, UnusablePathsGiveClearErrors) {
  const auto expect_error = [](auto&& fn, const std::string& text) {
    try {
      fn();
      ADD_FAILURE() << "no error; expected one saying: " << text;
    } catch (const AuditError& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  // A directory that cannot exist (its parent is a file).
  citylink::test::write_file(dir / "plain", std::string(4096, 'x'));
  const auto under_file = dir / "plain" / "audit.db";
  expect_error([&] { AuditStore s(under_file); }, under_file.string());
  expect_error([&] { AuditStore s(under_file); }, "directory exists");
  // Verify/export of a file that is not there, or not an audit log.
  expect_error([&] { AuditStore s(dir / "missing.db", AuditStore::OpenMode::read_only); }, "no such file");
  expect_error([&] { AuditStore s(dir / "plain", AuditStore::OpenMode::read_only); }, "not an SQLite database");
  {
    Raw other(dir / "other.db");
    other.exec("CREATE TABLE t (x)");
  }
  expect_error([&] { AuditStore s(dir / "other.db"); }, "not a CityLink audit log");
  // A store opened read-only refuses writes.
  { AuditStore s(db); }
  AuditStore ro(db, AuditStore::OpenMode::read_only);
  expect_error([&] { ro.append(make_record(1)); }, "read-only");
  EXPECT_TRUE(ro.verify().ok);
  // A read-only directory (permissions do not bind root).
  if (::geteuid() != 0) {
    const auto locked = dir / "locked";
    std::filesystem::create_directories(locked);
    std::filesystem::permissions(locked, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    expect_error([&] { AuditStore s(locked / "audit.db"); }, (locked / "audit.db").string());
    std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
  }
}

}  // namespace
