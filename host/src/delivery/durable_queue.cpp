// One durable subscription (see durable_queue.hpp and docs/delivery.md).
#include <citylink/host/durable_queue.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/topic.hpp>
#include <citylink/host/wall_clock.hpp>
#include <citylink/v1/envelope.pb.h>

#include <algorithm>
#include <random>

namespace citylink::host {
namespace {

// Rows kept in memory per subscription; the rest waits on disk and is read in as these go.
constexpr std::size_t kMemoryRows = 4096;
constexpr std::size_t kLoadBelow = kMemoryRows / 2;
constexpr auto kRetryAfterFailure = std::chrono::milliseconds(250);

std::string envelope_id(const std::string& bytes) {
  citylink::v1::Envelope e;
  return e.ParseFromString(bytes) ? e.id() : std::string("(unparsable envelope)");
}

}  // namespace

DurableQueue::DurableQueue(std::shared_ptr<Outbox> outbox, std::string subscriber, std::vector<std::string> topics,
                           DurableSettings settings, std::shared_ptr<InstanceCounters> counters)
    : outbox_(std::move(outbox)),
      subscriber_(std::move(subscriber)),
      topics_(std::move(topics)),
      settings_(std::move(settings)),
      counters_(std::move(counters)) {
  settings_.in_flight = std::max<std::size_t>(1, settings_.in_flight);
  settings_.max_deliveries = std::max<uint32_t>(1, settings_.max_deliveries);
  outbox_->add_durable_topics(subscriber_, topics_);
  // Tags are opaque to the plugin; starting each queue at a random point means a tag from a
  // previous run or another instance is never mistaken for a live one.
  std::random_device rd;
  first_tag_ = next_tag_ = ((static_cast<uint64_t>(rd()) << 20) | 1u);
  depth_ = outbox_->depth(subscriber_);
  delivered_at_start_ = outbox_->delivered_upto(subscriber_);
  blamed_ = delivered_at_start_.clean;
  disk_backlog_ = depth_ > 0;
  load_more();
  if (depth_ > 0)
    log()->info("[{}] {} durable message(s) from before the restart are delivered again first (outbox {})",
                subscriber_, depth_, outbox_->path().string());
}

bool DurableQueue::covers(std::string_view topic) const { return grants_allow(topics_, topic); }

void DurableQueue::accept(std::string_view topic, const uint8_t* envelope, std::size_t size) {
  to_append_.emplace_back(std::string(topic), std::string(reinterpret_cast<const char*>(envelope), size));
}

bool DurableQueue::flush(bool now_or_never) {
  const auto now = Clock::now();
  if (!now_or_never && now < retry_at_ && outbox_->failing(subscriber_)) return false;
  OutboxBatch batch;
  {
    std::lock_guard lk(mu_);
    batch = std::move(pending_);
    pending_ = OutboxBatch{};
  }
  batch.append = std::move(to_append_);
  to_append_.clear();
  if (batch.empty()) return true;
  std::vector<int64_t> seqs;
  try {
    seqs = outbox_->commit(subscriber_, batch);
  } catch (const OutboxError& e) {
    // Nothing is lost: the batch goes back and is written by a later flush, while the outbox
    // refuses new durable publishes at the publisher.
    to_append_ = std::move(batch.append);
    {
      std::lock_guard lk(mu_);
      auto put_back = [](auto& into, auto& from) { into.insert(into.begin(), from.begin(), from.end()); };
      put_back(pending_.acked, batch.acked);
      put_back(pending_.counted, batch.counted);
      put_back(pending_.dead, batch.dead);
      pending_.delivered_upto = std::max(pending_.delivered_upto, batch.delivered_upto);
    }
    retry_at_ = now + kRetryAfterFailure;
    counters_->outbox_failures.fetch_add(1, std::memory_order_relaxed);
    const uint64_t n = ++failures_logged_;
    if (n <= 5 || n % 100 == 0)
      log()->error("[{}] OUTBOX WRITE FAILED (#{}): {}. {} message(s) wait in memory and are written when it "
                   "works again; publishers of durable topics are refused meanwhile",
                   subscriber_, n, e.what(), to_append_.size());
    return false;
  }
  if (failures_logged_ > 0) {
    log()->info("[{}] outbox writable again after {} failed write(s)", subscriber_, failures_logged_);
    failures_logged_ = 0;
  }
  counters_->durable_accepted.fetch_add(seqs.size(), std::memory_order_relaxed);
  const int64_t accepted = unix_now_ms();
  std::lock_guard lk(mu_);
  depth_ += seqs.size();
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    if (disk_backlog_ || rows_.size() >= kMemoryRows) {
      disk_backlog_ = true;  // read in, in order, once memory has room
      continue;
    }
    Row r;
    r.topic = std::move(batch.append[i].first);
    r.envelope = std::make_shared<const std::string>(std::move(batch.append[i].second));
    r.accepted_unix_ms = accepted;
    rows_.emplace(seqs[i], std::move(r));
    ready_.insert(seqs[i]);
    loaded_upto_ = std::max(loaded_upto_, seqs[i]);
  }
  update_gauges_locked();
  return true;
}

