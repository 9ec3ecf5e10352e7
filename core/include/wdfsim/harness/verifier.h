// The verifier's rule catalog and its reports. Each rule has a stable name
// (the DDI compliance rule name where Windows has one), the bug check that
// Windows raises for it where there is one, a one-line meaning, and the place
// in the model that checks it. `wdfsim rules` prints this catalog.
#ifndef WDFSIM_HARNESS_VERIFIER_H_
#define WDFSIM_HARNESS_VERIFIER_H_

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"

namespace wdfsim {

class Trace;

// How Windows answers a violation, and so how the model does (DESIGN.md,
// fidelity policy).
enum class Severity : uint8_t {
  kBugCheck,  // the machine stops: the report ends the run
  kBreak,     // a verifier break: reported, then execution continues as in the framework
  kLint,      // a static-analysis finding: reported, never a failure by default
};

enum class RuleId : uint16_t {
  // Objects and handles (SEMANTICS-WDF 0, 6).
  kInvalidHandle,
  kRequiredParameterNull,
  kObjectOverDereference,
  kObjectDeleteNotAllowed,
  kIrqlTooHigh,
  // Requests (SEMANTICS-WDF 3.5, 4.6-4.8, 4.10).
  kReqDelete,
  kDoubleCompletion,
  kRequestNotOwned,
  kCompleteWithMemoryReferenced,
  kRequestFreedWithMemoryReferenced,
  kInformationLengthMismatch,
  kRequestAlreadyCompleted,
  kRequestMemoryOverRelease,
  kRequestWithoutIrp,
  kRequestBufferUnavailable,
  kCompleteCancelable,
  kReuseWhileSent,
  kReuseInvalid,
  kDeleteWhileSent,
  kCompletionParamsInvalid,
  // Sending (SEMANTICS-WDF 1, 2, 4.2-4.5, 4.9).
  kRequestAlreadySent,
  kRequestFormattedValid,
  kReqCompletionRoutine,
  kSendOptionsInvalid,
  kSendAndForgetMisuse,
  kFormatNoMoreStackLocations,
  kFormatNullIrp,
  kSyncReqSend,
  kCompleteWhileSent,
  kFormatWhileSent,
  kMemoryCopyReadOnly,
  // WDM (SEMANTICS-WDM A.2-A.4, B.1).
  kMultipleIrpComplete,
  kCompleteRequestStatusCheck,
  kCompleteWithCancelRoutine,
  kCancelStateInCompletedIrp,
  kNoMoreStackLocations,
  kIoCompleteRequestIrql,
  kIoCallDriverIrql,
  kForwardedAtBadIrqlFsdSync,
  kIrqlIoApcLte,
  kIrqlIoPassive1,
  kKeWaitIrql,
  kKeWaitIrqlAboveDispatch,
  kCreatorMarkedPending,
  kMarkIrpPending,
  kMarkIrpPending2,
  kIoBuildSynchronousFsdRequestNoFree,
  kIrpFreedOnThreadList,
  kIrpDoubleFree,
  kIrpInUse,
  kIoAllocateComplete,
  kIoBuildSynchronousFsdRequestWait,
  kIoBuildSynchronousFsdRequestWaitTimeout,
  kIosbOnUnwoundStack,
  kEventOnUnwoundStack,
  kPendingReturnedNotPropagated,
  kCancelSpinLock,
  kMdlFreedLocked,
  kIrqlKeSetEvent,
  // Queues (SEMANTICS-WDF 5).
  kReadyNotifyMisuse,
  kQueueFatalError,
  kQueueRequestMisuse,
  kCancelableStateInvalid,
  kRetrieveFromIdleSequentialQueue,
  kLiveness,
  // Teardown (SEMANTICS-WDF 6.3, SEMANTICS-WDM B.1).
  kRequestCompleted,
  kDeferredRequestCompleted,
  kManualQueueStalled,
  kObjectLeak,
  kReferenceLeak,
  kIrpLeak,
  kCount,
};

struct Rule {
  RuleId id;
  std::string_view name;
  Severity severity;
  uint32_t bugcheck;  // 0 when Windows has none
  uint64_t p1;        // bug check parameter 1 (the WDF_VIOLATION code), 0 if none
  uint64_t p2;        // a fixed parameter 2 (subcode), 0 if none or variable
  std::string_view meaning;
  std::string_view checked_in;
};

absl::Span<const Rule> RuleCatalog();
const Rule& GetRule(RuleId id);
// Looks a rule up by its name; nullptr if there is none.
const Rule* FindRule(std::string_view name);
const char* SeverityName(Severity severity);

// An object a report is about, described as the trace names it.
struct ReportObject {
  uint64_t handle = 0;
  std::string description;  // e.g. "WDFREQUEST#3 (presented IRP_MJ_READ, created at event 4)"
};

struct Report {
  RuleId rule = RuleId::kCount;
  std::string ddi;      // the DDI (or teardown step) where the rule fired
  std::string message;  // one line, in the domain's words
  std::vector<ReportObject> objects;
  uint64_t p2 = 0, p3 = 0;  // bug check parameters where they vary
  size_t event = 0;         // index of the report's event in the trace

  const Rule& rule_info() const { return GetRule(rule); }
  // Stable across runs and builds: rule + DDI (nightly jobs dedup on it).
  std::string DedupKey() const;
  // The report with the objects and the last `tail` events of the trace.
  std::string Format(const Trace& trace, size_t tail = 16) const;
};

// Thrown by the model when a rule of bug-check severity fires: the machine has
// stopped. Harness entry points (the interpreter, Simulation methods) let it
// reach the caller, which decides what to do with the run.
class BugCheck : public std::exception {
 public:
  explicit BugCheck(std::string what) : what_(std::move(what)) {}
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string what_;
};

// Collects the reports of one simulation. Policy belongs to the caller: a
// fuzz target stops at the first report, tests assert on them, replay prints.
class Verifier {
 public:
  const std::vector<Report>& reports() const { return reports_; }
  bool bugchecked() const { return bugchecked_; }
  // Called for every report as it is raised (before a bug check unwinds).
  void set_on_report(std::function<void(const Report&)> callback) { on_report_ = std::move(callback); }
  // Number of reports of a given rule.
  size_t Count(RuleId rule) const;

  // Records a report. A bug-check rule then throws BugCheck.
  void Raise(Report report);

 private:
  std::vector<Report> reports_;
  bool bugchecked_ = false;
  std::function<void(const Report&)> on_report_;
};

}  // namespace wdfsim

#endif  // WDFSIM_HARNESS_VERIFIER_H_
