// WDFMEMORY: creation statuses, IRQL, copy bounds, WdfMemoryAssignBuffer,
// stale handles and the read-only request buffers (SEMANTICS-WDF 0, 3.5, 3.6;
// kmdf-slice notes 1.7 and 2).
#include <cstring>
#include <vector>

#include "sim_fixture.h"

namespace wdfsim_test {
namespace {

using wdfsim::BugCheck;
using wdfsim::RuleId;
using wdfsim::Severity;

class MemoryTest : public SimTest {};

// ---- 3.6 WdfMemoryCreate ----

TEST_F(MemoryTest, Sec3_6_CreateGivesBufferOfRequestedSize) {
  WDFMEMORY memory = nullptr;
  PVOID buffer = nullptr;
  ASSERT_EQ(WdfMemoryCreate(WDF_NO_OBJECT_ATTRIBUTES, NonPagedPoolNx, 0x74736554u, 100, &memory, &buffer),
            STATUS_SUCCESS);
  ASSERT_NE(memory, nullptr);
  ASSERT_NE(buffer, nullptr);
  size_t size = 0;
  EXPECT_EQ(WdfMemoryGetBuffer(memory, &size), buffer);
  EXPECT_EQ(size, 100u);
  EXPECT_EQ(WdfMemoryGetBuffer(memory, nullptr), buffer) << "BufferSize may be NULL";
  memset(buffer, 0x5A, 100);
  WdfObjectDelete(memory);
  EXPECT_TRUE(reports().empty());
}

TEST_F(MemoryTest, Sec3_6_CreateWithSizeZeroIsInvalidParameterAndMemoryNotWritten) {
  // Step 3: BufferSize==0 gives STATUS_INVALID_PARAMETER, and only then *Memory=NULL.
  WDFMEMORY memory = reinterpret_cast<WDFMEMORY>(0x1);
  EXPECT_EQ(WdfMemoryCreate(WDF_NO_OBJECT_ATTRIBUTES, NonPagedPoolNx, 0, 0, &memory, nullptr),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(memory, reinterpret_cast<WDFMEMORY>(0x1));
  EXPECT_TRUE(reports().empty());
}

TEST_F(MemoryTest, Sec3_6_CreateWithBadAttributesClearsMemoryAndFails) {
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.Size = 3;
  WDFMEMORY memory = reinterpret_cast<WDFMEMORY>(0x1);
  EXPECT_EQ(WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &memory, nullptr), STATUS_INFO_LENGTH_MISMATCH);
  EXPECT_EQ(memory, nullptr) << "*Memory=NULL comes before the attributes check";
}

TEST_F(MemoryTest, Sec3_6_CreateWithNullMemoryOut_BugCheck0x4) {
  EXPECT_THROW(WdfMemoryCreate(WDF_NO_OBJECT_ATTRIBUTES, NonPagedPoolNx, 0, 8, nullptr, nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
  EXPECT_EQ(LastRuleInfo().bugcheck, 0x10Du);
  EXPECT_EQ(LastRuleInfo().p1, 0x4u);
}

TEST_F(MemoryTest, Sec3_6_PagedCreateAboveApcLevelIsKmdfIrqlAndInvalidDeviceRequest) {
  sim().SetIrql(DISPATCH_LEVEL);
  WDFMEMORY memory = reinterpret_cast<WDFMEMORY>(0x1);
  EXPECT_EQ(WdfMemoryCreate(WDF_NO_OBJECT_ATTRIBUTES, PagedPool, 0, 8, &memory, nullptr),
            STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(LastRule(), "KmdfIrql");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_FALSE(sim().verifier().bugchecked());
  EXPECT_EQ(memory, reinterpret_cast<WDFMEMORY>(0x1)) << "the IRQL check precedes *Memory=NULL";
  sim().SetIrql(PASSIVE_LEVEL);
}

TEST_F(MemoryTest, Sec3_6_PagedCreateAtApcLevelSucceeds) {
  sim().SetIrql(APC_LEVEL);
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(WDF_NO_OBJECT_ATTRIBUTES, PagedPool, 0, 8, &memory, nullptr), STATUS_SUCCESS);
  sim().SetIrql(PASSIVE_LEVEL);
  WdfObjectDelete(memory);
  EXPECT_TRUE(reports().empty());
}

TEST_F(MemoryTest, Sec3_6_NonPagedCreateAtDispatchSucceedsAboveDispatchFails) {
  sim().SetIrql(DISPATCH_LEVEL);
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(WDF_NO_OBJECT_ATTRIBUTES, NonPagedPoolNx, 0, 8, &memory, nullptr), STATUS_SUCCESS);
  EXPECT_TRUE(reports().empty());
  sim().SetIrql(DISPATCH_LEVEL + 1);
  WDFMEMORY second = nullptr;
  EXPECT_EQ(WdfMemoryCreate(WDF_NO_OBJECT_ATTRIBUTES, NonPagedPoolNx, 0, 8, &second, nullptr),
            STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(LastRule(), "KmdfIrql");
  sim().SetIrql(PASSIVE_LEVEL);
  WdfObjectDelete(memory);
}

TEST_F(MemoryTest, Sec3_6_IrqlCheckComesBeforeSizeZeroCheck) {
  sim().SetIrql(DISPATCH_LEVEL);
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(WDF_NO_OBJECT_ATTRIBUTES, PagedPool, 0, 0, &memory, nullptr),
            STATUS_INVALID_DEVICE_REQUEST);
  sim().SetIrql(PASSIVE_LEVEL);
}

TEST_F(MemoryTest, Sec0_IrqlCheckIsVerifierGated) {
  RestartWithVerifierOff();
  sim().SetIrql(DISPATCH_LEVEL);
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(WDF_NO_OBJECT_ATTRIBUTES, PagedPool, 0, 8, &memory, nullptr), STATUS_SUCCESS);
  EXPECT_TRUE(reports().empty());
  sim().SetIrql(PASSIVE_LEVEL);
  WdfObjectDelete(memory);
}

// ---- 3.6 WdfMemoryCreatePreallocated and WdfMemoryAssignBuffer ----

TEST_F(MemoryTest, Sec3_6_PreallocatedUsesDriverBufferAndNeverFreesIt) {
  static unsigned char storage[24];  // freeing this would crash the process
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfMemoryCreatePreallocated(WDF_NO_OBJECT_ATTRIBUTES, storage, sizeof(storage), &memory), STATUS_SUCCESS);
  size_t size = 0;
  EXPECT_EQ(WdfMemoryGetBuffer(memory, &size), storage);
  EXPECT_EQ(size, sizeof(storage));
  unsigned char data[4] = {1, 2, 3, 4};
  EXPECT_EQ(WdfMemoryCopyFromBuffer(memory, 2, data, sizeof(data)), STATUS_SUCCESS);
  EXPECT_EQ(storage[2], 1);
  EXPECT_EQ(storage[5], 4);
  WdfObjectDelete(memory);
  EXPECT_TRUE(reports().empty());
}

TEST_F(MemoryTest, Sec3_6_PreallocatedSizeZeroClearsMemoryAndIsInvalidParameter) {
  unsigned char storage[8];
  WDFMEMORY memory = reinterpret_cast<WDFMEMORY>(0x1);
  EXPECT_EQ(WdfMemoryCreatePreallocated(WDF_NO_OBJECT_ATTRIBUTES, storage, 0, &memory), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(memory, nullptr) << "*PMemory=NULL precedes the size check";
}

TEST_F(MemoryTest, Sec3_6_PreallocatedNullBuffer_BugCheck0x4) {
  WDFMEMORY memory = nullptr;
  EXPECT_THROW(WdfMemoryCreatePreallocated(WDF_NO_OBJECT_ATTRIBUTES, nullptr, 8, &memory), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
}

TEST_F(MemoryTest, Sec3_6_PreallocatedNullMemoryOut_BugCheck0x4) {
  unsigned char storage[8];
  EXPECT_THROW(WdfMemoryCreatePreallocated(WDF_NO_OBJECT_ATTRIBUTES, storage, sizeof(storage), nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
}

TEST_F(MemoryTest, Sec3_6_PreallocatedBadAttributesIsInfoLengthMismatch) {
  unsigned char storage[8];
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.Size = 0;
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreatePreallocated(&attributes, storage, sizeof(storage), &memory), STATUS_INFO_LENGTH_MISMATCH);
}

TEST_F(MemoryTest, Sec3_6_AssignBufferReplacesPreallocatedBufferAndSize) {
  static unsigned char first[8];
  static unsigned char second[32];
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfMemoryCreatePreallocated(WDF_NO_OBJECT_ATTRIBUTES, first, sizeof(first), &memory), STATUS_SUCCESS);
  EXPECT_EQ(WdfMemoryAssignBuffer(memory, second, sizeof(second)), STATUS_SUCCESS);
  size_t size = 0;
  EXPECT_EQ(WdfMemoryGetBuffer(memory, &size), second);
  EXPECT_EQ(size, sizeof(second));
  WdfObjectDelete(memory);
}

TEST_F(MemoryTest, Sec3_6_AssignBufferSizeZeroIsInvalidParameter) {
  static unsigned char first[8];
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfMemoryCreatePreallocated(WDF_NO_OBJECT_ATTRIBUTES, first, sizeof(first), &memory), STATUS_SUCCESS);
  EXPECT_EQ(WdfMemoryAssignBuffer(memory, first, 0), STATUS_INVALID_PARAMETER);
  size_t size = 0;
  EXPECT_EQ(WdfMemoryGetBuffer(memory, &size), first);
  EXPECT_EQ(size, sizeof(first)) << "a failed assign changes nothing";
  WdfObjectDelete(memory);
}

TEST_F(MemoryTest, Sec3_6_AssignBufferNullBuffer_BugCheck0x4) {
  static unsigned char first[8];
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfMemoryCreatePreallocated(WDF_NO_OBJECT_ATTRIBUTES, first, sizeof(first), &memory), STATUS_SUCCESS);
  EXPECT_THROW(WdfMemoryAssignBuffer(memory, nullptr, 8), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
}

TEST_F(MemoryTest, Sec3_6_AssignBufferOnWdfMemoryCreateObject_BugCheck0x5) {
  WDFMEMORY memory = NewMemory(8);
  unsigned char other[8];
  EXPECT_THROW(WdfMemoryAssignBuffer(memory, other, sizeof(other)), BugCheck);
  EXPECT_EQ(LastRule(), "InvalidHandle");
  EXPECT_EQ(LastRuleInfo().p1, 0x5u);
}

TEST_F(MemoryTest, Notes2_AssignBufferOnRequestMemory_BugCheck0x5) {
  WDFREQUEST request = PresentWrite(8);
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &memory), STATUS_SUCCESS);
  unsigned char other[8];
  EXPECT_THROW(WdfMemoryAssignBuffer(memory, other, sizeof(other)), BugCheck);
  EXPECT_EQ(LastRule(), "InvalidHandle");
}

