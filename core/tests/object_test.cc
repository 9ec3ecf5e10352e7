// Objects: references, deletion, parents and children, NoDeleteDDI, contexts
// and WDF_OBJECT_ATTRIBUTES validation (SEMANTICS-WDF 0, 3.5, 6.1, 6.2,
// cases 19 and 30; kmdf-slice notes 5 and 6).
#include <cstring>

#include "sim_fixture.h"

typedef struct _FOO_CONTEXT {
  ULONG value;
  UCHAR bytes[60];
} FOO_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(FOO_CONTEXT, GetFooContext)

typedef struct _BAR_CONTEXT {
  ULONG64 a;
  ULONG64 b;
} BAR_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(BAR_CONTEXT, GetBarContext)

namespace wdfsim_test {
namespace {

using wdfsim::BugCheck;
using wdfsim::RuleId;
using wdfsim::Severity;

class ObjectTest : public SimTest {};

bool AllZero(const void* p, size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    if (b[i] != 0) return false;
  }
  return true;
}

// ---- 6.1 References and deletion ----

TEST_F(ObjectTest, Sec6_1_DeleteWithOnlyCreationReferenceRunsCleanupThenDestroy) {
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDFMEMORY memory = NewMemory(16, &attributes);
  EXPECT_TRUE(Log().cleanups.empty());

  WdfObjectDelete(memory);

  ASSERT_EQ(Log().cleanups.size(), 1u);
  ASSERT_EQ(Log().destroys.size(), 1u);
  EXPECT_EQ(Log().cleanups[0], memory);
  EXPECT_EQ(Log().destroys[0], memory);
  EXPECT_TRUE(reports().empty());
}

TEST_F(ObjectTest, Case19_DeleteWhileReferenced_CleanupNowDestroyAtLastDereference) {
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  PVOID buffer = nullptr;
  WDFMEMORY memory = NewMemory(16, &attributes, &buffer);
  WdfObjectReference(memory);

  WdfObjectDelete(memory);
  // 3.5: dispose and the cleanup callback run now; the object and its buffer
  // survive until the extra reference is released.
  EXPECT_TRUE(Log().CleanedUp(memory));
  EXPECT_FALSE(Log().Destroyed(memory));
  size_t size = 0;
  EXPECT_EQ(WdfMemoryGetBuffer(memory, &size), buffer);
  EXPECT_EQ(size, 16u);

  WdfObjectDereference(memory);
  EXPECT_TRUE(Log().Destroyed(memory));
  EXPECT_EQ(Log().cleanups.size(), 1u) << "cleanup runs exactly once";
  // "No violation."
  EXPECT_TRUE(reports().empty());
  sim().Unload();
  EXPECT_TRUE(sim().verdict().clean()) << sim().verdict().Summary();
}

TEST_F(ObjectTest, Case30_DereferenceWithoutReference_BugCheck0x10D_0x7) {
  WDFMEMORY memory = NewMemory();
  EXPECT_THROW(WdfObjectDereference(memory), BugCheck);
  EXPECT_EQ(LastRule(), "ObjectOverDereference");
  EXPECT_EQ(LastRuleInfo().bugcheck, 0x10Du);
  EXPECT_EQ(LastRuleInfo().p1, 0x7u);
  EXPECT_EQ(reports().back().p2, reinterpret_cast<uint64_t>(memory)) << "P2 = handle";
  EXPECT_TRUE(sim().verifier().bugchecked());
  EXPECT_TRUE(sim().verdict().bugcheck);
}

TEST_F(ObjectTest, Sec6_1_BalancedReferenceAndDereferenceLeaveObjectAlive) {
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDFMEMORY memory = NewMemory(8, &attributes);
  WdfObjectReference(memory);
  WdfObjectReference(memory);
  WdfObjectDereference(memory);
  WdfObjectDereference(memory);
  EXPECT_TRUE(Log().cleanups.empty());
  EXPECT_TRUE(Log().destroys.empty());
  EXPECT_TRUE(reports().empty());
  WdfObjectDelete(memory);
  EXPECT_TRUE(Log().Destroyed(memory));
}

TEST_F(ObjectTest, Sec6_1_NullHandleToReference_BugCheck0x4) {
  EXPECT_THROW(WdfObjectReference(static_cast<WDFOBJECT>(nullptr)), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
  EXPECT_EQ(LastRuleInfo().p1, 0x4u);
}

TEST_F(ObjectTest, Sec6_1_NullHandleToDereference_BugCheck0x4) {
  EXPECT_THROW(WdfObjectDereference(static_cast<WDFOBJECT>(nullptr)), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
}

TEST_F(ObjectTest, Sec0_NullHandleToDelete_BugCheck0x10D_0x5) {
  EXPECT_THROW(WdfObjectDelete(nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "InvalidHandle");
  EXPECT_EQ(LastRuleInfo().bugcheck, 0x10Du);
  EXPECT_EQ(LastRuleInfo().p1, 0x5u);
}

TEST_F(ObjectTest, Notes5_SecondDeleteWhileReferencedIsSilentNoOp) {
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDFMEMORY memory = NewMemory(8, &attributes);
  WdfObjectReference(memory);
  WdfObjectDelete(memory);
  WdfObjectDelete(memory);  // MarkDeleteCalledLocked fails: dropped
  EXPECT_TRUE(reports().empty());
  EXPECT_EQ(Log().cleanups.size(), 1u);
  EXPECT_FALSE(Log().Destroyed(memory));
  WdfObjectDereference(memory);
  EXPECT_EQ(Log().destroys.size(), 1u);
  EXPECT_TRUE(reports().empty());
}

TEST_F(ObjectTest, Sec6_1_DeleteOnWdfGetDriverIsNoDeleteDdiBreakAndNoOp) {
  WDFDRIVER driver = WdfGetDriver();
  EXPECT_NE(driver, nullptr);
  EXPECT_EQ(driver, sim().driver());

  WdfObjectDelete(driver);  // a break, not a bug check

  EXPECT_EQ(LastRule(), "ObjectDeleteNotAllowed");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_FALSE(sim().verifier().bugchecked());
  // Nothing was deleted: the driver is still the live default parent.
  EXPECT_EQ(WdfGetDriver(), driver);
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(WDF_NO_OBJECT_ATTRIBUTES, NonPagedPoolNx, 0, 8, &memory, nullptr), STATUS_SUCCESS);
  WdfObjectDelete(memory);
}

TEST_F(ObjectTest, Sec0_DdiAfterBugCheckThrowsAgain) {
  WDFMEMORY memory = NewMemory();
  EXPECT_THROW(WdfObjectDereference(memory), BugCheck);
  // The machine has stopped: nothing runs after a bug check.
  EXPECT_THROW(WdfGetDriver(), BugCheck);
  EXPECT_THROW(sim().Unload(), BugCheck);
}

// ---- 6.2 Parents and children ----

TEST_F(ObjectTest, Case30_DeletingParentRunsAllThreeChildCleanupsBeforeParentCleanup) {
  WDF_OBJECT_ATTRIBUTES parent_attributes = CallbackAttributes();
  WDFMEMORY parent = NewMemory(8, &parent_attributes);
  WDFMEMORY children[3];
  for (WDFMEMORY& child : children) {
    WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes(parent);
    child = NewMemory(8, &attributes);
  }

  WdfObjectDelete(parent);

  ASSERT_EQ(Log().cleanups.size(), 4u);
  const int parent_at = CallbackLog::Index(Log().cleanups, parent);
  for (WDFMEMORY child : children) {
    const int child_at = CallbackLog::Index(Log().cleanups, child);
    ASSERT_GE(child_at, 0);
    EXPECT_LT(child_at, parent_at) << "a child's cleanup returns before its parent's";
    EXPECT_TRUE(Log().Destroyed(child)) << "children are deleted with the parent";
  }
  EXPECT_TRUE(Log().Destroyed(parent));
  EXPECT_TRUE(reports().empty());
  sim().Unload();
  EXPECT_TRUE(sim().verdict().clean()) << sim().verdict().Summary();
}

TEST_F(ObjectTest, Sec6_2_GrandchildCleanupRunsBeforeChildAndParent) {
  WDF_OBJECT_ATTRIBUTES a = CallbackAttributes();
  WDFMEMORY parent = NewMemory(8, &a);
  WDF_OBJECT_ATTRIBUTES b = CallbackAttributes(parent);
  WDFMEMORY child = NewMemory(8, &b);
  WDF_OBJECT_ATTRIBUTES c = CallbackAttributes(child);
  WDFMEMORY grandchild = NewMemory(8, &c);

  WdfObjectDelete(parent);

  ASSERT_EQ(Log().cleanups.size(), 3u);
  EXPECT_EQ(Log().cleanups[0], grandchild);
  EXPECT_EQ(Log().cleanups[1], child);
  EXPECT_EQ(Log().cleanups[2], parent);
}

TEST_F(ObjectTest, Sec6_2_DeletingChildFirstDetachesItFromParent) {
  WDF_OBJECT_ATTRIBUTES a = CallbackAttributes();
  WDFMEMORY parent = NewMemory(8, &a);
  WDF_OBJECT_ATTRIBUTES b = CallbackAttributes(parent);
  WDFMEMORY child = NewMemory(8, &b);

  WdfObjectDelete(child);
  EXPECT_TRUE(Log().Destroyed(child));
  WdfObjectDelete(parent);
  EXPECT_EQ(Log().cleanups.size(), 2u) << "the child is not cleaned up a second time";
  EXPECT_TRUE(reports().empty());
}

TEST_F(ObjectTest, Sec6_2_ParentBeingDeletedRefusesNewChildWithDeletePending) {
  WDFMEMORY parent = NewMemory();
  WdfObjectReference(parent);
  WdfObjectDelete(parent);  // still alive, but no longer in the Created state
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.ParentObject = parent;
  WDFMEMORY child = nullptr;
  EXPECT_EQ(WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &child, nullptr), STATUS_DELETE_PENDING);
  WdfObjectDereference(parent);
}

TEST_F(ObjectTest, Sec6_2_DefaultParentIsTheDriver) {
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDFMEMORY memory = NewMemory(8, &attributes);
  // Deleting WDFDRIVER at unload deletes every driver-parented object.
  sim().Unload();
  EXPECT_TRUE(Log().CleanedUp(memory));
  EXPECT_TRUE(Log().Destroyed(memory));
}

// ---- Contexts (notes 6) ----

TEST_F(ObjectTest, Notes6_DeclaredContextIsZeroedAndMapsBackToItsObject) {
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, FOO_CONTEXT);
  WDFMEMORY memory = NewMemory(8, &attributes);

  FOO_CONTEXT* context = GetFooContext(memory);
  ASSERT_NE(context, nullptr);
  EXPECT_TRUE(AllZero(context, sizeof(*context)));
  EXPECT_EQ(WdfObjectContextGetObject(context), memory);
  EXPECT_EQ(WdfObjectGetTypedContext(memory, FOO_CONTEXT), context);
  context->value = 42;
  EXPECT_EQ(GetFooContext(memory)->value, 42u);
  // The type-info record the macro emits.
  EXPECT_EQ(WDF_GET_CONTEXT_TYPE_INFO(FOO_CONTEXT)->ContextSize, sizeof(FOO_CONTEXT));
  EXPECT_EQ(WDF_GET_CONTEXT_TYPE_INFO(FOO_CONTEXT)->UniqueType, WDF_GET_CONTEXT_TYPE_INFO(FOO_CONTEXT));
  EXPECT_STREQ(WDF_GET_CONTEXT_TYPE_INFO(FOO_CONTEXT)->ContextName, "FOO_CONTEXT");
  WdfObjectDelete(memory);
}

FOO_CONTEXT* g_context_in_cleanup = nullptr;
FOO_CONTEXT* g_context_in_destroy = nullptr;
VOID FooCleanup(WDFOBJECT object) { g_context_in_cleanup = GetFooContext(object); }
VOID FooDestroy(WDFOBJECT object) { g_context_in_destroy = GetFooContext(object); }

TEST_F(ObjectTest, Notes6_ContextIsReachableInCleanupAndDestroyCallbacks) {
  // The worker does no liveness check "so it can be used in the destroy callback".
  g_context_in_cleanup = g_context_in_destroy = nullptr;
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, FOO_CONTEXT);
  attributes.EvtCleanupCallback = FooCleanup;
  attributes.EvtDestroyCallback = FooDestroy;
  WDFMEMORY memory = NewMemory(8, &attributes);
  FOO_CONTEXT* context = GetFooContext(memory);
  WdfObjectDelete(memory);
  EXPECT_EQ(g_context_in_cleanup, context);
  EXPECT_EQ(g_context_in_destroy, context);
  EXPECT_TRUE(reports().empty());
}

