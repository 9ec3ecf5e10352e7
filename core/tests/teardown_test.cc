// Driver unload and what it reports about what the driver left behind
// (SEMANTICS-WDF 6.3; RequestCompleted of SEMANTICS-WDM B.1).
#include <cstring>

#include "sim_fixture.h"

namespace wdfsim_test {
namespace {

using wdfsim::RuleId;
using wdfsim::Severity;

class TeardownTest : public SimTest {};

TEST_F(TeardownTest, Sec6_3_CleanRunHasCleanVerdict) {
  WDFREQUEST request = PresentRead(8);
  PVOID buffer = nullptr;
  size_t length = 0;
  ASSERT_EQ(WdfRequestRetrieveOutputBuffer(request, 8, &buffer, &length), STATUS_SUCCESS);
  memset(buffer, 0x4B, length);
  WDFMEMORY scratch = NewMemory(16);
  WdfObjectDelete(scratch);
  WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, 8);

  sim().Unload();

  EXPECT_TRUE(sim().unloaded());
  const wdfsim::Verdict verdict = sim().verdict();
  EXPECT_TRUE(verdict.clean()) << verdict.Summary();
  EXPECT_FALSE(verdict.bugcheck);
  EXPECT_TRUE(verdict.reports.empty());
  EXPECT_EQ(verdict.Summary(), "clean");
  EXPECT_EQ(verdict.trace_events, sim().trace().size());
  EXPECT_EQ(verdict.trace_hash, sim().trace().Hash());
  // Unload runs the I/O manager's pending work: the APC delivered the data.
  ASSERT_TRUE(Outcome().completed);
  EXPECT_EQ(Outcome().data, std::vector<uint8_t>(8, 0x4B));
}

TEST_F(TeardownTest, WdmB1_NeverCompletedPresentedRequestIsRequestCompleted) {
  WDFREQUEST request = PresentWrite(4);
  (void)request;
  sim().Unload();
  EXPECT_EQ(Count(RuleId::kRequestCompleted), 1u);
  EXPECT_EQ(reports().size(), 1u) << sim().verdict().Summary();
  EXPECT_EQ(LastRule(), "RequestCompleted");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_FALSE(sim().verdict().bugcheck);
  EXPECT_FALSE(sim().verdict().clean());
  EXPECT_NE(sim().verdict().Summary().find("RequestCompleted"), std::string::npos);
}

TEST_F(TeardownTest, WdmB1_OneReportPerNeverCompletedRequest) {
  PresentRead(4);
  WDFREQUEST completed = PresentRead(4);
  PresentWrite(4);
  WdfRequestComplete(completed, STATUS_SUCCESS);
  sim().Unload();
  EXPECT_EQ(Count(RuleId::kRequestCompleted), 2u);
}

TEST_F(TeardownTest, Sec6_3_NeverDeletedMemoryIsObjectLeakAndIsReclaimed) {
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDFMEMORY memory = NewMemory(8, &attributes);
  sim().Unload();
  EXPECT_EQ(Count(RuleId::kObjectLeak), 1u);
  EXPECT_EQ(Count(RuleId::kReferenceLeak), 0u);
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  // Deleting WDFDRIVER reclaims it, running its callbacks.
  EXPECT_TRUE(Log().CleanedUp(memory));
  EXPECT_TRUE(Log().Destroyed(memory));
  EXPECT_FALSE(sim().verdict().clean());
}

TEST_F(TeardownTest, Sec6_3_OnlyTopLevelLeakIsReported) {
  // A never-deleted child of a never-deleted parent is reclaimed with it.
  WDFMEMORY parent = NewMemory(8);
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes(parent);
  WDFMEMORY child = NewMemory(8, &attributes);
  sim().Unload();
  EXPECT_EQ(Count(RuleId::kObjectLeak), 1u);
  EXPECT_TRUE(Log().Destroyed(child));
}

TEST_F(TeardownTest, Sec6_3_NeverDeletedDriverRequestIsObjectLeak) {
  WDFREQUEST request = nullptr;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, nullptr, &request), STATUS_SUCCESS);
  sim().Unload();
  EXPECT_EQ(Count(RuleId::kObjectLeak), 1u);
}

TEST_F(TeardownTest, Sec6_3_DeletedButReferencedObjectIsReferenceLeak) {
  WDF_OBJECT_ATTRIBUTES attributes = CallbackAttributes();
  WDFMEMORY memory = NewMemory(8, &attributes);
  WdfObjectReference(memory);
  WdfObjectDelete(memory);
  sim().Unload();
  EXPECT_EQ(Count(RuleId::kReferenceLeak), 1u);
  EXPECT_EQ(Count(RuleId::kObjectLeak), 0u);
  EXPECT_EQ(LastRule(), "ReferenceLeak");
  EXPECT_EQ(LastRuleInfo().severity, Severity::kBreak);
  EXPECT_FALSE(Log().Destroyed(memory)) << "nobody released the reference";
}

TEST_F(TeardownTest, Sec6_3_NeverDeletedAndReferencedIsReportedOnceAsObjectLeak) {
  WDFMEMORY memory = NewMemory(8);
  WdfObjectReference(memory);
  sim().Unload();
  EXPECT_EQ(Count(RuleId::kObjectLeak), 1u);
  EXPECT_EQ(Count(RuleId::kReferenceLeak), 0u);
}

TEST_F(TeardownTest, Sec6_3_CompletedRequestStillReferencedIsReferenceLeak) {
  WDFREQUEST request = PresentRead(4);
  WdfObjectReference(request);
  WdfRequestComplete(request, STATUS_SUCCESS);
  sim().Unload();
  EXPECT_EQ(Count(RuleId::kRequestCompleted), 0u);
  EXPECT_EQ(Count(RuleId::kReferenceLeak), 1u);
}

TEST_F(TeardownTest, Sec6_3_UnloadTwiceIsNoOp) {
  PresentRead(4);
  sim().Unload();
  const size_t reports_after_first = reports().size();
  const size_t events_after_first = sim().trace().size();
  sim().Unload();
  EXPECT_EQ(reports().size(), reports_after_first);
  EXPECT_EQ(sim().trace().size(), events_after_first);
}

TEST_F(TeardownTest, Sec6_3_EmptyDriverUnloadsClean) {
  sim().Unload();
  EXPECT_TRUE(sim().unloaded());
  EXPECT_TRUE(sim().verdict().clean());
  EXPECT_EQ(sim().driver(), nullptr) << "the driver object is gone";
}

}  // namespace
}  // namespace wdfsim_test