// ---- 3.6 / notes 2: copy bounds (IFxMemory::_CopyPtrToPtr) ----

TEST_F(MemoryTest, Notes2_CopyFromThenToRoundTripsAtOffset) {
  WDFMEMORY memory = NewMemory(16);
  const unsigned char in[4] = {9, 8, 7, 6};
  EXPECT_EQ(WdfMemoryCopyFromBuffer(memory, 12, const_cast<unsigned char*>(in), 4), STATUS_SUCCESS);
  unsigned char out[4] = {};
  EXPECT_EQ(WdfMemoryCopyToBuffer(memory, 12, out, 4), STATUS_SUCCESS);
  EXPECT_EQ(memcmp(in, out, 4), 0);
  PVOID buffer = WdfMemoryGetBuffer(memory, nullptr);
  EXPECT_EQ(static_cast<unsigned char*>(buffer)[12], 9);
  WdfObjectDelete(memory);
}

TEST_F(MemoryTest, Notes2_CopyToPastEndIsBufferTooSmall) {
  WDFMEMORY memory = NewMemory(16);
  unsigned char out[8];
  EXPECT_EQ(WdfMemoryCopyToBuffer(memory, 10, out, 7), STATUS_BUFFER_TOO_SMALL);
  EXPECT_EQ(WdfMemoryCopyToBuffer(memory, 0, out, 8), STATUS_SUCCESS);
  EXPECT_EQ(WdfMemoryCopyToBuffer(memory, 8, out, 8), STATUS_SUCCESS) << "offset + N == size fits";
  WdfObjectDelete(memory);
}