TEST_F(ObjectTest, Notes6_MissingContextTypeReturnsNullWithoutReport) {
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, FOO_CONTEXT);
  WDFMEMORY memory = NewMemory(8, &attributes);
  EXPECT_EQ(GetBarContext(memory), nullptr);
  EXPECT_TRUE(reports().empty());
  WdfObjectDelete(memory);
}

TEST_F(ObjectTest, Notes6_GetTypedContextWithNullHandle_BugCheck0x4) {
  EXPECT_THROW(GetFooContext(nullptr), BugCheck);
  EXPECT_EQ(LastRule(), "RequiredParameterNull");
}

TEST_F(ObjectTest, Notes6_ContextGetObjectOnUnknownPointerIsInvalidHandle) {
  int not_a_context = 0;
  EXPECT_THROW(WdfObjectContextGetObject(&not_a_context), BugCheck);
  EXPECT_EQ(LastRule(), "InvalidHandle");
}

TEST_F(ObjectTest, Notes6_ContextSizeOverrideLargerThanTypeIsHonouredAndZeroed) {
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, BAR_CONTEXT);
  attributes.ContextSizeOverride = 256;
  WDFMEMORY memory = NewMemory(8, &attributes);
  auto* context = reinterpret_cast<unsigned char*>(GetBarContext(memory));
  ASSERT_NE(context, nullptr);
  EXPECT_TRUE(AllZero(context, 256));
  memset(context, 0xAB, 256);  // the whole override is usable (ASan would catch less)
  WdfObjectDelete(memory);
}

