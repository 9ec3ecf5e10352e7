// WdfMemory* DDIs (SEMANTICS-WDF 3.6; fxmemorybufferapi.cpp,
// fxmemorybufferpreallocatedapi.cpp, IFxMemory::_CopyPtrToPtr).
#include <cstdlib>
#include <cstring>

#include "memory.h"
#include "object_attributes.h"
#include "request.h"
#include "world.h"

using wdfsim::RuleId;
using wdfsim::core::Ddi;
using wdfsim::core::Memory;
using wdfsim::core::MemoryBase;
using wdfsim::core::Object;
using wdfsim::core::ObjectType;
using wdfsim::core::World;

namespace {

MemoryBase* ResolveMemory(World& w, WDFMEMORY handle, Ddi ddi) {
  return static_cast<MemoryBase*>(w.Resolve(handle, ddi, {ObjectType::kMemory, ObjectType::kRequestMemory}));
}

// A request's embedded memory reads its buffer through the request's IRP
// (FxRequestSystemBuffer::GetBuffer): a completed request has none.
void RequireBuffer(World& w, MemoryBase* memory, Ddi ddi) {
  if (memory->type() != ObjectType::kRequestMemory) return;
  auto* embedded = static_cast<wdfsim::core::RequestMemory*>(memory);
  if (!embedded->available()) {
    w.Report(RuleId::kRequestWithoutIrp, ddi, "the WDFMEMORY of a request that was completed: its IRP is gone",
             {&embedded->request()});
  }
}

// IFxMemory::_CopyPtrToPtr, in its order of checks.
NTSTATUS CopyPtrToPtr(const void* source, size_t source_size, size_t source_offset, void* destination,
                      size_t destination_size, size_t destination_offset, size_t length) {
  if (source == nullptr) return STATUS_INVALID_PARAMETER;
  if (source_offset != 0) {
    if (source_offset >= source_size) return STATUS_BUFFER_TOO_SMALL;
    source_size -= source_offset;
  }
  if (destination_offset != 0) {
    if (destination_offset >= destination_size) return STATUS_INVALID_BUFFER_SIZE;
    destination_size -= destination_offset;
  }
  if (length > destination_size) return STATUS_INVALID_BUFFER_SIZE;
  if (length > source_size) return STATUS_BUFFER_TOO_SMALL;
  memmove(static_cast<unsigned char*>(destination) + destination_offset,
          static_cast<const unsigned char*>(source) + source_offset, length);
  return STATUS_SUCCESS;
}

NTSTATUS CommitMemory(World& w, Memory* memory, PWDF_OBJECT_ATTRIBUTES attributes, Ddi ddi) {
  Object* parent = nullptr;
  const NTSTATUS status = wdfsim::core::ResolveParent(w, attributes, ddi, &parent);
  if (!NT_SUCCESS(status)) {
    delete memory;  // never committed: no handle, no callbacks
    return status;
  }
  memory->ApplyAttributes(attributes);
  memory->Commit(parent);
  return STATUS_SUCCESS;
}

}  // namespace

extern "C" {

NTSTATUS WdfMemoryCreate(PWDF_OBJECT_ATTRIBUTES Attributes, POOL_TYPE PoolType, ULONG PoolTag, size_t BufferSize,
                         WDFMEMORY* Memory, PVOID* Buffer) {
  (void)PoolTag;
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfMemoryCreate);
  w.RequireNotNull(Memory, Ddi::kWdfMemoryCreate, "Memory");
  const bool paged = (PoolType & 1) != 0;
  if (!w.VerifierIrqlOk(Ddi::kWdfMemoryCreate, paged ? APC_LEVEL : DISPATCH_LEVEL)) {
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  if (BufferSize == 0) return STATUS_INVALID_PARAMETER;
  *Memory = nullptr;
  NTSTATUS status = wdfsim::core::ValidateObjectAttributes(Attributes, 0);
  if (!NT_SUCCESS(status)) return status;
  void* buffer = std::calloc(1, BufferSize);
  if (buffer == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
  auto* memory = new wdfsim::core::Memory(w, buffer, BufferSize, /*preallocated=*/false);
  status = CommitMemory(w, memory, Attributes, Ddi::kWdfMemoryCreate);
  if (!NT_SUCCESS(status)) return status;
  *Memory = static_cast<WDFMEMORY>(memory->handle());
  if (Buffer != nullptr) *Buffer = memory->buffer();
  return STATUS_SUCCESS;
}

NTSTATUS WdfMemoryCreatePreallocated(PWDF_OBJECT_ATTRIBUTES Attributes, PVOID Buffer, size_t BufferSize,
                                     WDFMEMORY* Memory) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfMemoryCreatePreallocated);
  w.RequireNotNull(Buffer, Ddi::kWdfMemoryCreatePreallocated, "Buffer");
  w.RequireNotNull(Memory, Ddi::kWdfMemoryCreatePreallocated, "PMemory");
  *Memory = nullptr;
  if (BufferSize == 0) return STATUS_INVALID_PARAMETER;
  NTSTATUS status = wdfsim::core::ValidateObjectAttributes(Attributes, 0);
  if (!NT_SUCCESS(status)) return status;
  auto* memory = new wdfsim::core::Memory(w, Buffer, BufferSize, /*preallocated=*/true);
  status = CommitMemory(w, memory, Attributes, Ddi::kWdfMemoryCreatePreallocated);
  if (!NT_SUCCESS(status)) return status;
  *Memory = static_cast<WDFMEMORY>(memory->handle());
  return STATUS_SUCCESS;
}

