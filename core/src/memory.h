// WDFMEMORY: the memory interface (IFxMemory) shared by framework-allocated
// and preallocated memory objects and by a request's embedded buffers
// (SEMANTICS-WDF 3.5, 3.6).
#ifndef WDFSIM_CORE_MEMORY_H_
#define WDFSIM_CORE_MEMORY_H_

#include <cstddef>

#include "object.h"

namespace wdfsim::core {

class MemoryBase : public Object {
 public:
  using Object::Object;
  virtual void* buffer() const = 0;
  virtual size_t size() const = 0;
  virtual bool read_only() const = 0;
  // The references formats hold (StoreAndReferenceMemory), taken and dropped
  // through these so that a driver releasing one of them is caught when the
  // object would be freed under the framework.
  void AddFormatReference() {
    ++format_references_;
    AddRef();
  }
  void ReleaseFormatReference(Ddi ddi) {
    --format_references_;
    Release(ddi);
  }

 protected:
  void FinalRelease(Ddi ddi) override;

 private:
  int32_t format_references_ = 0;
};

// WdfMemoryCreate (the buffer is the framework's, freed with the object) and
// WdfMemoryCreatePreallocated (the buffer is the driver's, never freed here).
class Memory final : public MemoryBase {
 public:
  Memory(World& world, void* buffer, size_t size, bool preallocated);
  ~Memory() override;
  void* buffer() const override { return buffer_; }
  size_t size() const override { return size_; }
  bool read_only() const override { return false; }
  bool preallocated() const { return preallocated_; }
  // WdfMemoryAssignBuffer.
  void Assign(void* buffer, size_t size);

 private:
  void* buffer_;
  size_t size_;
  bool preallocated_;
};

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_MEMORY_H_
