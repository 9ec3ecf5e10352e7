// Requests presented by the harness: completion, double completion, the
// information-length check, the WDF status remap, request memory references,
// cleanup at completion, reuse, the Retrieve* matrix, getters, and the IRP
// underneath (SEMANTICS-WDF 3.5, 4.1, 4.6-4.8, 4.10, cases 20-25;
// SEMANTICS-WDM A.0, A.3.4; kmdf-slice notes 1 and 3).
#include <cstring>

#include "sim_fixture.h"

typedef struct _REQ_CONTEXT {
  ULONG tag;
} REQ_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(REQ_CONTEXT, GetReqContext)

namespace wdfsim_test {
namespace {

using wdfsim::BugCheck;
using wdfsim::IoType;
using wdfsim::RuleId;
using wdfsim::Severity;

class RequestTest : public SimTest {};

// ---- 4.7 Completion of a presented request ----

TEST_F(RequestTest, Sec4_7_CompleteWithInformation_OriginatorSeesOneCompletion) {
  WDFREQUEST request = PresentRead(16);
  ASSERT_NE(request, nullptr);
  ASSERT_EQ(sim().io_outcomes().size(), 1u);
  EXPECT_EQ(Outcome().request, request);
  EXPECT_EQ(Outcome().completions, 0u);

  WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 8);

  EXPECT_EQ(Outcome().completions, 1u);
  EXPECT_EQ(Outcome().status, STATUS_SUCCESS);
  EXPECT_EQ(Outcome().information, 8u);
  EXPECT_FALSE(Outcome().completed) << "the completion APC has not run yet";
  sim().RunReadyWork();
  EXPECT_TRUE(Outcome().completed);
  EXPECT_TRUE(reports().empty());
}

TEST_F(RequestTest, Sec4_7_CompleteWithErrorStatus) {
  WDFREQUEST request = PresentWrite(4);
  WdfRequestComplete(request, STATUS_CANCELLED);
  EXPECT_EQ(Outcome().completions, 1u);
  EXPECT_EQ(Outcome().status, STATUS_CANCELLED);
  EXPECT_EQ(Outcome().information, 0u);
  EXPECT_TRUE(reports().empty());
}

TEST_F(RequestTest, Sec4_7_CompleteWithPriorityBoostCompletes) {
  WDFREQUEST request = PresentRead(4);
  WdfRequestCompleteWithPriorityBoost(request, STATUS_SUCCESS, IO_DISK_INCREMENT);
  EXPECT_EQ(Outcome().completions, 1u);
  EXPECT_EQ(Outcome().status, STATUS_SUCCESS);
}

TEST_F(RequestTest, Sec4_8_SetInformationIsWhatCompleteReports) {
  WDFREQUEST request = PresentRead(16);
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_SUCCESS) << "IoStatus starts zeroed";
  EXPECT_EQ(WdfRequestGetInformation(request), 0u);
  WdfRequestSetInformation(request, 5);
  EXPECT_EQ(WdfRequestGetInformation(request), 5u);
  WdfRequestComplete(request, STATUS_SUCCESS);
  EXPECT_EQ(Outcome().information, 5u);
}

TEST_F(RequestTest, Sec4_7_HandleIsInvalidAfterCompletionWithoutReference) {
  WDFREQUEST request = PresentRead(4);
  WdfRequestComplete(request, STATUS_SUCCESS);
  EXPECT_THROW(WdfRequestGetStatus(request), BugCheck);
  EXPECT_EQ(LastRule(), "InvalidHandle");
}

TEST_F(RequestTest, Case22_DoubleCompletionWithReferenceHeld_SecondIgnoredIrpCompletedOnce) {
  WDFREQUEST request = PresentRead(8);
  WdfObjectReference(request);
  WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 3);
  WdfRequestCompleteWithInformation(request, STATUS_UNSUCCESSFUL, 1);  // a break, ignored

  EXPECT_EQ(LastRule(), "DoubleCompletion");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_EQ(Count(RuleId::kDoubleCompletion), 1u);
  EXPECT_FALSE(sim().verifier().bugchecked());
  EXPECT_EQ(Outcome().completions, 1u) << "the IRP is completed exactly once";
  EXPECT_EQ(Outcome().status, STATUS_SUCCESS);
  EXPECT_EQ(Outcome().information, 3u);

  // The driver's reference was the last one: releasing it frees the request
  // without an over-dereference (it was deleted by completion).
  WdfObjectDereference(request);
  EXPECT_EQ(Count(RuleId::kObjectOverDereference), 0u);
  sim().Unload();
  EXPECT_EQ(reports().size(), 1u) << sim().verdict().Summary();
}

TEST_F(RequestTest, Sec4_7_DoubleCompletionWithVerifierOffIsNullIrpCrash) {
  RestartWithVerifierOff();
  WDFREQUEST request = PresentRead(8);
  WdfObjectReference(request);
  WdfRequestComplete(request, STATUS_SUCCESS);
  EXPECT_THROW(WdfRequestComplete(request, STATUS_SUCCESS), BugCheck);
  EXPECT_EQ(LastRule(), "RequestWithoutIrp");
  EXPECT_EQ(Outcome().completions, 1u);
}

TEST_F(RequestTest, Case21_CompletingDriverCreatedRequestIsNoOpWithReqDeleteBreak) {
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, &request), STATUS_SUCCESS);
  ASSERT_NE(request, nullptr);

  WdfRequestComplete(request, STATUS_SUCCESS);

  EXPECT_EQ(LastRule(), "ReqDelete");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_EQ(Count(RuleId::kReqDelete), 1u);
  EXPECT_FALSE(sim().verifier().bugchecked());
  // No-op: the request is still alive and deleting it is the right way out.
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(&attributes, REQ_CONTEXT);
  PVOID context = nullptr;
  EXPECT_EQ(WdfObjectAllocateContext(request, &attributes, &context), STATUS_SUCCESS);
  WdfObjectDelete(request);
  EXPECT_TRUE(Log().Destroyed(request));
  EXPECT_EQ(reports().size(), 1u);
  EXPECT_TRUE(sim().io_outcomes().empty());
}

