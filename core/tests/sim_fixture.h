// The fixture every core unit test uses: one DefaultChoiceSource (ready work
// never runs at a scheduling point, so a completed IRP stays alive until
// RunReadyWork or Unload) and the Simulation that is current while the test
// runs.
#ifndef WDFSIM_CORE_TESTS_SIM_FIXTURE_H_
#define WDFSIM_CORE_TESTS_SIM_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "wdfsim/harness/choice_source.h"
#include "wdfsim/harness/simulation.h"
#include "wdfsim/harness/verifier.h"
#include "wdfsim/wdf.h"

namespace wdfsim_test {

// What the EvtCleanupCallback / EvtDestroyCallback of the tests saw, in order.
struct CallbackLog {
  std::vector<WDFOBJECT> cleanups;
  std::vector<WDFOBJECT> destroys;
  void Clear() {
    cleanups.clear();
    destroys.clear();
  }
  bool CleanedUp(WDFOBJECT o) const { return Index(cleanups, o) >= 0; }
  bool Destroyed(WDFOBJECT o) const { return Index(destroys, o) >= 0; }
  static int Index(const std::vector<WDFOBJECT>& v, WDFOBJECT o) {
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == o) return static_cast<int>(i);
    }
    return -1;
  }
};

inline CallbackLog& Log() {
  static CallbackLog log;
  return log;
}

inline VOID RecordCleanup(WDFOBJECT object) { Log().cleanups.push_back(object); }
inline VOID RecordDestroy(WDFOBJECT object) { Log().destroys.push_back(object); }

class SimTest : public ::testing::Test {
 protected:
  SimTest() {
    Log().Clear();
    sim_ = std::make_unique<wdfsim::Simulation>(choices_);
  }
  ~SimTest() override {
    sim_.reset();
    Log().Clear();
  }

  // Replaces the simulation with one built with `options` (one at a time).
  void Restart(wdfsim::SimulationOptions options) {
    sim_.reset();
    sim_ = std::make_unique<wdfsim::Simulation>(choices_, options);
  }
  void RestartWithVerifierOff() {
    wdfsim::SimulationOptions options;
    options.kmdf_verifier = false;
    Restart(options);
  }

  wdfsim::Simulation& sim() { return *sim_; }
  const std::vector<wdfsim::Report>& reports() { return sim_->verifier().reports(); }
  size_t Count(wdfsim::RuleId rule) { return sim_->verifier().Count(rule); }
  // The name of the latest report's rule ("" when there is none).
  std::string LastRule() { return reports().empty() ? std::string() : std::string(reports().back().rule_info().name); }
  const wdfsim::Rule& LastRuleInfo() { return reports().back().rule_info(); }

  // Attributes carrying the recording cleanup and destroy callbacks.
  static WDF_OBJECT_ATTRIBUTES CallbackAttributes(WDFOBJECT parent = nullptr) {
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.EvtCleanupCallback = RecordCleanup;
    attributes.EvtDestroyCallback = RecordDestroy;
    attributes.ParentObject = parent;
    return attributes;
  }

  // A WdfMemoryCreate that must succeed.
  WDFMEMORY NewMemory(size_t size = 32, PWDF_OBJECT_ATTRIBUTES attributes = WDF_NO_OBJECT_ATTRIBUTES,
                      PVOID* buffer = nullptr) {
    WDFMEMORY memory = nullptr;
    const NTSTATUS status = WdfMemoryCreate(attributes, NonPagedPoolNx, 0, size, &memory, buffer);
    EXPECT_EQ(status, STATUS_SUCCESS);
    EXPECT_NE(memory, nullptr);
    return memory;
  }

  WDFREQUEST PresentRead(ULONG length, wdfsim::IoType io_type = wdfsim::IoType::kBuffered) {
    wdfsim::IoRequestSpec spec;
    spec.major_function = IRP_MJ_READ;
    spec.length = length;
    spec.io_type = io_type;
    return sim().PresentRequest(spec);
  }
  WDFREQUEST PresentWrite(ULONG length, uint8_t fill = 0, wdfsim::IoType io_type = wdfsim::IoType::kBuffered) {
    wdfsim::IoRequestSpec spec;
    spec.major_function = IRP_MJ_WRITE;
    spec.length = length;
    spec.fill = fill;
    spec.io_type = io_type;
    return sim().PresentRequest(spec);
  }
  WDFREQUEST PresentIoctl(ULONG code, ULONG input_length, ULONG output_length, uint8_t fill = 0,
                          bool kernel_mode = false, UCHAR major = IRP_MJ_DEVICE_CONTROL) {
    wdfsim::IoRequestSpec spec;
    spec.major_function = major;
    spec.io_control_code = code;
    spec.input_length = input_length;
    spec.output_length = output_length;
    spec.fill = fill;
    spec.kernel_mode_requestor = kernel_mode;
    return sim().PresentRequest(spec);
  }

  const wdfsim::IoOutcome& Outcome(size_t i = 0) { return sim().io_outcomes().at(i); }

  wdfsim::DefaultChoiceSource choices_;
  std::unique_ptr<wdfsim::Simulation> sim_;
};

constexpr ULONG IoctlCode(ULONG method, ULONG function = 0x800) {
  return CTL_CODE(FILE_DEVICE_UNKNOWN, function, method, FILE_ANY_ACCESS);
}

}  // namespace wdfsim_test

#endif  // WDFSIM_CORE_TESTS_SIM_FIXTURE_H_
