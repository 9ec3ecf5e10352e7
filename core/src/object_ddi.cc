// WdfObject* DDIs (SEMANTICS-WDF 6.1; fxobjectapi.cpp, handleapi.cpp).
#include "object_attributes.h"
#include "request.h"
#include "world.h"

using wdfsim::core::Ddi;
using wdfsim::core::Object;
using wdfsim::core::ObjectType;
using wdfsim::core::RequestMemory;
using wdfsim::core::World;

namespace {

// An embedded request memory handle stands for its request's contexts.
Object* ContextOwner(Object* object) {
  if (object->type() == ObjectType::kRequestMemory) return &static_cast<RequestMemory*>(object)->request();
  return object;
}

}  // namespace

extern "C" {

VOID WdfObjectDelete(WDFOBJECT Object) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfObjectDelete, Object);
  w.ResolveAny(Object, Ddi::kWdfObjectDelete)->Delete(Ddi::kWdfObjectDelete);
}

VOID WdfObjectReferenceActual(WDFOBJECT Handle, PVOID Tag, LONG Line, PCHAR File) {
  (void)Tag, (void)Line, (void)File;
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfObjectReference, Handle);
  w.RequireNotNull(Handle, Ddi::kWdfObjectReference, "Handle");
  w.ResolveAny(Handle, Ddi::kWdfObjectReference)->AddRef();
}

VOID WdfObjectDereferenceActual(WDFOBJECT Handle, PVOID Tag, LONG Line, PCHAR File) {
  (void)Tag, (void)Line, (void)File;
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfObjectDereference, Handle);
  w.RequireNotNull(Handle, Ddi::kWdfObjectDereference, "Handle");
  w.ResolveAny(Handle, Ddi::kWdfObjectDereference)->Release(Ddi::kWdfObjectDereference);
}

PVOID WdfObjectGetTypedContextWorker(WDFOBJECT Handle, PCWDF_OBJECT_CONTEXT_TYPE_INFO TypeInfo) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfObjectGetTypedContextWorker, Handle);
  w.RequireNotNull(Handle, Ddi::kWdfObjectGetTypedContextWorker, "Handle");
  Object* object = ContextOwner(w.ResolveAny(Handle, Ddi::kWdfObjectGetTypedContextWorker));
  w.RequireNotNull(TypeInfo, Ddi::kWdfObjectGetTypedContextWorker, "TypeInfo");
  return object->GetContext(TypeInfo);
}

NTSTATUS WdfObjectAllocateContext(WDFOBJECT Handle, PWDF_OBJECT_ATTRIBUTES ContextAttributes, PVOID* Context) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfObjectAllocateContext, Handle);
  w.RequireNotNull(Handle, Ddi::kWdfObjectAllocateContext, "Handle");
  Object* object = w.ResolveAny(Handle, Ddi::kWdfObjectAllocateContext);
  if (object->type() == ObjectType::kRequestMemory) return STATUS_OBJECT_PATH_INVALID;
  const uint32_t options = wdfsim::core::kAttributesRequired |
                           (w.options().kmdf_minor_version >= 11 ? uint32_t{wdfsim::core::kParentNotAllowed} : 0u);
  const NTSTATUS status = wdfsim::core::ValidateObjectAttributes(ContextAttributes, options);
  if (!NT_SUCCESS(status)) return status;
  if (ContextAttributes->ContextTypeInfo == nullptr) return STATUS_OBJECT_NAME_INVALID;
  if (object->deleting()) return STATUS_DELETE_PENDING;
  const size_t size = ContextAttributes->ContextSizeOverride != 0 ? ContextAttributes->ContextSizeOverride
                                                                  : ContextAttributes->ContextTypeInfo->ContextSize;
  return object->AllocateContext(*ContextAttributes, size, Context);
}

WDFOBJECT WdfObjectContextGetObject(PVOID ContextPointer) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfObjectContextGetObject);
  w.RequireNotNull(ContextPointer, Ddi::kWdfObjectContextGetObject, "ContextPointer");
  for (const auto& [serial, object] : w.live_objects()) {
    if (object->OwnsContext(ContextPointer)) return object->handle();
  }
  w.Report(wdfsim::RuleId::kInvalidHandle, Ddi::kWdfObjectContextGetObject,
           "the pointer is not the context of a live object");
  return nullptr;
}

WDFDRIVER WdfGetDriver(VOID) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfGetDriver);
  return static_cast<WDFDRIVER>(w.driver()->handle());
}

}  // extern "C"
