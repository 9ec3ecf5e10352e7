#include "object_attributes.h"

#include <cstring>

#include "request.h"
#include "world.h"

namespace wdfsim::core {

NTSTATUS ValidateObjectAttributes(const WDF_OBJECT_ATTRIBUTES* attributes, uint32_t options) {
  if (attributes == nullptr) {
    return (options & kAttributesRequired) ? STATUS_WDF_PARENT_NOT_SPECIFIED : STATUS_SUCCESS;
  }
  if (attributes->Size != sizeof(WDF_OBJECT_ATTRIBUTES)) return STATUS_INFO_LENGTH_MISMATCH;
  const PCWDF_OBJECT_CONTEXT_TYPE_INFO type = attributes->ContextTypeInfo;
  if (type != nullptr) {
    if (type->Size != sizeof(WDF_OBJECT_CONTEXT_TYPE_INFO)) return STATUS_INFO_LENGTH_MISMATCH;
    if (type->ContextSize > 0 && type->ContextName == nullptr) return STATUS_WDF_OBJECT_ATTRIBUTES_INVALID;
  }
  if (attributes->ContextSizeOverride > 0) {
    if (type == nullptr || attributes->ContextSizeOverride < type->ContextSize) {
      return STATUS_WDF_OBJECT_ATTRIBUTES_INVALID;
    }
  }
  if ((options & kParentNotAllowed) && attributes->ParentObject != nullptr) {
    return STATUS_WDF_PARENT_ASSIGNMENT_NOT_ALLOWED;
  }
  // C callers may store any value in the enums: read them as integers.
  int level, scope;
  memcpy(&level, &attributes->ExecutionLevel, sizeof(level));
  memcpy(&scope, &attributes->SynchronizationScope, sizeof(scope));
  if (level == WdfExecutionLevelInvalid || level > WdfExecutionLevelDispatch) {
    return STATUS_WDF_OBJECT_ATTRIBUTES_INVALID;
  }
  if (scope == WdfSynchronizationScopeInvalid || scope > WdfSynchronizationScopeNone) {
    return STATUS_WDF_OBJECT_ATTRIBUTES_INVALID;
  }
  if (!(options & kSynchronizationScopeAllowed) && scope != WdfSynchronizationScopeInheritFromParent &&
      scope != WdfSynchronizationScopeNone) {
    return STATUS_WDF_SYNCHRONIZATION_SCOPE_INVALID;
  }
  if (!(options & kExecutionLevelAllowed) && level != WdfExecutionLevelInheritFromParent) {
    return STATUS_WDF_EXECUTION_LEVEL_INVALID;
  }
  return STATUS_SUCCESS;
}

NTSTATUS ResolveParent(World& world, const WDF_OBJECT_ATTRIBUTES* attributes, Ddi ddi, Object** parent) {
  *parent = world.driver();
  if (attributes == nullptr || attributes->ParentObject == nullptr) {
    return *parent == nullptr || (*parent)->deleting() ? STATUS_DELETE_PENDING : STATUS_SUCCESS;
  }
  Object* object = world.ResolveAny(attributes->ParentObject, ddi);
  if (object->type() == ObjectType::kRequestMemory) object = &static_cast<RequestMemory*>(object)->request();
  if (object->deleting()) return STATUS_DELETE_PENDING;
  *parent = object;
  return STATUS_SUCCESS;
}

}  // namespace wdfsim::core
