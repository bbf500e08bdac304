// The outbox file on its own (real SQLite files): each subscriber's rows in its own range of
// seq, acks forgotten in runs without touching rows that were not acked, the next seq after
// a reopen above everything used before (also when only the acks of a flush fit in a full
// file), and a file written by schema 1 brought to schema 2 with its order, its delivered
// marks and its dead letters kept, also when it is close to its size limit.
#include <citylink/host/outbox.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

namespace {

using citylink::host::Outbox;
using citylink::host::OutboxBatch;
using citylink::host::OutboxError;
using citylink::test::TempDir;

OutboxBatch appends(const std::string& prefix, int n) {
  OutboxBatch b;
  for (int i = 0; i < n; ++i) b.append.emplace_back("bench.data", prefix + std::to_string(i));
  return b;
}

std::vector<std::string> envelopes(const Outbox& box, const std::string& subscriber) {
  std::vector<std::string> out;
  for (const auto& r : box.load(subscriber, 0, 1000)) out.push_back(r.envelope);
  return out;
}

// Schema 1 as it was written: one AUTOINCREMENT seq for all, an index on subscriber. A test
// adds its rows and marks the file (application_id, user_version 1).
constexpr const char* kSchema1 = R"sql(
PRAGMA journal_mode=WAL;
CREATE TABLE pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, subscriber TEXT NOT NULL, topic TEXT NOT NULL,
  envelope BLOB NOT NULL, accepted_unix_ms INTEGER NOT NULL, deliveries INTEGER NOT NULL DEFAULT 0,
  strikes INTEGER NOT NULL DEFAULT 0);
CREATE INDEX pending_by_subscriber ON pending(subscriber, seq);
CREATE TABLE delivered_upto (subscriber TEXT PRIMARY KEY, seq INTEGER NOT NULL, clean INTEGER NOT NULL DEFAULT 0);
CREATE TABLE dead_letters (seq INTEGER PRIMARY KEY, subscriber TEXT NOT NULL, topic TEXT NOT NULL,
  envelope BLOB NOT NULL, envelope_id TEXT NOT NULL, accepted_unix_ms INTEGER NOT NULL, dead_unix_ms INTEGER NOT NULL,
  deliveries INTEGER NOT NULL, reason TEXT NOT NULL);
)sql";

void exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

TEST(OutboxFile, EachSubscriberReadsOnlyItsOwnRowsInTheOrderTheyWereWritten) {
  TempDir dir;
  Outbox box({dir / "outbox.db"});
  const auto a1 = box.commit("a", appends("a", 3));
  const auto b1 = box.commit("b", appends("b", 2));
  const auto a2 = box.commit("a", appends("a", 3));
  EXPECT_EQ(envelopes(box, "a"), (std::vector<std::string>{"a0", "a1", "a2", "a0", "a1", "a2"}));
  EXPECT_EQ(envelopes(box, "b"), (std::vector<std::string>{"b0", "b1"}));
  EXPECT_TRUE(envelopes(box, "nobody").empty());
  EXPECT_EQ(box.depth("a"), 6u);
  EXPECT_EQ(box.depth("b"), 2u);
  EXPECT_EQ(box.depth("nobody"), 0u);
  for (std::size_t i = 1; i < a1.size(); ++i) EXPECT_EQ(a1[i], a1[i - 1] + 1);  // no gaps: acks go in runs
  EXPECT_GT(a2.front(), a1.back());
  // Reading on from a seq stays inside the subscriber's range.
  const auto rest = box.load("a", a1.back(), 1000);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest.front().seq, a2.front());
  EXPECT_TRUE(box.load("b", b1.back(), 1000).empty());
}

TEST(OutboxFile, AcksAreForgottenAndNothingElseEvenWhenTheyHaveGaps) {
  TempDir dir;
  Outbox box({dir / "outbox.db"});
  const auto seqs = box.commit("a", appends("m", 10));
  OutboxBatch acks;
  acks.acked = {seqs[5], seqs[0], seqs[1], seqs[2], seqs[7], seqs[8]};  // out of order, three runs
  box.commit("a", acks);
  EXPECT_EQ(envelopes(box, "a"), (std::vector<std::string>{"m3", "m4", "m6", "m9"}));
}

TEST(OutboxFile, AfterAReopenNewRowsComeAfterEverythingUsedBeforeEvenWhenAllWereAcked) {
  TempDir dir;
  int64_t last = 0;
  {
    Outbox box({dir / "outbox.db"});
    const auto seqs = box.commit("a", appends("m", 5));
    last = seqs.back();
    OutboxBatch done;
    done.acked = seqs;
    done.delivered_upto = seqs.back();
    box.commit("a", done);
    EXPECT_EQ(box.depth("a"), 0u);
  }
  Outbox box({dir / "outbox.db"});
  // A new row numbered at or below what was delivered would look like a redelivery.
  const auto again = box.commit("a", appends("n", 1));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_GT(again[0], last);
  EXPECT_GT(again[0], box.delivered_upto("a").seq);
}

