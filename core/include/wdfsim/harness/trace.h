// The event trace of one simulation: every DDI entry, object transition,
// callback, IRP step, choice and report, in order, on the virtual clock.
// Events are small fixed records; text is made only when a trace is printed.
#ifndef WDFSIM_HARNESS_TRACE_H_
#define WDFSIM_HARNESS_TRACE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace wdfsim {

enum class EventKind : uint8_t {
  kDdi,            // a DDI was entered: ddi, object (the first handle argument)
  kObjectCreated,  // object, a = parent object (0 = none)
  kObjectDeleteCalled,
  kObjectDisposed,     // cleanup callback time
  kObjectDestroyed,    // destroy callback time, memory freed
  kReference,          // object, a = count after
  kDereference,        // object, a = count after
  kCleanupCallback,    // object
  kDestroyCallback,    // object
  kCompletionRoutine,  // object (request), a = status
  kRequestPresented,   // object, a = major function
  kRequestCompleted,   // object, a = status, b = information
  kIrpCompleted,       // a = irp serial, b = status
  kIrpFreed,           // a = irp serial
  kIrpApc,             // a = irp serial: the I/O manager's completion APC ran
  kChoice,             // a = answer, b = n, ddi = ChoiceKind
  kTimeAdvanced,       // a = new time
  kIrql,               // a = new IRQL
  kWorkRun,            // a = work item serial
  kReport,             // a = rule id
  kUnload,
  kEventSet,              // a KeSetEvent (or the I/O manager's) on an event
  kIrpCompletionRoutine,  // a = irp serial: a stack location's IoCompletion routine runs
  kIrpCancelRoutine,      // a = irp serial: IoCancelIrp calls the cancel routine
  kTargetSend,            // object (request): the framework sends the IRP to its target
  kTargetCompleted,       // object (request), a = status: the target completed the request's IRP
  kTimerFired,            // object (request): the send timer's DPC runs
  kNote,                  // a = index into the trace's note table
  kRequestQueued,         // object (request), a = queue serial: a queue holds it
  kQueueCallback,         // object (queue), a = QueueCallback: the framework calls the driver
};

// The driver callback a kQueueCallback event names.
enum class QueueCallback : uint8_t {
  kReadyNotify,
  kIoDefault,
  kIoRead,
  kIoWrite,
  kIoDeviceControl,
  kIoInternalDeviceControl,
  kIoStop,
  kIoCanceledOnQueue,
  kStopComplete,
  kPurgeComplete,
  kRequestCancel,
  kDeviceAdd,
  kDriverUnload,
  kIoResume,
};
const char* QueueCallbackName(QueueCallback callback);

struct TraceEvent {
  int64_t time;  // virtual time, 100 ns units since the simulation started
  EventKind kind;
  uint16_t ddi;     // a Ddi id, or a ChoiceKind for kChoice
  uint32_t object;  // object serial, 0 = none
  int64_t a;
  int64_t b;
};

// Names the objects a trace mentions: serial -> "WDFREQUEST#3".
struct TraceObject {
  uint8_t type;       // core object type
  std::string label;  // extra words, e.g. "presented IRP_MJ_READ"
};

class Trace {
 public:
  const std::vector<TraceEvent>& events() const { return events_; }
  size_t size() const { return events_.size(); }
  // FNV-1a over the events: equal for equal runs in any build.
  uint64_t Hash() const;
  // One line for event i.
  std::string FormatEvent(size_t i) const;
  // The last n events (through `end`, exclusive), one per line.
  std::string FormatTail(size_t n, size_t end) const;
  std::string FormatAll() const { return FormatTail(events_.size(), events_.size()); }
  // "WDFMEMORY#2" for an object serial.
  std::string ObjectName(uint32_t serial) const;

  // Recording (used by the model).
  void Add(const TraceEvent& event) { events_.push_back(event); }
  uint32_t NewObject(uint8_t type, std::string label = {});
  void SetObjectLabel(uint32_t serial, std::string label);
  int64_t AddNote(std::string note);
  void Reserve(size_t n) { events_.reserve(n); }

 private:
  std::vector<TraceEvent> events_;
  std::vector<TraceObject> objects_;  // index = serial - 1
  std::vector<std::string> notes_;
};

}  // namespace wdfsim

#endif  // WDFSIM_HARNESS_TRACE_H_
