// The incident book on disk (review H6): what the engine writes comes back as it was, a
// damaged row or the wrong file is said by name, and nothing else is lost with it.
#include <citylink/platform/scenarios/incident_journal.hpp>

#include <sqlite3.h>

#include "scenario_fixture.hpp"
#include "test_support.hpp"

using namespace citylink::test;

namespace {

Incident incident(const std::string& source, const std::string& number, int status, int64_t at_ns) {
  IncidentBook b;
  std::string why;
  b.apply(event("112UC001", number, 10, kLat, kLon), true, &why, source, at_ns);
  if (status != 10) b.apply(event("112UC001", number, status, kLat, kLon), true, &why, source, at_ns);
  return *b.find({source, number});
}

}  // namespace

TEST(IncidentJournal, WhatIsWrittenComesBackAndRetiredIncidentsGo) {
  TempDir dir;
  const auto path = dir / "state" / "incidents.db";  // its folder is made
  {
    IncidentJournal j(path);
    j.record(incident("bridge", "112-1", 10, 1000));
    j.record(incident("bridge", "112-2", 91, 2000));
    j.record(incident("other", "112-1", 40, 3000));  // same number, another source: another incident
    j.record(incident("bridge", "112-1", 40, 4000));  // replaces the first
  }
  IncidentJournal j(path);
  auto all = j.load();
  ASSERT_EQ(all.size(), 3u);
  IncidentBook book;
  for (auto& inc : all) book.restore(inc);
  const Incident* first = book.find({"bridge", "112-1"});
  ASSERT_NE(first, nullptr);
  EXPECT_TRUE(first->open);
  EXPECT_EQ(first->latest.status(), citylink::v1::EVENT_STATUS_CHANGED);
  EXPECT_EQ(first->last_change_ns, 4000);
  EXPECT_EQ(first->updates, 1);
  EXPECT_DOUBLE_EQ(first->latest.location().lat(), kLat);
  EXPECT_FALSE(book.find({"bridge", "112-2"})->open);
  EXPECT_EQ(book.open_count(), 2u);
  // A restored book keeps the rules: the closed one takes no update, the open one closes.
  std::string why;
  EXPECT_FALSE(book.apply(event("112UC001", "112-2", 40, kLat, kLon), true, &why, "bridge", 5000));
  EXPECT_NE(why.find("already closed"), std::string::npos) << why;
  EXPECT_EQ(book.apply(event("112UC001", "112-1", 91, kLat, kLon), true, &why, "bridge", 5000), Change::closed);

  j.forget(book.retire_closed(4500));  // 112-2 closed at 2000
  const auto left = j.load();
  ASSERT_EQ(left.size(), 2u);
  for (const auto& inc : left) EXPECT_NE(inc.id + inc.source, "112-2bridge");
}

TEST(IncidentJournal, TheWrongFileIsRefusedByNameAndADamagedRowIsSkipped) {
  TempDir dir;
  try {
    IncidentJournal j(dir.path());
    FAIL() << "a directory was opened";
  } catch (const IncidentJournalError& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("host.incident_book"), std::string::npos) << e.what();
  }
  const auto other = dir / "other.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x); PRAGMA application_id=7;", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  try {
    IncidentJournal j(other);
    FAIL() << "another application's database was opened";
  } catch (const IncidentJournalError& e) {
    EXPECT_NE(std::string(e.what()).find("incident book " + other.string() + ": is not a CityLink incident book"),
              std::string::npos)
        << e.what();
  }

  const auto path = dir / "incidents.db";
  {
    IncidentJournal j(path);
    j.record(incident("bridge", "112-1", 10, 1000));
    j.record(incident("bridge", "112-2", 10, 1000));
  }
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE incidents SET latest = x'ffff' WHERE number = '112-2'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  IncidentJournal j(path);
  std::size_t unreadable = 0;
  const auto all = j.load(&unreadable);
  EXPECT_EQ(unreadable, 1u);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, "112-1");
}
