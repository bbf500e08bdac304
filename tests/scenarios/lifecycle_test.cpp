// Incident lifecycle and grant book rules, independent of any scenario.
#include <citylink/platform/platform.hpp>
#include <citylink/host/city_config.hpp>

#include "scenario_fixture.hpp"

using namespace citylink::test;

TEST(IncidentBook, OpenChangeFinish) {
  IncidentBook b;
  std::string why;
  EXPECT_EQ(b.apply(event("112UC001", "I-1", 10, kLat, kLon), true, &why), Change::opened);
  EXPECT_EQ(b.apply(event("112UC001", "I-1", 40, kLat, kLon), true, &why), Change::updated);
  EXPECT_EQ(b.apply(event("112UC001", "I-1", 91, kLat, kLon), true, &why), Change::closed);
  EXPECT_FALSE(b.find({"", "I-1"})->open);
  EXPECT_EQ(b.open_count(), 0u);
}

TEST(IncidentBook, RefusesBadInputWithAReason) {
  IncidentBook b;
  std::string why;
  auto no_pos = event("112UC001", "I-2", 10, 0, 0);
  no_pos.clear_location();
  EXPECT_FALSE(b.apply(no_pos, true, &why));
  EXPECT_NE(why.find("has no position"), std::string::npos) << why;
  EXPECT_FALSE(b.apply(event("112UC001", "I-3", 10, 91, 0), true, &why));
  EXPECT_NE(why.find("outside WGS84"), std::string::npos) << why;
  EXPECT_FALSE(b.apply(event("999XX000", "I-4", 10, kLat, kLon), true, &why));
  EXPECT_NE(why.find("unknown event code '999XX000'"), std::string::npos) << why;
  EXPECT_FALSE(b.apply(event("112UC001", "I-5", 11, kLat, kLon), true, &why));
  EXPECT_NE(why.find("unknown status 11"), std::string::npos) << why;
  EXPECT_FALSE(b.apply(event("112UC001", "", 10, kLat, kLon), true, &why));
  auto nan = event("112UC001", "I-6", 10, std::nan(""), kLon);
  EXPECT_FALSE(b.apply(nan, true, &why));
}

TEST(IncidentBook, AnUpdateWithoutPositionKeepsTheKnownOne) {
  IncidentBook b;
  std::string why;
  b.apply(event("112UC001", "I-7", 10, kLat, kLon), true, &why);
  auto finish = event("112UC001", "I-7", 91, 0, 0);
  finish.clear_location();
  b.complete(finish);
  EXPECT_EQ(b.apply(finish, true, &why), Change::closed) << why;
  EXPECT_DOUBLE_EQ(finish.location().lat(), kLat);
  auto first = event("112UC001", "I-8", 10, 0, 0);
  first.clear_location();
  b.complete(first);  // nothing known: the first report still needs a position
  EXPECT_FALSE(b.apply(first, true, &why));
}

TEST(IncidentBook, StatusNeverGoesBackwardsAndClosedStaysClosed) {
  IncidentBook b;
  std::string why;
  b.apply(event("119UC001", "F-1", 10, kLat, kLon), true, &why);
  b.apply(event("119UC001", "F-1", 50, kLat, kLon), true, &why);
  EXPECT_FALSE(b.apply(event("119UC001", "F-1", 40, kLat, kLon), true, &why));
  EXPECT_NE(why.find("status going backwards (50 -> 40)"), std::string::npos) << why;
  b.apply(event("119UC001", "F-1", 91, kLat, kLon), true, &why);
  EXPECT_FALSE(b.apply(event("119UC001", "F-1", 10, kLat, kLon), true, &why));
  EXPECT_NE(why.find("already closed"), std::string::npos) << why;
  EXPECT_FALSE(b.apply(event("119UC001", "F-2", 91, kLat, kLon), true, &why));  // closed before it opened
}