PVOID WdfMemoryGetBuffer(WDFMEMORY Memory, size_t* BufferSize) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfMemoryGetBuffer, Memory);
  MemoryBase* memory = ResolveMemory(w, Memory, Ddi::kWdfMemoryGetBuffer);
  RequireBuffer(w, memory, Ddi::kWdfMemoryGetBuffer);
  if (BufferSize != nullptr) *BufferSize = memory->size();
  return memory->buffer();
}

NTSTATUS WdfMemoryAssignBuffer(WDFMEMORY Memory, PVOID Buffer, size_t BufferSize) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfMemoryAssignBuffer, Memory);
  auto* memory =
      static_cast<wdfsim::core::Memory*>(w.Resolve(Memory, Ddi::kWdfMemoryAssignBuffer, {ObjectType::kMemory}));
  if (!memory->preallocated()) {
    // Only FX_TYPE_MEMORY_PREALLOCATED objects pass the handle check.
    w.Report(RuleId::kInvalidHandle, Ddi::kWdfMemoryAssignBuffer,
             "WdfMemoryAssignBuffer needs memory from WdfMemoryCreatePreallocated", {memory},
             reinterpret_cast<uint64_t>(Memory));
  }
  w.RequireNotNull(Buffer, Ddi::kWdfMemoryAssignBuffer, "Buffer");
  if (BufferSize == 0) return STATUS_INVALID_PARAMETER;
  memory->Assign(Buffer, BufferSize);
  return STATUS_SUCCESS;
}

NTSTATUS WdfMemoryCopyToBuffer(WDFMEMORY SourceMemory, size_t SourceOffset, PVOID Buffer, size_t NumBytesToCopyTo) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfMemoryCopyToBuffer, SourceMemory);
  MemoryBase* memory = ResolveMemory(w, SourceMemory, Ddi::kWdfMemoryCopyToBuffer);
  w.RequireNotNull(Buffer, Ddi::kWdfMemoryCopyToBuffer, "Buffer");
  if (NumBytesToCopyTo == 0) return STATUS_INVALID_PARAMETER;
  RequireBuffer(w, memory, Ddi::kWdfMemoryCopyToBuffer);
  return CopyPtrToPtr(memory->buffer(), memory->size(), SourceOffset, Buffer, NumBytesToCopyTo, 0, NumBytesToCopyTo);
}

NTSTATUS WdfMemoryCopyFromBuffer(WDFMEMORY DestinationMemory, size_t DestinationOffset, PVOID Buffer,
                                 size_t NumBytesToCopyFrom) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfMemoryCopyFromBuffer, DestinationMemory);
  MemoryBase* memory = ResolveMemory(w, DestinationMemory, Ddi::kWdfMemoryCopyFromBuffer);
  w.RequireNotNull(Buffer, Ddi::kWdfMemoryCopyFromBuffer, "Buffer");
  if (NumBytesToCopyFrom == 0) return STATUS_INVALID_PARAMETER;
  RequireBuffer(w, memory, Ddi::kWdfMemoryCopyFromBuffer);
  if (memory->read_only()) {
    w.Report(RuleId::kMemoryCopyReadOnly, Ddi::kWdfMemoryCopyFromBuffer, "the destination memory is read-only",
             {memory});
    return STATUS_ACCESS_VIOLATION;
  }
  return CopyPtrToPtr(Buffer, NumBytesToCopyFrom, 0, memory->buffer(), memory->size(), DestinationOffset,
                      NumBytesToCopyFrom);
}

}  // extern "C"
