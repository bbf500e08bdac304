// The worker protocol's batch frames, written and read in place, against the generated code
// for the same schema: the same bytes out, the same items in, the same frames refused.
#include <citylink/worker/v1/worker.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "worker/batch_frames.hpp"

namespace {

namespace wv1 = citylink::worker::v1;
using citylink::host::batch_frames::Item;
namespace bf = citylink::host::batch_frames;

wv1::HostToWorker generated_batch(uint64_t seq, const std::vector<Item>& items) {
  wv1::HostToWorker m;
  if (seq) m.set_seq(seq);
  auto* batch = m.mutable_deliver_batch();
  for (const auto& i : items) {
    auto* d = batch->add_deliveries();
    d->set_topic(std::string(i.topic));
    d->set_envelope(std::string(i.envelope));
    d->set_delivery_tag(i.delivery_tag);
    d->set_redelivery_count(i.redelivery_count);
  }
  return m;
}

std::string written(uint64_t seq, const std::vector<Item>& items) {
  std::string out(bf::deliver_batch_size(seq, items.data(), items.size()), '\0');
  bf::write_deliver_batch(seq, items.data(), items.size(), out.data());
  return out;
}

void expect_same(const std::vector<Item>& got, const std::vector<Item>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].topic, want[i].topic) << i;
    EXPECT_EQ(got[i].envelope, want[i].envelope) << i;
    EXPECT_EQ(got[i].delivery_tag, want[i].delivery_tag) << i;
    EXPECT_EQ(got[i].redelivery_count, want[i].redelivery_count) << i;
  }
}

const std::string kBig(70000, 'e');  // a length of three varint bytes

const std::vector<Item> kItems = {
    {"sensor.reading", "\x0a\x03"
                       "abc",
     0, 0},
    {"incident.112", std::string_view("\0\x01\x02", 3), 9007199254740993ULL, 3},
    {"camera.info", "", 0, 0},  // an empty envelope, left out as the generated code leaves it
    {"disaster.flood", kBig, 1, 0},
    {"sensor.reading", "\xea\xb8\xb4\xea\xb8\x89", 0, 1},  // Korean bytes in the envelope
};

TEST(BatchFrames, ADeliverBatchIsWrittenByteForByteAsTheGeneratedCodeWritesIt) {
  EXPECT_EQ(written(42, kItems), generated_batch(42, kItems).SerializeAsString());
  EXPECT_EQ(written(0, kItems), generated_batch(0, kItems).SerializeAsString());
  EXPECT_EQ(written(7, {}), generated_batch(7, {}).SerializeAsString());
}

TEST(BatchFrames, ADeliverBatchTheGeneratedCodeWroteIsReadInPlace) {
  const std::string bytes = generated_batch(1234567, kItems).SerializeAsString();
  uint64_t seq = 0;
  std::vector<Item> got;
  ASSERT_TRUE(bf::read_deliver_batch(bytes.data(), bytes.size(), seq, got));
  EXPECT_EQ(seq, 1234567u);
  expect_same(got, kItems);
  // In place: the views point into the frame.
  EXPECT_GE(got[3].envelope.data(), bytes.data());
  EXPECT_LT(got[3].envelope.data(), bytes.data() + bytes.size());
}

TEST(BatchFrames, APublishBatchIsWrittenAsTheGeneratedCodeReadsItAndReadBack) {
  bf::PublishBatchWriter w;
  for (const auto& i : kItems) w.add(i.topic, i.envelope);
  EXPECT_EQ(w.count(), kItems.size());
  std::string frame(w.frame_size(), '\0');
  w.write_frame(frame.data());

  wv1::WorkerToHost parsed;
  ASSERT_TRUE(parsed.ParseFromString(frame));
  ASSERT_TRUE(parsed.has_publish_batch());
  ASSERT_EQ(parsed.publish_batch().publishes_size(), static_cast<int>(kItems.size()));
  wv1::WorkerToHost generated;
  for (const auto& i : kItems) {
    auto* p = generated.mutable_publish_batch()->add_publishes();
    p->set_topic(std::string(i.topic));
    p->set_envelope(std::string(i.envelope));
  }
  EXPECT_EQ(frame, generated.SerializeAsString());

  std::vector<Item> got;
  ASSERT_TRUE(bf::read_publish_batch(frame.data(), frame.size(), got));
  std::vector<Item> want = kItems;
  for (auto& i : want) i.delivery_tag = i.redelivery_count = 0;  // a publish has neither
  expect_same(got, want);

  w.clear();
  EXPECT_EQ(w.count(), 0u);
  w.add("sensor.reading", "x");
  std::string one(w.frame_size(), '\0');
  w.write_frame(one.data());
  ASSERT_TRUE(bf::read_publish_batch(one.data(), one.size(), got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].envelope, "x");
}

