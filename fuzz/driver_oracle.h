// How a fuzz target that runs driver code directly (examples/) reports a
// finding: a stable "ORACLE:<name>" line, the detail and the trace tail, then
// abort so the engine keeps the input; and which verifier reports count.
#ifndef WDFSIM_FUZZ_DRIVER_ORACLE_H_
#define WDFSIM_FUZZ_DRIVER_ORACLE_H_

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "wdfsim/harness/simulation.h"

namespace wdfsim::fuzz {

[[noreturn]] inline void ReportFinding(const char* oracle, const std::string& detail, const Simulation* sim) {
  std::fprintf(stderr, "ORACLE:%s %s\n", oracle, detail.c_str());
  if (sim != nullptr) std::fprintf(stderr, "%s\n", sim->trace().FormatTail(40, sim->trace().size()).c_str());
  std::fflush(stderr);
  std::abort();
}

// A lower IRP pended forever whose cancel is ignored: the machine hangs
// whatever the driver does, so the environment, not the driver, is at fault.
inline bool HangsForever(const LowerIrpRecord& r) {
  return r.answer.kind == LowerAnswer::Kind::kPendForever && r.answer.on_cancel == LowerAnswer::OnCancel::kIgnore &&
         !r.completed;
}

inline bool AnyHangsForever(const LowerDevice& lower) {
  for (const LowerIrpRecord& r : lower.irps()) {
    if (HangsForever(r)) return true;
  }
  return false;
}

// Every report before `judged_end` that is not lint is a finding; Liveness
// is excused when the environment hangs.
inline void JudgeReports(Simulation& sim, bool hung, size_t judged_end = static_cast<size_t>(-1)) {
  const auto& reports = sim.verifier().reports();
  for (size_t i = 0; i < reports.size() && i < judged_end; ++i) {
    const Report& report = reports[i];
    if (report.rule_info().severity == Severity::kLint) continue;
    if (hung && report.rule == RuleId::kLiveness) continue;
    ReportFinding(report.rule_info().name.data(), report.Format(sim.trace()), nullptr);
  }
}

}  // namespace wdfsim::fuzz

#endif  // WDFSIM_FUZZ_DRIVER_ORACLE_H_
