// What running a program produced, op by op, in terms both the core (through
// the interpreter) and the independent reference model (properties/) can
// state. Two runs agree when their outcomes are equal.
#ifndef WDFSIM_FUZZ_PROGRAM_OUTCOME_H_
#define WDFSIM_FUZZ_PROGRAM_OUTCOME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wdfsim::program {

// A callback the framework made into the program. `object` is the program
// object id: objects are numbered 1, 2, ... in the order the program's
// creating ops succeed (memory_create, memory_create_preallocated,
// request_create, present). IRPs have ids of their own, 1, 2, ... in the
// order the program first holds them (built, allocated, or arrived at one of
// its filter devices).
struct CallbackEvent {
  // kCompletion: the request's completion routine, with the status it saw.
  // kIrpCompletion: a completion routine on an IRP (the program's own, or a
  // forwarding filter's), with IoStatus.Status; kIrpCancel: a filter's cancel
  // routine.
  enum class Kind : uint8_t { kCleanup, kDestroy, kCompletion, kIrpCompletion, kIrpCancel };
  Kind kind;
  uint32_t object;
  uint32_t status = 0;
  bool operator==(const CallbackEvent&) const = default;
};

// "cleanup", "destroy", "completion", "irp_completion", "irp_cancel".
const char* CallbackKindName(CallbackEvent::Kind kind);
// True for the kinds that carry a status.
inline bool HasStatus(CallbackEvent::Kind kind) { return kind >= CallbackEvent::Kind::kCompletion; }

struct OpOutcome {
  bool executed = false;  // false after a bug check or after unload
  // The NTSTATUS a status-returning DDI returned.
  std::optional<uint32_t> status;
  // A value a DDI returned: information (request_get_information), buffer
  // size (memory_get_buffer, request_retrieve_*_buffer on success), status
  // (request_get_status), 1/0 for object_get_context (context found).
  std::optional<uint64_t> value;
  // Names of the verifier rules reported during the op, in order.
  std::vector<std::string> rules;
  bool bugcheck = false;
  std::vector<CallbackEvent> callbacks;
  bool operator==(const OpOutcome&) const = default;
  std::string ToString() const;
};

// A presented request as its originator saw it at the end of the run.
struct PresentedOutcome {
  uint32_t completions = 0;
  std::optional<uint32_t> status;  // set once completed
  uint64_t information = 0;
  bool operator==(const PresentedOutcome&) const = default;
};

struct RunOutcome {
  std::vector<OpOutcome> ops;  // one per op of the program
  // The unload the harness runs when the program did not unload itself and
  // did not bug-check (executed=false otherwise).
  OpOutcome teardown;
  std::vector<PresentedOutcome> presented;
  bool operator==(const RunOutcome&) const = default;
  // The first difference from `other`, or "" if equal.
  std::string Diff(const RunOutcome& other) const;
};

}  // namespace wdfsim::program

#endif  // WDFSIM_FUZZ_PROGRAM_OUTCOME_H_
