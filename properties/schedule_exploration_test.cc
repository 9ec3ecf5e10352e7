// Exhaustive schedule exploration of the canonical races (SEMANTICS-WDF 1.5):
// every schedule of each small scenario ends with exactly one completion and
// a status in the allowed set, and the race is real (both outcomes occur).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "explorer.h"
#include "program/program.h"
#include "wdfsim/ntstatus.h"

namespace {

using wdfsim::program::CallbackEvent;
using wdfsim::program::Explore;
using wdfsim::program::ExploreOptions;
using wdfsim::program::ExploreResult;
using wdfsim::program::Program;
using wdfsim::program::ScheduleResult;

Program Parse(const std::string& text) {
  auto program = wdfsim::program::ParseText("wdfsim-program 1\n" + text);
  EXPECT_TRUE(program.ok()) << program.status();
  return *program;
}

// The completion-routine calls of a schedule, with the status each saw.
std::vector<uint32_t> Completions(const ScheduleResult& schedule) {
  std::vector<uint32_t> statuses;
  for (const auto& op : schedule.run.outcome.ops) {
    for (const auto& callback : op.callbacks) {
      if (callback.kind == CallbackEvent::Kind::kCompletion) statuses.push_back(callback.status);
    }
  }
  return statuses;
}

// Explores every schedule; `check` returns "" for a good schedule.
ExploreResult ExploreAll(const Program& program, std::set<uint32_t>* seen,
                         const std::function<std::string(const ScheduleResult&, std::set<uint32_t>*)>& check) {
  ExploreOptions options;
  options.strategy = ExploreOptions::Strategy::kExhaustive;
  options.max_schedules = 20000;
  ExploreResult result =
      Explore(program, options, [&](const ScheduleResult& schedule) { return check(schedule, seen); });
  EXPECT_TRUE(result.exhaustive_complete) << result.schedules << " schedules";
  EXPECT_FALSE(result.first_failure.has_value()) << wdfsim::program::ToText(*result.first_failure);
  return result;
}

constexpr uint32_t kSuccess = STATUS_SUCCESS;
const uint32_t kIoTimeout = static_cast<uint32_t>(STATUS_IO_TIMEOUT);
const uint32_t kCancelled = static_cast<uint32_t>(STATUS_CANCELLED);

TEST(CanonicalRaces, SyncTimeoutAgainstCompletionAtTheSameInstant) {
  // The lower device completes SUCCESS, 4 at 10 ms; the send times out at 10 ms.
  const Program program = Parse(
      "target_create dst=h0 answer=pend status=STATUS_SUCCESS information=4 delay_ms=10 on_cancel=cancelled\n"
      "send_synchronously kind=read target=h0 req=null length=16 flags=1 timeout_ms=-10\n");
  std::set<uint32_t> seen;
  const ExploreResult result = ExploreAll(program, &seen, [](const ScheduleResult& s, std::set<uint32_t>* seen) {
    const auto& send = s.run.outcome.ops[1];
    if (!send.status) return std::string("no status");
    seen->insert(*send.status);
    if (*send.status == kSuccess) return send.value == 4u ? std::string() : std::string("BytesReturned is not 4");
    if (*send.status == kIoTimeout) return send.value == 0u ? std::string() : std::string("BytesReturned is not 0");
    return "status " + wdfsim::program::StatusName(*send.status);
  });
  EXPECT_EQ(seen, (std::set<uint32_t>{kSuccess, kIoTimeout})) << "both orders occur";
  EXPECT_GT(result.schedules, 1u);
}

TEST(CanonicalRaces, CancelFromAnotherThreadAgainstCompletion) {
  // The completion is due at 10 ms; the driver thread runs on until 10 ms and
  // cancels: which goes first is the schedule's.
  const Program program = Parse(
      "target_create dst=h0 answer=pend status=STATUS_SUCCESS information=4 delay_ms=10 on_cancel=cancelled\n"
      "request_create dst=h1\nmemory_create dst=h2 size=16\nformat_read target=h0 req=h1 mem=h2\n"
      "request_set_completion_routine req=h1 routine=1 action=0\n"
      "request_send req=h1 target=h0 flags=0 timeout_ms=0\n"
      "pass_time ticks=100000\nrequest_cancel_sent req=h1\nadvance_time ticks=1000000\n"
      "object_delete obj=h1\nobject_delete obj=h2\n");
  std::set<uint32_t> seen;
  ExploreAll(program, &seen, [](const ScheduleResult& s, std::set<uint32_t>* seen) {
    const std::vector<uint32_t> completions = Completions(s);
    if (completions.size() != 1) return std::to_string(completions.size()) + " completions";
    seen->insert(completions[0]);
    if (completions[0] != kSuccess && completions[0] != kCancelled) return std::string("unexpected status");
    return s.run.verdict.clean() ? std::string() : s.run.verdict.Summary();
  });
  EXPECT_EQ(seen, (std::set<uint32_t>{kSuccess, kCancelled})) << "both orders occur";
}

TEST(CanonicalRaces, TimerAgainstAStoppedTargetsRestart) {
  // Pended in a stopped target with a 10 ms timeout; the target restarts at
  // the instant the timer falls due. Timer first: the pended request is
  // cancelled (STATUS_IO_TIMEOUT). Start first: it is sent, its timer dropped,
  // and the device completes it.
  const Program program = Parse(
      "target_create dst=h0 answer=inline status=STATUS_SUCCESS information=4\n"
      "target_stop target=h0 action=leave\n"
      "request_create dst=h1\nmemory_create dst=h2 size=16\nformat_read target=h0 req=h1 mem=h2\n"
      "request_set_completion_routine req=h1 routine=1 action=0\n"
      "request_send req=h1 target=h0 flags=1 timeout_ms=-10\n"
      "pass_time ticks=100000\ntarget_start target=h0\nadvance_time ticks=1000000\n"
      "object_delete obj=h1\nobject_delete obj=h2\n");
  std::set<uint32_t> seen;
  ExploreAll(program, &seen, [](const ScheduleResult& s, std::set<uint32_t>* seen) {
    const std::vector<uint32_t> completions = Completions(s);
    if (completions.size() != 1) return std::to_string(completions.size()) + " completions";
    seen->insert(completions[0]);
    if (completions[0] != kSuccess && completions[0] != kIoTimeout) return std::string("unexpected status");
    return s.run.verdict.clean() ? std::string() : s.run.verdict.Summary();
  });
  EXPECT_EQ(seen, (std::set<uint32_t>{kSuccess, kIoTimeout})) << "both orders occur";
}

}  // namespace
