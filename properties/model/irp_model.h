// The IRP lifetime model: what running a program of WDM ops must produce,
// predicted from SEMANTICS-WDM part A (builders A.1, IoCallDriver and
// pending A.2, the completion walk and post-processing A.3, cancellation A.4)
// and the scripted lower device's documented answers. It shares no code with
// core/: only the program language, the outcome types and status values.
//
// Each IRP's lifetime and ownership are explicit (IrpModel::Irp): who owns it
// (the program, a device below, the completion walk), its stack position, and
// whether it is on the thread list, completed or freed. The invariants the
// model states: an IRP is freed exactly once (a second free or a use after
// the free is IrpDoubleFree); it is completed at most once per ownership (a
// second IoCompleteRequest after the walk ended is 0x44); an
// IoBuildSynchronousFsdRequest / IoBuildDeviceIoControlRequest IRP is never
// passed to IoFreeIrp; nothing is on the thread list at teardown of a valid run.
//
// Domain (anything else makes Step() fail and PredictIrps() return nullopt):
// - wdm_lower_device with a fixed answer (inline, pend with a delay, forever),
//   any status, Information other than 0xFFFF (whole length), any on_cancel,
//   completion IRQL and stack size;
// - wdm_filter_device in every dispatch mode;
// - irp_build_sync / irp_build_async / irp_build_ioctl on a device slot that
//   holds a device, irp_allocate with 1..127 locations;
// - irp_set_completion on an IRP the program owns with a next location (not
//   routine=none with invoke flags: IoSetCompletionRoutine asserts);
// - io_call_driver of an IRP the program holds unsent (or after its routine
//   returned STATUS_MORE_PROCESSING_REQUIRED), of a freed IRP (IrpDoubleFree)
//   or of one with no location left (0x35);
// - io_complete in any state; io_cancel and irp_set_cancel_routine of an IRP
//   not yet freed; irp_mark_pending of an IRP pended at the program's filter;
// - irp_free of a freed IRP, of any builder IRP, or of an allocated/async IRP
//   the program holds or a device below holds (IrpInUse);
// - irp_wait (any timeout), irp_read_iosb, irp_read_event;
// - advance_time, pass_time, run_ready_work, unload; all at PASSIVE_LEVEL
//   with empty choice bytes (no work runs at DDI-entry scheduling points).
// Outside: set_irql, allocation_failures, irp_reuse, the WDF ops, lower
// devices answering from the choices.
#ifndef WDFSIM_PROPERTIES_MODEL_IRP_MODEL_H_
#define WDFSIM_PROPERTIES_MODEL_IRP_MODEL_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "program/outcome.h"
#include "program/program.h"

namespace wdfsim::model {

inline constexpr int32_t kNoCancel = -1;
inline constexpr int32_t kProgramCancel = -2;

class IrpModel {
 public:
  enum class Origin : uint8_t { kSync, kAsync, kIoctl, kAllocated };
  // Who may act on the IRP now.
  enum class Owner : uint8_t {
    kProgram,     // its creator at the top, or the program's filter that pended it
    kBelow,       // a device it was sent to (pending there)
    kCompleting,  // a completion walk or its post-processing is under way
    kFreed,
  };
  struct Location {
    // The completion routine the layer above set here: a program routine
    // (context = sinks index) or a filter's forward routine (device index).
    enum class Routine : uint8_t { kNone, kProgram, kFilter } routine = Routine::kNone;
    int32_t context = -1;
    bool on_success = false, on_error = false, on_cancel = false;
    bool pending = false;  // SL_PENDING_RETURNED
    int32_t device = -1;   // DeviceObject: the device IoCallDriver gave it to
  };
  struct Irp {
    uint32_t id = 0;  // program IRP id (creation order)
    Origin origin = Origin::kAsync;
    int32_t stack_count = 1;
    int32_t current = 2;              // CurrentLocation
    std::vector<Location> locations;  // index 1..stack_count
    Owner owner = Owner::kProgram;
    bool cancel = false;
    // Whose cancel routine is set: a device index, kProgramCancel (the
    // program's own: it completes with STATUS_CANCELLED), or kNoCancel.
    int32_t cancel_routine = kNoCancel;
    uint32_t status = 0;
    uint64_t information = 0;
    bool pending_returned = false;  // Irp->PendingReturned
    int32_t user_sinks = -1;        // UserIosb (and, threaded, UserEvent)
    bool on_thread_list = false;
    uint32_t frees = 0;                  // IoFreeIrp calls that freed it (invariant: <= 1)
    uint32_t completions = 0;            // walks that reached post-processing (invariant: <= 1)
    bool call_returned_pending = false;  // threaded: IoCallDriver returned STATUS_PENDING
    bool waited = false;                 // threaded: its event was waited on
    int32_t lower = -1;                  // the lower device it pends at
    uint64_t lower_work = 0;             // its scheduled completion (0: none)
    bool threaded() const { return origin == Origin::kSync || origin == Origin::kIoctl; }
  };