TEST(OutboxFile, AcksWrittenWhileTheFileIsFullStillKeepTheNextSeqAboveThemAfterAReopen) {
  TempDir dir;
  std::vector<int64_t> seqs;
  {
    Outbox box({dir / "outbox.db", 16 * 4096});  // a few pages: full after some rows
    try {
      for (int i = 0; i < 1000; ++i)
        for (const int64_t seq : box.commit("a", appends("m", 1))) seqs.push_back(seq);
      FAIL() << "the outbox never filled up";
    } catch (const OutboxError&) {
    }
    ASSERT_FALSE(seqs.empty());
    // Everything was delivered and acked; the appends of the same flush do not fit, so only
    // the acks are written (that frees the pages the subscriber is waiting for).
    OutboxBatch b = appends("big", 1);
    b.append[0].second.assign(200 * 1024, 'x');
    b.acked = seqs;
    b.delivered_upto = seqs.back();
    EXPECT_THROW(box.commit("a", b), OutboxError);
    EXPECT_EQ(box.depth("a"), 0u);
  }
  Outbox box({dir / "outbox.db"});
  const auto next = box.commit("a", appends("n", 1));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_GT(next[0], seqs.back()) << "a seq was handed out twice";
}

TEST(OutboxFile, AFileOfSchemaOneIsBroughtToSchemaTwoKeepingOrderMarksAndDeadLetters) {
  TempDir dir;
  const std::string path = (dir / "outbox.db").string();
  exec(path, std::string(kSchema1) + R"sql(
INSERT INTO pending(seq, subscriber, topic, envelope, accepted_unix_ms, deliveries, strikes) VALUES
  (3, 'link-112', 'dispatch.112', 'x3', 1, 1, 0), (4, 'link-119', 'dispatch.119', 'y4', 1, 0, 0),
  (6, 'link-112', 'dispatch.112', 'x6', 1, 0, 0), (7, 'link-112', 'dispatch.112', 'x7', 1, 2, 1);
INSERT INTO delivered_upto VALUES ('link-112', 6, 0), ('link-119', 2, 1);
INSERT INTO dead_letters VALUES (5, 'link-112', 'dispatch.112', 'x5', 'E-5', 1, 2, 3, 'refused');
PRAGMA application_id=1129074498;
PRAGMA user_version=1;
)sql");
  Outbox box({path});
  const auto rows = box.load("link-112", 0, 100);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].envelope, "x3");
  EXPECT_EQ(rows[1].envelope, "x6");
  EXPECT_EQ(rows[2].envelope, "x7");
  EXPECT_EQ(rows[2].deliveries, 2u);
  EXPECT_EQ(rows[2].strikes, 1u);
  // What was delivered before the upgrade still compares the same way with the rows.
  const auto delivered = box.delivered_upto("link-112");
  EXPECT_FALSE(delivered.clean);
  EXPECT_GE(delivered.seq, rows[1].seq);
  EXPECT_LT(delivered.seq, rows[2].seq);
  EXPECT_TRUE(box.delivered_upto("link-119").clean);
  EXPECT_EQ(envelopes(box, "link-119"), (std::vector<std::string>{"y4"}));
  const auto letters = box.dead_letters("link-112");
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].envelope_id, "E-5");
  EXPECT_GT(letters[0].seq, rows[0].seq);
  EXPECT_LT(letters[0].seq, rows[1].seq);
  // New rows go after the old ones, in the same subscriber's range.
  const auto next = box.commit("link-112", appends("z", 1));
  EXPECT_GT(next[0], rows[2].seq);
  EXPECT_EQ(box.load("link-112", rows[2].seq, 10).size(), 1u);
  EXPECT_EQ(box.depth("link-112"), 4u);
}

TEST(OutboxFile, AFileOfSchemaOneCloseToItsSizeLimitIsConvertedAndKeepsTheLimit) {
  TempDir dir;
  const std::string path = (dir / "outbox.db").string();
  std::string rows;
  for (int i = 1; i <= 600; ++i)
    rows += std::string(i == 1 ? "" : ",") + "(" + std::to_string(i) + ", 'link', 't', randomblob(300), 1)";
  exec(path, std::string(kSchema1) + R"sql(
INSERT INTO pending(seq, subscriber, topic, envelope, accepted_unix_ms) VALUES )sql" + rows + R"sql(;
PRAGMA application_id=1129074498;
PRAGMA user_version=1;
)sql");
  // About 250 kB of rows under a limit of 320 kB: the old and the new table do not fit together.
  Outbox box({path, 320 * 1024});
  EXPECT_EQ(box.depth("link"), 600u);
  OutboxBatch more = appends("m", 1);
  more.append[0].second.assign(300, 'm');
  EXPECT_THROW(
      {
        for (int i = 0; i < 2000; ++i) box.commit("link", more);
      },
      OutboxError);
}

TEST(OutboxFile, AFileOfANewerSchemaIsRefusedByName) {
  TempDir dir;
  const std::string path = (dir / "outbox.db").string();
  { Outbox box({path}); }
  exec(path, "PRAGMA user_version=3");
  try {
    Outbox box({path});
    FAIL() << "opened a file of a newer schema";
  } catch (const OutboxError& e) {
    EXPECT_NE(std::string(e.what()).find("newer CityLink"), std::string::npos) << e.what();
  }
}

}  // namespace
