// WDFIOTARGET: the synchronous DDIs, WdfRequestSend (async, SYNCHRONOUS,
// SEND_AND_FORGET), the send timer and its races with completion and cancel,
// target Start/Stop/Purge/Close, and WDFMEMORY references held by a format
// (SEMANTICS-WDF 1, 2, 3.2-3.4, 4.2-4.5, 4.9; every case 1-23 of section 7).
//
// A test that disagrees with the core keeps asserting the documented
// behaviour and is marked CORE-DISAGREEMENT with the section it follows.
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "../src/object.h"
#include "../src/world.h"
#include "sim_fixture.h"
#include "wdfsim/harness/lower_driver.h"

typedef struct _IOT_TEST_CONTEXT {
  ULONG tag;
} IOT_TEST_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(IOT_TEST_CONTEXT, GetIotTestContext)

namespace wdfsim_test {
namespace {

using wdfsim::BugCheck;
using wdfsim::LowerAnswer;
using wdfsim::LowerDevice;
using wdfsim::LowerDeviceOptions;
using wdfsim::RuleId;
using wdfsim::ScriptedChoiceSource;
using wdfsim::Severity;
using wdfsim::Simulation;
using OnCancel = wdfsim::LowerAnswer::OnCancel;

constexpr ULONG_PTR kSentinel = 0x5E471E1;
constexpr int64_t kMs = 10000;  // 100 ns units

// ---- What the driver's completion routine saw ----

struct CompletionCall {
  WDFREQUEST request;
  WDFIOTARGET target;
  WDF_REQUEST_COMPLETION_PARAMS params;
  WDFCONTEXT context;
  int64_t time;
};

std::vector<CompletionCall>& Calls() {
  static std::vector<CompletionCall> calls;
  return calls;
}

std::function<void(WDFREQUEST, PWDF_REQUEST_COMPLETION_PARAMS)>& OnCompletion() {
  static std::function<void(WDFREQUEST, PWDF_REQUEST_COMPLETION_PARAMS)> hook;
  return hook;
}

VOID RecordCompletion(WDFREQUEST request, WDFIOTARGET target, PWDF_REQUEST_COMPLETION_PARAMS params,
                      WDFCONTEXT context) {
  Calls().push_back({request, target, *params, context, Simulation::Current()->now()});
  if (OnCompletion()) OnCompletion()(request, params);
}

// The completion routine of the helper request At() sends: runs the action.
VOID TriggerCompletion(WDFREQUEST request, WDFIOTARGET, PWDF_REQUEST_COMPLETION_PARAMS, WDFCONTEXT context) {
  (*static_cast<std::function<void()>*>(context))();
  WdfObjectDelete(request);
}

// ---- Lower driver answers ----

LowerAnswer Inline(NTSTATUS status = STATUS_SUCCESS, ULONG_PTR information = LowerAnswer::kWholeLength) {
  LowerAnswer a;
  a.kind = LowerAnswer::Kind::kCompleteInline;
  a.status = status;
  a.information = information;
  return a;
}

LowerAnswer Pend(int64_t delay, NTSTATUS status = STATUS_SUCCESS, ULONG_PTR information = LowerAnswer::kWholeLength,
                 OnCancel on_cancel = OnCancel::kCompleteCancelled, KIRQL irql = DISPATCH_LEVEL) {
  LowerAnswer a;
  a.kind = LowerAnswer::Kind::kPend;
  a.delay = delay;
  a.status = status;
  a.information = information;
  a.on_cancel = on_cancel;
  a.completion_irql = irql;
  return a;
}

LowerAnswer Forever(OnCancel on_cancel = OnCancel::kCompleteCancelled) {
  LowerAnswer a;
  a.kind = LowerAnswer::Kind::kPendForever;
  a.on_cancel = on_cancel;
  a.status = STATUS_SUCCESS;
  a.information = 0;
  return a;
}

WDF_REQUEST_SEND_OPTIONS Options(ULONG flags, LONGLONG timeout = 0) {
  WDF_REQUEST_SEND_OPTIONS options;
  WDF_REQUEST_SEND_OPTIONS_INIT(&options, flags);
  if (timeout != 0) WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&options, timeout);
  return options;
}

WDF_MEMORY_DESCRIPTOR BufferDescriptor(void* buffer, ULONG length) {
  WDF_MEMORY_DESCRIPTOR descriptor;
  WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&descriptor, buffer, length);
  return descriptor;
}

class IoTargetTest : public SimTest {
 protected:
  IoTargetTest() { ClearCalls(); }
  ~IoTargetTest() override {
    sim_.reset();  // before the scripted choice source and the trigger actions go
    ClearCalls();
  }

  static void ClearCalls() {
    Calls().clear();
    OnCompletion() = nullptr;
  }

  // A fresh simulation whose choices come from `answers` (then the default).
  void RestartScripted(std::vector<uint32_t> answers, wdfsim::SimulationOptions options = {}) {
    sim_.reset();
    triggers_.clear();
    scripted_ = std::make_unique<ScriptedChoiceSource>(std::move(answers));
    Log().Clear();
    ClearCalls();
    sim_ = std::make_unique<Simulation>(*scripted_, options);
  }

  LowerDevice& Device(std::vector<LowerAnswer> script, CCHAR stack_size = 1, ULONG flags = DO_BUFFERED_IO) {
    LowerDeviceOptions options;
    options.stack_size = stack_size;
    options.flags = flags;
    options.script = std::move(script);
    options.answers_from_choices = false;
    return sim().AddLowerDevice(std::move(options));
  }
  WDFIOTARGET Target(LowerDevice& device) { return sim().CreateIoTarget(device.device()); }

  // Runs `action` as driver code (PASSIVE_LEVEL) `delay` from now on the
  // virtual clock: it is the completion routine of a helper request sent to
  // a helper device. Lets a test act while a synchronous DDI blocks.
  void At(int64_t delay, std::function<void()> action) {
    LowerDevice& device = Device({Pend(delay, STATUS_SUCCESS, 0, OnCancel::kIgnore, PASSIVE_LEVEL)});
    WDFIOTARGET target = Target(device);
    WDFREQUEST request = nullptr;
    ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, target, &request), STATUS_SUCCESS);
    ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, nullptr, nullptr, nullptr), STATUS_SUCCESS);
    triggers_.push_back(std::make_unique<std::function<void()>>(std::move(action)));
    WdfRequestSetCompletionRoutine(request, TriggerCompletion, triggers_.back().get());
    ASSERT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  }

  WDFREQUEST NewRequest(WDFIOTARGET target = nullptr, PWDF_OBJECT_ATTRIBUTES attributes = WDF_NO_OBJECT_ATTRIBUTES) {
    WDFREQUEST request = nullptr;
    EXPECT_EQ(WdfRequestCreate(attributes, target, &request), STATUS_SUCCESS);
    EXPECT_NE(request, nullptr);
    return request;
  }

  WDFREQUEST Present(UCHAR major, ULONG length, CCHAR stack_size) {
    wdfsim::IoRequestSpec spec;
    spec.major_function = major;
    spec.length = length;
    spec.stack_size = stack_size;
    return sim().PresentRequest(spec);
  }

  // The object's reference count (the creation reference included); -1 once
  // the object is gone.
  int32_t Refs(WDFOBJECT handle) {
    const wdfsim::core::Object* object = sim().world().handles().Lookup(handle);
    return object != nullptr ? object->references() : -1;
  }

  // Reports of break or bug-check severity (SyncReqSend is a lint).
  std::vector<std::string> Findings() {
    std::vector<std::string> names;
    for (const wdfsim::Report& report : reports()) {
      if (report.rule_info().severity != Severity::kLint) names.emplace_back(report.rule_info().name);
    }
    return names;
  }
  std::string FindingsText() {
    std::string text;
    for (const std::string& name : Findings()) text += name + " ";
    return text;
  }

  std::unique_ptr<ScriptedChoiceSource> scripted_;
  std::vector<std::unique_ptr<std::function<void()>>> triggers_;
};

// =====================================================================
// Case 1: options Size
// =====================================================================

TEST_F(IoTargetTest, Case01_BadOptionsSize_SyncIsInfoLengthMismatch_SendIsInvalidParameter) {
  LowerDevice& dev = Device({Inline(), Inline()});
  WDFIOTARGET target = Target(dev);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  WDF_REQUEST_SEND_OPTIONS options = Options(0);
  options.Size = 8;
  ULONG_PTR bytes = kSentinel;

  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &options, &bytes),
            STATUS_INFO_LENGTH_MISMATCH);
  EXPECT_EQ(bytes, kSentinel) << "BytesRead is untouched";
  EXPECT_TRUE(dev.irps().empty()) << "nothing is sent";

  WDFREQUEST request = NewRequest(target);
  WDFMEMORY memory = NewMemory(16);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  EXPECT_FALSE(WdfRequestSend(request, target, &options));
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_INVALID_PARAMETER) << "not INFO_LENGTH_MISMATCH";
  EXPECT_EQ(Count(RuleId::kSendOptionsInvalid), 1u);
  EXPECT_EQ(wdfsim::GetRule(RuleId::kSendOptionsInvalid).severity, Severity::kBreak);
  EXPECT_FALSE(sim().verifier().bugchecked());
  EXPECT_TRUE(dev.irps().empty());
  sim().AdvanceTime(10 * kMs);
  EXPECT_TRUE(Calls().empty()) << "no completion routine on a FALSE return";
}

