// A run is a pure function of its program and its choices (DESIGN.md): the
// same sequence of DDIs gives the same trace and the same Hash().
#include <cstring>
#include <functional>
#include <memory>

#include "sim_fixture.h"

namespace wdfsim_test {
namespace {

struct RunResult {
  uint64_t hash = 0;
  size_t events = 0;
  std::string summary;
  std::string formatted;
};

// One scenario touching objects, memory, requests, the APC and unload.
void Scenario(wdfsim::Simulation& sim, NTSTATUS final_status) {
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.EvtCleanupCallback = RecordCleanup;
  WDFMEMORY parent = nullptr;
  WdfMemoryCreate(&attributes, NonPagedPoolNx, 0, 32, &parent, nullptr);
  attributes.ParentObject = parent;
  WDFMEMORY child = nullptr;
  WdfMemoryCreate(&attributes, PagedPool, 0, 8, &child, nullptr);
  unsigned char bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  WdfMemoryCopyFromBuffer(child, 0, bytes, sizeof(bytes));

  wdfsim::IoRequestSpec spec;
  spec.major_function = IRP_MJ_READ;
  spec.length = 8;
  WDFREQUEST read = sim.PresentRequest(spec);
  WDFMEMORY output = nullptr;
  WdfRequestRetrieveOutputMemory(read, &output);
  WdfMemoryCopyFromBuffer(output, 0, bytes, sizeof(bytes));
  WdfRequestCompleteWithInformation(read, final_status, 8);

  spec.major_function = IRP_MJ_DEVICE_CONTROL;
  spec.io_control_code = IoctlCode(METHOD_BUFFERED);
  spec.input_length = 4;
  spec.output_length = 4;
  WDFREQUEST ioctl = sim.PresentRequest(spec);
  WdfObjectReference(ioctl);
  WdfRequestComplete(ioctl, STATUS_WDF_BUSY);
  WdfRequestComplete(ioctl, STATUS_SUCCESS);  // DoubleCompletion break
  WdfObjectDereference(ioctl);
  sim.AdvanceTime(1000);
  WdfObjectDelete(parent);
  sim.Unload();
}

RunResult Execute(wdfsim::ChoiceSource& choices, NTSTATUS final_status = STATUS_SUCCESS) {
  Log().Clear();
  wdfsim::Simulation sim(choices);
  Scenario(sim, final_status);
  RunResult run;
  run.hash = sim.trace().Hash();
  run.events = sim.trace().size();
  run.summary = sim.verdict().Summary();
  run.formatted = sim.trace().FormatAll();
  EXPECT_EQ(sim.verdict().trace_hash, run.hash);
  return run;
}

TEST(DeterminismTest, Design_SameSequenceTwiceGivesSameTraceHash) {
  wdfsim::DefaultChoiceSource first_choices;
  const RunResult first = Execute(first_choices);
  wdfsim::DefaultChoiceSource second_choices;
  const RunResult second = Execute(second_choices);
  EXPECT_GT(first.events, 0u);
  EXPECT_EQ(first.hash, second.hash);
  EXPECT_EQ(first.events, second.events);
  EXPECT_EQ(first.summary, second.summary);
  EXPECT_EQ(first.formatted, second.formatted);
  EXPECT_NE(first.summary.find("DoubleCompletion"), std::string::npos) << first.summary;
}

TEST(DeterminismTest, Design_SameSeedGivesSameTraceHash) {
  wdfsim::RandomChoiceSource a(20240910);
  const RunResult first = Execute(a);
  wdfsim::RandomChoiceSource b(20240910);
  const RunResult second = Execute(b);
  EXPECT_EQ(first.hash, second.hash);
  EXPECT_EQ(first.formatted, second.formatted);
}

TEST(DeterminismTest, Design_SameScriptGivesSameTraceHash) {
  wdfsim::ScriptedChoiceSource a({1, 0, 1, 1, 0, 1});
  const RunResult first = Execute(a);
  wdfsim::ScriptedChoiceSource b({1, 0, 1, 1, 0, 1});
  const RunResult second = Execute(b);
  EXPECT_EQ(first.hash, second.hash);
}

TEST(DeterminismTest, Design_HashSeesADifferentStatus) {
  wdfsim::DefaultChoiceSource a;
  const RunResult success = Execute(a, STATUS_SUCCESS);
  wdfsim::DefaultChoiceSource b;
  const RunResult warning = Execute(b, STATUS_BUFFER_OVERFLOW);
  EXPECT_NE(success.hash, warning.hash);
}

TEST(DeterminismTest, Design_HashSeesADifferentSchedule) {
  // Letting the completion APC run at a scheduling point changes the trace.
  wdfsim::DefaultChoiceSource never;
  const RunResult deferred = Execute(never);
  wdfsim::ScriptedChoiceSource always(std::vector<uint32_t>(64, 1));
  const RunResult eager = Execute(always);
  EXPECT_NE(deferred.hash, eager.hash);
}

TEST(DeterminismTest, Design_ChoiceSourceDecidesWhenReadyWorkRuns) {
  // DefaultChoiceSource: the completion APC waits for RunReadyWork.
  {
    wdfsim::DefaultChoiceSource choices;
    wdfsim::Simulation sim(choices);
    wdfsim::IoRequestSpec spec;
    spec.length = 4;
    WdfRequestComplete(sim.PresentRequest(spec), STATUS_SUCCESS);
    WdfGetDriver();  // a scheduling point
    EXPECT_FALSE(sim.io_outcomes()[0].completed);
    sim.RunReadyWork();
    EXPECT_TRUE(sim.io_outcomes()[0].completed);
  }
  // A source answering 1 lets ready work run at the next DDI entry.
  {
    wdfsim::ScriptedChoiceSource choices({1});
    wdfsim::Simulation sim(choices);
    wdfsim::IoRequestSpec spec;
    spec.length = 4;
    WdfRequestComplete(sim.PresentRequest(spec), STATUS_SUCCESS);
    EXPECT_FALSE(sim.io_outcomes()[0].completed);
    WdfGetDriver();
    EXPECT_TRUE(sim.io_outcomes()[0].completed);
  }
}

}  // namespace
}  // namespace wdfsim_test
