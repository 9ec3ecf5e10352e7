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
  kWdfRequestSend,
  kWdfRequestCancelSentRequest,
  kWdfRequestChangeTarget,
  kWdfRequestFormatRequestUsingCurrentType,
  kWdfRequestWdmFormatUsingStackLocation,
  // I/O targets.
  kWdfIoTargetStart,
  kWdfIoTargetStop,
  kWdfIoTargetPurge,
  kWdfIoTargetClose,
  kWdfIoTargetGetState,
  kWdfIoTargetWdmGetTargetDeviceObject,
  kWdfIoTargetFormatRequestForRead,
  kWdfIoTargetFormatRequestForWrite,
  kWdfIoTargetFormatRequestForIoctl,
  kWdfIoTargetFormatRequestForInternalIoctl,
  kWdfIoTargetSendReadSynchronously,
  kWdfIoTargetSendWriteSynchronously,
  kWdfIoTargetSendIoctlSynchronously,
  kWdfIoTargetSendInternalIoctlSynchronously,
  kTargetCompletion,
  kTargetTimer,
  // WDM.
  kIoCompleteRequest,
  kIoCallDriver,
  kIoAllocateIrp,
  kIoFreeIrp,
  kIoReuseIrp,
  kIoBuildSynchronousFsdRequest,
  kIoBuildAsynchronousFsdRequest,
  kIoBuildDeviceIoControlRequest,
  kIoCancelIrp,
  kIoSetCancelRoutine,
  kIoAcquireCancelSpinLock,
  kIoReleaseCancelSpinLock,
  kIoAllocateMdl,
  kIoFreeMdl,
  kMmUnlockPages,
  kKeRaiseIrql,
  kKeLowerIrql,
  kKeInitializeEvent,
  kKeSetEvent,
  kKeClearEvent,
  kKeResetEvent,
  kKeReadStateEvent,
  kKeWaitForSingleObject,
  kKeQuerySystemTime,
  kPsGetCurrentThread,
  // Harness steps.
  kThreadExit,
  kLowerDriver,
  kPresentRequest,
  kCompletionApc,
  kUnload,
  kCount,
};

const char* DdiName(Ddi ddi);

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_DDI_H_