// =====================================================================
// Case 2: options Flags
// =====================================================================

TEST_F(IoTargetTest, Case02_UnknownFlagOrSendAndForgetWithOtherBitIsInvalidParameter_SendAndForgetAloneIsNormal) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 5)});
  WDFIOTARGET target = Target(dev);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  ULONG_PTR bytes = kSentinel;

  WDF_REQUEST_SEND_OPTIONS unknown = Options(0x10);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &unknown, &bytes),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(bytes, kSentinel);

  WDF_REQUEST_SEND_OPTIONS both = Options(WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET | WDF_REQUEST_SEND_OPTION_TIMEOUT);
  both.Timeout = WDF_REL_TIMEOUT_IN_MS(10);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &both, &bytes),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(bytes, kSentinel);
  EXPECT_TRUE(dev.irps().empty());

  WDF_REQUEST_SEND_OPTIONS alone = Options(WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &alone, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(bytes, 5u);
  ASSERT_EQ(dev.irps().size(), 1u);
  EXPECT_TRUE(dev.irps()[0].completed);
  EXPECT_EQ(dev.irps()[0].major_function, IRP_MJ_READ);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

// =====================================================================
// Case 3: IRQL
// =====================================================================

TEST_F(IoTargetTest, Case03_SyncSendAtDispatchWithVerifierIsInvalidDeviceRequestBeforeOptionsCheck) {
  LowerDevice& dev = Device({Inline()});
  WDFIOTARGET target = Target(dev);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  ULONG_PTR bytes = kSentinel;

  sim().SetIrql(DISPATCH_LEVEL);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, nullptr, &bytes),
            STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(LastRule(), "KmdfIrql");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_EQ(bytes, kSentinel);
  EXPECT_TRUE(dev.irps().empty()) << "nothing is sent";

  WDF_REQUEST_SEND_OPTIONS bad = Options(0);
  bad.Size = 8;
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &bad, &bytes),
            STATUS_INVALID_DEVICE_REQUEST)
      << "the IRQL check runs before the options check";
  EXPECT_EQ(Count(RuleId::kIrqlTooHigh), 2u);
  EXPECT_TRUE(dev.irps().empty());
  EXPECT_FALSE(sim().verifier().bugchecked());
  sim().SetIrql(PASSIVE_LEVEL);
}

// =====================================================================
// Case 4: memory descriptors
// =====================================================================

TEST_F(IoTargetTest, Case04_DescriptorValidation_NullBufferBadTypeOverflowAndZeroByteAtEnd) {
  LowerDevice& dev = Device({Inline()});
  WDFIOTARGET target = Target(dev);
  ULONG_PTR bytes = kSentinel;

  WDF_MEMORY_DESCRIPTOR null_buffer = BufferDescriptor(nullptr, 16);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &null_buffer, nullptr, nullptr, &bytes),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(bytes, kSentinel);

  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR bad_type = BufferDescriptor(buffer, sizeof(buffer));
  bad_type.Type = static_cast<WDF_MEMORY_DESCRIPTOR_TYPE>(7);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &bad_type, nullptr, nullptr, &bytes),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(bytes, kSentinel);

  WDFMEMORY memory = NewMemory(100);
  const int32_t base = Refs(memory);
  WDFMEMORY_OFFSET overflow = {90, 20};
  WDF_MEMORY_DESCRIPTOR handle_overflow;
  WDF_MEMORY_DESCRIPTOR_INIT_HANDLE(&handle_overflow, memory, &overflow);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &handle_overflow, nullptr, nullptr, &bytes),
            STATUS_INTEGER_OVERFLOW);
  EXPECT_EQ(bytes, kSentinel);
  EXPECT_TRUE(dev.irps().empty());

  WDFMEMORY_OFFSET at_end = {100, 0};
  WDF_MEMORY_DESCRIPTOR handle_at_end;
  WDF_MEMORY_DESCRIPTOR_INIT_HANDLE(&handle_at_end, memory, &at_end);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &handle_at_end, nullptr, nullptr, &bytes),
            STATUS_SUCCESS);
  EXPECT_EQ(bytes, 0u) << "a 0-byte transfer (the lower driver answers the IRP's whole length)";
  EXPECT_EQ(dev.irps().size(), 1u);
  EXPECT_EQ(Refs(memory), base) << "the sync send released its reference at the end";
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

// =====================================================================
// Case 5: success, pended and inline
// =====================================================================

TEST_F(IoTargetTest, Case05_SyncIoctlSuccessReturnsInformationOnlyAfterCompletion_InlineToo) {
  LowerDevice& dev = Device({Pend(3 * kMs, STATUS_SUCCESS, 42), Inline(STATUS_SUCCESS, 42)});
  WDFIOTARGET target = Target(dev);
  const ULONG code = IoctlCode(METHOD_BUFFERED);
  uint8_t input[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  uint8_t output[64];
  memset(output, 0x11, sizeof(output));
  WDF_MEMORY_DESCRIPTOR in = BufferDescriptor(input, sizeof(input));
  WDF_MEMORY_DESCRIPTOR out = BufferDescriptor(output, sizeof(output));
  ULONG_PTR bytes = kSentinel;

  const int64_t start = sim().now();
  EXPECT_EQ(WdfIoTargetSendIoctlSynchronously(target, nullptr, code, &in, &out, nullptr, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(bytes, 42u);
  EXPECT_EQ(sim().now(), start + 3 * kMs) << "the call returns only after the lower completion";
  ASSERT_EQ(dev.irps().size(), 1u);
  EXPECT_TRUE(dev.irps()[0].completed);
  EXPECT_EQ(dev.irps()[0].major_function, IRP_MJ_DEVICE_CONTROL);
  EXPECT_EQ(output[0], 0xD0);
  EXPECT_EQ(output[41], 0xD0);
  EXPECT_EQ(output[42], 0x11) << "only Information bytes are copied back";

  bytes = kSentinel;
  const int64_t inline_start = sim().now();
  EXPECT_EQ(WdfIoTargetSendIoctlSynchronously(target, nullptr, code, &in, &out, nullptr, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(bytes, 42u);
  EXPECT_EQ(sim().now(), inline_start);
  ASSERT_EQ(dev.irps().size(), 2u);
  EXPECT_TRUE(dev.irps()[1].completed);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

// =====================================================================
// Case 6: timeout honoured by a cancel
// =====================================================================

TEST_F(IoTargetTest, Case06_SyncReadTimeoutHonouredCancelGivesIoTimeout) {
  LowerDevice& dev = Device({Forever(OnCancel::kCompleteCancelled)});
  WDFIOTARGET target = Target(dev);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  WDF_REQUEST_SEND_OPTIONS options = Options(0, WDF_REL_TIMEOUT_IN_MS(10));
  ULONG_PTR bytes = kSentinel;

  const int64_t start = sim().now();
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &options, &bytes),
            STATUS_IO_TIMEOUT);
  EXPECT_EQ(bytes, 0u) << "written: the cancelled IRP's Information";
  EXPECT_EQ(sim().now(), start + 10 * kMs);
  ASSERT_EQ(dev.irps().size(), 1u);
  EXPECT_TRUE(dev.irps()[0].cancelled);
  EXPECT_TRUE(dev.irps()[0].completed) << "returned only once the lower driver completed the cancelled IRP";
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

TEST_F(IoTargetTest, Case06_SyncTimeoutWaitsForLateCancelledCompletionAndMorphsIt) {
  // The lower driver has no cancel routine and completes STATUS_CANCELLED
  // 30 ms in: the call returns then, with the morphed status.
  LowerDevice& dev = Device({Pend(30 * kMs, STATUS_CANCELLED, 0, OnCancel::kIgnore)});
  WDFIOTARGET target = Target(dev);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  WDF_REQUEST_SEND_OPTIONS options = Options(0, WDF_REL_TIMEOUT_IN_MS(10));
  ULONG_PTR bytes = kSentinel;

  const int64_t start = sim().now();
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &options, &bytes),
            STATUS_IO_TIMEOUT);
  EXPECT_EQ(bytes, 0u);
  EXPECT_EQ(sim().now(), start + 30 * kMs) << "the timeout does not bound the call's duration";
}

// =====================================================================
// Case 7: timeout ignored, Timeout=0, absolute timeout
// =====================================================================

TEST_F(IoTargetTest, Case07_SyncTimeoutIgnoredByLowerReturnsItsSuccessAfter50ms) {
  LowerDevice& dev = Device({Pend(50 * kMs, STATUS_SUCCESS, 7, OnCancel::kIgnore)});
  WDFIOTARGET target = Target(dev);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  WDF_REQUEST_SEND_OPTIONS options = Options(0, WDF_REL_TIMEOUT_IN_MS(10));
  ULONG_PTR bytes = kSentinel;

  const int64_t start = sim().now();
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &options, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(bytes, 7u);
  EXPECT_EQ(sim().now(), start + 50 * kMs);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

TEST_F(IoTargetTest, Case07_TimeoutFlagWithZeroTimeoutWaitsForever) {
  LowerDevice& dev = Device({Pend(1000 * kMs, STATUS_SUCCESS, 3, OnCancel::kCompleteCancelled)});
  WDFIOTARGET target = Target(dev);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  WDF_REQUEST_SEND_OPTIONS options = Options(WDF_REQUEST_SEND_OPTION_TIMEOUT);
  options.Timeout = 0;
  ULONG_PTR bytes = kSentinel;

  const int64_t start = sim().now();
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &options, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(bytes, 3u);
  EXPECT_EQ(sim().now(), start + 1000 * kMs);
  ASSERT_EQ(dev.irps().size(), 1u);
  EXPECT_FALSE(dev.irps()[0].cancelled) << "no timeout: nothing cancelled the IRP";
}

TEST_F(IoTargetTest, Case07_PositiveTimeoutIsAbsoluteDeadline) {
  LowerDevice& dev = Device({Forever(OnCancel::kCompleteCancelled)});
  WDFIOTARGET target = Target(dev);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  sim().AdvanceTime(5 * kMs);
  LARGE_INTEGER system_time;
  KeQuerySystemTime(&system_time);
  WDF_REQUEST_SEND_OPTIONS options = Options(0, system_time.QuadPart + 10 * kMs);
  ULONG_PTR bytes = kSentinel;

  const int64_t start = sim().now();
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &options, &bytes),
            STATUS_IO_TIMEOUT);
  EXPECT_EQ(sim().now(), start + 10 * kMs);
  EXPECT_EQ(bytes, 0u);
  ASSERT_EQ(dev.irps().size(), 1u);
  EXPECT_TRUE(dev.irps()[0].cancelled);
}

// =====================================================================
// Case 8: Stopped target, then Start or Purge
// =====================================================================

TEST_F(IoTargetTest, Case08_SyncSendToStoppedTargetBlocksUntilStartThenSends) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 4)});
  WDFIOTARGET target = Target(dev);
  WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
  ASSERT_EQ(WdfIoTargetGetState(target), WdfIoTargetStopped);
  size_t sent_before_start = 99;
  At(5 * kMs, [&] {
    sent_before_start = dev.irps().size();
    EXPECT_EQ(WdfIoTargetStart(target), STATUS_SUCCESS);
  });
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  ULONG_PTR bytes = kSentinel;

  const int64_t start = sim().now();
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, nullptr, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(sent_before_start, 0u) << "blocked in the stopped target, not sent";
  EXPECT_EQ(bytes, 4u);
  EXPECT_EQ(sim().now(), start + 5 * kMs);
  EXPECT_EQ(dev.irps().size(), 1u);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

