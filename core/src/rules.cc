// The rule catalog: one entry per rule, the only place rules are defined.
#include <string>

#include "absl/strings/str_format.h"
#include "wdfsim/harness/trace.h"
#include "wdfsim/harness/verifier.h"

namespace wdfsim {
namespace {

using S = Severity;

// Bug check codes.
constexpr uint32_t kWdfViolation = 0x10D;
constexpr uint32_t kMultipleIrpCompleteRequests = 0x44;
constexpr uint32_t kIoManagerViolation = 0xC9;
constexpr uint32_t kDriverVerifierViolation = 0xC4;
constexpr uint32_t kNoMoreIrpStackLocations = 0x35;
constexpr uint32_t kCancelStateInCompletedIrp = 0x48;

constexpr Rule kRules[] = {
    {RuleId::kInvalidHandle, "InvalidHandle", S::kBugCheck, kWdfViolation, 0x5, 0,
     "a NULL, stale, never-issued or wrong-type handle was passed to a DDI (WDF_INVALID_HANDLE)",
     "World::Resolve (FxObjectHandleGetPtr)"},
    {RuleId::kRequiredParameterNull, "RequiredParameterNull", S::kBugCheck, kWdfViolation, 0x4, 0,
     "a required pointer parameter is NULL (WDF_REQUIRED_PARAMETER_IS_NULL)",
     "World::RequireNotNull (FxPointerNotNull)"},
    {RuleId::kObjectOverDereference, "ObjectOverDereference", S::kBugCheck, kWdfViolation, 0x7, 0,
     "an object's last reference was released while it was never deleted (WDF_OBJECT_ERROR)",
     "Object::FinalRelease (~FxObject)"},
    {RuleId::kObjectDeleteNotAllowed, "ObjectDeleteNotAllowed", S::kBreak, 0, 0, 0,
     "WdfObjectDelete on an object the framework deletes itself (STATUS_CANNOT_DELETE)", "Object::Delete"},
    {RuleId::kIrqlTooHigh, "KmdfIrql", S::kBreak, 0, 0, 0,
     "a framework method was called above its maximum IRQL; the KMDF verifier fails it",
     "World::VerifierIrqlOk (FxVerifierCheckIrqlLevel)"},
    {RuleId::kReqDelete, "ReqDelete", S::kBreak, 0, 0, 0,
     "a driver-created request was completed, or a framework request deleted instead of completed",
     "WdfRequestComplete* (VerifyRequestIsDriverOwned), Request::CompleteInternal, Request::Delete"},
    {RuleId::kDoubleCompletion, "DoubleCompletion", S::kBreak, 0, 0, 0,
     "a request was completed twice; the verifier ignores the second call",
     "WdfRequestComplete* (VerifyRequestIsDriverOwned)"},
    {RuleId::kRequestNotOwned, "RequestNotOwned", S::kBreak, 0, 0, 0,
     "a request the driver does not own was completed (requeued, forwarded or never presented)",
     "WdfRequestComplete* (VerifyRequestIsDriverOwned)"},
    {RuleId::kCompleteWithMemoryReferenced, "CompleteWithMemoryReferenced", S::kBugCheck, kWdfViolation, 0x3, 0,
     "a request was completed while a WDFMEMORY retrieved from it is still referenced (WDF_VERIFIER_FATAL_ERROR)",
     "Request::CompleteInternal (FxRequest::CompleteInternal)"},
    {RuleId::kRequestFreedWithMemoryReferenced, "RequestFreedWithMemoryReferenced", S::kBugCheck, 0, 0, 0,
     "a request was freed (deleted instead of completed) while a WDFMEMORY retrieved from it is still referenced: "
     "the reference dangles (memory corruption)",
     "Request::FinalRelease"},
    {RuleId::kInformationLengthMismatch, "InformationLengthMismatch", S::kBugCheck, kWdfViolation, 0x6, 0x4,
     "a read, write or ioctl was completed with success and Information larger than its buffer",
     "Request::CompleteInternal (VerifyCompleteInternal)"},
    {RuleId::kRequestAlreadyCompleted, "RequestAlreadyCompleted", S::kBreak, 0, 0, 0,
     "a DDI was used on a request that is already completed (STATUS_INTERNAL_ERROR)",
     "VerifyRequestIsNotCompleted callers"},
    {RuleId::kRequestMemoryOverRelease, "RequestMemoryOverRelease", S::kBreak, 0, 0, 0,
     "a reference on a request's WDFMEMORY was released without one being added", "Request::ReleaseIrpReference"},
    {RuleId::kRequestWithoutIrp, "RequestWithoutIrp", S::kBugCheck, 0, 0, 0,
     "a DDI needed the request's IRP and the request has none (completed, or never had one): a NULL dereference",
     "request DDIs that read the IRP"},
    {RuleId::kRequestBufferUnavailable, "RequestBufferUnavailable", S::kBreak, 0, 0, 0,
     "a buffer was retrieved from a request whose major function or I/O type gives none this way",
     "GetMemoryObject (FxRequest::GetMemoryObject)"},
    {RuleId::kCompleteCancelable, "CompleteCancelable", S::kBreak, 0, 0, 0,
     "a request still marked cancelable was completed: the cancel routine can complete it again",
     "Request::CompleteInternal (VerifyCompleteInternal)"},
    {RuleId::kReuseWhileSent, "ReuseWhileSent", S::kBreak, 0, 0, 0,
     "WdfRequestReuse on a request still pending on an I/O target", "Request::Reuse"},
    {RuleId::kReuseInvalid, "ReuseInvalid", S::kBreak, 0, 0, 0,
     "WdfRequestReuse with MUST_COMPLETE on a request the driver cannot complete", "Request::Reuse"},
    {RuleId::kDeleteWhileSent, "DeleteWhileSent", S::kBreak, 0, 0, 0,
     "a request was deleted while it is still pending on an I/O target", "Request::Dispose (VerifyDispose)"},
    {RuleId::kCompletionParamsInvalid, "CompletionParamsInvalid", S::kBreak, 0, 0, 0,
     "WdfRequestGetCompletionParams with a wrong Size, or on a request never formatted for a target",
     "WdfRequestGetCompletionParams"},
    {RuleId::kRequestAlreadySent, "RequestAlreadySent", S::kBugCheck, kWdfViolation, 0x6, 0x3,
     "a request still pending on an I/O target was sent again (REQUEST_ALREADY_SENT)",
     "IoTarget::SubmitLocked (FxIoTarget::SubmitLocked, VerifySubmitLocked)"},
    {RuleId::kRequestFormattedValid, "RequestFormattedValid", S::kBreak, 0, 0, 0,
     "a request was sent without being formatted since its last completion (STATUS_REQUEST_NOT_ACCEPTED)",
     "IoTarget::SubmitLocked (VerifySubmitLocked)"},
    {RuleId::kReqCompletionRoutine, "ReqCompletionRoutine", S::kBreak, 0, 0, 0,
     "a queue-presented request was sent asynchronously with no completion routine (STATUS_INVALID_DEVICE_REQUEST)",
     "WdfRequestSend"},
    {RuleId::kSendOptionsInvalid, "SendOptionsInvalid", S::kBreak, 0, 0, 0,
     "WdfRequestSend with invalid WDF_REQUEST_SEND_OPTIONS (the request's status is STATUS_INVALID_PARAMETER)",
     "WdfRequestSend (FxValidateRequestOptions)"},
    {RuleId::kSendAndForgetMisuse, "SendAndForgetMisuse", S::kBreak, 0, 0, 0,
     "send-and-forget of a formatted request, or of one with a completion routine", "SendAndForget"},
    {RuleId::kFormatNoMoreStackLocations, "FormatNoMoreStackLocations", S::kBugCheck, kWdfViolation, 0x6, 0x1,
     "WdfRequestFormatRequestUsingCurrentType on an IRP with no next stack location (NO_MORE_STACK_LOCATIONS)",
     "WdfRequestFormatRequestUsingCurrentType"},
    {RuleId::kFormatNullIrp, "FormatNullIrp", S::kBugCheck, kWdfViolation, 0x6, 0x2,
     "WdfRequestFormatRequestUsingCurrentType on a request without an IRP (NULL_IRP)",
     "WdfRequestFormatRequestUsingCurrentType"},
    {RuleId::kSyncReqSend, "SyncReqSend", S::kLint, 0, 0, 0,
     "a synchronous send without a timeout: it hangs if the target never completes", "IoTarget::SubmitSync"},
    {RuleId::kCompleteWhileSent, "CompleteWhileSent", S::kBreak, 0, 0, 0,
     "a request still pending on an I/O target was completed: the lower driver still owns its IRP (the framework "
     "does not check this; wdfsim does)",
     "Request::CompleteInternal"},
    {RuleId::kFormatWhileSent, "FormatWhileSent", S::kBugCheck, 0, 0, 0,
     "a request still pending on an I/O target was formatted for a target needing a new IRP: the IRP the lower "
     "driver owns is freed (memory corruption)",
     "IoTarget::ValidateTarget"},
    {RuleId::kMemoryCopyReadOnly, "MemoryCopyReadOnly", S::kBreak, 0, 0, 0,
     "WdfMemoryCopyFromBuffer into read-only memory (STATUS_ACCESS_VIOLATION)", "WdfMemoryCopyFromBuffer"},
    {RuleId::kMultipleIrpComplete, "DoubleIrpCompletion", S::kBugCheck, kMultipleIrpCompleteRequests, 0, 0,
     "IoCompleteRequest on an IRP that is already completed (MULTIPLE_IRP_COMPLETE_REQUESTS)", "CompleteIrp"},
    {RuleId::kCompleteRequestStatusCheck, "CompleteRequestStatusCheck", S::kBugCheck, kIoManagerViolation, 0x6, 0,
     "IoCompleteRequest with IoStatus.Status STATUS_PENDING or -1", "CompleteIrp"},
    {RuleId::kCompleteWithCancelRoutine, "CompleteWithCancelRoutine", S::kBugCheck, kIoManagerViolation, 0x7, 0,
     "IoCompleteRequest on an IRP whose cancel routine is still set", "CompleteIrp"},
    {RuleId::kCancelStateInCompletedIrp, "CancelStateInCompletedIrp", S::kBugCheck, kCancelStateInCompletedIrp, 0, 0,
     "IoCancelIrp found a cancel routine on an IRP that is already completed (CANCEL_STATE_IN_COMPLETED_IRP)",
     "CancelIrp (IoCancelIrp)"},
    {RuleId::kNoMoreStackLocations, "NoMoreIrpStackLocations", S::kBugCheck, kNoMoreIrpStackLocations, 0, 0,
     "IoCallDriver on an IRP with no stack location left (NO_MORE_IRP_STACK_LOCATIONS)", "IofCallDriver"},
    {RuleId::kIoCompleteRequestIrql, "IoCompleteRequestIrql", S::kBugCheck, kIoManagerViolation, 0xE, 0,
     "IoCompleteRequest above DISPATCH_LEVEL", "CompleteIrp"},
    {RuleId::kIoCallDriverIrql, "IoCallDriverIrql", S::kBugCheck, kIoManagerViolation, 0x10, 0,
     "IoCallDriver above DISPATCH_LEVEL", "IofCallDriver"},
    {RuleId::kForwardedAtBadIrqlFsdSync, "ForwardedAtBadIrqlFsdSync", S::kBreak, 0, 0, 0,
     "an IoBuildSynchronousFsdRequest IRP sent at DISPATCH_LEVEL with a major other than power, read, write or ioctl",
     "IofCallDriver"},
    {RuleId::kIrqlIoApcLte, "IrqlIoApcLte", S::kBreak, 0, 0, 0,
     "an IRP builder (IoBuildSynchronousFsdRequest, IoBuildAsynchronousFsdRequest) called above APC_LEVEL",
     "irp_ddi.cc builders"},
    {RuleId::kIrqlIoPassive1, "IrqlIoPassive1", S::kBugCheck, kDriverVerifierViolation, 0x2000A, 0,
     "IoBuildDeviceIoControlRequest called above APC_LEVEL", "IoBuildDeviceIoControlRequest"},
    {RuleId::kKeWaitIrql, "KeWaitIrql", S::kBugCheck, kDriverVerifierViolation, 0x3B, 0,
     "KeWaitForSingleObject with a NULL or non-zero timeout at DISPATCH_LEVEL or above", "KeWaitForSingleObject"},
    {RuleId::kKeWaitIrqlAboveDispatch, "KeWaitIrqlAboveDispatch", S::kBugCheck, kDriverVerifierViolation, 0x120, 0,
     "KeWaitForSingleObject above DISPATCH_LEVEL", "KeWaitForSingleObject"},
    {RuleId::kCreatorMarkedPending, "CreatorMarkedPending", S::kBugCheck, 0, 0, 0,
     "the IRP's creator called IoMarkIrpPending in its completion routine: it has no stack location (pool corruption)",
     "CompleteIrp"},
    {RuleId::kMarkIrpPending, "MarkIrpPending", S::kBugCheck, kIoManagerViolation, 0x23E, 0,
     "a dispatch routine marked the IRP pending but did not return STATUS_PENDING", "IofCallDriver"},
    {RuleId::kMarkIrpPending2, "MarkIrpPending2", S::kBugCheck, kIoManagerViolation, 0x23D, 0,
     "a dispatch routine returned STATUS_PENDING without marking the IRP pending or passing it down", "IofCallDriver"},
    {RuleId::kIoBuildSynchronousFsdRequestNoFree, "IoBuildSynchronousFsdRequestNoFree", S::kBreak, 0, 0, 0,
     "IoFreeIrp on an IRP from IoBuildSynchronousFsdRequest or IoBuildDeviceIoControlRequest: the I/O manager frees it",
     "IoFreeIrp"},
    {RuleId::kIrpFreedOnThreadList, "IrpFreedOnThreadList", S::kBugCheck, kIoManagerViolation, 0x2, 0,
     "IoFreeIrp on an IRP still queued to a thread", "IoFreeIrp"},
    {RuleId::kIrpDoubleFree, "IrpDoubleFree", S::kBugCheck, 0, 0, 0,
     "IoFreeIrp, IoCallDriver or IoCompleteRequest on an IRP that was already freed", "irp_ddi.cc"},
    {RuleId::kIrpInUse, "IrpInUse", S::kBugCheck, 0, 0, 0,
     "IoFreeIrp, IoReuseIrp or IoCallDriver on an IRP that is not the caller's: a driver below still owns it, or its "
     "completion finished and the I/O manager owns it (Driver Verifier's WDM errors 0x205, 0x209, 0x20A/0x20B)",
     "irp_ddi.cc, lower_driver.cc"},
    {RuleId::kIoAllocateComplete, "IoAllocateComplete", S::kBugCheck, 0, 0, 0,
     "an IoAllocateIrp IRP reached the I/O manager's post-processing: its creator's completion routine must free "
     "it and return STATUS_MORE_PROCESSING_REQUIRED",
     "CompleteIrp"},
    {RuleId::kIoBuildSynchronousFsdRequestWait, "IoBuildSynchronousFsdRequestWait", S::kBreak, 0, 0, 0,
     "IoCallDriver returned STATUS_PENDING for a synchronous builder IRP and the caller never waited on its event",
     "World::Unload"},
    {RuleId::kIoBuildSynchronousFsdRequestWaitTimeout, "IoBuildSynchronousFsdRequestWaitTimeout", S::kLint, 0, 0, 0,
     "the event of a synchronous builder IRP is waited on with no timeout", "KeWaitForSingleObject"},
    {RuleId::kIosbOnUnwoundStack, "IosbOnUnwoundStack", S::kBugCheck, kIoManagerViolation, 0xC, 0,
     "the completion APC writes an IRP's UserIosb in a stack frame that has returned (seen with AddressSanitizer's "
     "stack-use-after-return detection)",
     "CompletionApc (IopCompleteRequest)"},
    {RuleId::kEventOnUnwoundStack, "EventOnUnwoundStack", S::kBugCheck, kIoManagerViolation, 0xD, 0,
     "the completion APC signals an IRP's UserEvent in a stack frame that has returned (seen with "
     "AddressSanitizer's stack-use-after-return detection)",
     "CompletionApc (IopCompleteRequest)"},
    {RuleId::kPendingReturnedNotPropagated, "PendingReturnedNotPropagated", S::kBugCheck, kIoManagerViolation, 0x228, 0,
     "a completion routine saw PendingReturned and did not call IoMarkIrpPending", "CompleteIrp"},
    {RuleId::kCancelSpinLock, "CancelSpinLock", S::kBreak, 0, 0, 0,
     "a cancel routine returned without releasing the cancel spin lock, or the lock was released unheld",
     "CancelIrp, IoReleaseCancelSpinLock"},
    {RuleId::kMdlFreedLocked, "MdlFreedLocked", S::kBugCheck, 0, 0, 0,
     "IoFreeMdl on an MDL whose pages are still locked (MmUnlockPages first)", "IoFreeMdl"},
    {RuleId::kIrqlKeSetEvent, "IrqlKeSetEvent", S::kBugCheck, kDriverVerifierViolation, 0x20016, 0,
     "KeSetEvent above DISPATCH_LEVEL, or with Wait=TRUE above APC_LEVEL", "KeSetEvent"},
    {RuleId::kReadyNotifyMisuse, "ReadyNotifyMisuse", S::kBreak, 0, 0, 0,
     "WdfIoQueueReadyNotify on a queue that is not manual, a second registration, or an unregistration with none "
     "registered or while the queue dispatches (STATUS_INVALID_DEVICE_REQUEST)",
     "FxIoQueue::ReadyNotify"},
    {RuleId::kQueueFatalError, "QueueFatalError", S::kBugCheck, kWdfViolation, 0xA, 0,
     "a queue Stop, Purge or Drain DDI failed: a second completion callback while one is pending, or a deleted "
     "queue (WDF_QUEUE_FATAL_ERROR)",
     "FxIoQueue::FatalError"},
    {RuleId::kQueueRequestMisuse, "QueueRequestMisuse", S::kBreak, 0, 0, 0,
     "WdfRequestRequeue, WdfRequestForwardToIoQueue or WdfRequestStopAcknowledge on a request the driver does not "
     "own, that is cancelable, or to a queue that cannot take it (STATUS_INVALID_DEVICE_REQUEST)",
     "FxIoQueue::Requeue / ForwardRequest"},
    {RuleId::kCancelableStateInvalid, "CancelableStateInvalid", S::kBreak, 0, 0, 0,
     "WdfRequestMarkCancelable on a request already cancelable or already canceled (use MarkCancelableEx), or "
     "WdfRequestUnmarkCancelable on a request that is not cancelable",
     "FxRequest::MarkCancelable / UnmarkCancelable"},
    {RuleId::kRetrieveFromIdleSequentialQueue, "RetrieveFromIdleSequentialQueue", S::kBreak, 0, 0, 0,
     "WdfIoQueueRetrieveNextRequest on a sequential queue while the driver owns none of its requests (the "
     "framework presents them itself; allowed, the call goes on)",
     "FxIoQueue::GetRequest"},
    {RuleId::kLiveness, "Liveness", S::kBugCheck, 0, 0, 0,
     "a thread waits for something nothing left in the simulation will ever do (the machine hangs)",
     "KeWaitForSingleObject"},
    {RuleId::kRequestCompleted, "RequestCompleted", S::kBreak, 0, 0, 0,
     "a request presented to the driver was never completed when the driver unloaded", "World::Unload"},
    {RuleId::kDeferredRequestCompleted, "DeferredRequestCompleted", S::kBreak, 0, 0, 0,
     "a request presented to the driver and deferred (sent, forwarded, requeued or marked cancelable) was never "
     "completed",
     "World::Unload"},
    {RuleId::kManualQueueStalled, "ManualQueueStalled", S::kBreak, 0, 0, 0,
     "a started manual queue holds requests and its ready callback will not be called again: the driver did not "
     "drain it to STATUS_NO_MORE_ENTRIES (the requests wait forever)",
     "World::Unload"},
    {RuleId::kObjectLeak, "ObjectLeak", S::kBreak, 0, 0, 0,
     "a driver-created object was never deleted; only the driver's unload reclaimed it", "World::Unload"},
    {RuleId::kReferenceLeak, "ReferenceLeak", S::kBreak, 0, 0, 0,
     "an object outlived the driver: a reference was never released (FxPoolDump leak)", "World::Unload"},
    {RuleId::kIrpLeak, "IrpLeak", S::kBreak, 0, 0, 0,
     "an IRP the driver built or allocated is still allocated at unload: never sent, kept after its completion "
     "routine returned STATUS_MORE_PROCESSING_REQUIRED, or still pending below with the driver's completion routine",
     "World::Unload"},
};
constexpr bool CatalogInRuleIdOrder() {
  for (size_t i = 0; i < sizeof(kRules) / sizeof(kRules[0]); ++i) {
    if (static_cast<size_t>(kRules[i].id) != i) return false;
  }
  return true;
}
static_assert(CatalogInRuleIdOrder(), "kRules is indexed by RuleId: keep the entries in enum order");
static_assert(sizeof(kRules) / sizeof(kRules[0]) == static_cast<size_t>(RuleId::kCount),
              "every RuleId has exactly one catalog entry");

}  // namespace

absl::Span<const Rule> RuleCatalog() { return kRules; }

const Rule& GetRule(RuleId id) { return kRules[static_cast<size_t>(id)]; }

const Rule* FindRule(std::string_view name) {
  for (const Rule& rule : kRules) {
    if (rule.name == name) return &rule;
  }
  return nullptr;
}

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kBugCheck: return "bugcheck";
    case Severity::kBreak: return "break";
    case Severity::kLint: return "lint";
  }
  return "?";
}

