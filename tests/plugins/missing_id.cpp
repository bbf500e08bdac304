// A plugin whose descriptor has no id: the loader must refuse the library by name.
#include <citylink/plugin.hpp>

namespace {
class NoId : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.name = "No id";
    d.vendor = "CityLink tests";
    d.version = "1.0.0";
    d.kind = CITYLINK_KIND_TEST;
    return d;
  }
  explicit NoId(const citylink::InstanceContext&) {}
};
}  // namespace

CITYLINK_PLUGIN_LIBRARY(NoId)
