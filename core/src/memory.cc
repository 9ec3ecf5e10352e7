#include "memory.h"

#include <cstdlib>

#include "world.h"

namespace wdfsim::core {

void MemoryBase::FinalRelease(Ddi ddi) {
  if (format_references_ > 0) {
    world().Report(RuleId::kObjectOverDereference, ddi,
                   "the last reference went while a formatted request still holds one: the driver released a "
                   "reference it never took (WdfObjectDereference), and the framework would free memory in use",
                   {this}, reinterpret_cast<uint64_t>(handle()), serial());
  }
  Object::FinalRelease(ddi);
}

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