TEST_F(RequestTest, Case21_CompletingDriverCreatedRequestWithoutIrpAndVerifierOffCrashes) {
  RestartWithVerifierOff();
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, &request), STATUS_SUCCESS);
  // 4.7: "If the request has no IRP, irp.SetStatus dereferences NULL: a plain crash."
  EXPECT_THROW(WdfRequestComplete(request, STATUS_SUCCESS), BugCheck);
  EXPECT_TRUE(sim().verifier().bugchecked());
}

TEST_F(RequestTest, Sec4_1_WdfRequestCreateNullOut_BugCheck0x4) {
  EXPECT_THROW(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
}

TEST_F(RequestTest, Sec4_1_WdfRequestCreateWithDeletingParentIsDeletePending) {
  WDFMEMORY parent = NewMemory();
  WdfObjectReference(parent);
  WdfObjectDelete(parent);
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.ParentObject = parent;
  WDFREQUEST request = nullptr;
  EXPECT_EQ(WdfRequestCreate(&attributes, nullptr, &request), STATUS_DELETE_PENDING);
  WdfObjectDereference(parent);
}

TEST_F(RequestTest, Sec4_8_GettersOnFreshDriverRequestAreAlreadyCompletedBreaks) {
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, &request), STATUS_SUCCESS);
  // "A freshly WdfRequestCreated request with no IRP has m_Completed=TRUE."
  EXPECT_EQ(WdfRequestGetInformation(request), 0u);
  EXPECT_EQ(LastRule(), "RequestAlreadyCompleted");
  WdfRequestSetInformation(request, 3);
  EXPECT_EQ(Count(RuleId::kRequestAlreadyCompleted), 2u);
  EXPECT_FALSE(sim().verifier().bugchecked());
  WdfObjectDelete(request);
}

// ---- 4.7 / case 23: the information-length check ----

TEST_F(RequestTest, Case23_ReadInformationLargerThanLength_BugCheck0x10D_0x6_0x4) {
  WDFREQUEST request = PresentRead(10);
  EXPECT_THROW(WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 11), BugCheck);
  EXPECT_EQ(LastRule(), "InformationLengthMismatch");
  EXPECT_EQ(LastRuleInfo().bugcheck, 0x10Du);
  EXPECT_EQ(LastRuleInfo().p1, 0x6u);
  EXPECT_EQ(LastRuleInfo().p2, 0x4u);
  EXPECT_EQ(Outcome().completions, 0u) << "the machine stopped before IoCompleteRequest";
}

TEST_F(RequestTest, Case23_ReadInformationEqualToLengthIsFine) {
  WDFREQUEST request = PresentRead(10);
  WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 10);
  EXPECT_EQ(Outcome().completions, 1u);
  EXPECT_EQ(Outcome().information, 10u);
  EXPECT_TRUE(reports().empty());
}

TEST_F(RequestTest, Case23_BufferOverflowWarningWithLargeInformationIsNoBugCheck) {
  WDFREQUEST request = PresentRead(10);
  WdfRequestCompleteWithInformation(request, STATUS_BUFFER_OVERFLOW, 11);
  EXPECT_FALSE(sim().verifier().bugchecked());
  EXPECT_TRUE(reports().empty());
  EXPECT_EQ(Outcome().completions, 1u);
  EXPECT_EQ(Outcome().status, STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(Outcome().information, 11u);
}

// The completion APC copies back at most what both buffers hold, so this
// legal case-23 completion (a warning status, no bug check) stays inside the
// 10-byte buffers (it was a heap overflow before the copy was bounded).
TEST_F(RequestTest, Case23_BufferOverflowCopyBackStaysInsideTheBuffers) {
  WDFREQUEST request = PresentRead(10);
  WdfRequestCompleteWithInformation(request, STATUS_BUFFER_OVERFLOW, 11);
  sim().RunReadyWork();
  EXPECT_TRUE(Outcome().completed);
  EXPECT_EQ(Outcome().data.size(), 10u);
}

TEST_F(RequestTest, Case23_WriteInformationLargerThanLength_BugCheck) {
  WDFREQUEST request = PresentWrite(4);
  EXPECT_THROW(WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 5), BugCheck);
  EXPECT_EQ(LastRule(), "InformationLengthMismatch");
}

TEST_F(RequestTest, Case23_UserIoctlInformationLargerThanOutputLength_BugCheck) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_OUT_DIRECT), 0, 8);
  EXPECT_THROW(WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 9), BugCheck);
  EXPECT_EQ(LastRule(), "InformationLengthMismatch");
}

TEST_F(RequestTest, Sec4_7_InternalIoctlInformationIsNotChecked) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_OUT_DIRECT), 0, 8, 0, false, IRP_MJ_INTERNAL_DEVICE_CONTROL);
  WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 9);
  EXPECT_FALSE(sim().verifier().bugchecked());
  EXPECT_EQ(Outcome().completions, 1u);
}

TEST_F(RequestTest, Sec4_7_InformationCheckIsVerifierGated) {
  RestartWithVerifierOff();
  WDFREQUEST request = PresentRead(10, IoType::kDirect);
  WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 11);
  EXPECT_FALSE(sim().verifier().bugchecked());
  EXPECT_EQ(Outcome().completions, 1u);
  EXPECT_EQ(Outcome().information, 11u);
}

// ---- 4.7 / case 24: WDF facility statuses are remapped ----

struct Remap {
  NTSTATUS completed_with;
  NTSTATUS originator_sees;
};

class Case24_WdfStatusRemap : public SimTest, public ::testing::WithParamInterface<Remap> {};