// Issue 7: incidents are keyed by (source, occurrence number). A source that uses another's
// number first gets an incident of its own and cannot block, change or close the other's.
TEST(IncidentBook, TwoSourcesWithOneNumberHaveTwoIncidents) {
  IncidentBook b;
  std::string why;
  EXPECT_EQ(b.apply(event("119UC001", "N-1", 10, kLat, kLon), true, &why, "squatter"), Change::opened) << why;
  EXPECT_EQ(b.apply(event("112UC001", "N-1", 10, kLat, kLon), true, &why, "platform-feed"), Change::opened) << why;
  EXPECT_EQ(b.find_open("N-1"), nullptr);  // two open: a number alone does not say which
  bool ambiguous = false;
  b.find_open("N-1", &ambiguous);
  EXPECT_TRUE(ambiguous);
  EXPECT_EQ(b.apply(event("119UC001", "N-1", 91, kLat, kLon), true, &why, "squatter"), Change::closed) << why;
  EXPECT_FALSE(b.find({"squatter", "N-1"})->open);
  EXPECT_TRUE(b.find({"platform-feed", "N-1"})->open);
  EXPECT_EQ(b.find({"platform-feed", "N-1"})->event_code, "112UC001");
  EXPECT_EQ(b.find_open("N-1"), b.find({"platform-feed", "N-1"}));
  // A source closing a number it never opened closes nothing of anyone else's.
  EXPECT_FALSE(b.apply(event("112UC001", "N-1", 91, kLat, kLon), true, &why, "intruder"));
  EXPECT_TRUE(b.find({"platform-feed", "N-1"})->open);
}

// H8 of the review: closed incidents were kept forever. After the retention they go; open
// ones stay whatever their age.
TEST(IncidentBook, ClosedIncidentsAreRetiredAfterTheRetentionOpenOnesStay) {
  IncidentBook b;
  std::string why;
  b.apply(event("112UC001", "OLD", 10, kLat, kLon), true, &why, "feed", 100);
  b.apply(event("112UC001", "OLD", 91, kLat, kLon), true, &why, "feed", 200);
  b.apply(event("112UC001", "OPEN", 10, kLat, kLon), true, &why, "feed", 100);
  b.apply(event("112UC001", "RECENT", 10, kLat, kLon), true, &why, "feed", 100);
  b.apply(event("112UC001", "RECENT", 91, kLat, kLon), true, &why, "feed", 900);
  EXPECT_EQ(b.retire_closed(500).size(), 1u);
  EXPECT_EQ(b.find({"feed", "OLD"}), nullptr);
  EXPECT_NE(b.find({"feed", "OPEN"}), nullptr);
  EXPECT_NE(b.find({"feed", "RECENT"}), nullptr);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.find_open("OLD"), nullptr);
}

// H8: an authorised source could open incidents without end (the scenario fuzzer's memory
// grew with them). Now each source has at most so many open; closing one makes room, and
// another source is not held back by it.
TEST(IncidentBook, EachSourceHasAtMostSoManyIncidentsOpen) {
  IncidentBook b(2);
  std::string why;
  EXPECT_TRUE(b.apply(event("112UC001", "A", 10, kLat, kLon), true, &why, "feed", 1));
  EXPECT_TRUE(b.apply(event("112UC001", "B", 10, kLat, kLon), true, &why, "feed", 1));
  EXPECT_FALSE(b.apply(event("112UC001", "C", 10, kLat, kLon), true, &why, "feed", 1));
  EXPECT_EQ(why, "incident C: feed already has 2 incidents open, the most host.max_open_incidents_per_source allows; "
                 "close some, or raise it");
  EXPECT_TRUE(b.apply(event("112UC001", "B", 40, kLat, kLon), true, &why, "feed", 2)) << why;  // updates still pass
  EXPECT_TRUE(b.apply(event("112UC001", "X", 10, kLat, kLon), true, &why, "other-feed", 1)) << why;
  EXPECT_TRUE(b.apply(event("112UC001", "A", 91, kLat, kLon), true, &why, "feed", 3)) << why;
  EXPECT_TRUE(b.apply(event("112UC001", "C", 10, kLat, kLon), true, &why, "feed", 4)) << why;
}

