// The independent reference model: what running a program must produce,
// predicted from the documented semantics (SEMANTICS-WDF 0, 3, 4, 6 and
// notes/kmdf-slice.md) by a small state machine over abstract objects. It
// shares no code with core/: only the program language and status values.
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

struct Prediction {
  program::RunOutcome outcome;
  uint32_t hazards = 0;
  // Deviation bits whose case the program reached (whatever follow_core says).
  uint32_t reached = 0;
  std::vector<ObjectSnapshot> objects;  // before teardown; creation order, the driver first
};

Prediction PredictDetailed(const program::Program& program, const PredictOptions& options = {});

// The documented outcome of running `program` (choices are ignored: they only
// decide when the I/O manager's completion APC runs, which no op observes).
program::RunOutcome Predict(const program::Program& program);

}  // namespace wdfsim::model

#endif  // WDFSIM_PROPERTIES_MODEL_REFERENCE_MODEL_H_