TEST_P(Case24_WdfStatusRemap, OriginatorSeesRemappedStatus) {
  WDFREQUEST request = PresentRead(4);
  WdfRequestComplete(request, GetParam().completed_with);
  EXPECT_EQ(Outcome().completions, 1u);
  EXPECT_EQ(static_cast<uint32_t>(Outcome().status), static_cast<uint32_t>(GetParam().originator_sees));
}

INSTANTIATE_TEST_SUITE_P(Sec4_7, Case24_WdfStatusRemap,
                         ::testing::Values(Remap{STATUS_WDF_BUSY, STATUS_DEVICE_BUSY},
                                           Remap{STATUS_WDF_PAUSED, STATUS_DEVICE_BUSY},
                                           Remap{STATUS_WDF_QUEUED, STATUS_INVALID_DEVICE_REQUEST},
                                           Remap{STATUS_WDF_INTERNAL_ERROR, STATUS_INTERNAL_ERROR},
                                           Remap{STATUS_WDF_TOO_FRAGMENTED, STATUS_INVALID_DEVICE_REQUEST},
                                           Remap{STATUS_WDF_TOO_MANY_TRANSFERS, STATUS_INVALID_DEVICE_REQUEST},
                                           Remap{STATUS_WDF_REQUEST_INVALID_STATE, STATUS_INVALID_DEVICE_REQUEST},
                                           Remap{STATUS_WDF_POSTED, STATUS_INVALID_DEVICE_REQUEST},
                                           // Not WDF facility: unchanged.
                                           Remap{STATUS_CANCELLED, STATUS_CANCELLED},
                                           Remap{STATUS_DEVICE_BUSY, STATUS_DEVICE_BUSY},
                                           Remap{STATUS_SUCCESS, STATUS_SUCCESS}));

// CORE-DISAGREEMENT: SEMANTICS-WDF 4.7's remap table maps
// STATUS_WDF_NOT_ENOUGH_MAP_REGISTERS to STATUS_INSUFFICIENT_RESOURCES; the
// core gives STATUS_INVALID_DEVICE_REQUEST (which is what kmdf-slice notes 3
// say: "their cases are commented out in some copies"). The two docs disagree.
TEST_F(RequestTest, Case24_NotEnoughMapRegistersBecomesInsufficientResources) {
  WDFREQUEST request = PresentRead(4);
  WdfRequestComplete(request, STATUS_WDF_NOT_ENOUGH_MAP_REGISTERS);
  EXPECT_EQ(static_cast<uint32_t>(Outcome().status), static_cast<uint32_t>(STATUS_INSUFFICIENT_RESOURCES));
}

TEST_F(RequestTest, Case24_RemapIsUnconditionalWithVerifierOff) {
  RestartWithVerifierOff();
  WDFREQUEST request = PresentRead(4);
  WdfRequestComplete(request, STATUS_WDF_BUSY);
  EXPECT_EQ(Outcome().status, STATUS_DEVICE_BUSY);
}

// ---- 3.5 / case 20: references on a request's WDFMEMORY ----

TEST_F(RequestTest, Case20_CompleteWithRetrievedMemoryReferenced_BugCheck0x10D_0x3) {
  WDFREQUEST request = PresentWrite(8);
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &memory), STATUS_SUCCESS);
  WdfObjectReference(memory);
  EXPECT_THROW(WdfRequestComplete(request, STATUS_SUCCESS), BugCheck);
  EXPECT_EQ(LastRule(), "CompleteWithMemoryReferenced");
  EXPECT_EQ(LastRuleInfo().bugcheck, 0x10Du);
  EXPECT_EQ(LastRuleInfo().p1, 0x3u);
  EXPECT_EQ(reports().back().p2, reinterpret_cast<uint64_t>(request)) << "P2 = request handle";
  EXPECT_EQ(reports().back().p3, 1u) << "P3 = outstanding count";
  EXPECT_EQ(Outcome().completions, 0u);
}

TEST_F(RequestTest, Case20_CheckIsUnconditionalWithVerifierOff) {
  RestartWithVerifierOff();
  WDFREQUEST request = PresentRead(8);
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfRequestRetrieveOutputMemory(request, &memory), STATUS_SUCCESS);
  WdfObjectReference(memory);
  EXPECT_THROW(WdfRequestComplete(request, STATUS_SUCCESS), BugCheck);
  EXPECT_EQ(LastRule(), "CompleteWithMemoryReferenced");
}

TEST_F(RequestTest, Sec3_5_BalancedMemoryReferencesAllowCompletion) {
  WDFREQUEST request = PresentWrite(8);
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &memory), STATUS_SUCCESS);
  WdfObjectReference(memory);
  WdfObjectReference(memory);
  WdfObjectDereference(memory);
  WdfObjectDereference(memory);
  WdfRequestComplete(request, STATUS_SUCCESS);
  EXPECT_EQ(Outcome().completions, 1u);
  EXPECT_TRUE(reports().empty());
}

TEST_F(RequestTest, Sec3_5_OverReleaseIsBreakThenCompletionBugChecksOnNegativeCount) {
  WDFREQUEST request = PresentWrite(8);
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &memory), STATUS_SUCCESS);
  WdfObjectDereference(memory);  // no reference was added
  EXPECT_EQ(LastRule(), "RequestMemoryOverRelease");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  // "triggers for positive and negative counts" (notes 3).
  EXPECT_THROW(WdfRequestComplete(request, STATUS_SUCCESS), BugCheck);
  EXPECT_EQ(LastRule(), "CompleteWithMemoryReferenced");
}

TEST_F(RequestTest, Notes4_ReferenceOnRequestMemoryDoesNotKeepRequestAlive) {
  // AddRefOverride changes m_IrpReferenceCount, not the request's refcount.
  WDFREQUEST request = PresentWrite(8);
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &memory), STATUS_SUCCESS);
  WdfObjectReference(memory);
  WdfObjectDereference(memory);
  WdfRequestComplete(request, STATUS_SUCCESS);
  EXPECT_THROW(WdfRequestGetStatus(request), BugCheck);
  EXPECT_EQ(LastRule(), "InvalidHandle");
}