TEST(BatchFrames, OtherFramesAreLeftToTheGeneratedParser) {
  uint64_t seq;
  std::vector<Item> got;
  wv1::HostToWorker create;
  create.set_seq(1);
  create.mutable_create()->set_plugin_id("kr.example.cam");
  std::string bytes = create.SerializeAsString();
  EXPECT_FALSE(bf::read_deliver_batch(bytes.data(), bytes.size(), seq, got));

  wv1::HostToWorker single;
  single.mutable_deliver()->set_topic("sensor.reading");
  bytes = single.SerializeAsString();
  EXPECT_FALSE(bf::read_deliver_batch(bytes.data(), bytes.size(), seq, got));

  // A batch and then another call of the oneof: the generated parser keeps the last.
  bytes = generated_batch(1, kItems).SerializeAsString() + single.SerializeAsString();
  EXPECT_FALSE(bf::read_deliver_batch(bytes.data(), bytes.size(), seq, got));

  wv1::WorkerToHost beat;
  beat.mutable_heartbeat()->set_handled(5);
  bytes = beat.SerializeAsString();
  EXPECT_FALSE(bf::read_publish_batch(bytes.data(), bytes.size(), got));
  EXPECT_FALSE(bf::read_publish_batch(nullptr, 0, got));  // the empty frame sets no oneof
}

TEST(BatchFrames, WhatTheGeneratedParserRefusesIsRefusedAndWhatItMergesIsMerged) {
  uint64_t seq;
  std::vector<Item> got;
  const std::string whole = generated_batch(3, kItems).SerializeAsString();
  for (std::size_t cut : {whole.size() - 1, whole.size() / 2, std::size_t{3}}) {
    const std::string part = whole.substr(0, cut);
    wv1::HostToWorker m;
    EXPECT_EQ(bf::read_deliver_batch(part.data(), part.size(), seq, got), m.ParseFromString(part)) << cut;
  }

  // A topic that is not UTF-8: a proto3 string the generated parser refuses.
  const std::vector<Item> bad = {{"sensor.\xff", "x", 0, 0}};
  const std::string bad_bytes = written(1, bad);
  wv1::HostToWorker m;
  EXPECT_FALSE(m.ParseFromString(bad_bytes));
  EXPECT_FALSE(bf::read_deliver_batch(bad_bytes.data(), bad_bytes.size(), seq, got));

  // An unknown field after the items, its tag written long: in five bytes both read it (and
  // skip the field), in six the generated parser refuses the frame (found by the fuzzer:
  // CodedInputStream alone reads up to ten). A length written long, the same.
  for (const std::string& unknown : {std::string("\xd0\x80\x80\x80\x00\x01", 6),
                                     std::string("\xd0\x80\x80\x80\x80\x00\x01", 7),
                                     std::string("\x52\x81\x80\x80\x80\x00x", 7),
                                     std::string("\x52\x81\x80\x80\x80\x80\x00x", 8),
                                     // A five-byte length over 2 GiB, which ReadVarint32 would cut to 1
                                     // (found by a review): the generated parser refuses it.
                                     std::string("\x52\x81\x80\x80\x80\x10x", 7)}) {
    const std::string items = generated_batch(0, kItems).deliver_batch().SerializeAsString() + unknown;
    std::string frame = "\x42";  // field 8, length-delimited: the deliver_batch
    google::protobuf::io::StringOutputStream out(&frame);
    {
      google::protobuf::io::CodedOutputStream coded(&out);
      coded.WriteVarint32(static_cast<uint32_t>(items.size()));
      coded.WriteString(items);
    }
    const bool generated = m.ParseFromString(frame);
    EXPECT_EQ(bf::read_deliver_batch(frame.data(), frame.size(), seq, got), generated) << unknown.size();
    if (generated) expect_same(got, kItems);
  }
  const std::string over_2gib("\x42\x82\x80\x80\x80\x10\x0a\x00", 8);  // the batch's own length
  EXPECT_FALSE(m.ParseFromString(over_2gib));
  EXPECT_FALSE(bf::read_deliver_batch(over_2gib.data(), over_2gib.size(), seq, got));
  EXPECT_TRUE(m.ParseFromString(std::string("\x42\x06", 2) + std::string("\xd0\x80\x80\x80\x00\x01", 6)));
  EXPECT_FALSE(m.ParseFromString(std::string("\x42\x07", 2) + std::string("\xd0\x80\x80\x80\x80\x00\x01", 7)));

  // The batch field twice: the generated parser merges the two, so both sets arrive, in order.
  const std::vector<Item> first(kItems.begin(), kItems.begin() + 2), second(kItems.begin() + 2, kItems.end());
  const std::string twice = written(5, first) + written(6, second);
  ASSERT_TRUE(m.ParseFromString(twice));
  ASSERT_TRUE(bf::read_deliver_batch(twice.data(), twice.size(), seq, got));
  EXPECT_EQ(seq, m.seq());
  EXPECT_EQ(static_cast<int>(got.size()), m.deliver_batch().deliveries_size());
  expect_same(got, kItems);
}

}  // namespace