void DurableQueue::load_more() {
  std::size_t room;
  {
    std::lock_guard lk(mu_);
    if (!disk_backlog_ || rows_.size() >= kLoadBelow) return;
    room = kMemoryRows - rows_.size();
  }
  std::vector<OutboxRow> rows;
  try {
    rows = outbox_->load(subscriber_, loaded_upto_, room);
  } catch (const OutboxError& e) {
    log()->error("[{}] cannot read waiting messages from the outbox: {}; trying again", subscriber_, e.what());
    return;
  }
  std::lock_guard lk(mu_);
  if (rows.size() < room) disk_backlog_ = false;
  for (auto& o : rows) {
    Row r;
    r.topic = std::move(o.topic);
    r.envelope = std::make_shared<const std::string>(std::move(o.envelope));
    r.accepted_unix_ms = o.accepted_unix_ms;
    // Delivered before the host stopped, as far as it wrote down: this is a redelivery.
    const bool delivered = o.seq <= delivered_at_start_.seq;
    r.deliveries = std::max<uint32_t>(o.deliveries, delivered ? 1u : 0u);
    r.strikes = o.strikes;
    if (delivered && !blamed_) {
      // The last run did not stop cleanly: the oldest message it had handed over and not
      // seen acked may be what ended it. Counted, so a message that crashes the host every
      // time ends in the dead letters instead of in a crash loop.
      blamed_ = true;
      ++r.strikes;
      count_locked(o.seq, r);
    }
    loaded_upto_ = std::max(loaded_upto_, o.seq);
    ready_.insert(o.seq);
    rows_.emplace(o.seq, std::move(r));
  }
  update_gauges_locked();
}

std::optional<DurableQueue::Picked> DurableQueue::pick() {
  load_more();
  std::lock_guard lk(mu_);
  while (true) {
    if (in_flight_.size() >= settings_.in_flight || ready_.empty()) return std::nullopt;
    const int64_t seq = *ready_.begin();
    ready_.erase(ready_.begin());
    Row& r = rows_.at(seq);
    if (r.strikes >= settings_.max_deliveries) {
      dead_letter_locked(seq, r,
                         "ended without an ack " + std::to_string(r.strikes) +
                             " time(s) while it was the oldest waiting (durable.max_deliveries)");
      continue;
    }
    Picked p;
    p.tag = next_tag_++;
    r.tag = p.tag;
    const auto deadline = Clock::now() + settings_.ack_timeout;
    in_flight_.emplace(p.tag, InFlight{seq, deadline});
    deadlines_.emplace_back(deadline, p.tag);
    p.redelivery_count = r.deliveries++;
    if (p.redelivery_count > 0) {
      count_locked(seq, r);
      counters_->redelivered.fetch_add(1, std::memory_order_relaxed);
    }
    pending_.delivered_upto = std::max(pending_.delivered_upto, seq);
    p.topic = r.topic;
    p.envelope = r.envelope;  // kept alive even if an ack from another thread erases the row
    return p;
  }
}

void DurableQueue::unpick(const Picked& picked) {
  std::lock_guard lk(mu_);
  const auto it = in_flight_.find(picked.tag);
  if (it == in_flight_.end()) return;
  const int64_t seq = it->second.seq;
  in_flight_.erase(it);
  Row& r = rows_.at(seq);
  r.tag = 0;
  if (r.deliveries > 0) --r.deliveries;
  if (picked.redelivery_count > 0) counters_->redelivered.fetch_sub(1, std::memory_order_relaxed);
  count_locked(seq, r);
  ready_.insert(seq);
}

bool DurableQueue::finish() {
  if (!flush(/*now_or_never=*/true)) return false;
  try {
    outbox_->mark_clean(subscriber_);
  } catch (const OutboxError& e) {
    log()->error("[{}] cannot mark its stop as clean in the outbox: {}", subscriber_, e.what());
  }
  return true;
}

void DurableQueue::count_locked(int64_t seq, const Row& r) {
  pending_.counted.push_back(OutboxBatch::Counts{seq, r.deliveries, r.strikes});
}