TEST_F(RequestTest, Notes4_RetrievingTwiceGivesSameEmbeddedHandle) {
  WDFREQUEST request = PresentWrite(8);
  WDFMEMORY a = nullptr;
  WDFMEMORY b = nullptr;
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &a), STATUS_SUCCESS);
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &b), STATUS_SUCCESS);
  EXPECT_EQ(a, b);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes4_TypedContextThroughRequestMemoryHandleIsTheRequestsContext) {
  WDFREQUEST request = PresentWrite(8);
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, REQ_CONTEXT);
  PVOID context = nullptr;
  ASSERT_EQ(WdfObjectAllocateContext(request, &attributes, &context), STATUS_SUCCESS);
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &memory), STATUS_SUCCESS);
  EXPECT_EQ(GetReqContext(memory), context);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

// ---- 4.7: EarlyDispose of a presented request ----

wdfsim::Simulation* g_sim = nullptr;
uint32_t g_completions_at_cleanup = 99;

VOID CleanupSeesIrpNotYetCompleted(WDFOBJECT object) {
  RecordCleanup(object);
  g_completions_at_cleanup = g_sim->io_outcomes().at(0).completions;
}

TEST_F(RequestTest, Sec4_7_CleanupOfPresentedRequestRunsAtCompletionBeforeIrpCompletes) {
  g_sim = &sim();
  g_completions_at_cleanup = 99;
  WDFREQUEST request = PresentRead(4);
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  attributes.EvtCleanupCallback = CleanupSeesIrpNotYetCompleted;
  WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(&attributes, REQ_CONTEXT);
  PVOID context = nullptr;
  ASSERT_EQ(WdfObjectAllocateContext(request, &attributes, &context), STATUS_SUCCESS);
  EXPECT_TRUE(Log().cleanups.empty());

  WdfRequestComplete(request, STATUS_SUCCESS);

  ASSERT_EQ(Log().cleanups.size(), 1u);
  EXPECT_EQ(Log().cleanups[0], request);
  EXPECT_EQ(g_completions_at_cleanup, 0u) << "cleanup runs while the IRP is still valid";
  EXPECT_TRUE(Log().Destroyed(request)) << "no driver reference: the request is deleted";
  EXPECT_EQ(Outcome().completions, 1u);
  g_sim = nullptr;
}

TEST_F(RequestTest, Sec4_7_ChildrenOfPresentedRequestAreDestroyedAtCompletionChildFirst) {
  WDFREQUEST request = PresentRead(4);
  WDF_OBJECT_ATTRIBUTES request_attributes = CallbackAttributes();
  WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(&request_attributes, REQ_CONTEXT);
  PVOID context = nullptr;
  ASSERT_EQ(WdfObjectAllocateContext(request, &request_attributes, &context), STATUS_SUCCESS);
  WDF_OBJECT_ATTRIBUTES memory_attributes = CallbackAttributes(request);
  WDFMEMORY child = NewMemory(8, &memory_attributes);

  WdfRequestComplete(request, STATUS_SUCCESS);

  ASSERT_EQ(Log().cleanups.size(), 2u);
  EXPECT_EQ(Log().cleanups[0], child);
  EXPECT_EQ(Log().cleanups[1], request);
  EXPECT_TRUE(Log().Destroyed(child));
  sim().Unload();
  EXPECT_TRUE(sim().verdict().clean()) << sim().verdict().Summary();
}

TEST_F(RequestTest, Sec4_7_ReferenceKeepsCompletedRequestObjectUntilDereference) {
  WDFREQUEST request = PresentRead(4);
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(&attributes, REQ_CONTEXT);
  PVOID context = nullptr;
  ASSERT_EQ(WdfObjectAllocateContext(request, &attributes, &context), STATUS_SUCCESS);
  WdfObjectReference(request);
  WdfRequestComplete(request, STATUS_SUCCESS);
  EXPECT_TRUE(Log().CleanedUp(request));
  EXPECT_FALSE(Log().Destroyed(request));
  EXPECT_EQ(GetReqContext(request), context) << "the handle stays valid while referenced";
  WdfObjectDereference(request);
  EXPECT_TRUE(Log().Destroyed(request));
  EXPECT_TRUE(reports().empty());
}

// ---- 4.10 Deleting requests ----

TEST_F(RequestTest, Sec4_10_DeletingPresentedRequestIsReqDeleteAndIrpNeverCompletes) {
  WDFREQUEST request = PresentRead(4);
  WdfObjectDelete(request);
  EXPECT_EQ(LastRule(), "ReqDelete");
  EXPECT_FALSE(sim().verifier().bugchecked());
  EXPECT_EQ(Outcome().completions, 0u);
  sim().Unload();
  EXPECT_EQ(Count(RuleId::kRequestCompleted), 1u);
}

TEST_F(RequestTest, Sec4_10_DeletingDriverCreatedRequestIsClean) {
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(&attributes, nullptr, &request), STATUS_SUCCESS);
  WdfObjectDelete(request);
  EXPECT_TRUE(Log().CleanedUp(request));
  EXPECT_TRUE(Log().Destroyed(request));
  sim().Unload();
  EXPECT_TRUE(sim().verdict().clean()) << sim().verdict().Summary();
}

// ---- 4.6 / case 25: WdfRequestReuse parameter validation ----

TEST_F(RequestTest, Case25_ReuseWithWrongSizeIsInvalidParameter) {
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, &request), STATUS_SUCCESS);
  WDF_REQUEST_REUSE_PARAMS params;
  WDF_REQUEST_REUSE_PARAMS_INIT(&params, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
  params.Size = sizeof(params) - 1;
  EXPECT_EQ(WdfRequestReuse(request, &params), STATUS_INVALID_PARAMETER);
  WdfObjectDelete(request);
}

