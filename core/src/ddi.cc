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
    case Ddi::kIoCompleteRequest: return "IoCompleteRequest";
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