size_t Verifier::Count(RuleId rule) const {
  size_t n = 0;
  for (const Report& report : reports_) n += report.rule == rule;
  return n;
}

void Verifier::Raise(Report report) {
  const bool fatal = GetRule(report.rule).severity == Severity::kBugCheck;
  if (fatal) bugchecked_ = true;
  reports_.push_back(std::move(report));
  if (on_report_) on_report_(reports_.back());
  if (fatal) {
    const Report& r = reports_.back();
    throw BugCheck(absl::StrFormat("%s: %s", r.rule_info().name, r.message));
  }
}

std::string Report::DedupKey() const { return absl::StrFormat("%s:%s", rule_info().name, ddi); }

std::string Report::Format(const Trace& trace, size_t tail) const {
  const Rule& r = rule_info();
  std::string out;
  if (r.bugcheck != 0) {
    absl::StrAppendFormat(&out, "%s [bug check 0x%X", r.name, r.bugcheck);
    if (r.p1 != 0) absl::StrAppendFormat(&out, "/0x%X", r.p1);
    if (r.p2 != 0) absl::StrAppendFormat(&out, "/0x%X", r.p2);
    absl::StrAppendFormat(&out, "] in %s: %s\n", ddi, message);
  } else {
    absl::StrAppendFormat(&out, "%s [%s] in %s: %s\n", r.name, SeverityName(r.severity), ddi, message);
  }
  for (const ReportObject& object : objects) absl::StrAppendFormat(&out, "  object: %s\n", object.description);
  absl::StrAppendFormat(&out, "  dedup key: %s\n  trace (last %d events):\n", DedupKey(), tail);
  out += trace.FormatTail(tail, event + 1);
  return out;
}

}  // namespace wdfsim