TEST_F(RequestTest, Case25_ReuseWithUnknownFlagIsInvalidParameter) {
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, &request), STATUS_SUCCESS);
  WDF_REQUEST_REUSE_PARAMS params;
  WDF_REQUEST_REUSE_PARAMS_INIT(&params, 0x4, STATUS_SUCCESS);
  EXPECT_EQ(WdfRequestReuse(request, &params), STATUS_INVALID_PARAMETER);
  WdfObjectDelete(request);
}

TEST_F(RequestTest, Sec4_6_MustCompleteFlagBefore1_11IsInvalidParameter) {
  wdfsim::SimulationOptions options;
  options.kmdf_minor_version = 9;
  Restart(options);
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, &request), STATUS_SUCCESS);
  WDF_REQUEST_REUSE_PARAMS params;
  WDF_REQUEST_REUSE_PARAMS_INIT(&params, 0x2, STATUS_SUCCESS);
  EXPECT_EQ(WdfRequestReuse(request, &params), STATUS_INVALID_PARAMETER);
  WdfObjectDelete(request);
}

TEST_F(RequestTest, Sec4_6_MustCompleteOnRequestWithoutIrpIsInvalidParameterWithBreak) {
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, &request), STATUS_SUCCESS);
  WDF_REQUEST_REUSE_PARAMS params;
  WDF_REQUEST_REUSE_PARAMS_INIT(&params, 0x2, STATUS_SUCCESS);
  EXPECT_EQ(WdfRequestReuse(request, &params), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(LastRule(), "ReuseInvalid");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  WdfObjectDelete(request);
}

TEST_F(RequestTest, Case25_PresentedRequestWithSetNewIrpIsRequestInvalidState) {
  WDFREQUEST request = PresentRead(4);
  PIRP irp = WdfRequestWdmGetIrp(request);
  WDF_REQUEST_REUSE_PARAMS params;
  WDF_REQUEST_REUSE_PARAMS_INIT(&params, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
  WDF_REQUEST_REUSE_PARAMS_SET_NEW_IRP(&params, irp);
  EXPECT_EQ(WdfRequestReuse(request, &params), STATUS_WDF_REQUEST_INVALID_STATE);
  WdfRequestComplete(request, STATUS_SUCCESS);
  EXPECT_EQ(Outcome().completions, 1u);
}

TEST_F(RequestTest, Sec4_6_ReusePresentedRequestSetsIrpStatusAndStillCompletes) {
  WDFREQUEST request = PresentRead(4);
  WDF_REQUEST_REUSE_PARAMS params;
  WDF_REQUEST_REUSE_PARAMS_INIT(&params, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_CANCELLED);
  EXPECT_EQ(WdfRequestReuse(request, &params), STATUS_SUCCESS);
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_CANCELLED);
  EXPECT_EQ(WdfRequestWdmGetIrp(request)->IoStatus.Status, STATUS_CANCELLED);
  WdfRequestComplete(request, STATUS_SUCCESS);
  EXPECT_EQ(Outcome().completions, 1u);
  EXPECT_EQ(Outcome().status, STATUS_SUCCESS);
  EXPECT_TRUE(reports().empty());
}

TEST_F(RequestTest, Sec4_6_ReuseDriverCreatedRequestSucceeds) {
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, &request), STATUS_SUCCESS);
  WDF_REQUEST_REUSE_PARAMS params;
  WDF_REQUEST_REUSE_PARAMS_INIT(&params, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
  EXPECT_EQ(WdfRequestReuse(request, &params), STATUS_SUCCESS);
  EXPECT_EQ(WdfRequestReuse(request, &params), STATUS_SUCCESS) << "reuse can repeat";
  WdfObjectDelete(request);
  EXPECT_TRUE(reports().empty());
}

TEST_F(RequestTest, Sec4_6_ReuseWithNullParams_BugCheck0x4) {
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, &request), STATUS_SUCCESS);
  EXPECT_THROW(WdfRequestReuse(request, nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
}

// ---- 4.8 WdfRequestGetCompletionParams ----

TEST_F(RequestTest, Sec4_8_CompletionParamsWithoutFormatBreakAndReturnNoFormat) {
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, &request), STATUS_SUCCESS);
  WDF_REQUEST_COMPLETION_PARAMS params;
  memset(&params, 0xCC, sizeof(params));
  params.Size = sizeof(params);
  WdfRequestGetCompletionParams(request, &params);
  EXPECT_EQ(LastRule(), "CompletionParamsInvalid");
  EXPECT_EQ(params.Size, sizeof(params));
  EXPECT_EQ(params.Type, WdfRequestTypeNoFormat);
  EXPECT_EQ(params.IoStatus.Status, STATUS_SUCCESS);
  EXPECT_EQ(params.IoStatus.Information, 0u);
  WdfObjectDelete(request);
}

TEST_F(RequestTest, Sec4_8_CompletionParamsWithWrongSizeBreakAndWriteNothing) {
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, &request), STATUS_SUCCESS);
  WDF_REQUEST_COMPLETION_PARAMS params;
  memset(&params, 0xCC, sizeof(params));
  params.Size = 12;
  WdfRequestGetCompletionParams(request, &params);
  EXPECT_EQ(LastRule(), "CompletionParamsInvalid");
  EXPECT_EQ(params.Size, 12u);
  uint32_t type_bytes = 0;
  memcpy(&type_bytes, &params.Type, sizeof(type_bytes));
  EXPECT_EQ(type_bytes, 0xCCCCCCCCu) << "Type is left as the caller filled it";
  WdfObjectDelete(request);
}

// ---- Retrieve* matrix (notes 1) ----

