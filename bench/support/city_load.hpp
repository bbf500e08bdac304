// What the benchmarks that load a city's scenario engine share: envelopes, a publish that
// waits out backpressure, and a square grid of cameras 50 m apart around Seoul City Hall.
#pragma once

#include <citylink/host/router.hpp>
#include <citylink/v1/camera.pb.h>
#include <citylink/v1/envelope.pb.h>

#include <chrono>
#include <cmath>
#include <string>
#include <thread>

namespace citylink::bench {

inline std::string envelope(const google::protobuf::Message& m) {
  citylink::v1::Envelope e;
  e.set_schema(m.GetTypeName());
  e.set_payload(m.SerializeAsString());
  return e.SerializeAsString();
}

// Publishes, retrying while the publisher's queue is full: the benchmark's own traffic is
// never dropped.
inline void send(host::Publisher& p, const std::string& topic, const std::string& bytes) {
  while (p.publish(topic, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr) ==
         CITYLINK_ERR_BACKPRESSURE)
    std::this_thread::sleep_for(std::chrono::microseconds(50));
}

struct CameraGrid {
  explicit CameraGrid(int cameras) : side(static_cast<int>(std::ceil(std::sqrt(cameras)))) {}
  static constexpr double kLat0 = 37.5663, kLon0 = 126.9779, kSpacingM = 50;
  int side;
  double m_lat = 1 / 111000.0, m_lon = 1 / (111000.0 * std::cos(kLat0 * M_PI / 180));

  // The grid's extent along each side, in metres.
  double extent_m() const { return (side - 1) * kSpacingM; }
  // camera.info of camera i: online, 90° field of view, 80 m range.
  std::string announcement(int i) const {
    citylink::v1::CameraInfo c;
    c.set_camera_id("cam-" + std::to_string(i));
    c.mutable_position()->set_lat(kLat0 + (i / side) * kSpacingM * m_lat);
    c.mutable_position()->set_lon(kLon0 + (i % side) * kSpacingM * m_lon);
    c.set_field_of_view_deg(90);
    c.set_range_m(80);
    c.set_stream_uri("rtsp://vms.bench/cam-" + std::to_string(i));
    c.set_status(citylink::v1::CAMERA_STATE_ONLINE);
    return envelope(c);
  }
  // The point `north_m` north and `east_m` east of the grid's first camera.
  double lat(double north_m) const { return kLat0 + north_m * m_lat; }
  double lon(double east_m) const { return kLon0 + east_m * m_lon; }
};

}  // namespace citylink::bench
