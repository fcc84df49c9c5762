// A libFuzzer target: TOKVEC_FUZZ_ENTRY names one entry point of fuzz_entries.h (the CMake
// option TOKVEC_FUZZ builds one executable per entry point from this file).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tokvec::fuzz::TOKVEC_FUZZ_ENTRY(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