TEST_F(IoTargetTest, Case08_SyncSendToStoppedTargetThenPurgeIsRemovedNotSent) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 4)});
  WDFIOTARGET target = Target(dev);
  WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
  At(5 * kMs, [&] { WdfIoTargetPurge(target, WdfIoTargetPurgeIo); });
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  ULONG_PTR bytes = kSentinel;

  const int64_t start = sim().now();
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, nullptr, &bytes),
            STATUS_WDF_DEVICE_REMOVED_NOT_SENT);
  EXPECT_EQ(bytes, 0u);
  EXPECT_EQ(sim().now(), start + 5 * kMs);
  EXPECT_TRUE(dev.irps().empty());
  EXPECT_EQ(WdfIoTargetGetState(target), WdfIoTargetPurged);
}

// =====================================================================
// Case 9: Stopped target and a timeout
// =====================================================================

TEST_F(IoTargetTest, Case09_SyncSendToStoppedTargetWithTimeoutIsIoTimeout) {
  LowerDevice& dev = Device({Inline()});
  WDFIOTARGET target = Target(dev);
  WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  WDF_REQUEST_SEND_OPTIONS options = Options(0, WDF_REL_TIMEOUT_IN_MS(10));
  ULONG_PTR bytes = kSentinel;

  const int64_t start = sim().now();
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &options, &bytes),
            STATUS_IO_TIMEOUT);
  EXPECT_EQ(bytes, 0u);
  EXPECT_EQ(sim().now(), start + 10 * kMs);
  EXPECT_TRUE(dev.irps().empty()) << "never sent";
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

// =====================================================================
// Case 10: Purged and Closed targets; IGNORE_TARGET_STATE
// =====================================================================

TEST_F(IoTargetTest, Case10_SyncSendToPurgedTargetFailsInSubmitAndWritesBytes) {
  LowerDevice& dev = Device({Inline()});
  WDFIOTARGET target = Target(dev);
  WdfIoTargetPurge(target, WdfIoTargetPurgeIoAndWait);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  ULONG_PTR bytes = kSentinel;
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, nullptr, &bytes),
            STATUS_INVALID_DEVICE_STATE);
  EXPECT_EQ(bytes, 0u) << "the format succeeded: BytesReturned is the fresh IRP's Information";
  EXPECT_TRUE(dev.irps().empty());
}

TEST_F(IoTargetTest, Case10_SyncSendToClosedTargetFailsInFormatAndLeavesBytes) {
  LowerDevice& dev = Device({Inline()});
  WDFIOTARGET target = Target(dev);
  WdfIoTargetClose(target);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  ULONG_PTR bytes = kSentinel;
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, nullptr, &bytes),
            STATUS_INVALID_DEVICE_STATE);
  EXPECT_EQ(bytes, kSentinel) << "ValidateTarget failed: BytesReturned untouched";
  EXPECT_TRUE(dev.irps().empty());
}

TEST_F(IoTargetTest, Case10_IgnoreTargetStateSendsToPurgedAndStoppedButNotClosed) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 6), Inline(STATUS_SUCCESS, 9)});
  WDFIOTARGET target = Target(dev);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  WDF_REQUEST_SEND_OPTIONS ignore = Options(WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE);
  ULONG_PTR bytes = kSentinel;

  WdfIoTargetPurge(target, WdfIoTargetPurgeIoAndWait);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &ignore, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(bytes, 6u);
  EXPECT_EQ(dev.irps().size(), 1u);

  WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
  ASSERT_EQ(WdfIoTargetGetState(target), WdfIoTargetStopped);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &ignore, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(bytes, 9u) << "sent immediately, not pended";
  EXPECT_EQ(dev.irps().size(), 2u);

  WdfIoTargetClose(target);
  bytes = kSentinel;
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &ignore, &bytes),
            STATUS_INVALID_DEVICE_STATE);
  EXPECT_EQ(dev.irps().size(), 2u);
}

TEST_F(IoTargetTest, Sec1_4_AsyncIgnoreTargetStateOnStoppedAndPurgedSendsImmediately) {
  LowerDevice& dev = Device({Pend(1 * kMs, STATUS_SUCCESS, 2), Pend(1 * kMs, STATUS_SUCCESS, 3)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);
  WDFREQUEST request = NewRequest(target);
  WDF_REQUEST_SEND_OPTIONS ignore = Options(WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE);
  WDF_REQUEST_REUSE_PARAMS reuse;
  WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);

  WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  EXPECT_TRUE(WdfRequestSend(request, target, &ignore));
  EXPECT_EQ(dev.irps().size(), 1u) << "Stopped: sent at once";
  sim().AdvanceTime(2 * kMs);
  ASSERT_EQ(Calls().size(), 1u);
  EXPECT_EQ(Calls()[0].params.IoStatus.Status, STATUS_SUCCESS);
  EXPECT_EQ(Calls()[0].params.IoStatus.Information, 2u);

  WdfIoTargetPurge(target, WdfIoTargetPurgeIoAndWait);
  ASSERT_EQ(WdfRequestReuse(request, &reuse), STATUS_SUCCESS);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  EXPECT_TRUE(WdfRequestSend(request, target, &ignore));
  EXPECT_EQ(dev.irps().size(), 2u) << "Purged: sent at once";
  sim().AdvanceTime(2 * kMs);
  ASSERT_EQ(Calls().size(), 2u);
  EXPECT_EQ(Calls()[1].params.IoStatus.Information, 3u);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

TEST_F(IoTargetTest, Sec1_4_AsyncIgnoreTargetStateOnClosedIsInvalidDeviceState) {
  LowerDevice& dev = Device({Inline()});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfIoTargetClose(target);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  WDF_REQUEST_SEND_OPTIONS ignore = Options(WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE);
  EXPECT_FALSE(WdfRequestSend(request, target, &ignore));
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_INVALID_DEVICE_STATE);
  EXPECT_TRUE(dev.irps().empty());
  EXPECT_TRUE(Calls().empty());
  // A format after the close fails in ValidateTarget.
  EXPECT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_INVALID_DEVICE_STATE);
}

// =====================================================================
// Case 11: too few stack locations
// =====================================================================

TEST_F(IoTargetTest, Case11_PresentedRequestWithTooFewStackLocationsIsNotAccepted_CreatedRequestIsReallocated) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 8), Inline(STATUS_SUCCESS, 8)}, /*stack_size=*/1);
  WDFIOTARGET target = Target(dev);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  ULONG_PTR bytes = kSentinel;

  WDFREQUEST presented = Present(IRP_MJ_READ, 16, /*stack_size=*/1);  // only its own location
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, presented, &descriptor, nullptr, nullptr, &bytes),
            STATUS_REQUEST_NOT_ACCEPTED);
  EXPECT_EQ(bytes, kSentinel) << "a format failure: BytesReturned untouched";
  EXPECT_TRUE(dev.irps().empty());
  WdfRequestComplete(presented, STATUS_SUCCESS);
  EXPECT_EQ(Outcome(0).completions, 1u);

  // A driver-created request whose IRP is too small for a deeper target.
  LowerDevice& deep = Device({Inline(STATUS_SUCCESS, 8)}, /*stack_size=*/3);
  WDFIOTARGET deep_target = Target(deep);
  WDFREQUEST created = NewRequest(target);  // IRP sized for the 1-deep target
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(deep_target, created, &descriptor, nullptr, nullptr, &bytes),
            STATUS_SUCCESS);
  EXPECT_EQ(bytes, 8u);
  EXPECT_EQ(deep.irps().size(), 1u);

  // With enough locations a presented request is accepted.
  WDFREQUEST roomy = Present(IRP_MJ_READ, 16, /*stack_size=*/2);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, roomy, &descriptor, nullptr, nullptr, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(dev.irps().size(), 1u);
  WdfRequestComplete(roomy, STATUS_SUCCESS);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