TEST_F(RequestTest, Notes1_5_RetrieveInputOnReadIsInvalidDeviceRequestAndOutputsCleared) {
  WDFREQUEST request = PresentRead(8);
  PVOID buffer = reinterpret_cast<PVOID>(0x1);
  size_t length = 77;
  EXPECT_EQ(WdfRequestRetrieveInputBuffer(request, 0, &buffer, &length), STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(buffer, nullptr);
  EXPECT_EQ(length, 0u);
  EXPECT_TRUE(reports().empty()) << "plain status, no break";
  WDFMEMORY memory = reinterpret_cast<WDFMEMORY>(0x1);
  EXPECT_EQ(WdfRequestRetrieveInputMemory(request, &memory), STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(memory, reinterpret_cast<WDFMEMORY>(0x1)) << "*Memory is written only on success";
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_5_RetrieveOutputOnWriteIsInvalidDeviceRequest) {
  WDFREQUEST request = PresentWrite(8);
  PVOID buffer = nullptr;
  EXPECT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &buffer, nullptr), STATUS_INVALID_DEVICE_REQUEST);
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfRequestRetrieveOutputMemory(request, &memory), STATUS_INVALID_DEVICE_REQUEST);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_3_ZeroLengthReadIsBufferTooSmall) {
  WDFREQUEST request = PresentRead(0);
  PVOID buffer = reinterpret_cast<PVOID>(0x1);
  size_t length = 5;
  EXPECT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &buffer, &length), STATUS_BUFFER_TOO_SMALL);
  EXPECT_EQ(buffer, nullptr);
  EXPECT_EQ(length, 0u);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_3_ZeroLengthWriteIsBufferTooSmall) {
  WDFREQUEST request = PresentWrite(0);
  PVOID buffer = nullptr;
  EXPECT_EQ(WdfRequestRetrieveInputBuffer(request, 0, &buffer, nullptr), STATUS_BUFFER_TOO_SMALL);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_1_MinimumLengthAboveBufferIsBufferTooSmallAndOutputsStayCleared) {
  WDFREQUEST request = PresentRead(16);
  PVOID buffer = reinterpret_cast<PVOID>(0x1);
  size_t length = 5;
  EXPECT_EQ(WdfRequestRetrieveOutputBuffer(request, 17, &buffer, &length), STATUS_BUFFER_TOO_SMALL);
  EXPECT_EQ(buffer, nullptr);
  EXPECT_EQ(length, 0u);
  EXPECT_EQ(WdfRequestRetrieveOutputBuffer(request, 16, &buffer, &length), STATUS_SUCCESS);
  EXPECT_NE(buffer, nullptr);
  EXPECT_EQ(length, 16u);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_1_LengthMayBeNull) {
  WDFREQUEST request = PresentWrite(4, 0x3C);
  PVOID buffer = nullptr;
  EXPECT_EQ(WdfRequestRetrieveInputBuffer(request, 4, &buffer, nullptr), STATUS_SUCCESS);
  ASSERT_NE(buffer, nullptr);
  EXPECT_EQ(static_cast<unsigned char*>(buffer)[3], 0x3C) << "WRITE data from the originator";
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_1_NullBufferOut_BugCheck0x4) {
  WDFREQUEST request = PresentWrite(4);
  EXPECT_THROW(WdfRequestRetrieveInputBuffer(request, 0, nullptr, nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
}

TEST_F(RequestTest, Notes1_2_NullMemoryOut_BugCheck0x4) {
  WDFREQUEST request = PresentWrite(4);
  EXPECT_THROW(WdfRequestRetrieveInputMemory(request, nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
}

TEST_F(RequestTest, Notes1_2_MemoryHandleMatchesBufferAndLength) {
  WDFREQUEST request = PresentWrite(12);
  PVOID buffer = nullptr;
  size_t length = 0;
  ASSERT_EQ(WdfRequestRetrieveInputBuffer(request, 0, &buffer, &length), STATUS_SUCCESS);
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &memory), STATUS_SUCCESS);
  size_t size = 0;
  EXPECT_EQ(WdfMemoryGetBuffer(memory, &size), buffer);
  EXPECT_EQ(size, length);
  EXPECT_EQ(size, 12u);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_4_MethodBufferedInputAndOutputAreTheSamePointer) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_BUFFERED), 4, 16, 0x77);
  PVOID input = nullptr;
  PVOID output = nullptr;
  size_t input_length = 0;
  size_t output_length = 0;
  ASSERT_EQ(WdfRequestRetrieveInputBuffer(request, 0, &input, &input_length), STATUS_SUCCESS);
  ASSERT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &output, &output_length), STATUS_SUCCESS);
  EXPECT_EQ(input, output);
  EXPECT_EQ(input, WdfRequestWdmGetIrp(request)->AssociatedIrp.SystemBuffer);
  EXPECT_EQ(input_length, 4u);
  EXPECT_EQ(output_length, 16u);
  EXPECT_EQ(static_cast<unsigned char*>(input)[0], 0x77);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_4_MethodBufferedOutputReachesOriginator) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_BUFFERED), 2, 8);
  PVOID output = nullptr;
  ASSERT_EQ(WdfRequestRetrieveOutputBuffer(request, 8, &output, nullptr), STATUS_SUCCESS);
  memset(output, 0x9D, 8);
  WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 8);
  sim().RunReadyWork();
  ASSERT_TRUE(Outcome().completed);
  ASSERT_EQ(Outcome().data.size(), 8u);
  EXPECT_EQ(Outcome().data[0], 0x9D);
  EXPECT_EQ(Outcome().data[7], 0x9D);
}