std::chrono::milliseconds DurableQueue::expire() {
  std::lock_guard lk(mu_);
  const auto now = Clock::now();
  while (!deadlines_.empty()) {
    const auto [deadline, tag] = deadlines_.front();
    const auto it = in_flight_.find(tag);
    if (it == in_flight_.end() || it->second.deadline != deadline) {  // acked, or progressed since
      deadlines_.pop_front();
      continue;
    }
    if (deadline > now) return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) +
                               std::chrono::milliseconds(1);
    requeue_in_flight_locked("not acked within durable.ack_timeout_ms");
    break;
  }
  return settings_.ack_timeout;
}

void DurableQueue::requeue_in_flight_locked(const char* why) {
  if (in_flight_.empty()) return;
  int64_t first = INT64_MAX;
  for (const auto& [tag, f] : in_flight_) {
    rows_.at(f.seq).tag = 0;
    ready_.insert(f.seq);
    first = std::min(first, f.seq);
  }
  Row& oldest = rows_.at(first);
  ++oldest.strikes;
  count_locked(first, oldest);
  log()->info("[{}] {} durable deliveries {}: delivering them again, in order, from outbox seq {}", subscriber_,
              in_flight_.size(), why, first);
  in_flight_.clear();
  deadlines_.clear();
}

void DurableQueue::dead_letter_locked(int64_t seq, Row& row, const std::string& reason) {
  const std::string id = envelope_id(*row.envelope);
  pending_.dead.push_back(OutboxBatch::Dead{seq, id, reason, row.deliveries});
  counters_->dead_lettered.fetch_add(1, std::memory_order_relaxed);
  log()->error("[{}] DEAD LETTER: message {} on '{}' {}; it is kept in the dead_letters table of {} and not "
               "delivered again",
               subscriber_, id, row.topic, reason, outbox_->path().string());
  ready_.erase(seq);
  rows_.erase(seq);
  if (depth_ > 0) --depth_;
  update_gauges_locked();
}

citylink_status DurableQueue::settled_or_unknown(uint64_t tag) const {
  // Tags of one queue only grow from a random start: one in that range was handed out here.
  return tag >= first_tag_ && tag < next_tag_ ? CITYLINK_OK : CITYLINK_ERR_INVALID_ARGUMENT;
}

citylink_status DurableQueue::ack(uint64_t tag) {
  if (tag == 0) return CITYLINK_OK;
  bool was_full;
  {
    std::lock_guard lk(mu_);
    const auto it = in_flight_.find(tag);
    if (it == in_flight_.end())
      return settled_or_unknown(tag);
    was_full = in_flight_.size() >= settings_.in_flight;
    const int64_t seq = it->second.seq;
    in_flight_.erase(it);
    rows_.erase(seq);
    pending_.acked.push_back(seq);
    if (depth_ > 0) --depth_;
    counters_->acked.fetch_add(1, std::memory_order_relaxed);
    update_gauges_locked();
  }
  if (was_full && wake_) wake_();
  return CITYLINK_OK;
}

citylink_status DurableQueue::nack(uint64_t tag, bool requeue) {
  if (tag == 0) return CITYLINK_OK;
  const citylink_status st = nack_locked(tag, requeue);
  if (wake_) wake_();
  return st;
}

citylink_status DurableQueue::nack_locked(uint64_t tag, bool requeue) {
  std::lock_guard lk(mu_);
  const auto it = in_flight_.find(tag);
  if (it == in_flight_.end()) return settled_or_unknown(tag);
  const int64_t seq = it->second.seq;
  in_flight_.erase(it);
  Row& r = rows_.at(seq);
  r.tag = 0;
  if (requeue) {
    ++r.strikes;  // ABI: a nack with requeue counts towards N
    count_locked(seq, r);
    ready_.insert(seq);
  } else {
    dead_letter_locked(seq, r, "was refused by the plugin (nack without requeue)");
  }
  return CITYLINK_OK;
}

citylink_status DurableQueue::progress(uint64_t tag) {
  if (tag == 0) return CITYLINK_OK;
  std::lock_guard lk(mu_);
  const auto it = in_flight_.find(tag);
  if (it == in_flight_.end()) return settled_or_unknown(tag);
  // Every deadline is now + the same timeout on a steady clock, so the deque stays in order.
  it->second.deadline = Clock::now() + settings_.ack_timeout;
  deadlines_.emplace_back(it->second.deadline, tag);
  return CITYLINK_OK;
}

void DurableQueue::lost_in_flight() {
  {
    std::lock_guard lk(mu_);
    requeue_in_flight_locked("were lost with the instance's worker");
  }
  if (wake_) wake_();
}

void DurableQueue::update_gauges_locked() {
  counters_->outbox_depth.store(depth_, std::memory_order_relaxed);
  counters_->outbox_oldest_unix_ms.store(rows_.empty() ? 0 : rows_.begin()->second.accepted_unix_ms,
                                         std::memory_order_relaxed);
}

}  // namespace citylink::host