// =====================================================================
// Case 12: sending a request that is still pending
// =====================================================================

class IoTargetAlreadySentTest : public IoTargetTest, public ::testing::WithParamInterface<std::tuple<bool, bool>> {};

TEST_P(IoTargetAlreadySentTest, Case12_SendOfPendingRequestIsBugCheck0x6_0x3) {
  const bool verifier = std::get<0>(GetParam());
  const bool sync = std::get<1>(GetParam());
  if (!verifier) RestartWithVerifierOff();
  LowerDevice& dev = Device({Forever(), Forever()});
  WDFIOTARGET target = Target(dev);
  LowerDevice& deep = Device({}, 3);
  // An IRP with spare locations, so the second format keeps it.
  WDFREQUEST request = NewRequest(Target(deep));
  WDFMEMORY memory = NewMemory(16);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  ASSERT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  ASSERT_EQ(dev.irps().size(), 1u);

  if (sync) {
    uint8_t buffer[16] = {};
    WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
    ULONG_PTR bytes = kSentinel;
    EXPECT_THROW(WdfIoTargetSendReadSynchronously(target, request, &descriptor, nullptr, nullptr, &bytes), BugCheck);
  } else {
    EXPECT_THROW(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS), BugCheck);
  }
  ASSERT_FALSE(reports().empty());
  EXPECT_EQ(LastRule(), "RequestAlreadySent");
  EXPECT_EQ(LastRuleInfo().bugcheck, 0x10Du);
  EXPECT_EQ(LastRuleInfo().p1, 0x6u);
  EXPECT_EQ(LastRuleInfo().p2, 0x3u);
  EXPECT_EQ(reports().back().p3, reinterpret_cast<uint64_t>(request));
  EXPECT_EQ(dev.irps().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(IoTarget, IoTargetAlreadySentTest, ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<std::tuple<bool, bool>>& info) {
                           return std::string(std::get<0>(info.param) ? "VerifierOn" : "VerifierOff") +
                                  (std::get<1>(info.param) ? "_SyncDdi" : "_WdfRequestSend");
                         });

// =====================================================================
// Case 13: cancel before send, and the sticky cancel
// =====================================================================

TEST_F(IoTargetTest, Case13_CancelBeforeSendIsFalseThenSendFailsCancelledUntilReuse) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 4)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);

  EXPECT_FALSE(WdfRequestCancelSentRequest(request)) << "never sent";
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  EXPECT_FALSE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_CANCELLED);
  EXPECT_TRUE(dev.irps().empty()) << "not sent";
  sim().AdvanceTime(1 * kMs);
  EXPECT_TRUE(Calls().empty());

  WDF_REQUEST_REUSE_PARAMS reuse;
  WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
  ASSERT_EQ(WdfRequestReuse(request, &reuse), STATUS_SUCCESS);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  EXPECT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  ASSERT_EQ(Calls().size(), 1u);
  EXPECT_EQ(Calls()[0].params.IoStatus.Status, STATUS_SUCCESS);
  EXPECT_EQ(Calls()[0].params.IoStatus.Information, 4u);
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_SUCCESS);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

TEST_F(IoTargetTest, Sec4_5_StickyCancelSurvivesCompletionAndReformatUntilReuse) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 1), Inline(STATUS_SUCCESS, 2)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  ASSERT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  ASSERT_EQ(dev.irps().size(), 1u);

  EXPECT_FALSE(WdfRequestCancelSentRequest(request)) << "already completed";
  // A reformat alone does not clear m_Canceled.
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  EXPECT_FALSE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_CANCELLED);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  EXPECT_FALSE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS)) << "still sticky";
  EXPECT_EQ(dev.irps().size(), 1u);

  // A sync DDI given the sticky-cancelled request returns STATUS_CANCELLED
  // without sending.
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  ULONG_PTR bytes = kSentinel;
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, request, &descriptor, nullptr, nullptr, &bytes), STATUS_CANCELLED);
  EXPECT_EQ(dev.irps().size(), 1u);

  WDF_REQUEST_REUSE_PARAMS reuse;
  WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
  ASSERT_EQ(WdfRequestReuse(request, &reuse), STATUS_SUCCESS);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  EXPECT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  EXPECT_EQ(dev.irps().size(), 2u);
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_SUCCESS);
}

// =====================================================================
// Case 14: async timeout, and the timer racing the completion
// =====================================================================

TEST_F(IoTargetTest, Case14_AsyncTimeoutWithHonouredCancelGivesIoTimeoutToCompletionRoutine) {
  LowerDevice& dev = Device({Forever(OnCancel::kCompleteCancelled)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, reinterpret_cast<WDFCONTEXT>(0x1234));
  WDF_REQUEST_SEND_OPTIONS options = Options(0, WDF_REL_TIMEOUT_IN_MS(10));
  const int64_t start = sim().now();
  ASSERT_TRUE(WdfRequestSend(request, target, &options));
  sim().AdvanceTime(9 * kMs);
  EXPECT_TRUE(Calls().empty());
  sim().AdvanceTime(100 * kMs);
  ASSERT_EQ(Calls().size(), 1u);
  EXPECT_EQ(Calls()[0].params.IoStatus.Status, STATUS_IO_TIMEOUT);
  EXPECT_EQ(Calls()[0].params.IoStatus.Information, 0u);
  EXPECT_EQ(Calls()[0].time, start + 10 * kMs);
  EXPECT_EQ(Calls()[0].request, request);
  EXPECT_EQ(Calls()[0].target, target);
  EXPECT_EQ(Calls()[0].context, reinterpret_cast<WDFCONTEXT>(0x1234));
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_IO_TIMEOUT);
  ASSERT_EQ(dev.irps().size(), 1u);
  EXPECT_TRUE(dev.irps()[0].cancelled);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

// Every schedule of 4 choices over {0,1,2}: the lower driver completes
// SUCCESS at the instant the 10 ms timer fires.
std::vector<std::vector<uint32_t>> SmallScripts() {
  std::vector<std::vector<uint32_t>> scripts;
  for (uint32_t i = 0; i < 81; ++i) {
    scripts.push_back({i % 3, (i / 3) % 3, (i / 9) % 3, (i / 27) % 3});
  }
  return scripts;
}

TEST_F(IoTargetTest, Case14_LowerSuccessAtTimerInstantGivesExactlyOneSuccessCompletion) {
  for (const std::vector<uint32_t>& script : SmallScripts()) {
    SCOPED_TRACE(::testing::PrintToString(script));
    RestartScripted(script);
    // The lower driver completes SUCCESS when the timer fires, whatever the
    // cancel does (no cancel routine).
    LowerDevice& dev = Device({Pend(10 * kMs, STATUS_SUCCESS, 8, OnCancel::kIgnore)});
    WDFIOTARGET target = Target(dev);
    WDFMEMORY memory = NewMemory(16);
    WDFREQUEST request = NewRequest(target);
    ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
    WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
    WDF_REQUEST_SEND_OPTIONS options = Options(0, WDF_REL_TIMEOUT_IN_MS(10));
    ASSERT_TRUE(WdfRequestSend(request, target, &options));
    sim().AdvanceTime(50 * kMs);
    ASSERT_EQ(Calls().size(), 1u) << "exactly one completion-routine call";
    EXPECT_EQ(Calls()[0].params.IoStatus.Status, STATUS_SUCCESS);
    EXPECT_EQ(Calls()[0].params.IoStatus.Information, 8u);
    EXPECT_EQ(Calls()[0].params.Parameters.Read.Length, 8u);
    EXPECT_EQ(WdfRequestGetStatus(request), STATUS_SUCCESS);
    EXPECT_FALSE(sim().verifier().bugchecked());
    EXPECT_TRUE(Findings().empty()) << FindingsText();
  }
}

TEST_F(IoTargetTest, Case14_TimerAndCompletionAtSameInstantWithCancelRoutineCompleteExactlyOnce) {
  // Same race, but the lower driver honours a cancel: if the timer's cancel
  // reaches it first the status is the morphed STATUS_IO_TIMEOUT, otherwise
  // its own SUCCESS. Either way one call; both orders are explored.
  bool saw_success = false, saw_timeout = false;
  for (const std::vector<uint32_t>& script : SmallScripts()) {
    SCOPED_TRACE(::testing::PrintToString(script));
    RestartScripted(script);
    LowerDevice& dev = Device({Pend(10 * kMs, STATUS_SUCCESS, 8, OnCancel::kCompleteCancelled)});
    WDFIOTARGET target = Target(dev);
    WDFMEMORY memory = NewMemory(16);
    WDFREQUEST request = NewRequest(target);
    ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
    WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
    WDF_REQUEST_SEND_OPTIONS options = Options(0, WDF_REL_TIMEOUT_IN_MS(10));
    ASSERT_TRUE(WdfRequestSend(request, target, &options));
    sim().AdvanceTime(50 * kMs);
    ASSERT_EQ(Calls().size(), 1u);
    ASSERT_EQ(dev.irps().size(), 1u);
    if (dev.irps()[0].cancelled) {
      EXPECT_EQ(Calls()[0].params.IoStatus.Status, STATUS_IO_TIMEOUT);
      saw_timeout = true;
    } else {
      EXPECT_EQ(Calls()[0].params.IoStatus.Status, STATUS_SUCCESS);
      saw_success = true;
    }
    EXPECT_TRUE(Findings().empty()) << FindingsText();
  }
  EXPECT_TRUE(saw_success);
  EXPECT_TRUE(saw_timeout);
}

TEST_F(IoTargetTest, Sec1_5_SyncTimeoutAtCompletionInstantReturnsEitherRealStatusOrIoTimeout) {
  // The sync flavour of the case-14 race (SEMANTICS-WDF 1.5, "Wait times out
  // at the same moment the completion sets the event"): the real completion
  // status is returned when the completion wins; STATUS_IO_TIMEOUT when the
  // timeout's cancel reaches a lower driver that honours it.
  bool saw_success = false, saw_timeout = false;
  for (const std::vector<uint32_t>& script : SmallScripts()) {
    SCOPED_TRACE(::testing::PrintToString(script));
    RestartScripted(script);
    LowerDevice& dev = Device({Pend(10 * kMs, STATUS_SUCCESS, 8, OnCancel::kCompleteCancelled)});
    WDFIOTARGET target = Target(dev);
    uint8_t buffer[16] = {};
    WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
    WDF_REQUEST_SEND_OPTIONS options = Options(0, WDF_REL_TIMEOUT_IN_MS(10));
    ULONG_PTR bytes = kSentinel;
    const NTSTATUS status = WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &options, &bytes);
    EXPECT_EQ(sim().now(), 10 * kMs);
    ASSERT_EQ(dev.irps().size(), 1u);
    if (dev.irps()[0].cancelled) {
      EXPECT_EQ(status, STATUS_IO_TIMEOUT);
      EXPECT_EQ(bytes, 0u);
      saw_timeout = true;
    } else {
      EXPECT_EQ(status, STATUS_SUCCESS);
      EXPECT_EQ(bytes, 8u);
      saw_success = true;
    }
  }
  EXPECT_TRUE(saw_timeout);
  // CORE-DISAGREEMENT: SEMANTICS-WDF 1.5: the completion can set the event at
  // the instant the wait times out, and then the real status is returned. The
  // core's World::WaitUntil returns "timed out" as soon as the clock reaches
  // the deadline, before work due at that instant can run, so no schedule
  // lets the lower completion win.
  EXPECT_TRUE(saw_success);
}

