#include "memory.h"

#include <cstdlib>

namespace wdfsim::core {

Memory::Memory(World& world, void* buffer, size_t size, bool preallocated)
    : MemoryBase(world, ObjectType::kMemory), buffer_(buffer), size_(size), preallocated_(preallocated) {}

Memory::~Memory() {
  if (!preallocated_) std::free(buffer_);
}

void Memory::Assign(void* buffer, size_t size) {
  buffer_ = buffer;
  size_ = size;
}

}  // namespace wdfsim::core
