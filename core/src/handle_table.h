// Framework handles. A handle names a table slot and the slot's generation,
// so a handle whose object is gone is recognised as stale instead of being
// dereferenced (DESIGN.md, memory realism). Values are non-canonical
// addresses: driver code that dereferences a handle faults at once.
#ifndef WDFSIM_CORE_HANDLE_TABLE_H_
#define WDFSIM_CORE_HANDLE_TABLE_H_

#include <cstdint>
#include <vector>

#include "wdfsim/wdf.h"

namespace wdfsim::core {

class Object;

class HandleTable {
 public:
  enum class State { kNull, kNeverIssued, kStale, kLive };

  WDFOBJECT Insert(Object* object);
  void Remove(WDFOBJECT handle);
  // The live object a handle names, or nullptr (see Classify for why).
  Object* Lookup(WDFOBJECT handle) const;
  State Classify(WDFOBJECT handle) const;
  void Clear() {
    slots_.clear();
    free_.clear();
  }

 private:
  struct Slot {
    Object* object = nullptr;
    uint32_t generation = 0;
  };
  bool Decode(WDFOBJECT handle, uint32_t* index, uint32_t* generation) const;

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
};

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_HANDLE_TABLE_H_