TEST_F(IoTargetTest, Sec1_5_SyncTimeoutAtCompletionInstantWithIgnoringLowerIsAlwaysSuccess) {
  for (const std::vector<uint32_t>& script : SmallScripts()) {
    SCOPED_TRACE(::testing::PrintToString(script));
    RestartScripted(script);
    LowerDevice& dev = Device({Pend(10 * kMs, STATUS_SUCCESS, 8, OnCancel::kIgnore)});
    WDFIOTARGET target = Target(dev);
    uint8_t buffer[16] = {};
    WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
    WDF_REQUEST_SEND_OPTIONS options = Options(0, WDF_REL_TIMEOUT_IN_MS(10));
    ULONG_PTR bytes = kSentinel;
    EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, &options, &bytes),
              STATUS_SUCCESS);
    EXPECT_EQ(bytes, 8u);
    EXPECT_EQ(sim().now(), 10 * kMs);
    EXPECT_TRUE(Findings().empty()) << FindingsText();
  }
}

// =====================================================================
// Case 15: the async timer is dropped when a stopped target restarts
// =====================================================================

TEST_F(IoTargetTest, Case15_AsyncTimerIsLostWhenStoppedTargetResumes) {
  LowerDevice& dev = Device({Forever(OnCancel::kCompleteCancelled)});
  WDFIOTARGET target = Target(dev);
  WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
  WDFMEMORY memory = NewMemory(16);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  WDF_REQUEST_SEND_OPTIONS options = Options(0, WDF_REL_TIMEOUT_IN_MS(10));
  ASSERT_TRUE(WdfRequestSend(request, target, &options)) << "queued in the stopped target";
  EXPECT_TRUE(dev.irps().empty());

  sim().AdvanceTime(5 * kMs);
  ASSERT_EQ(WdfIoTargetStart(target), STATUS_SUCCESS);
  EXPECT_EQ(dev.irps().size(), 1u) << "resent on Start";
  sim().AdvanceTime(10000 * kMs);
  EXPECT_TRUE(Calls().empty()) << "no timeout ever fires";
  ASSERT_EQ(dev.irps().size(), 1u);
  EXPECT_FALSE(dev.irps()[0].cancelled);
  EXPECT_FALSE(dev.irps()[0].completed);

  // Canceled by other means: a plain STATUS_CANCELLED, not morphed.
  EXPECT_TRUE(WdfRequestCancelSentRequest(request));
  ASSERT_EQ(Calls().size(), 1u);
  EXPECT_EQ(Calls()[0].params.IoStatus.Status, STATUS_CANCELLED);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

// =====================================================================
// Case 16: async send without a completion routine
// =====================================================================

TEST_F(IoTargetTest, Case16_AsyncSendWithoutCompletionRoutine_PresentedFails_CreatedDropsTargetReference) {
  LowerDevice& dev = Device({Pend(1 * kMs, STATUS_SUCCESS, 4)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);

  WDFREQUEST presented = Present(IRP_MJ_READ, 16, 2);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, presented, memory, nullptr, nullptr), STATUS_SUCCESS);
  EXPECT_FALSE(WdfRequestSend(presented, target, WDF_NO_SEND_OPTIONS));
  EXPECT_EQ(WdfRequestGetStatus(presented), STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(LastRule(), "ReqCompletionRoutine");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_TRUE(dev.irps().empty());
  WdfRequestComplete(presented, STATUS_SUCCESS);
  EXPECT_EQ(Outcome(0).completions, 1u);

  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDFREQUEST created = NewRequest(target, &attributes);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, created, memory, nullptr, nullptr), STATUS_SUCCESS);
  const int32_t before = Refs(created);
  EXPECT_TRUE(WdfRequestSend(created, target, WDF_NO_SEND_OPTIONS));
  EXPECT_EQ(Refs(created), before + 1) << "the target's reference while it is pending";
  sim().AdvanceTime(2 * kMs);
  ASSERT_EQ(dev.irps().size(), 1u);
  EXPECT_TRUE(dev.irps()[0].completed);
  EXPECT_EQ(Refs(created), before) << "completion just drops the target's reference";
  EXPECT_EQ(WdfRequestGetStatus(created), STATUS_SUCCESS);
  EXPECT_FALSE(Log().Destroyed(created));
  WdfObjectDelete(created);
  EXPECT_TRUE(Log().Destroyed(created));
  EXPECT_EQ(Count(RuleId::kReqCompletionRoutine), 1u);
  EXPECT_EQ(Findings().size(), 1u) << FindingsText();
}

// =====================================================================
// Case 17: send-and-forget
// =====================================================================

TEST_F(IoTargetTest, Case17_SendAndForgetOfCreatedRequestIsInvalidDeviceState) {
  LowerDevice& dev = Device({Inline()});
  WDFIOTARGET target = Target(dev);
  WDFREQUEST created = NewRequest(target);  // has an IRP
  WDF_REQUEST_SEND_OPTIONS forget = Options(WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET);
  EXPECT_FALSE(WdfRequestSend(created, target, &forget));
  EXPECT_EQ(WdfRequestGetStatus(created), STATUS_INVALID_DEVICE_STATE);
  EXPECT_TRUE(Findings().empty()) << "no break: " << FindingsText();
  EXPECT_TRUE(dev.irps().empty());
}

TEST_F(IoTargetTest, Case17_SendAndForgetOfFormattedQueueRequestIsInvalidDeviceRequest) {
  LowerDevice& dev = Device({Inline()});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);
  WDFREQUEST presented = Present(IRP_MJ_READ, 16, 2);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, presented, memory, nullptr, nullptr), STATUS_SUCCESS);
  WDF_REQUEST_SEND_OPTIONS forget = Options(WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET);
  EXPECT_FALSE(WdfRequestSend(presented, target, &forget));
  EXPECT_EQ(WdfRequestGetStatus(presented), STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(LastRule(), "SendAndForgetMisuse");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_TRUE(dev.irps().empty());
  WdfRequestComplete(presented, STATUS_SUCCESS);
  EXPECT_EQ(Outcome(0).completions, 1u);
}

