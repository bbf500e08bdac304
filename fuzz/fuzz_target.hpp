// One fuzz target per file: CITYLINK_FUZZ_TARGET(name) { ... } defines the function, which
// is libFuzzer's entry in a fuzzer build (scripts/fuzz) and a plain function the corpus
// replay test calls in the normal suite (tests/fuzz/), so every input kept in
// tests/fuzz/corpus/<name>/ is a regression test.
#pragma once

#include <cstddef>
#include <cstdint>

#define CITYLINK_FUZZ_FN(name) citylink_fuzz_##name
#ifdef CITYLINK_LIBFUZZER
#define CITYLINK_FUZZ_TARGET(name)                                               \
  int CITYLINK_FUZZ_FN(name)(const uint8_t* data, std::size_t size);             \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) { \
    return CITYLINK_FUZZ_FN(name)(data, size);                                   \
  }                                                                              \
  int CITYLINK_FUZZ_FN(name)(const uint8_t* data, std::size_t size)
#else
#define CITYLINK_FUZZ_TARGET(name) int CITYLINK_FUZZ_FN(name)(const uint8_t* data, std::size_t size)
#endif
