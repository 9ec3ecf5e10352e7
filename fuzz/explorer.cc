#include "explorer.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace wdfsim::program {
namespace {

// Answers from a script, then the default, recording every choice point
// (n, answer) so the explorer knows what else could have been chosen.
class RecordingSource final : public ChoiceSource {
 public:
  explicit RecordingSource(const std::vector<uint8_t>& script) : script_(script) {}
  uint32_t Choose(uint32_t n, ChoiceKind) override {
    const uint32_t answer = pos_ < script_.size() ? script_[pos_] % n : 0;
    ++pos_;
    made_.emplace_back(n, answer);
    return answer;
  }
  const std::vector<std::pair<uint32_t, uint32_t>>& made() const { return made_; }

 private:
  const std::vector<uint8_t>& script_;
  size_t pos_ = 0;
  std::vector<std::pair<uint32_t, uint32_t>> made_;
};

}  // namespace

std::string Summarize(const RunResult& run) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < run.outcome.ops.size(); ++i) {
    const OpOutcome& op = run.outcome.ops[i];
    if (op.executed && !(op.status || op.value || !op.rules.empty() || op.bugcheck || !op.callbacks.empty())) continue;
    parts.push_back(absl::StrCat(i, ":", op.ToString()));
  }
  parts.push_back(absl::StrCat("verdict: ", run.verdict.Summary()));
  return absl::StrJoin(parts, "; ");
}

ExploreResult Explore(const Program& program, const ExploreOptions& options,
                      const std::function<std::string(const ScheduleResult&)>& check) {
  ExploreResult result;
  auto run_one = [&](const std::vector<uint8_t>& script, std::vector<std::pair<uint32_t, uint32_t>>* made) {
    RecordingSource source(script);
    InterpreterOptions interpreter;
    interpreter.choice_source = &source;
    ScheduleResult schedule;
    schedule.run = Run(program, interpreter);
    *made = source.made();
    for (const auto& [n, answer] : *made) schedule.choices.push_back(static_cast<uint8_t>(answer));
    ++result.schedules;
    std::string verdict = check ? check(schedule) : std::string();
    if (verdict.empty() && !check && !schedule.run.verdict.clean()) verdict = schedule.run.verdict.Summary();
    result.outcomes[Summarize(schedule.run) + (verdict.empty() ? "" : "  [FAIL: " + verdict + "]")]++;
    if (!verdict.empty() && !result.first_failure) {
      Program failing = program;
      failing.choices = schedule.choices;
      result.first_failure = failing;
    }
  };

  std::vector<std::pair<uint32_t, uint32_t>> made;
  if (options.strategy == ExploreOptions::Strategy::kPct) {
    std::mt19937_64 rng(options.seed);
    // The default schedule first: it also tells how many choice points there are.
    run_one({}, &made);
    const size_t points = std::max<size_t>(made.size(), 1);
    for (uint64_t r = 1; r < options.runs; ++r) {
      std::vector<uint8_t> script(points, 0);
      for (uint32_t d = 0; d < options.deviations; ++d) script[rng() % points] = static_cast<uint8_t>(1 + rng() % 255);
      run_one(script, &made);
    }
    return result;
  }

  // Depth-first over answer lists: run, then advance the last choice point
  // that still has an untried answer and drop everything after it.
  std::vector<uint8_t> script;
  while (result.schedules < options.max_schedules) {
    run_one(script, &made);
    size_t depth = std::min<size_t>(made.size(), options.max_depth);
    bool advanced = false;
    while (depth > 0) {
      const auto [n, answer] = made[depth - 1];
      if (answer + 1 < n && answer + 1 < 256) {
        script.assign(depth, 0);
        for (size_t i = 0; i + 1 < depth; ++i) script[i] = static_cast<uint8_t>(made[i].second);
        script[depth - 1] = static_cast<uint8_t>(answer + 1);
        advanced = true;
        break;
      }
      --depth;
    }
    if (!advanced) {
      result.exhaustive_complete = true;
      break;
    }
  }
  return result;
}

}  // namespace wdfsim::program