TEST_F(MemoryTest, Notes2_CopyToMoreThanWholeBufferIsBufferTooSmall) {
  WDFMEMORY memory = NewMemory(4);
  unsigned char out[8];
  EXPECT_EQ(WdfMemoryCopyToBuffer(memory, 0, out, 8), STATUS_BUFFER_TOO_SMALL);
  WdfObjectDelete(memory);
}

TEST_F(MemoryTest, Notes2_CopyToSourceOffsetAtSizeIsBufferTooSmall) {
  WDFMEMORY memory = NewMemory(16);
  unsigned char out[1];
  EXPECT_EQ(WdfMemoryCopyToBuffer(memory, 16, out, 1), STATUS_BUFFER_TOO_SMALL);
  EXPECT_EQ(WdfMemoryCopyToBuffer(memory, ~size_t{0}, out, 1), STATUS_BUFFER_TOO_SMALL) << "no overflow";
  WdfObjectDelete(memory);
}

TEST_F(MemoryTest, Notes2_CopyFromPastEndIsInvalidBufferSizeAndWritesNothing) {
  PVOID buffer = nullptr;
  WDFMEMORY memory = NewMemory(16, WDF_NO_OBJECT_ATTRIBUTES, &buffer);
  memset(buffer, 0, 16);
  unsigned char in[8];
  memset(in, 0xEE, sizeof(in));
  EXPECT_EQ(WdfMemoryCopyFromBuffer(memory, 10, in, 7), STATUS_INVALID_BUFFER_SIZE);
  EXPECT_EQ(WdfMemoryCopyFromBuffer(memory, 16, in, 1), STATUS_INVALID_BUFFER_SIZE);
  EXPECT_EQ(WdfMemoryCopyFromBuffer(memory, 0, in, 8), STATUS_SUCCESS);
  EXPECT_EQ(static_cast<unsigned char*>(buffer)[8], 0) << "nothing written past the successful copy";
  EXPECT_EQ(static_cast<unsigned char*>(buffer)[10], 0);
  WdfObjectDelete(memory);
}