  // Applies one op; false if it (or what it leads to) is outside the domain.
  bool Step(const program::Op& op, program::OpOutcome& outcome);
  // The harness's unload when the program neither unloaded nor bug-checked.
  bool Teardown(program::OpOutcome& outcome);
  bool stopped() const { return stopped_; }

  // For preconditions and invariants.
  const std::vector<Irp>& irps() const { return irps_; }
  // The IRP slot `slot` holds (nullptr if empty).
  const Irp* SlotIrp(uint32_t slot) const;
  bool HasDevice(uint32_t slot) const { return device_slots_[slot] >= 0; }
  // Reports (by rule name) the model predicted so far, non-lint ones.
  uint32_t violations() const { return violations_; }

 private:
  struct Device {
    bool filter = false;
    program::Op op;  // its creating op
    int32_t lower = -1;
    int32_t stack_size = 1;
  };
  struct Sinks {
    uint32_t iosb_status = 0xDEADBEEF;
    uint64_t iosb_information = 0xDEADBEEF;
    bool event = false;
    program::RoutineMode routine = program::RoutineMode::kNone;
    int32_t built = -1;  // the threaded IRP whose UserEvent this is
  };
  struct Slot {
    int32_t irp = -1;
    int32_t sinks = -1;
  };
  struct Work {
    int64_t due;
    uint64_t sequence;
    bool apc;  // the completion APC; else a lower device's completion
    int32_t irp;
  };
  struct Frame {
    int32_t irp;
    int32_t location;
    bool marked = false;
    bool passed_down = false;
  };

  void Execute(const program::Op& op);
  void Report(const char* rule, bool fatal);
  [[noreturn]] void OutOfDomain();
  uint64_t Schedule(int64_t due, bool apc, int32_t irp);
  int32_t NewIrp(Origin origin, int32_t stack_count, int32_t sinks);
  int32_t NewSinks();
  void MarkPending(Irp& irp);
  uint32_t CallDriver(int32_t irp, int32_t device);
  uint32_t DispatchLower(int32_t irp, int32_t device);
  uint32_t DispatchFilter(int32_t irp, int32_t device);
  void Complete(int32_t irp);
  void PostProcess(int32_t irp);
  void CompletionApc(int32_t irp);
  void DeliverApcs();
  void FreeIrp(int32_t irp);
  void Freed(int32_t irp);
  // The lower device's completion or cancel of an IRP already freed: IrpInUse.
  void LowerStillOwns(int32_t irp);
  void LowerComplete(int32_t irp, uint32_t status, uint64_t information);
  void RunWork(size_t index);
  bool RunOneReady();
  void RunReadyWork();
  void Unload();

  std::vector<Device> devices_;
  std::vector<Irp> irps_;
  std::vector<Sinks> sinks_;
  std::vector<Work> work_;
  std::vector<Frame> frames_;
  int32_t device_slots_[program::kDeviceSlots] = {-1, -1, -1, -1};
  Slot slots_[program::kIrpSlots];
  int64_t now_ = 0;
  uint64_t next_sequence_ = 1;
  int32_t work_depth_ = 0;
  program::OpOutcome* out_ = nullptr;
  bool stopped_ = false;
  uint32_t violations_ = 0;
};

// What the interpreter's Run() returns for `program` run with empty choice
// bytes, or nullopt when the program leaves the model's domain.
std::optional<program::RunOutcome> PredictIrps(const program::Program& program);

}  // namespace wdfsim::model

#endif  // WDFSIM_PROPERTIES_MODEL_IRP_MODEL_H_