TEST_F(IoTargetTest, Case17_SendAndForgetOfUnformattedQueueRequestToStoppedTargetForwardsAndKillsHandle) {
  LowerDevice& dev = Device({Pend(1 * kMs, STATUS_SUCCESS, 16)});
  WDFIOTARGET target = Target(dev);
  WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
  WDFREQUEST presented = Present(IRP_MJ_READ, 16, 2);
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(&attributes, IOT_TEST_CONTEXT);
  ASSERT_EQ(WdfObjectAllocateContext(presented, &attributes, nullptr), STATUS_SUCCESS);

  WDF_REQUEST_SEND_OPTIONS forget = Options(WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET);
  EXPECT_TRUE(WdfRequestSend(presented, target, &forget));
  ASSERT_EQ(dev.irps().size(), 1u) << "forwarded although the target is stopped";
  EXPECT_EQ(dev.irps()[0].major_function, IRP_MJ_READ);
  EXPECT_FALSE(dev.irps()[0].completed);
  EXPECT_TRUE(Log().CleanedUp(presented)) << "the driver's cleanup ran at the send";
  sim().AdvanceTime(2 * kMs);
  EXPECT_EQ(Outcome(0).completions, 1u);
  EXPECT_EQ(Outcome(0).status, STATUS_SUCCESS);
  EXPECT_EQ(Outcome(0).information, 16u);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
  EXPECT_THROW(WdfRequestGetStatus(presented), BugCheck) << "the request handle is dead";
  EXPECT_EQ(LastRule(), "InvalidHandle");
}

TEST_F(IoTargetTest, Sec4_9_SendAndForgetBypassesPurgedTarget) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 3)});
  WDFIOTARGET target = Target(dev);
  WdfIoTargetPurge(target, WdfIoTargetPurgeIoAndWait);
  ASSERT_EQ(WdfIoTargetGetState(target), WdfIoTargetPurged);
  WDFREQUEST presented = Present(IRP_MJ_READ, 16, 2);
  WDF_REQUEST_SEND_OPTIONS forget = Options(WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET);
  EXPECT_TRUE(WdfRequestSend(presented, target, &forget));
  EXPECT_EQ(dev.irps().size(), 1u);
  EXPECT_EQ(Outcome(0).completions, 1u);
  EXPECT_EQ(Outcome(0).information, 3u);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

// =====================================================================
// Case 18: WDFMEMORY references held by a format
// =====================================================================

TEST_F(IoTargetTest, Case18_FormatReferencesMemoryUntilReuse) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 10)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(64);
  const int32_t base = Refs(memory);
  WDFREQUEST request = NewRequest(target);

  ASSERT_EQ(WdfIoTargetFormatRequestForWrite(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(Refs(memory), base + 1);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  ASSERT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  ASSERT_EQ(Calls().size(), 1u);
  EXPECT_EQ(Calls()[0].params.Type, WdfRequestTypeWrite);
  EXPECT_EQ(Calls()[0].params.Parameters.Write.Buffer, memory);
  EXPECT_EQ(Calls()[0].params.Parameters.Write.Length, 10u);
  EXPECT_EQ(Refs(memory), base + 1) << "target completion alone does not release it";

  WDF_REQUEST_COMPLETION_PARAMS params;
  WDF_REQUEST_COMPLETION_PARAMS_INIT(&params);
  WdfRequestGetCompletionParams(request, &params);
  // CORE-DISAGREEMENT: SEMANTICS-WDF 4.8 (CopyCompletionParams copies the
  // context's params) and case 18: at HEAD 521054f WdfRequestGetCompletionParams
  // leaves Params untouched for a formatted request (an uncommitted change to
  // request_ddi.cc in the shared tree adds the copy).
  EXPECT_EQ(params.Type, WdfRequestTypeWrite);
  EXPECT_EQ(params.Parameters.Write.Buffer, memory);
  EXPECT_EQ(params.Parameters.Write.Length, 10u) << "Length == Information";
  EXPECT_EQ(params.IoStatus.Status, STATUS_SUCCESS);
  EXPECT_EQ(params.IoStatus.Information, 10u);

  WDF_REQUEST_REUSE_PARAMS reuse;
  WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
  ASSERT_EQ(WdfRequestReuse(request, &reuse), STATUS_SUCCESS);
  EXPECT_EQ(Refs(memory), base);
  const size_t before = Count(RuleId::kCompletionParamsInvalid);
  WDF_REQUEST_COMPLETION_PARAMS_INIT(&params);
  params.Type = WdfRequestTypeWrite;  // must be overwritten
  WdfRequestGetCompletionParams(request, &params);
  EXPECT_EQ(params.Type, WdfRequestTypeNoFormat);
  // CORE-DISAGREEMENT: SEMANTICS-WDF 4.6 / 3.4 / 4.8: reuse runs
  // ReleaseAndRestore, which resets the context's params to NoFormat but keeps
  // the context, so there is no break (the no-context break is for requests
  // never formatted, and after a sync DDI). The core drops the context on
  // ReleaseAndRestore (has_context() is false) and reports CompletionParamsInvalid.
  EXPECT_EQ(Count(RuleId::kCompletionParamsInvalid), before);
}

TEST_F(IoTargetTest, Case18_ReformatWithOtherMemoryReleasesFirstReference) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 10)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(64);
  WDFMEMORY other = NewMemory(32);
  const int32_t base = Refs(memory);
  const int32_t other_base = Refs(other);
  WDFREQUEST request = NewRequest(target);

  ASSERT_EQ(WdfIoTargetFormatRequestForWrite(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  ASSERT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  EXPECT_EQ(Refs(memory), base + 1);

  ASSERT_EQ(WdfIoTargetFormatRequestForWrite(target, request, other, nullptr, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(Refs(memory), base) << "the reformat released the old reference";
  EXPECT_EQ(Refs(other), other_base + 1);
  WDF_REQUEST_COMPLETION_PARAMS params;
  WDF_REQUEST_COMPLETION_PARAMS_INIT(&params);
  params.Parameters.Write.Length = 77;
  WdfRequestGetCompletionParams(request, &params);
  // CORE-DISAGREEMENT (at HEAD 521054f, see above): SEMANTICS-WDF 4.8, copied
  // from the context. The params are the fresh format's (4.2): Type, Buffer,
  // Offset; no status yet. (Case 18's "Type=NoFormat" after a reformat
  // contradicts 4.2; this follows 4.2.)
  EXPECT_EQ(params.Type, WdfRequestTypeWrite);
  EXPECT_EQ(params.Parameters.Write.Buffer, other);
  EXPECT_EQ(params.Parameters.Write.Length, 0u);
  EXPECT_EQ(params.IoStatus.Information, 0u);
}

TEST_F(IoTargetTest, Case18_DeleteOfRequestReleasesReference) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 10)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(64);
  const int32_t base = Refs(memory);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForWrite(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  ASSERT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  EXPECT_EQ(Refs(memory), base + 1);
  WdfObjectDelete(request);
  EXPECT_EQ(Refs(memory), base);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

TEST_F(IoTargetTest, Sec3_4_CompleteOfForwardedQueueRequestReleasesBothIoctlReferences) {
  LowerDevice& dev = Device({Pend(1 * kMs, STATUS_SUCCESS, 5)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY input = NewMemory(16);
  WDFMEMORY output = NewMemory(16);
  const int32_t in_base = Refs(input), out_base = Refs(output);
  WDFREQUEST presented = Present(IRP_MJ_READ, 16, 2);
  ASSERT_EQ(
      WdfIoTargetFormatRequestForIoctl(target, presented, IoctlCode(METHOD_BUFFERED), input, nullptr, output, nullptr),
      STATUS_SUCCESS);
  EXPECT_EQ(Refs(input), in_base + 1);
  EXPECT_EQ(Refs(output), out_base + 1);
  int32_t in_at_completion = -2, out_at_completion = -2;
  OnCompletion() = [&](WDFREQUEST request, PWDF_REQUEST_COMPLETION_PARAMS params) {
    in_at_completion = Refs(input);
    out_at_completion = Refs(output);
    EXPECT_EQ(params->Type, WdfRequestTypeDeviceControl);
    EXPECT_EQ(params->Parameters.Ioctl.Input.Buffer, input);
    EXPECT_EQ(params->Parameters.Ioctl.Output.Buffer, output);
    EXPECT_EQ(params->Parameters.Ioctl.Output.Length, 5u);
    WdfRequestComplete(request, params->IoStatus.Status);
  };
  WdfRequestSetCompletionRoutine(presented, RecordCompletion, nullptr);
  ASSERT_TRUE(WdfRequestSend(presented, target, WDF_NO_SEND_OPTIONS));
  sim().AdvanceTime(2 * kMs);
  ASSERT_EQ(Calls().size(), 1u);
  EXPECT_EQ(in_at_completion, in_base + 1);
  EXPECT_EQ(out_at_completion, out_base + 1);
  EXPECT_EQ(Refs(input), in_base) << "WdfRequestComplete released the references";
  EXPECT_EQ(Refs(output), out_base);
  EXPECT_EQ(Outcome(0).completions, 1u);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

TEST_F(IoTargetTest, Sec1_2_SyncDdiDropsEarlierFormatEvenWhenValidationFails) {
  LowerDevice& dev = Device({Inline()});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);
  const int32_t base = Refs(memory);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(Refs(memory), base + 1);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  WDF_REQUEST_SEND_OPTIONS bad = Options(0);
  bad.Size = 8;
  ULONG_PTR bytes = kSentinel;
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, request, &descriptor, nullptr, &bad, &bytes),
            STATUS_INFO_LENGTH_MISMATCH);
  EXPECT_EQ(Refs(memory), base) << "the FxSyncRequest constructor released the earlier format";
  EXPECT_TRUE(dev.irps().empty());
}

TEST_F(IoTargetTest, Sec3_3_SyncDdiHandleDescriptorReferencedDuringCallReleasedAfter) {
  WDFMEMORY memory = NewMemory(16);
  const int32_t base = Refs(memory);
  int32_t during = -2;
  LowerDevice& dev = Device({Pend(2 * kMs, STATUS_SUCCESS, 16)});
  WDFIOTARGET target = Target(dev);
  At(1 * kMs, [&] { during = Refs(memory); });
  WDF_MEMORY_DESCRIPTOR descriptor;
  WDF_MEMORY_DESCRIPTOR_INIT_HANDLE(&descriptor, memory, nullptr);
  ULONG_PTR bytes = kSentinel;
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, nullptr, nullptr, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(bytes, 16u);
  EXPECT_EQ(during, base + 1);
  EXPECT_EQ(Refs(memory), base);
  EXPECT_EQ(static_cast<uint8_t*>(WdfMemoryGetBuffer(memory, nullptr))[0], 0xD0) << "read data arrived";
}

// =====================================================================
// Case 19: deleting memory a formatted request references
// =====================================================================

TEST_F(IoTargetTest, Case19_DeleteReferencedMemoryRunsCleanupNowDestroyAtReuse) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 10)});
  WDFIOTARGET target = Target(dev);
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDFMEMORY memory = NewMemory(64, &attributes);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForWrite(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  ASSERT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));

  WdfObjectDelete(memory);
  EXPECT_TRUE(Log().CleanedUp(memory)) << "cleanup runs now";
  EXPECT_FALSE(Log().Destroyed(memory)) << "the request's reference keeps it";
  EXPECT_TRUE(Findings().empty()) << "no violation: " << FindingsText();

  WDF_REQUEST_REUSE_PARAMS reuse;
  WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
  ASSERT_EQ(WdfRequestReuse(request, &reuse), STATUS_SUCCESS);
  EXPECT_TRUE(Log().Destroyed(memory));
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