TEST_F(MemoryTest, Sec3_6_CopyCountZeroIsInvalidParameter) {
  WDFMEMORY memory = NewMemory(16);
  unsigned char scratch[1];
  EXPECT_EQ(WdfMemoryCopyToBuffer(memory, 0, scratch, 0), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(WdfMemoryCopyFromBuffer(memory, 0, scratch, 0), STATUS_INVALID_PARAMETER);
  WdfObjectDelete(memory);
}

TEST_F(MemoryTest, Notes2_CopyToNullBuffer_BugCheck0x4) {
  WDFMEMORY memory = NewMemory(16);
  EXPECT_THROW(WdfMemoryCopyToBuffer(memory, 0, nullptr, 4), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
}

TEST_F(MemoryTest, Notes2_CopyFromNullBuffer_BugCheck0x4) {
  WDFMEMORY memory = NewMemory(16);
  EXPECT_THROW(WdfMemoryCopyFromBuffer(memory, 0, nullptr, 4), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
}

// ---- Handles (0) ----

TEST_F(MemoryTest, Sec0_StaleHandleAfterDelete_InvalidHandleBugCheck) {
  WDFMEMORY memory = NewMemory(8);
  WdfObjectDelete(memory);
  EXPECT_THROW(WdfMemoryGetBuffer(memory, nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "InvalidHandle");
  EXPECT_EQ(LastRuleInfo().bugcheck, 0x10Du);
  EXPECT_EQ(LastRuleInfo().p1, 0x5u);
  EXPECT_EQ(reports().back().p2, reinterpret_cast<uint64_t>(memory)) << "P2 = the handle";
}

TEST_F(MemoryTest, Sec0_StaleHandleStaysInvalidAfterSlotIsReused) {
  WDFMEMORY memory = NewMemory(8);
  WdfObjectDelete(memory);
  WDFMEMORY other = NewMemory(8);  // may reuse the slot
  EXPECT_NE(other, memory);
  EXPECT_THROW(WdfMemoryGetBuffer(memory, nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "InvalidHandle");
}

TEST_F(MemoryTest, Sec0_NullMemoryHandle_InvalidHandleBugCheck) {
  EXPECT_THROW(WdfMemoryGetBuffer(nullptr, nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "InvalidHandle");
}

TEST_F(MemoryTest, Sec0_WrongTypeHandle_InvalidHandleBugCheck) {
  WDFREQUEST request = PresentRead(8);
  EXPECT_THROW(WdfMemoryGetBuffer(reinterpret_cast<WDFMEMORY>(request), nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "InvalidHandle");
}

TEST_F(MemoryTest, Sec0_NeverIssuedHandle_InvalidHandleBugCheck) {
  int not_a_handle = 0;
  EXPECT_THROW(WdfMemoryGetBuffer(reinterpret_cast<WDFMEMORY>(&not_a_handle), nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "InvalidHandle");
}

// ---- Request-embedded memory (notes 1.7) ----

TEST_F(MemoryTest, Notes1_7_WriteRequestMemoryIsReadOnly_CopyFromIsAccessViolation) {
  WDFREQUEST request = PresentWrite(8, 0x11);
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &memory), STATUS_SUCCESS);
  unsigned char in[4] = {1, 2, 3, 4};
  EXPECT_EQ(WdfMemoryCopyFromBuffer(memory, 0, in, sizeof(in)), STATUS_ACCESS_VIOLATION);
  EXPECT_EQ(LastRule(), "MemoryCopyReadOnly");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_FALSE(sim().verifier().bugchecked());
  // Reading it is fine and gives the originator's data.
  unsigned char out[8] = {};
  EXPECT_EQ(WdfMemoryCopyToBuffer(memory, 0, out, sizeof(out)), STATUS_SUCCESS);
  EXPECT_EQ(out[0], 0x11);
  EXPECT_EQ(out[7], 0x11);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(MemoryTest, Notes1_7_ReadRequestMemoryIsWritableAndReachesOriginator) {
  WDFREQUEST request = PresentRead(8);
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfRequestRetrieveOutputMemory(request, &memory), STATUS_SUCCESS);
  size_t size = 0;
  EXPECT_NE(WdfMemoryGetBuffer(memory, &size), nullptr);
  EXPECT_EQ(size, 8u);
  unsigned char in[4] = {0xA1, 0xA2, 0xA3, 0xA4};
  EXPECT_EQ(WdfMemoryCopyFromBuffer(memory, 2, in, sizeof(in)), STATUS_SUCCESS);
  WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 6);
  sim().RunReadyWork();  // the completion APC copies the system buffer back
  ASSERT_TRUE(Outcome().completed);
  ASSERT_EQ(Outcome().data.size(), 8u);
  EXPECT_EQ(Outcome().data[2], 0xA1);
  EXPECT_EQ(Outcome().data[5], 0xA4);
  EXPECT_TRUE(reports().empty());
}

TEST_F(MemoryTest, Notes1_7_IoctlInDirectOutputMemoryIsReadOnly) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_IN_DIRECT), 4, 8);
  WDFMEMORY output = nullptr;
  ASSERT_EQ(WdfRequestRetrieveOutputMemory(request, &output), STATUS_SUCCESS);
  unsigned char in[2] = {1, 2};
  EXPECT_EQ(WdfMemoryCopyFromBuffer(output, 0, in, sizeof(in)), STATUS_ACCESS_VIOLATION);
  EXPECT_EQ(LastRule(), "MemoryCopyReadOnly");
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(MemoryTest, Notes1_7_IoctlOutDirectOutputMemoryIsWritableInputIsReadOnly) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_OUT_DIRECT), 4, 8);
  WDFMEMORY output = nullptr;
  WDFMEMORY input = nullptr;
  ASSERT_EQ(WdfRequestRetrieveOutputMemory(request, &output), STATUS_SUCCESS);
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &input), STATUS_SUCCESS);
  unsigned char in[2] = {1, 2};
  EXPECT_EQ(WdfMemoryCopyFromBuffer(output, 0, in, sizeof(in)), STATUS_SUCCESS);
  EXPECT_TRUE(reports().empty());
  EXPECT_EQ(WdfMemoryCopyFromBuffer(input, 0, in, sizeof(in)), STATUS_ACCESS_VIOLATION);
  EXPECT_EQ(LastRule(), "MemoryCopyReadOnly");
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(MemoryTest, Notes1_7_IoctlBufferedMemoryIsWritableBothWays) {
  WDFREQUEST request = PresentIoctl(IoctlCode(METHOD_BUFFERED), 4, 8);
  WDFMEMORY output = nullptr;
  WDFMEMORY input = nullptr;
  ASSERT_EQ(WdfRequestRetrieveOutputMemory(request, &output), STATUS_SUCCESS);
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &input), STATUS_SUCCESS);
  size_t in_size = 0, out_size = 0;
  EXPECT_EQ(WdfMemoryGetBuffer(input, &in_size), WdfMemoryGetBuffer(output, &out_size));
  EXPECT_EQ(in_size, 4u);
  EXPECT_EQ(out_size, 8u);
  unsigned char in[2] = {1, 2};
  EXPECT_EQ(WdfMemoryCopyFromBuffer(output, 0, in, sizeof(in)), STATUS_SUCCESS);
  EXPECT_EQ(WdfMemoryCopyFromBuffer(input, 0, in, sizeof(in)), STATUS_SUCCESS);
  EXPECT_TRUE(reports().empty());
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(MemoryTest, Case19_DeleteMemoryWithExtraReferenceKeepsBufferValid) {
  // 3.5: the design is safe by refcount; the pool buffer survives delete.
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  PVOID buffer = nullptr;
  WDFMEMORY memory = NewMemory(32, &attributes, &buffer);
  WdfObjectReference(memory);
  WdfObjectDelete(memory);
  EXPECT_TRUE(Log().CleanedUp(memory));
  EXPECT_FALSE(Log().Destroyed(memory));
  unsigned char in[32];
  memset(in, 0x42, sizeof(in));
  EXPECT_EQ(WdfMemoryCopyFromBuffer(memory, 0, in, sizeof(in)), STATUS_SUCCESS);
  EXPECT_EQ(static_cast<unsigned char*>(buffer)[31], 0x42);
  WdfObjectDereference(memory);
  EXPECT_TRUE(Log().Destroyed(memory));
  EXPECT_TRUE(reports().empty());
}

}  // namespace
}  // namespace wdfsim_test
