// Runs a program against the core: each op becomes the DDI call it names,
// in a fresh Simulation whose ChoiceSource answers from the program's choice
// bytes. Records what each op produced (RunOutcome) for comparison with the
// reference model, and the verdict and trace for people.
#ifndef WDFSIM_FUZZ_INTERPRETER_H_
#define WDFSIM_FUZZ_INTERPRETER_H_

#include <string>

#include "program/outcome.h"
#include "program/program.h"
#include "wdfsim/harness/simulation.h"

namespace wdfsim::program {

struct InterpreterOptions {
  SimulationOptions simulation;
  // Keep the formatted trace and reports (replay); off in fuzzing loops.
  bool keep_text = false;
  // Answers the simulation's choices instead of the program's choice bytes
  // (the schedule explorer).
  ChoiceSource* choice_source = nullptr;
};

struct RunResult {
  RunOutcome outcome;
  Verdict verdict;
  std::string reports_text;  // each report with its trace tail (keep_text)
  std::string trace_text;    // the whole trace (keep_text)
  // Completion routines the program's requests received, and the sends the
  // framework accepted (WdfRequestSend returned TRUE, send-and-forget
  // aside): a routine runs at most once per accepted send.
  uint32_t completion_calls = 0;
  uint32_t accepted_sends = 0;
};

RunResult Run(const Program& program, const InterpreterOptions& options = {});

}  // namespace wdfsim::program

#endif  // WDFSIM_FUZZ_INTERPRETER_H_
