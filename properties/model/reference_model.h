// The independent reference model: what running a program must produce,
// predicted from the documented semantics (SEMANTICS-WDF 0, 3, 4, 6 and
// notes/kmdf-slice.md; for the sending ops 1, 2, 4.2-4.6, 4.9 and 7) by a
// small state machine over abstract objects and a virtual clock. It shares
// no code with core/: only the program language and status values.
//
// The model is faithful to the docs. Where the core is known to deviate, the
// deviation is a named switch (see DISAGREEMENTS.md): Predict() gives the
// documented outcome; PredictDetailed() can instead follow the core on the
// switched cases, and tells which deviation cases a program reached.
#ifndef WDFSIM_PROPERTIES_MODEL_REFERENCE_MODEL_H_
#define WDFSIM_PROPERTIES_MODEL_REFERENCE_MODEL_H_

#include <cstdint>
#include <vector>

#include "program/outcome.h"
#include "program/program.h"

namespace wdfsim::model {

// Known places where the core departs from the documented semantics. Each
// bit names one entry of properties/DISAGREEMENTS.md.
enum Deviation : uint32_t {
  // D1: the last reference of a never-deleted object that has no parent and
  // no children (a queue-presented request) is released. Docs (6.1): ~FxObject
  // bug-checks 0x7 only when the object still has a parent or children; the
  // object is simply freed. Core: ObjectOverDereference bug check.
  kDevOverDereferenceUnparented = 1u << 0,
  // D2: the embedded WDFMEMORY of a request whose IRP is gone (completed, kept
  // alive by a reference) is asked for its buffer or size. Docs (kmdf-slice
  // 1.6/1.7): FxRequestSystemBuffer/OutputBuffer read the major function and
  // lengths through the request's FxIrp, which is NULL: a NULL dereference.
  // Core: answers from the parameters it captured at presentation.
  kDevEmbeddedMemoryWithoutIrp = 1u << 1,
};
// The deviations the current core still has (D1 and D2 were fixed in the core
// after they were found; their switches stay so that a regression is easy
// to tell from a new disagreement).
inline constexpr uint32_t kKnownCoreDeviations = 0;

struct PredictOptions {
  // Deviation bits for which the model follows the core instead of the docs.
  uint32_t follow_core = 0;
};

// The model's view of one program object at the end of the run (or at the
// bug check), for properties that look inside.
struct ObjectSnapshot {
  uint32_t id = 0;  // program object id (0: driver, embedded memory)
  bool alive = false;
  int32_t references = 0;
  int32_t irp_references = 0;  // requests only
  int32_t min_references = 0;  // the lowest count it ever had while alive
  int32_t min_irp_references = 0;
  bool memory = false;     // WDFMEMORY (not embedded)
  bool in_flight = false;  // requests: sent to, or pended in, a target
  // Requests: format references held on WDFMEMORY (3.3).
  int32_t format_references = 0;
};

// Cases where the core crashed (not a disagreement: a memory-safety bug in
// core; see DISAGREEMENTS.md C1, since fixed). Kept so that a test can aim
// at them.
enum Hazard : uint32_t {
  // C1: a presented request completed with a non-error status and Information
  // larger than the originator's buffer: the core's completion APC copies
  // Information bytes for buffered I/O and overruns its heap buffers.
  kHazardInformationBeyondBuffer = 1u << 0,
};

// Why a program is outside the part of the space the model predicts. The
// model still runs it (best effort), but its outcome is not a prediction.
enum Unmodelled : uint32_t {
  // The outcome depends on the choice bytes: a lower device answering from
  // the choices, two timed events (lower completions, send timers, a sync
  // wait's deadline) due at the same instant, work that is due at a
  // scheduling point (a pend with no delay, pass_time over a due event).
  kUnmodelledTiming = 1u << 0,
  // An op the model does not cover: thread_exit, format_using_current_type,
  // and any op code after pass_time.
  kUnmodelledOp = 1u << 1,
  // Undocumented or undefined behaviour: reuse, complete, format or a sync
  // DDI on a request still in flight; a status stored into a request with
  // no IRP; target state changes the docs do not describe (from Closed,
  // above PASSIVE_LEVEL, with IGNORE_TARGET_STATE I/O outstanding); unload
  // or target delete with I/O in flight; send-and-forget that cannot end.
  kUnmodelledUndefined = 1u << 2,
};

struct Prediction {
  program::RunOutcome outcome;
  uint32_t unmodelled = 0;  // Unmodelled bits: 0 means `outcome` is a prediction
  // Completion routine calls, and sends accepted (WdfRequestSend TRUE,
  // send-and-forget aside), as RunResult counts them.
  uint32_t completion_calls = 0;
  uint32_t accepted_sends = 0;
  uint32_t hazards = 0;
  // Deviation bits whose case the program reached (whatever follow_core says).
  uint32_t reached = 0;
  std::vector<ObjectSnapshot> objects;  // before teardown; creation order, the driver first
};

Prediction PredictDetailed(const program::Program& program, const PredictOptions& options = {});

// The documented outcome of running `program`. Choices are ignored: outside
// kUnmodelledTiming they only decide when the I/O manager's completion APC
// runs, which no op observes.
program::RunOutcome Predict(const program::Program& program);

}  // namespace wdfsim::model

#endif  // WDFSIM_PROPERTIES_MODEL_REFERENCE_MODEL_H_