TEST_F(ObjectTest, Notes6_ContextSizeOverrideSmallerThanTypeIsAttributesInvalid) {
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, BAR_CONTEXT);
  attributes.ContextSizeOverride = sizeof(BAR_CONTEXT) - 1;
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &memory, nullptr), STATUS_WDF_OBJECT_ATTRIBUTES_INVALID);
  EXPECT_EQ(memory, nullptr);
}

TEST_F(ObjectTest, Notes6_ContextSizeOverrideWithoutTypeIsAttributesInvalid) {
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.ContextSizeOverride = 16;
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &memory, nullptr), STATUS_WDF_OBJECT_ATTRIBUTES_INVALID);
}

TEST_F(ObjectTest, Notes6_AttributesWithWrongSizeAreInfoLengthMismatch) {
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.Size = sizeof(WDF_OBJECT_ATTRIBUTES) - 8;
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &memory, nullptr), STATUS_INFO_LENGTH_MISMATCH);
}

TEST_F(ObjectTest, Notes6_ZeroedAttributesWithRightSizeFailOnZeroEnums) {
  // "a zeroed attribute struct with a correct Size fails with 0xC0200209".
  WDF_OBJECT_ATTRIBUTES attributes;
  memset(&attributes, 0, sizeof(attributes));
  attributes.Size = sizeof(attributes);
  WDFMEMORY memory = nullptr;
  const NTSTATUS status = WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &memory, nullptr);
  EXPECT_EQ(status, STATUS_WDF_OBJECT_ATTRIBUTES_INVALID);
  EXPECT_EQ(static_cast<uint32_t>(status), 0xC0200209u);
}

