// The explorer finds a planted race: this binary links the core built with a
// deliberately wrong timer path (the send timer completes the request without
// taking the completion-ownership count). Exploring the async timeout
// scenario must find a schedule with two completions, write it as a program,
// and that program must replay the failure bit for bit.
#include <gtest/gtest.h>

#include "explorer.h"
#include "program/program.h"

namespace {

using wdfsim::program::CallbackEvent;
using wdfsim::program::ScheduleResult;

size_t Completions(const wdfsim::program::RunResult& run) {
  size_t n = 0;
  for (const auto& op : run.outcome.ops) {
    for (const auto& callback : op.callbacks) n += callback.kind == CallbackEvent::Kind::kCompletion;
  }
  return n;
}

TEST(PlantedTimerBug, ExplorerFindsADoubleCompletionAndItReplays) {
  auto program = wdfsim::program::ParseText(
      "wdfsim-program 1\n"
      "target_create dst=h0 answer=forever status=STATUS_SUCCESS on_cancel=cancelled\n"
      "request_create dst=h1\nmemory_create dst=h2 size=16\nformat_read target=h0 req=h1 mem=h2\n"
      "request_set_completion_routine req=h1 routine=1 action=0\n"
      "request_send req=h1 target=h0 flags=1 timeout_ms=-10\n"
      "advance_time ticks=1000000\nobject_delete obj=h2\n");
  ASSERT_TRUE(program.ok()) << program.status();
  wdfsim::program::ExploreOptions options;
  const auto result = wdfsim::program::Explore(*program, options, [](const ScheduleResult& s) {
    if (Completions(s.run) != 1) return std::to_string(Completions(s.run)) + " completions";
    return s.run.verdict.clean() ? std::string() : s.run.verdict.Summary();
  });
  ASSERT_TRUE(result.first_failure.has_value()) << "the explorer missed the planted race";
  // The failing schedule is a program; run as is, it fails the same way.
  const wdfsim::program::RunResult replay = wdfsim::program::Run(*result.first_failure);
  EXPECT_TRUE(Completions(replay) != 1 || !replay.verdict.clean()) << wdfsim::program::ToText(*result.first_failure);
  const wdfsim::program::RunResult again = wdfsim::program::Run(*result.first_failure);
  EXPECT_EQ(replay.verdict.trace_hash, again.verdict.trace_hash);
}

}  // namespace
