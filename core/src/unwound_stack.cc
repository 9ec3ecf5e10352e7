#include "unwound_stack.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WDFSIM_HAS_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define WDFSIM_HAS_ASAN 1
#endif

#ifdef WDFSIM_HAS_ASAN
#include <sanitizer/asan_interface.h>

#include <string_view>
#endif

namespace wdfsim::core {

bool OnUnwoundStack(const void* address, size_t size) {
#ifdef WDFSIM_HAS_ASAN
  if (address == nullptr || __asan_get_current_fake_stack() == nullptr) return false;
  void* p = const_cast<void*>(address);
  char name[8];
  void* region = nullptr;
  size_t region_size = 0;
  const char* kind = __asan_locate_address(p, name, sizeof(name), &region, &region_size);
  // A live frame's variables are unpoisoned; a returned frame stays poisoned
  // whole (stack-after-return) until its fake-stack slot is used again.
  return kind != nullptr && std::string_view(kind) == "stack" && __asan_region_is_poisoned(p, size) != nullptr;
#else
  (void)address;
  (void)size;
  return false;
#endif
}

}  // namespace wdfsim::core