TEST_F(ObjectTest, Notes6_ContextTypeInfoWithWrongSizeIsInfoLengthMismatch) {
  static const WDF_OBJECT_CONTEXT_TYPE_INFO bad = {sizeof(WDF_OBJECT_CONTEXT_TYPE_INFO) + 4, (PCHAR) "BAD", 8, &bad,
                                                   nullptr};
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.ContextTypeInfo = &bad;
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &memory, nullptr), STATUS_INFO_LENGTH_MISMATCH);
}

TEST_F(ObjectTest, Notes6_ContextTypeWithSizeButNoNameIsAttributesInvalid) {
  static const WDF_OBJECT_CONTEXT_TYPE_INFO unnamed = {sizeof(WDF_OBJECT_CONTEXT_TYPE_INFO), nullptr, 8, &unnamed,
                                                       nullptr};
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.ContextTypeInfo = &unnamed;
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &memory, nullptr), STATUS_WDF_OBJECT_ATTRIBUTES_INVALID);
}

TEST_F(ObjectTest, Notes6_ExecutionLevelOnMemoryIsExecutionLevelInvalid) {
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.ExecutionLevel = WdfExecutionLevelPassive;
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &memory, nullptr), STATUS_WDF_EXECUTION_LEVEL_INVALID);
}

