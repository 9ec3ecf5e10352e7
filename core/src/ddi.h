// Names for the DDIs and harness steps the trace and reports mention.
#ifndef WDFSIM_CORE_DDI_H_
#define WDFSIM_CORE_DDI_H_

#include <cstdint>

namespace wdfsim::core {

enum class Ddi : uint16_t {
  kNone,
  // Objects.
  kWdfObjectDelete,
  kWdfObjectReference,
  kWdfObjectDereference,
  kWdfObjectGetTypedContextWorker,
  kWdfObjectAllocateContext,
  kWdfObjectContextGetObject,
  kWdfGetDriver,
  // Memory.
  kWdfMemoryCreate,
  kWdfMemoryCreatePreallocated,
  kWdfMemoryGetBuffer,
  kWdfMemoryAssignBuffer,
  kWdfMemoryCopyToBuffer,
  kWdfMemoryCopyFromBuffer,
  // Requests.
  kWdfRequestCreate,
  kWdfRequestReuse,
  kWdfRequestComplete,
  kWdfRequestCompleteWithInformation,
  kWdfRequestCompleteWithPriorityBoost,
  kWdfRequestGetStatus,
  kWdfRequestGetInformation,
  kWdfRequestSetInformation,
  kWdfRequestGetCompletionParams,
  kWdfRequestSetCompletionRoutine,
  kWdfRequestRetrieveInputMemory,
  kWdfRequestRetrieveOutputMemory,
  kWdfRequestRetrieveInputBuffer,
  kWdfRequestRetrieveOutputBuffer,
  kWdfRequestWdmGetIrp,
  // WDM.
  kIoCompleteRequest,
  kKeRaiseIrql,
  kKeLowerIrql,
  // Harness steps.
  kPresentRequest,
  kCompletionApc,
  kUnload,
  kCount,
};

const char* DdiName(Ddi ddi);

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_DDI_H_