TEST_F(RequestTest, Notes1_3_IoctlZeroInputLengthIsBufferTooSmallEvenWithMinimumZero) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_BUFFERED), 0, 8);
  PVOID buffer = nullptr;
  EXPECT_EQ(WdfRequestRetrieveInputBuffer(request, 0, &buffer, nullptr), STATUS_BUFFER_TOO_SMALL);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_4_IoctlZeroOutputLengthIsBufferTooSmall) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_BUFFERED), 8, 0);
  PVOID buffer = nullptr;
  EXPECT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &buffer, nullptr), STATUS_BUFFER_TOO_SMALL);
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfRequestRetrieveOutputMemory(request, &memory), STATUS_BUFFER_TOO_SMALL);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_5_DirectIoctlOutputIsTheMdlBuffer) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_OUT_DIRECT), 4, 8);
  PIRP irp = WdfRequestWdmGetIrp(request);
  ASSERT_NE(irp->MdlAddress, nullptr);
  PVOID output = nullptr;
  size_t length = 0;
  ASSERT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &output, &length), STATUS_SUCCESS);
  EXPECT_EQ(output, MmGetMdlVirtualAddress(irp->MdlAddress));
  EXPECT_EQ(length, 8u);
  PVOID input = nullptr;
  ASSERT_EQ(WdfRequestRetrieveInputBuffer(request, 0, &input, &length), STATUS_SUCCESS);
  EXPECT_EQ(input, irp->AssociatedIrp.SystemBuffer);
  EXPECT_EQ(length, 4u);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_5_UserModeMethodNeitherIsInvalidDeviceRequest) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_NEITHER), 4, 8);
  PVOID buffer = nullptr;
  EXPECT_EQ(WdfRequestRetrieveInputBuffer(request, 0, &buffer, nullptr), STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &buffer, nullptr), STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_TRUE(reports().empty()) << "trace only, no break";
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_5_UserModeMethodNeitherZeroLengthIsBufferTooSmallFirst) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_NEITHER), 0, 0);
  PVOID buffer = nullptr;
  EXPECT_EQ(WdfRequestRetrieveInputBuffer(request, 0, &buffer, nullptr), STATUS_BUFFER_TOO_SMALL);
  EXPECT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &buffer, nullptr), STATUS_BUFFER_TOO_SMALL);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_5_KernelModeMethodNeitherGivesType3InputAndUserBuffer) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_NEITHER), 4, 8, 0, /*kernel_mode=*/true);
  PIRP irp = WdfRequestWdmGetIrp(request);
  PVOID input = nullptr;
  PVOID output = nullptr;
  ASSERT_EQ(WdfRequestRetrieveInputBuffer(request, 0, &input, nullptr), STATUS_SUCCESS);
  ASSERT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &output, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(input, IoGetCurrentIrpStackLocation(irp)->Parameters.DeviceIoControl.Type3InputBuffer);
  EXPECT_EQ(output, irp->UserBuffer);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_5_InternalIoctlMethodNeitherIsAllowedForUserRequestor) {
  WDFREQUEST request =
      PresentIoctl(IoctlCode(METHOD_NEITHER), 4, 8, 0, /*kernel_mode=*/false, IRP_MJ_INTERNAL_DEVICE_CONTROL);
  PVOID buffer = nullptr;
  EXPECT_EQ(WdfRequestRetrieveInputBuffer(request, 0, &buffer, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &buffer, nullptr), STATUS_SUCCESS);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_5_OtherMajorFunctionIsInvalidDeviceRequestWithBreak) {
  wdfsim::IoRequestSpec spec;
  spec.major_function = IRP_MJ_FLUSH_BUFFERS;
  WDFREQUEST request = sim().PresentRequest(spec);
  PVOID buffer = nullptr;
  EXPECT_EQ(WdfRequestRetrieveInputBuffer(request, 0, &buffer, nullptr), STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(LastRule(), "RequestBufferUnavailable");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_3_DirectReadGivesTheMdlBuffer) {
  WDFREQUEST request = PresentRead(8, IoType::kDirect);
  PIRP irp = WdfRequestWdmGetIrp(request);
  ASSERT_NE(irp->MdlAddress, nullptr);
  EXPECT_EQ(MmGetMdlByteCount(irp->MdlAddress), 8u);
  PVOID buffer = nullptr;
  ASSERT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &buffer, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(buffer, MmGetMdlVirtualAddress(irp->MdlAddress));
  memset(buffer, 0x61, 8);
  WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 8);
  sim().RunReadyWork();
  ASSERT_EQ(Outcome().data.size(), 8u);
  EXPECT_EQ(Outcome().data[7], 0x61) << "direct I/O writes the originator's pages";
}