// H8: closed incidents were bounded only by rate x retention (a day by default): a source that
// opened and closed fast could fill the host within one retention. Now each source keeps at
// most so many closed ones; its oldest closed one leaves first, another source's stay.
TEST(IncidentBook, EachSourceKeepsAtMostSoManyClosedIncidentsTheOldestLeaveFirst) {
  IncidentBook b(10, 2);
  std::string why;
  auto open_and_close = [&](const std::string& number, const std::string& source, int64_t at) {
    ASSERT_TRUE(b.apply(event("112UC001", number, 10, kLat, kLon), true, &why, source, at)) << why;
    ASSERT_TRUE(b.apply(event("112UC001", number, 91, kLat, kLon), true, &why, source, at + 1)) << why;
  };
  open_and_close("N-1", "feed", 1);
  open_and_close("X-1", "other-feed", 2);
  open_and_close("N-2", "feed", 3);
  EXPECT_TRUE(b.take_evicted().empty());
  open_and_close("N-3", "feed", 5);
  const auto evicted = b.take_evicted();
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].source, "feed");
  EXPECT_EQ(evicted[0].number, "N-1");
  EXPECT_EQ(b.find(IncidentKey{"feed", "N-1"}), nullptr);
  EXPECT_NE(b.find(IncidentKey{"feed", "N-2"}), nullptr);
  EXPECT_NE(b.find(IncidentKey{"other-feed", "X-1"}), nullptr);
  EXPECT_TRUE(b.take_evicted().empty());
  // Open ones never count: a source with many open keeps them all.
  ASSERT_TRUE(b.apply(event("112UC001", "N-4", 10, kLat, kLon), true, &why, "feed", 7)) << why;
  ASSERT_TRUE(b.apply(event("112UC001", "N-5", 10, kLat, kLon), true, &why, "feed", 7)) << why;
  ASSERT_TRUE(b.apply(event("112UC001", "N-6", 10, kLat, kLon), true, &why, "feed", 7)) << why;
  EXPECT_TRUE(b.take_evicted().empty());
  EXPECT_EQ(b.size(), 6u);  // N-2, N-3 closed; N-4..6 open; X-1
  // What the retention retired leaves the count: two more closes evict nothing retired twice.
  const auto retired = b.retire_closed(4);  // N-2 (closed at 4) stays, X-1 (3) goes
  ASSERT_EQ(retired.size(), 1u);
  EXPECT_EQ(retired[0].number, "X-1");
  open_and_close("N-7", "feed", 9);
  const auto again = b.take_evicted();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].number, "N-2");
}

// A book read back with more closed incidents than the cap allows keeps the newest.
TEST(IncidentBook, ABookReadBackOverTheClosedCapKeepsItsNewestClosedOnes) {
  IncidentBook b(10, 1);
  for (const char* number : {"N-1", "N-2"}) {
    Incident inc;
    inc.id = number;
    inc.event_code = "112UC001";
    inc.source = "feed";
    inc.open = false;
    b.restore(inc);
  }
  const auto evicted = b.take_evicted();
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].number, "N-1");
  EXPECT_NE(b.find(IncidentKey{"feed", "N-2"}), nullptr);
}

// Closed incidents of "feed" read back out of closing order: X (closed at 5), A (1), Y (6).
static void restore_closed_out_of_order(IncidentBook& b) {
  for (const auto& [number, at] : std::vector<std::pair<std::string, int64_t>>{{"X", 5}, {"A", 1}, {"Y", 6}}) {
    Incident inc;
    inc.id = number;
    inc.event_code = "112UC001";
    inc.source = "feed";
    inc.open = false;
    inc.last_change_ns = at;
    b.restore(inc);
  }
}

// An incident retired by age, opened again by its source and closed again: the entry its
// first life left in the source's list of closed ones never takes the one just closed with it
// (the engine reads that incident right after).
TEST(IncidentBook, ANumberOpenedAgainAfterItsRetirementIsNotForgottenAsItCloses) {
  IncidentBook b(10, 3);
  restore_closed_out_of_order(b);
  ASSERT_EQ(b.retire_closed(2).size(), 1u);  // A
  std::string why;
  for (const auto& [number, at] : std::vector<std::pair<std::string, int64_t>>{{"Z", 7}, {"A", 9}}) {
    ASSERT_TRUE(b.apply(event("112UC001", number, 10, kLat, kLon), true, &why, "feed", at)) << why;
    ASSERT_TRUE(b.apply(event("112UC001", number, 91, kLat, kLon), true, &why, "feed", at + 1)) << why;
  }
  EXPECT_NE(b.find(IncidentKey{"feed", "A"}), nullptr);
  for (const auto& k : b.take_evicted()) EXPECT_NE(k.number, "A");
}