TEST_F(IoTargetTest, Case19_DeleteReferencedMemoryThenDeleteRequestDestroysIt) {
  LowerDevice& dev = Device({});
  WDFIOTARGET target = Target(dev);
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDFMEMORY memory = NewMemory(64, &attributes);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfObjectDelete(memory);
  EXPECT_TRUE(Log().CleanedUp(memory));
  EXPECT_FALSE(Log().Destroyed(memory));
  WdfObjectDelete(request);
  EXPECT_TRUE(Log().Destroyed(memory));
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

// =====================================================================
// Cases 20-23: completing requests
// =====================================================================

TEST_F(IoTargetTest, Case20_CompleteWithRetrievedMemoryReferenced_BugCheck0x3) {
  for (const bool verifier : {true, false}) {
    SCOPED_TRACE(verifier ? "verifier on" : "verifier off");
    if (!verifier) RestartWithVerifierOff();
    WDFREQUEST request = Present(IRP_MJ_WRITE, 8, 1);
    WDFMEMORY memory = nullptr;
    ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &memory), STATUS_SUCCESS);
    WdfObjectReference(memory);
    EXPECT_THROW(WdfRequestComplete(request, STATUS_SUCCESS), BugCheck);
    EXPECT_EQ(LastRule(), "CompleteWithMemoryReferenced");
    EXPECT_EQ(LastRuleInfo().bugcheck, 0x10Du);
    EXPECT_EQ(LastRuleInfo().p1, 0x3u);
    EXPECT_EQ(reports().back().p2, reinterpret_cast<uint64_t>(request));
    EXPECT_EQ(reports().back().p3, 1u);
    EXPECT_EQ(Outcome(0).completions, 0u);
  }
}

TEST_F(IoTargetTest, Case21_CompleteCreatedRequestWithVerifierIsNoOpBreak) {
  LowerDevice& dev = Device({});
  WDFIOTARGET target = Target(dev);
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDFREQUEST request = NewRequest(target, &attributes);
  const int32_t refs = Refs(request);
  WdfRequestComplete(request, STATUS_UNSUCCESSFUL);
  EXPECT_EQ(LastRule(), "ReqDelete");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_FALSE(sim().verifier().bugchecked());
  EXPECT_EQ(Refs(request), refs) << "no-op";
  EXPECT_NE(WdfRequestGetStatus(request), STATUS_UNSUCCESSFUL) << "no-op: the status was not set";
  EXPECT_FALSE(Log().Destroyed(request));
  WdfObjectDelete(request);
  EXPECT_TRUE(Log().Destroyed(request));
}

TEST_F(IoTargetTest, Case21_CompleteCreatedRequestWithIrpWithoutVerifier_BugCheck0x7) {
  RestartWithVerifierOff();
  LowerDevice& dev = Device({});
  WDFIOTARGET target = Target(dev);
  WDFREQUEST request = NewRequest(target);  // has an IRP
  EXPECT_THROW(WdfRequestComplete(request, STATUS_SUCCESS), BugCheck);
  EXPECT_EQ(LastRule(), "ObjectOverDereference");
  EXPECT_EQ(LastRuleInfo().bugcheck, 0x10Du);
  EXPECT_EQ(LastRuleInfo().p1, 0x7u);
  EXPECT_EQ(reports().back().p2, reinterpret_cast<uint64_t>(request));
}

TEST_F(IoTargetTest, Case22_DoubleCompleteWithReferenceHeldIsIgnoredWithBreak) {
  WDFREQUEST request = Present(IRP_MJ_READ, 8, 1);
  WdfObjectReference(request);
  WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 3);
  WdfRequestCompleteWithInformation(request, STATUS_UNSUCCESSFUL, 1);
  EXPECT_EQ(LastRule(), "DoubleCompletion");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_EQ(Count(RuleId::kDoubleCompletion), 1u);
  EXPECT_FALSE(sim().verifier().bugchecked());
  EXPECT_EQ(Outcome(0).completions, 1u) << "the IRP is completed exactly once";
  EXPECT_EQ(Outcome(0).status, STATUS_SUCCESS);
  EXPECT_EQ(Outcome(0).information, 3u);
  WdfObjectDereference(request);
}

TEST_F(IoTargetTest, Case23_InformationLargerThanReadLength_BugCheck0x6_0x4_ButNotForBufferOverflow) {
  WDFREQUEST request = Present(IRP_MJ_READ, 10, 1);
  WdfRequestCompleteWithInformation(request, STATUS_BUFFER_OVERFLOW, 11);
  EXPECT_FALSE(sim().verifier().bugchecked()) << "a warning status: no bugcheck";
  EXPECT_EQ(Outcome(0).completions, 1u);

  WDFREQUEST second = Present(IRP_MJ_READ, 10, 1);
  EXPECT_THROW(WdfRequestCompleteWithInformation(second, STATUS_SUCCESS, 11), BugCheck);
  EXPECT_EQ(LastRule(), "InformationLengthMismatch");
  EXPECT_EQ(LastRuleInfo().bugcheck, 0x10Du);
  EXPECT_EQ(LastRuleInfo().p1, 0x6u);
  EXPECT_EQ(LastRuleInfo().p2, 0x4u);
  EXPECT_EQ(Outcome(1).completions, 0u);
}

// =====================================================================
// Completion routines: sync DDIs drop them, WdfRequestSend(SYNCHRONOUS) calls them
// =====================================================================

TEST_F(IoTargetTest, Sec1_3_SyncDdisDropDriverCompletionRoutine) {
  LowerDevice& dev = Device({Pend(1 * kMs, STATUS_SUCCESS, 4), Inline(STATUS_SUCCESS, 4)});
  WDFIOTARGET target = Target(dev);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  ULONG_PTR bytes = kSentinel;

  WDFREQUEST created = NewRequest(target);
  WdfRequestSetCompletionRoutine(created, RecordCompletion, nullptr);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, created, &descriptor, nullptr, nullptr, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(bytes, 4u);
  EXPECT_EQ(WdfRequestGetStatus(created), STATUS_SUCCESS);

  WDFREQUEST presented = Present(IRP_MJ_READ, 16, 2);
  WdfRequestSetCompletionRoutine(presented, RecordCompletion, nullptr);
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, presented, &descriptor, nullptr, nullptr, &bytes), STATUS_SUCCESS);
  sim().AdvanceTime(10 * kMs);
  EXPECT_TRUE(Calls().empty()) << "the driver's routine is silently dropped";

  // After a sync DDI the request has no context: GetCompletionParams breaks.
  WDF_REQUEST_COMPLETION_PARAMS params;
  WDF_REQUEST_COMPLETION_PARAMS_INIT(&params);
  WdfRequestGetCompletionParams(created, &params);
  EXPECT_EQ(LastRule(), "CompletionParamsInvalid");
  EXPECT_EQ(params.Type, WdfRequestTypeNoFormat);
  WdfRequestComplete(presented, STATUS_SUCCESS);
  EXPECT_EQ(Outcome(0).completions, 1u);
}

