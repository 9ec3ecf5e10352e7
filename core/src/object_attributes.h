// FxValidateObjectAttributes and the parent an object is committed under
// (SEMANTICS-WDF 3.6, 6.2).
#ifndef WDFSIM_CORE_OBJECT_ATTRIBUTES_H_
#define WDFSIM_CORE_OBJECT_ATTRIBUTES_H_

#include <cstdint>

#include "ddi.h"
#include "wdfsim/wdf.h"

namespace wdfsim::core {

class Object;
class World;

// Validation flags (FX_VALIDATE_OPTION_*).
enum AttributeOption : uint32_t {
  kAttributesRequired = 0x1,
  kParentNotAllowed = 0x2,
  kExecutionLevelAllowed = 0x4,
  kSynchronizationScopeAllowed = 0x8,
};

// The status FxValidateObjectAttributes returns, in its order of checks.
NTSTATUS ValidateObjectAttributes(const WDF_OBJECT_ATTRIBUTES* attributes, uint32_t options);
// The parent to commit under: Attributes->ParentObject (resolved as a handle)
// or the driver. STATUS_DELETE_PENDING when the parent is being deleted.
NTSTATUS ResolveParent(World& world, const WDF_OBJECT_ATTRIBUTES* attributes, Ddi ddi, Object** parent);

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_OBJECT_ATTRIBUTES_H_