TEST_F(RequestTest, Notes1_3_UserModeNeitherReadIsBreakAndInvalidDeviceRequest) {
  WDFREQUEST request = PresentRead(8, IoType::kNeither);
  PVOID buffer = nullptr;
  EXPECT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &buffer, nullptr), STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(LastRule(), "RequestBufferUnavailable");
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_3_UserModeNeitherZeroLengthReadIsBufferTooSmall) {
  WDFREQUEST request = PresentRead(0, IoType::kNeither);
  PVOID buffer = nullptr;
  EXPECT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &buffer, nullptr), STATUS_BUFFER_TOO_SMALL);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_5_UserModeNeitherReadWithVerifierOffSucceedsWithNullBuffer) {
  RestartWithVerifierOff();
  WDFREQUEST request = PresentRead(8, IoType::kNeither);
  PVOID buffer = reinterpret_cast<PVOID>(0x1);
  EXPECT_EQ(WdfRequestRetrieveOutputBuffer(request, 0, &buffer, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(buffer, nullptr);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, Notes1_6_RetrieveIsAllowedWithoutIrqlCheck) {
  WDFREQUEST request = PresentWrite(4);
  sim().SetIrql(DISPATCH_LEVEL);
  PVOID buffer = nullptr;
  EXPECT_EQ(WdfRequestRetrieveInputBuffer(request, 0, &buffer, nullptr), STATUS_SUCCESS);
  sim().SetIrql(PASSIVE_LEVEL);
  EXPECT_TRUE(reports().empty());
  WdfRequestComplete(request, STATUS_SUCCESS);
}

// ---- SEMANTICS-WDM A.0 and A.3.4: the IRP underneath ----

TEST_F(RequestTest, WdmA0_PresentedIrpIsAtTheDriversStackLocation) {
  wdfsim::IoRequestSpec spec;
  spec.major_function = IRP_MJ_READ;
  spec.length = 16;
  spec.stack_size = 3;
  WDFREQUEST request = sim().PresentRequest(spec);
  PIRP irp = WdfRequestWdmGetIrp(request);
  ASSERT_NE(irp, nullptr);
  EXPECT_EQ(irp->Type, IO_TYPE_IRP);
  EXPECT_EQ(irp->StackCount, 3);
  // IoAllocateIrp leaves CurrentLocation = StackSize + 1; IoCallDriver moved it
  // to the driver's location.
  EXPECT_EQ(irp->CurrentLocation, 3);
  PIO_STACK_LOCATION base = reinterpret_cast<PIO_STACK_LOCATION>(irp + 1);
  EXPECT_EQ(IoGetCurrentIrpStackLocation(irp), base + (irp->CurrentLocation - 1));
  EXPECT_EQ(IoGetCurrentIrpStackLocation(irp)->MajorFunction, IRP_MJ_READ);
  EXPECT_EQ(IoGetCurrentIrpStackLocation(irp)->Parameters.Read.Length, 16u);
  EXPECT_EQ(irp->Cancel, FALSE);
  EXPECT_EQ(irp->CancelRoutine, nullptr);
  EXPECT_EQ(irp->IoStatus.Status, STATUS_SUCCESS);
  EXPECT_EQ(irp->IoStatus.Information, 0u);
  EXPECT_EQ(irp->RequestorMode, UserMode);
  EXPECT_NE(irp->AssociatedIrp.SystemBuffer, nullptr) << "buffered READ";
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, WdmA0_DefaultStackSizeOneIrp) {
  WDFREQUEST request = PresentWrite(4);
  PIRP irp = WdfRequestWdmGetIrp(request);
  EXPECT_EQ(irp->StackCount, 1);
  EXPECT_EQ(irp->CurrentLocation, 1);
  EXPECT_EQ(IoGetCurrentIrpStackLocation(irp)->MajorFunction, IRP_MJ_WRITE);
  EXPECT_EQ(IoGetCurrentIrpStackLocation(irp)->Parameters.Write.Length, 4u);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(RequestTest, WdmA0_CompletedIrpWalksOnePastTheTop) {
  WDFREQUEST request = PresentRead(4);
  PIRP irp = WdfRequestWdmGetIrp(request);
  WdfRequestComplete(request, STATUS_SUCCESS);
  // DefaultChoiceSource: the completion APC has not run, the IRP is alive.
  EXPECT_EQ(irp->CurrentLocation, irp->StackCount + 2);
  EXPECT_EQ(irp->IoStatus.Status, STATUS_SUCCESS);
}

TEST_F(RequestTest, WdmA3_4_IoCompleteRequestAfterWdfRequestComplete_BugCheck0x44) {
  WDFREQUEST request = PresentRead(4);
  PIRP irp = WdfRequestWdmGetIrp(request);
  WdfRequestComplete(request, STATUS_SUCCESS);
  ASSERT_FALSE(Outcome().completed) << "the APC must not have freed the IRP yet";
  EXPECT_THROW(IoCompleteRequest(irp, IO_NO_INCREMENT), BugCheck);
  EXPECT_EQ(LastRule(), "DoubleIrpCompletion");
  EXPECT_EQ(LastRuleInfo().bugcheck, 0x44u);
  EXPECT_EQ(reports().back().p2, reinterpret_cast<uint64_t>(irp)) << "P1 = the IRP";
  EXPECT_EQ(Outcome().completions, 1u);
}

TEST_F(RequestTest, Sec4_8_GetInformationAfterReferencedCompletionIsBreakAndZero) {
  WDFREQUEST request = PresentRead(4);
  WdfObjectReference(request);
  WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 4);
  EXPECT_EQ(WdfRequestGetInformation(request), 0u);
  EXPECT_EQ(LastRule(), "RequestAlreadyCompleted");
  EXPECT_FALSE(sim().verifier().bugchecked());
  WdfObjectDereference(request);
}

TEST_F(RequestTest, Notes3_GetStatusAfterReferencedCompletionIsNullIrpCrash) {
  // DERIVED in the notes: m_Irp is NULL after completion of a FROM_IO request.
  WDFREQUEST request = PresentRead(4);
  WdfObjectReference(request);
  WdfRequestComplete(request, STATUS_SUCCESS);
  EXPECT_THROW(WdfRequestGetStatus(request), BugCheck);
  EXPECT_EQ(LastRule(), "RequestWithoutIrp");
}

TEST_F(RequestTest, Notes1_6_RetrieveAfterReferencedCompletionIsNullIrpCrash) {
  WDFREQUEST request = PresentWrite(4);
  WdfObjectReference(request);
  WdfRequestComplete(request, STATUS_SUCCESS);
  PVOID buffer = nullptr;
  EXPECT_THROW(WdfRequestRetrieveInputBuffer(request, 0, &buffer, nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "RequestWithoutIrp");
}

TEST_F(RequestTest, Sec4_7_WdmGetIrpAfterReferencedCompletionIsAlreadyCompletedBreak) {
  WDFREQUEST request = PresentRead(4);
  WdfObjectReference(request);
  WdfRequestComplete(request, STATUS_SUCCESS);
  EXPECT_EQ(WdfRequestWdmGetIrp(request), nullptr) << "m_Irp=NULL after completion";
  EXPECT_EQ(LastRule(), "RequestAlreadyCompleted");
  WdfObjectDereference(request);
}

}  // namespace
}  // namespace wdfsim_test
