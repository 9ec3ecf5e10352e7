// Schedule exploration: runs one program under many schedules, each a
// different list of answers to the simulation's choices, and groups the
// outcomes. Exhaustive mode enumerates every schedule depth-first (bounded);
// PCT-style mode draws schedules that deviate from the default at a few
// random choice points (Burckhardt et al.: most concurrency bugs need only a
// few such deviations). Every schedule replays: it is the program with its
// answers as the "choices" line.
#ifndef WDFSIM_FUZZ_EXPLORER_H_
#define WDFSIM_FUZZ_EXPLORER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "interpreter.h"
#include "program/program.h"

namespace wdfsim::program {

struct ExploreOptions {
  enum class Strategy { kExhaustive, kPct };
  Strategy strategy = Strategy::kExhaustive;
  uint64_t max_schedules = 100000;  // exhaustive: stop after this many
  uint32_t max_depth = 64;          // exhaustive: choices past this depth take the default
  uint64_t runs = 1000;             // PCT: schedules to draw
  uint32_t deviations = 2;          // PCT: non-default answers per schedule
  uint64_t seed = 1;                // PCT
};

// One schedule's result, as the explorer groups it.
struct ScheduleResult {
  std::vector<uint8_t> choices;  // the answers given, in order
  RunResult run;
};

struct ExploreResult {
  uint64_t schedules = 0;
  bool exhaustive_complete = false;  // every schedule within the bounds ran
  // Distinct outcomes (a one-line summary) and how many schedules had each.
  std::map<std::string, uint64_t> outcomes;
  // The first schedule whose verdict had a finding, if any.
  std::optional<Program> first_failure;
};

// `check` may add its own verdict on a schedule (return a non-empty string to
// mark it failing); the default marks any report of break or bug-check severity.
ExploreResult Explore(const Program& program, const ExploreOptions& options,
                      const std::function<std::string(const ScheduleResult&)>& check = nullptr);

// The one-line summary a schedule is grouped by: each op's outcome and the verdict.
std::string Summarize(const RunResult& run);

}  // namespace wdfsim::program

#endif  // WDFSIM_FUZZ_EXPLORER_H_