// An incident retired by age from the middle of its source's list (restored out of order)
// leaves the list too: it does not count against the cap, and the oldest closed one is the
// next to go.
TEST(IncidentBook, AnIncidentRetiredFromTheMiddleOfTheListNoLongerCountsAgainstTheCap) {
  IncidentBook b(10, 3);
  restore_closed_out_of_order(b);
  ASSERT_EQ(b.retire_closed(2).size(), 1u);  // A, from the middle
  std::string why;
  ASSERT_TRUE(b.apply(event("112UC001", "Z", 10, kLat, kLon), true, &why, "feed", 7)) << why;
  ASSERT_TRUE(b.apply(event("112UC001", "Z", 91, kLat, kLon), true, &why, "feed", 8)) << why;
  EXPECT_TRUE(b.take_evicted().empty());  // X, Y, Z: at the cap, not over it
  ASSERT_TRUE(b.apply(event("112UC001", "W", 10, kLat, kLon), true, &why, "feed", 9)) << why;
  ASSERT_TRUE(b.apply(event("112UC001", "W", 91, kLat, kLon), true, &why, "feed", 10)) << why;
  const auto evicted = b.take_evicted();
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].number, "X");
}

TEST(GrantBook, RevokingOneSourcesIncidentLeavesAnotherSourcesGrantAlone) {
  GrantBook g([](const citylink::v1::VideoShareGrant&) {});
  GrantRequest r;
  r.recipient = "112";
  r.lifetime_ns = 1000;
  r.incident = {"platform-feed", "N-1"};
  const std::string real = g.issue(r, 0).grant_id();
  EXPECT_EQ(g.live_for({"platform-feed", "N-1"}, "112")->incident_source(), "platform-feed");
  EXPECT_EQ(g.revoke_incident({"squatter", "N-1"}, "closed", 10), 0);
  ASSERT_NE(g.live_for({"platform-feed", "N-1"}, "112"), nullptr);
  EXPECT_EQ(g.live_for({"platform-feed", "N-1"}, "112")->grant_id(), real);
  EXPECT_EQ(g.live_for({"squatter", "N-1"}, "112"), nullptr);
}

TEST(GrantBook, EachRecipientHasItsOwnTopic) {
  EXPECT_EQ(grant_topic("112"), "grant.video.112");
  EXPECT_EQ(grant_topic("MOJ"), "grant.video.moj");
  EXPECT_EQ(grant_topic("situation room"), "grant.video.situation-room");
}

TEST(GrantBook, IssueRenewExpireRevoke) {
  std::vector<citylink::v1::VideoShareGrant> seen;
  GrantBook g([&](const citylink::v1::VideoShareGrant& x) { seen.push_back(x); });
  GrantRequest r;
  r.incident = {"feed", "I-1"};
  r.recipient = "112";
  r.camera_ids = {"c1"};
  r.lifetime_ns = 1000;
  const std::string id = g.issue(r, 0).grant_id();
  EXPECT_EQ(seen.back().action(), citylink::v1::VideoShareGrant::ACTION_ISSUE);
  EXPECT_EQ(seen.back().expires_unix_ns(), 1000);
  std::string why;
  EXPECT_TRUE(g.renew(id, 900, &why));
  EXPECT_EQ(seen.back().expires_unix_ns(), 1900);
  EXPECT_EQ(g.expire(1899), 0);
  EXPECT_EQ(g.expire(1900), 1);
  EXPECT_EQ(seen.back().action(), citylink::v1::VideoShareGrant::ACTION_EXPIRE);
  EXPECT_FALSE(g.renew(id, 2000, &why));
  EXPECT_NE(why.find("has expired"), std::string::npos) << why;
  g.issue(r, 3000);
  EXPECT_EQ(g.revoke_incident({"feed", "I-1"}, "finished", 3100), 1);
  EXPECT_EQ(seen.back().action(), citylink::v1::VideoShareGrant::ACTION_REVOKE);
  EXPECT_EQ(g.live_count(), 0u);
}