TEST_F(ObjectTest, Notes6_SynchronizationScopeOnMemoryIsScopeInvalid) {
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.SynchronizationScope = WdfSynchronizationScopeDevice;
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &memory, nullptr),
            STATUS_WDF_SYNCHRONIZATION_SCOPE_INVALID);
  // None is allowed without SYNCHRONIZATION_SCOPE_ALLOWED.
  attributes.SynchronizationScope = WdfSynchronizationScopeNone;
  EXPECT_EQ(WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &memory, nullptr), STATUS_SUCCESS);
  WdfObjectDelete(memory);
}

TEST_F(ObjectTest, Notes6_OutOfRangeEnumsAreAttributesInvalid) {
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.ExecutionLevel = static_cast<WDF_EXECUTION_LEVEL>(4);
  WDFMEMORY memory = nullptr;
  EXPECT_EQ(WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &memory, nullptr), STATUS_WDF_OBJECT_ATTRIBUTES_INVALID);
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.SynchronizationScope = static_cast<WDF_SYNCHRONIZATION_SCOPE>(5);
  EXPECT_EQ(WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 8, &memory, nullptr), STATUS_WDF_OBJECT_ATTRIBUTES_INVALID);
}

// ---- WdfObjectAllocateContext (notes 6) ----

TEST_F(ObjectTest, Notes6_AllocateContextSucceedsWithZeroedContext) {
  WDFMEMORY memory = NewMemory();
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, FOO_CONTEXT);
  PVOID context = nullptr;
  EXPECT_EQ(WdfObjectAllocateContext(memory, &attributes, &context), STATUS_SUCCESS);
  ASSERT_NE(context, nullptr);
  EXPECT_TRUE(AllZero(context, sizeof(FOO_CONTEXT)));
  EXPECT_EQ(GetFooContext(memory), context);
  EXPECT_EQ(WdfObjectContextGetObject(context), memory);
  WdfObjectDelete(memory);
}

TEST_F(ObjectTest, Notes6_AllocateContextTwiceIsNameExistsWithExistingContext) {
  WDF_OBJECT_ATTRIBUTES create;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&create, FOO_CONTEXT);
  WDFMEMORY memory = NewMemory(8, &create);
  GetFooContext(memory)->value = 7;

  WDF_OBJECT_ATTRIBUTES again;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&again, FOO_CONTEXT);
  PVOID context = nullptr;
  const NTSTATUS status = WdfObjectAllocateContext(memory, &again, &context);
  EXPECT_EQ(status, STATUS_OBJECT_NAME_EXISTS);
  EXPECT_TRUE(NT_SUCCESS(status)) << "0x40000000 passes NT_SUCCESS";
  EXPECT_EQ(context, GetFooContext(memory));
  EXPECT_EQ(static_cast<FOO_CONTEXT*>(context)->value, 7u);
  WdfObjectDelete(memory);
}

TEST_F(ObjectTest, Notes6_AllocateContextWithNullAttributesIsParentNotSpecified) {
  WDFMEMORY memory = NewMemory();
  PVOID context = reinterpret_cast<PVOID>(0x1234);
  EXPECT_EQ(WdfObjectAllocateContext(memory, nullptr, &context), STATUS_WDF_PARENT_NOT_SPECIFIED);
  EXPECT_EQ(context, reinterpret_cast<PVOID>(0x1234)) << "*Context is not written on failure";
  WdfObjectDelete(memory);
}

