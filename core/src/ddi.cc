#include "ddi.h"

namespace wdfsim::core {

const char* DdiName(Ddi ddi) {
  switch (ddi) {
    case Ddi::kNone: return "-";
    case Ddi::kWdfObjectDelete: return "WdfObjectDelete";
    case Ddi::kWdfObjectReference: return "WdfObjectReference";
    case Ddi::kWdfObjectDereference: return "WdfObjectDereference";
    case Ddi::kWdfObjectGetTypedContextWorker: return "WdfObjectGetTypedContextWorker";
    case Ddi::kWdfObjectAllocateContext: return "WdfObjectAllocateContext";
    case Ddi::kWdfObjectContextGetObject: return "WdfObjectContextGetObject";
    case Ddi::kWdfGetDriver: return "WdfGetDriver";
    case Ddi::kWdfMemoryCreate: return "WdfMemoryCreate";
    case Ddi::kWdfMemoryCreatePreallocated: return "WdfMemoryCreatePreallocated";
    case Ddi::kWdfMemoryGetBuffer: return "WdfMemoryGetBuffer";
    case Ddi::kWdfMemoryAssignBuffer: return "WdfMemoryAssignBuffer";
    case Ddi::kWdfMemoryCopyToBuffer: return "WdfMemoryCopyToBuffer";
    case Ddi::kWdfMemoryCopyFromBuffer: return "WdfMemoryCopyFromBuffer";
    case Ddi::kWdfRequestCreate: return "WdfRequestCreate";
    case Ddi::kWdfRequestReuse: return "WdfRequestReuse";
    case Ddi::kWdfRequestComplete: return "WdfRequestComplete";
    case Ddi::kWdfRequestCompleteWithInformation: return "WdfRequestCompleteWithInformation";
    case Ddi::kWdfRequestCompleteWithPriorityBoost: return "WdfRequestCompleteWithPriorityBoost";
    case Ddi::kWdfRequestGetStatus: return "WdfRequestGetStatus";
    case Ddi::kWdfRequestGetInformation: return "WdfRequestGetInformation";
    case Ddi::kWdfRequestSetInformation: return "WdfRequestSetInformation";
    case Ddi::kWdfRequestGetCompletionParams: return "WdfRequestGetCompletionParams";
    case Ddi::kWdfRequestSetCompletionRoutine: return "WdfRequestSetCompletionRoutine";
    case Ddi::kWdfRequestRetrieveInputMemory: return "WdfRequestRetrieveInputMemory";
    case Ddi::kWdfRequestRetrieveOutputMemory: return "WdfRequestRetrieveOutputMemory";
    case Ddi::kWdfRequestRetrieveInputBuffer: return "WdfRequestRetrieveInputBuffer";
    case Ddi::kWdfRequestRetrieveOutputBuffer: return "WdfRequestRetrieveOutputBuffer";
    case Ddi::kWdfRequestWdmGetIrp: return "WdfRequestWdmGetIrp";
    case Ddi::kWdfRequestSend: return "WdfRequestSend";
    case Ddi::kWdfRequestCancelSentRequest: return "WdfRequestCancelSentRequest";
    case Ddi::kWdfRequestChangeTarget: return "WdfRequestChangeTarget";
    case Ddi::kWdfRequestFormatRequestUsingCurrentType: return "WdfRequestFormatRequestUsingCurrentType";
    case Ddi::kWdfRequestWdmFormatUsingStackLocation: return "WdfRequestWdmFormatUsingStackLocation";
    case Ddi::kWdfIoTargetStart: return "WdfIoTargetStart";
    case Ddi::kWdfIoTargetStop: return "WdfIoTargetStop";
    case Ddi::kWdfIoTargetPurge: return "WdfIoTargetPurge";
    case Ddi::kWdfIoTargetClose: return "WdfIoTargetClose";
    case Ddi::kWdfIoTargetGetState: return "WdfIoTargetGetState";
    case Ddi::kWdfIoTargetWdmGetTargetDeviceObject: return "WdfIoTargetWdmGetTargetDeviceObject";
    case Ddi::kWdfIoTargetFormatRequestForRead: return "WdfIoTargetFormatRequestForRead";
    case Ddi::kWdfIoTargetFormatRequestForWrite: return "WdfIoTargetFormatRequestForWrite";
    case Ddi::kWdfIoTargetFormatRequestForIoctl: return "WdfIoTargetFormatRequestForIoctl";
    case Ddi::kWdfIoTargetFormatRequestForInternalIoctl: return "WdfIoTargetFormatRequestForInternalIoctl";
    case Ddi::kWdfIoTargetSendReadSynchronously: return "WdfIoTargetSendReadSynchronously";
    case Ddi::kWdfIoTargetSendWriteSynchronously: return "WdfIoTargetSendWriteSynchronously";
    case Ddi::kWdfIoTargetSendIoctlSynchronously: return "WdfIoTargetSendIoctlSynchronously";
    case Ddi::kWdfIoTargetSendInternalIoctlSynchronously: return "WdfIoTargetSendInternalIoctlSynchronously";
    case Ddi::kTargetCompletion: return "FxIoTarget::RequestCompletionRoutine";
    case Ddi::kTargetTimer: return "FxIoTarget::TimerCallback";
    case Ddi::kIoCompleteRequest: return "IoCompleteRequest";
    case Ddi::kIoCallDriver: return "IoCallDriver";
    case Ddi::kIoAllocateIrp: return "IoAllocateIrp";
    case Ddi::kIoFreeIrp: return "IoFreeIrp";
    case Ddi::kIoReuseIrp: return "IoReuseIrp";
    case Ddi::kIoBuildSynchronousFsdRequest: return "IoBuildSynchronousFsdRequest";
    case Ddi::kIoBuildAsynchronousFsdRequest: return "IoBuildAsynchronousFsdRequest";
    case Ddi::kIoBuildDeviceIoControlRequest: return "IoBuildDeviceIoControlRequest";
    case Ddi::kIoCancelIrp: return "IoCancelIrp";
    case Ddi::kIoSetCancelRoutine: return "IoSetCancelRoutine";
    case Ddi::kIoAcquireCancelSpinLock: return "IoAcquireCancelSpinLock";
    case Ddi::kIoReleaseCancelSpinLock: return "IoReleaseCancelSpinLock";
    case Ddi::kIoAllocateMdl: return "IoAllocateMdl";
    case Ddi::kIoFreeMdl: return "IoFreeMdl";
    case Ddi::kMmUnlockPages: return "MmUnlockPages";
    case Ddi::kKeInitializeEvent: return "KeInitializeEvent";
    case Ddi::kKeSetEvent: return "KeSetEvent";
    case Ddi::kKeClearEvent: return "KeClearEvent";
    case Ddi::kKeResetEvent: return "KeResetEvent";
    case Ddi::kKeReadStateEvent: return "KeReadStateEvent";
    case Ddi::kKeWaitForSingleObject: return "KeWaitForSingleObject";
    case Ddi::kKeQuerySystemTime: return "KeQuerySystemTime";
    case Ddi::kPsGetCurrentThread: return "PsGetCurrentThread";
    case Ddi::kThreadExit: return "ThreadExit";
    case Ddi::kLowerDriver: return "LowerDriver";
    case Ddi::kKeRaiseIrql: return "KeRaiseIrql";
    case Ddi::kKeLowerIrql: return "KeLowerIrql";
    case Ddi::kPresentRequest: return "PresentRequest";
    case Ddi::kCompletionApc: return "IopCompleteRequest";
    case Ddi::kUnload: return "DriverUnload";
    case Ddi::kCount: break;
  }
  return "?";
}

}  // namespace wdfsim::core