// H4 of the review: no grant outlives its hard maximum, renewals included.
// Grant ids never repeat across runs (each run has its own book), so a crashed run's grant
// in the audit log is never confused with the next run's grant for the same incident.
TEST(GrantBook, GrantIdsDifferAcrossRuns) {
  GrantRequest r;
  r.incident = {"feed", "I-1"};
  r.recipient = "112";
  r.lifetime_ns = 1000;
  GrantBook first([](const citylink::v1::VideoShareGrant&) {});
  GrantBook second([](const citylink::v1::VideoShareGrant&) {});
  EXPECT_NE(first.issue(r, 0).grant_id(), second.issue(r, 0).grant_id());
}

TEST(GrantBook, RenewalNeverPassesTheHardMaximum) {
  std::vector<citylink::v1::VideoShareGrant> seen;
  GrantBook g([&](const citylink::v1::VideoShareGrant& x) { seen.push_back(x); });
  GrantRequest r;
  r.incident = {"feed", "I-1"};
  r.recipient = "112";
  r.lifetime_ns = 1000;
  r.max_lifetime_ns = 2500;
  const std::string id = g.issue(r, 0).grant_id();
  std::string why;
  EXPECT_TRUE(g.renew(id, 900, &why));
  EXPECT_EQ(seen.back().expires_unix_ns(), 1900);
  EXPECT_TRUE(g.renew(id, 1800, &why));
  EXPECT_EQ(seen.back().expires_unix_ns(), 2500);  // capped
  EXPECT_FALSE(g.renew(id, 2400, &why));
  EXPECT_NE(why.find("hard maximum"), std::string::npos) << why;
  EXPECT_EQ(g.expire(2500), 1);
  EXPECT_EQ(seen.back().reason(), "hard maximum lifetime reached");
}

TEST(GrantBook, StoppingRevokesEveryLiveGrant) {
  std::vector<citylink::v1::VideoShareGrant> seen;
  GrantBook g([&](const citylink::v1::VideoShareGrant& x) { seen.push_back(x); });
  GrantRequest r;
  r.recipient = "112";
  r.lifetime_ns = 1000;
  r.incident = {"feed", "A"};
  g.issue(r, 0);
  r.incident = {"feed", "B"};
  g.issue(r, 0);
  EXPECT_EQ(g.revoke_all("engine stopping", 10).size(), 2u);
  EXPECT_EQ(g.live_count(), 0u);
  EXPECT_EQ(seen.back().action(), citylink::v1::VideoShareGrant::ACTION_REVOKE);
}

// L7 of the review: renewal timing that renews every tick, or lets grants lapse, is refused.
TEST(ScenarioConfig, RenewalTimingMustFitTheGrantLifetime) {
  auto error = [](const std::string& video) {
    try {
      citylink::platform::parse_city_config("scenarios:\n  emergency_video_112: " + video + "\nplugins: []\n", "c.yaml", ".");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(error("{grant_minutes: 1, renew_before_seconds: 60}").find("must be shorter than the grant lifetime"),
            std::string::npos);
  EXPECT_NE(error("{renew_before_seconds: 0.05}").find("at least 0.2 s"), std::string::npos);
  EXPECT_NE(error("{grant_minutes: 30, max_grant_minutes: 20}").find("must be at least grant_minutes"),
            std::string::npos);
  EXPECT_EQ(error("{grant_minutes: 1, renew_before_seconds: 0}"), "(no error)");
}

// M8 of the review: an agency output on a topic the engine cannot publish used to load
// and vanish at run time.
TEST(ScenarioConfig, AgencyOutputTopicsAndRecipientsAreCheckedAtLoad) {
  auto error = [](const std::string& scenarios) {
    try {
      citylink::platform::parse_city_config("scenarios:\n" + scenarios + "plugins: []\n", "c.yaml", ".");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(error("  dispatch_119: {topic: fire.dispatch}\n").find("'fire.dispatch' is not under dispatch."),
            std::string::npos);
  EXPECT_NE(error("  dispatch_119: {recipient: \"fire/station\"}\n").find("is not a recipient name"), std::string::npos);
  EXPECT_EQ(error("  dispatch_119: {topic: dispatch.fire, recipient: \"119\"}\n"), "(no error)");
}
