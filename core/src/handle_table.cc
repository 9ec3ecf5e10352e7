#include "handle_table.h"

namespace wdfsim::core {
namespace {

constexpr uint64_t kTag = 0xFDull << 56;
constexpr uint64_t kTagMask = 0xFFull << 56;
constexpr uint64_t kFieldMask = 0xFFFFFF;

}  // namespace

bool HandleTable::Decode(WDFOBJECT handle, uint32_t* index, uint32_t* generation) const {
  const auto value = reinterpret_cast<uint64_t>(handle);
  if ((value & kTagMask) != kTag) return false;
  const uint64_t slot = value & kFieldMask;
  if (slot == 0 || slot > slots_.size()) return false;
  *index = static_cast<uint32_t>(slot - 1);
  *generation = static_cast<uint32_t>((value >> 24) & kFieldMask);
  return (value & ~(kTagMask | (kFieldMask << 24) | kFieldMask)) == 0;
}

WDFOBJECT HandleTable::Insert(Object* object) {
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  slot.object = object;
  slot.generation = (slot.generation + 1) & kFieldMask;
  if (slot.generation == 0) slot.generation = 1;
  const uint64_t value = kTag | (uint64_t{slot.generation} << 24) | (uint64_t{index} + 1);
  return reinterpret_cast<WDFOBJECT>(value);
}

void HandleTable::Remove(WDFOBJECT handle) {
  uint32_t index, generation;
  if (!Decode(handle, &index, &generation)) return;
  Slot& slot = slots_[index];
  if (slot.generation != generation || slot.object == nullptr) return;
  slot.object = nullptr;
  free_.push_back(index);
}

Object* HandleTable::Lookup(WDFOBJECT handle) const {
  uint32_t index, generation;
  if (!Decode(handle, &index, &generation)) return nullptr;
  const Slot& slot = slots_[index];
  return slot.generation == generation ? slot.object : nullptr;
}

HandleTable::State HandleTable::Classify(WDFOBJECT handle) const {
  if (handle == nullptr) return State::kNull;
  uint32_t index, generation;
  if (!Decode(handle, &index, &generation)) return State::kNeverIssued;
  const Slot& slot = slots_[index];
  if (slot.generation == generation && slot.object != nullptr) return State::kLive;
  // A generation this slot has not reached yet was never handed out.
  if (generation > slot.generation) return State::kNeverIssued;
  return State::kStale;
}

}  // namespace wdfsim::core
