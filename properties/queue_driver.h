// A small KMDF test driver with one device and its I/O queues (as
// queue_model::DeviceConfig describes them), loaded into a Simulation, and the
// glue that runs the queue model's ops on it and reports what the core did in
// the model's terms. Shared by queue_properties_test.cc and
// fuzz/queue_fuzzer.cc, which compare every op with the reference model.
#ifndef WDFSIM_PROPERTIES_QUEUE_DRIVER_H_
#define WDFSIM_PROPERTIES_QUEUE_DRIVER_H_

#include <memory>
#include <string>
#include <string_view>  // wdfsim/harness/verifier.h uses it
#include <vector>

#include "model/queue_model.h"
#include "wdfsim/harness/simulation.h"

namespace wdfsim::queue_driver {

// What one op did on the core.
struct Observation {
  queue_model::Step step;                                 // callbacks and completions made inside the DDI
  std::vector<queue_model::Callback> late_callbacks;      // made by RunReadyWork after it returned
  std::vector<queue_model::Completion> late_completions;  // likewise
  std::vector<std::string> unmapped_reports;              // non-lint reports with no model counterpart
};

// A finding: empty `oracle` means core and model agree.
struct Disagreement {
  std::string oracle;  // stable name, e.g. "QueueStep"
  std::string detail;  // one line
  explicit operator bool() const { return !oracle.empty(); }
};

class QueueRig {
 public:
  QueueRig(ChoiceSource& choices, const queue_model::DeviceConfig& config);
  ~QueueRig();
  QueueRig(const QueueRig&) = delete;
  QueueRig& operator=(const QueueRig&) = delete;

  // DriverEntry, then PnP adds the device. False with a reason if it failed.
  bool Load(std::string* error);
  Observation Run(const queue_model::Op& op);
  // Driver unload; the non-lint reports it raised (by rule name).
  std::vector<std::string> Unload();

  Simulation& sim() { return *sim_; }
  bool bugchecked() const { return bugchecked_; }

 private:
  std::unique_ptr<Simulation> sim_;
  queue_model::DeviceConfig config_;
  bool bugchecked_ = false;
};

// Runs `op` on the model and, when the model specifies it, on the core, and
// compares. `skipped` (if given) says the op was unspecified and not run.
Disagreement Compare(QueueRig& rig, queue_model::QueueModel& model, const queue_model::Op& op, bool* skipped = nullptr);
// Brings the device to rest (model.Quiesce()), unloads, and checks that
// teardown reports nothing and that every request reached its originator
// exactly once with the status the model gave it.
Disagreement Finish(QueueRig& rig, queue_model::QueueModel& model);

}  // namespace wdfsim::queue_driver

#endif  // WDFSIM_PROPERTIES_QUEUE_DRIVER_H_