TEST_F(ObjectTest, Notes6_AllocateContextWithWrongSizeIsInfoLengthMismatch) {
  WDFMEMORY memory = NewMemory();
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, FOO_CONTEXT);
  attributes.Size = 1;
  PVOID context = nullptr;
  EXPECT_EQ(WdfObjectAllocateContext(memory, &attributes, &context), STATUS_INFO_LENGTH_MISMATCH);
  WdfObjectDelete(memory);
}

TEST_F(ObjectTest, Notes6_AllocateContextWithParentIsParentAssignmentNotAllowed) {
  WDFMEMORY memory = NewMemory();
  WDFMEMORY other = NewMemory();
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, FOO_CONTEXT);
  attributes.ParentObject = other;
  PVOID context = nullptr;
  EXPECT_EQ(WdfObjectAllocateContext(memory, &attributes, &context), STATUS_WDF_PARENT_ASSIGNMENT_NOT_ALLOWED);
  WdfObjectDelete(memory);
  WdfObjectDelete(other);
}

TEST_F(ObjectTest, Notes6_AllocateContextWithParentBefore1_11IsAllowed) {
  wdfsim::SimulationOptions options;
  options.kmdf_minor_version = 9;
  Restart(options);
  WDFMEMORY memory = NewMemory();
  WDFMEMORY other = NewMemory();
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, FOO_CONTEXT);
  attributes.ParentObject = other;
  PVOID context = nullptr;
  EXPECT_EQ(WdfObjectAllocateContext(memory, &attributes, &context), STATUS_SUCCESS);
  WdfObjectDelete(memory);
  WdfObjectDelete(other);
}

TEST_F(ObjectTest, Notes6_AllocateContextWithoutTypeIsObjectNameInvalid) {
  WDFMEMORY memory = NewMemory();
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  PVOID context = nullptr;
  const NTSTATUS status = WdfObjectAllocateContext(memory, &attributes, &context);
  EXPECT_EQ(status, STATUS_OBJECT_NAME_INVALID);
  EXPECT_EQ(static_cast<uint32_t>(status), 0xC0000033u);
  WdfObjectDelete(memory);
}

TEST_F(ObjectTest, Notes6_AllocateContextOnDeletedButReferencedObjectIsDeletePending) {
  WDFMEMORY memory = NewMemory();
  WdfObjectReference(memory);
  WdfObjectDelete(memory);
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, FOO_CONTEXT);
  PVOID context = nullptr;
  EXPECT_EQ(WdfObjectAllocateContext(memory, &attributes, &context), STATUS_DELETE_PENDING);
  WdfObjectDereference(memory);
}

TEST_F(ObjectTest, Notes6_AllocateContextOnRequestMemoryHandleIsObjectPathInvalid) {
  WDFREQUEST request = PresentWrite(8);
  WDFMEMORY memory = nullptr;
  ASSERT_EQ(WdfRequestRetrieveInputMemory(request, &memory), STATUS_SUCCESS);
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, FOO_CONTEXT);
  PVOID context = nullptr;
  EXPECT_EQ(WdfObjectAllocateContext(memory, &attributes, &context), STATUS_OBJECT_PATH_INVALID);
  WdfRequestComplete(request, STATUS_SUCCESS);
}

TEST_F(ObjectTest, Notes6_AllocatedContextCallbacksRunAtDeleteInAllocationOrder) {
  WDF_OBJECT_ATTRIBUTES first = CallbackAttributes();
  WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(&first, FOO_CONTEXT);
  WDFMEMORY memory = NewMemory(8, &first);
  WDF_OBJECT_ATTRIBUTES second = CallbackAttributes();
  WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(&second, BAR_CONTEXT);
  PVOID context = nullptr;
  ASSERT_EQ(WdfObjectAllocateContext(memory, &second, &context), STATUS_SUCCESS);
  EXPECT_NE(context, static_cast<PVOID>(GetFooContext(memory)));

  WdfObjectDelete(memory);
  // Each context's EvtCleanupCallback and EvtDestroyCallback runs once.
  EXPECT_EQ(Log().cleanups.size(), 2u);
  EXPECT_EQ(Log().destroys.size(), 2u);
}

}  // namespace
}  // namespace wdfsim_test