TEST_F(IoTargetTest, Sec4_3_WdfRequestSendSynchronousCallsCompletionRoutineBeforeReturning) {
  LowerDevice& dev = Device({Pend(3 * kMs, STATUS_SUCCESS, 12)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(64);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, reinterpret_cast<WDFCONTEXT>(0x77));
  WDF_REQUEST_SEND_OPTIONS options = Options(WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);

  const int64_t start = sim().now();
  EXPECT_TRUE(WdfRequestSend(request, target, &options));
  EXPECT_EQ(sim().now(), start + 3 * kMs) << "synchronous: returned after the completion";
  ASSERT_EQ(Calls().size(), 1u) << "called before the waiter is released";
  EXPECT_EQ(Calls()[0].time, start + 3 * kMs);
  EXPECT_EQ(Calls()[0].request, request);
  EXPECT_EQ(Calls()[0].target, target);
  EXPECT_EQ(Calls()[0].context, reinterpret_cast<WDFCONTEXT>(0x77));
  EXPECT_EQ(Calls()[0].params.Type, WdfRequestTypeRead);
  EXPECT_EQ(Calls()[0].params.Parameters.Read.Buffer, memory);
  EXPECT_EQ(Calls()[0].params.Parameters.Read.Length, 12u);
  EXPECT_EQ(Calls()[0].params.IoStatus.Status, STATUS_SUCCESS);
  EXPECT_EQ(Calls()[0].params.IoStatus.Information, 12u);
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_SUCCESS);
  sim().AdvanceTime(10 * kMs);
  EXPECT_EQ(Calls().size(), 1u) << "once per send";
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

TEST_F(IoTargetTest, Sec4_3_WdfRequestSendSynchronousWithTimeoutCallsRoutineWithIoTimeout) {
  LowerDevice& dev = Device({Forever(OnCancel::kCompleteCancelled)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(64);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  WDF_REQUEST_SEND_OPTIONS options = Options(WDF_REQUEST_SEND_OPTION_SYNCHRONOUS, WDF_REL_TIMEOUT_IN_MS(10));
  const int64_t start = sim().now();
  EXPECT_TRUE(WdfRequestSend(request, target, &options));
  EXPECT_EQ(sim().now(), start + 10 * kMs);
  ASSERT_EQ(Calls().size(), 1u);
  EXPECT_EQ(Calls()[0].params.IoStatus.Status, STATUS_IO_TIMEOUT);
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_IO_TIMEOUT);
}

TEST_F(IoTargetTest, Sec4_3_WdfRequestSendSynchronousToClosedTargetIsFalseWithoutRoutine) {
  LowerDevice& dev = Device({Inline()});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfIoTargetClose(target);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  WDF_REQUEST_SEND_OPTIONS options = Options(WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
  EXPECT_FALSE(WdfRequestSend(request, target, &options));
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_INVALID_DEVICE_STATE);
  EXPECT_TRUE(Calls().empty());
  EXPECT_TRUE(dev.irps().empty());
}

// =====================================================================
// 4.4: re-send without reformat under the verifier
// =====================================================================

TEST_F(IoTargetTest, Sec4_4_ResendWithoutReformatIsRequestNotAcceptedUnderVerifier) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 2), Inline(STATUS_SUCCESS, 2)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  ASSERT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  ASSERT_EQ(Calls().size(), 1u);

  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  EXPECT_FALSE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_REQUEST_NOT_ACCEPTED);
  EXPECT_EQ(LastRule(), "RequestFormattedValid");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_EQ(dev.irps().size(), 1u);
  EXPECT_EQ(Calls().size(), 1u);

  // Reuse alone does not format it either.
  WDF_REQUEST_REUSE_PARAMS reuse;
  WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
  ASSERT_EQ(WdfRequestReuse(request, &reuse), STATUS_SUCCESS);
  EXPECT_FALSE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  EXPECT_EQ(WdfRequestGetStatus(request), STATUS_REQUEST_NOT_ACCEPTED);
  EXPECT_EQ(Count(RuleId::kRequestFormattedValid), 2u);

  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  EXPECT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  EXPECT_EQ(dev.irps().size(), 2u);
}

// =====================================================================
// More of sections 1.7, 2.1, 4.4, 4.5, 4.10
// =====================================================================

TEST_F(IoTargetTest, Sec1_7_SubmitFailureWritesStaleInformationOfDriverRequest) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 7)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  ASSERT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  ASSERT_EQ(dev.irps().size(), 1u);
  WdfIoTargetPurge(target, WdfIoTargetPurgeIoAndWait);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  ULONG_PTR bytes = kSentinel;
  // Neither reused nor reallocated: formatting does not reset IoStatus.
  EXPECT_EQ(WdfIoTargetSendReadSynchronously(target, request, &descriptor, nullptr, nullptr, &bytes),
            STATUS_INVALID_DEVICE_STATE);
  EXPECT_EQ(bytes, 7u) << "the IRP's stale Information";
  EXPECT_EQ(dev.irps().size(), 1u);
}

TEST_F(IoTargetTest, Sec2_1_SyncDdisIgnoreSynchronousFlag) {
  LowerDevice& dev = Device({Pend(2 * kMs, STATUS_SUCCESS, 5)});
  WDFIOTARGET target = Target(dev);
  uint8_t buffer[16] = {};
  WDF_MEMORY_DESCRIPTOR descriptor = BufferDescriptor(buffer, sizeof(buffer));
  WDF_REQUEST_SEND_OPTIONS options = Options(WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
  ULONG_PTR bytes = kSentinel;
  EXPECT_EQ(WdfIoTargetSendWriteSynchronously(target, nullptr, &descriptor, nullptr, &options, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(bytes, 5u);
  ASSERT_EQ(dev.irps().size(), 1u);
  EXPECT_EQ(dev.irps()[0].major_function, IRP_MJ_WRITE);
}

TEST_F(IoTargetTest, Sec4_5_CancelOfRequestPendedInStoppedTargetCompletesCancelledThroughCsq) {
  LowerDevice& dev = Device({Inline()});
  WDFIOTARGET target = Target(dev);
  WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
  WDFMEMORY memory = NewMemory(16);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  ASSERT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS)) << "queued";
  EXPECT_TRUE(Calls().empty());
  EXPECT_TRUE(WdfRequestCancelSentRequest(request)) << "the CSQ cancel routine was there";
  ASSERT_EQ(Calls().size(), 1u);
  EXPECT_EQ(Calls()[0].params.IoStatus.Status, STATUS_CANCELLED);
  EXPECT_EQ(Calls()[0].params.IoStatus.Information, 0u);
  EXPECT_TRUE(dev.irps().empty());
  ASSERT_EQ(WdfIoTargetStart(target), STATUS_SUCCESS);
  EXPECT_TRUE(dev.irps().empty()) << "not resent after the cancel";
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

TEST_F(IoTargetTest, Sec1_6_StopWithCancelSentIoCancelsAndWaits) {
  LowerDevice& dev = Device({Forever(OnCancel::kCompleteCancelled)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);
  WDFREQUEST request = NewRequest(target);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  ASSERT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  WdfIoTargetStop(target, WdfIoTargetCancelSentIo);
  ASSERT_EQ(Calls().size(), 1u) << "Stop returned after the sent request completed";
  EXPECT_EQ(Calls()[0].params.IoStatus.Status, STATUS_CANCELLED) << "not morphed: no timer";
  EXPECT_TRUE(dev.irps()[0].cancelled);
  EXPECT_EQ(WdfIoTargetGetState(target), WdfIoTargetStopped);
}

TEST_F(IoTargetTest, Sec4_4_RequestWithoutContextGetsNoFormatStackParams) {
  LowerDevice& dev = Device({Inline(STATUS_SUCCESS, 6)});
  WDFIOTARGET target = Target(dev);
  WDFREQUEST presented = Present(IRP_MJ_READ, 16, 2);
  WdfRequestFormatRequestUsingCurrentType(presented);
  WdfRequestSetCompletionRoutine(presented, RecordCompletion, nullptr);
  OnCompletion() = [](WDFREQUEST request, PWDF_REQUEST_COMPLETION_PARAMS params) {
    WdfRequestCompleteWithInformation(request, params->IoStatus.Status, params->IoStatus.Information);
  };
  ASSERT_TRUE(WdfRequestSend(presented, target, WDF_NO_SEND_OPTIONS));
  ASSERT_EQ(Calls().size(), 1u);
  EXPECT_EQ(Calls()[0].params.Type, WdfRequestTypeNoFormat);
  EXPECT_EQ(Calls()[0].params.IoStatus.Status, STATUS_SUCCESS);
  EXPECT_EQ(Calls()[0].params.IoStatus.Information, 6u);
  EXPECT_EQ(Calls()[0].params.Parameters.Read.Buffer, nullptr);
  EXPECT_EQ(Calls()[0].params.Parameters.Read.Length, 0u);
  EXPECT_EQ(Outcome(0).completions, 1u);
  EXPECT_EQ(Outcome(0).information, 6u);
  EXPECT_TRUE(Findings().empty()) << FindingsText();
}

TEST_F(IoTargetTest, Sec4_10_DeleteWhileSentBreaksAndCompletionRoutineStillRuns) {
  LowerDevice& dev = Device({Pend(1 * kMs, STATUS_SUCCESS, 2)});
  WDFIOTARGET target = Target(dev);
  WDFMEMORY memory = NewMemory(16);
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDFREQUEST request = NewRequest(target, &attributes);
  ASSERT_EQ(WdfIoTargetFormatRequestForRead(target, request, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(request, RecordCompletion, nullptr);
  ASSERT_TRUE(WdfRequestSend(request, target, WDF_NO_SEND_OPTIONS));
  WdfObjectDelete(request);
  EXPECT_EQ(LastRule(), "DeleteWhileSent");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_TRUE(Log().CleanedUp(request));
  EXPECT_FALSE(Log().Destroyed(request)) << "the target's reference keeps it";
  sim().AdvanceTime(2 * kMs);
  ASSERT_EQ(Calls().size(), 1u) << "the completion routine still runs";
  EXPECT_EQ(Calls()[0].request, request);
  EXPECT_TRUE(Log().Destroyed(request)) << "freed by the target's release";
}

}  // namespace
}  // namespace wdfsim_test
