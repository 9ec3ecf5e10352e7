// The IRP lifetime model (see irp_model.h). Section references are to
// SEMANTICS-WDM; the scheduling (what runs when, with empty choice bytes) is
// the harness's: nothing runs at a DDI's entry, a completion APC to the
// driver thread runs at once when queued from top-level code and otherwise
// waits for a wait, advance_time, run_ready_work or unload; waits and
// advance_time run the ready work oldest first, run_ready_work and unload by
// due time; a wait whose deadline arrives together with work times out.
#include "model/irp_model.h"

#include <algorithm>
#include <cstdint>

#include "wdfsim/ntstatus.h"

namespace wdfsim::model {
namespace {

using program::DispatchMode;
using program::Op;
using program::OpCode;
using program::OpOutcome;
using program::RoutineMode;

constexpr uint32_t S(NTSTATUS status) { return static_cast<uint32_t>(status); }
constexpr uint32_t kPending = S(STATUS_PENDING);
constexpr int64_t kTicksPerMs = 10000;
constexpr uint32_t kAnswerInline = 1, kAnswerPend = 2;
constexpr uint32_t kOnCancelIgnore = 1, kOnCancelNormal = 2;

bool Success(uint32_t status) { return static_cast<int32_t>(status) >= 0; }
bool Error(uint32_t status) { return (status >> 30) == 3; }

struct Fatal {};    // a bug check: the run stops
struct Outside {};  // the program left the model's domain

}  // namespace

void IrpModel::Report(const char* rule, bool fatal) {
  out_->rules.emplace_back(rule);
  if (std::string_view(rule) != "IoBuildSynchronousFsdRequestWaitTimeout") ++violations_;
  if (fatal) throw Fatal{};
}

void IrpModel::OutOfDomain() { throw Outside{}; }

const IrpModel::Irp* IrpModel::SlotIrp(uint32_t slot) const {
  return slots_[slot].irp >= 0 ? &irps_[slots_[slot].irp] : nullptr;
}

int32_t IrpModel::NewSinks() {
  sinks_.emplace_back();
  return static_cast<int32_t>(sinks_.size() - 1);
}

int32_t IrpModel::NewIrp(Origin origin, int32_t stack_count, int32_t sinks) {
  Irp irp;
  irp.id = static_cast<uint32_t>(irps_.size() + 1);
  irp.origin = origin;
  irp.stack_count = stack_count;
  irp.current = stack_count + 1;
  irp.locations.resize(stack_count + 1);
  irp.user_sinks = origin == Origin::kAllocated ? -1 : sinks;
  irp.on_thread_list = irp.threaded();  // A.1.5, A.1.6
  irps_.push_back(irp);
  return static_cast<int32_t>(irps_.size() - 1);
}

uint64_t IrpModel::Schedule(int64_t due, bool apc, int32_t irp) {
  const uint64_t sequence = next_sequence_++;
  work_.push_back({due, sequence, apc, irp});
  if (apc && due <= now_) DeliverApcs();
  return sequence;
}

void IrpModel::DeliverApcs() {
  if (work_depth_ > 0) return;
  while (true) {
    size_t next = work_.size();
    for (size_t i = 0; i < work_.size(); ++i) {
      if (work_[i].apc && work_[i].due <= now_ && (next == work_.size() || work_[i].sequence < work_[next].sequence)) {
        next = i;
      }
    }
    if (next == work_.size()) return;
    RunWork(next);
  }
}

void IrpModel::RunWork(size_t index) {
  const Work work = work_[index];
  work_.erase(work_.begin() + static_cast<std::ptrdiff_t>(index));
  ++work_depth_;
  if (work.apc) {
    CompletionApc(work.irp);
  } else {
    // The lower device's scheduled completion: its dequeue side of the
    // cancel race takes the cancel routine back first (A.4.2).
    Irp& irp = irps_[work.irp];
    if (irp.lower >= 0) {
      LowerStillOwns(work.irp);
      irp.lower_work = 0;
      const Op& config = devices_[irp.lower].op;
      bool complete = true;
      if (config.arg("on_cancel") != kOnCancelIgnore) {
        complete = irp.cancel_routine != kNoCancel;
        irp.cancel_routine = -1;
      }
      if (complete) LowerComplete(work.irp, config.arg("status"), config.arg("information"));
    }
  }
  --work_depth_;
}

bool IrpModel::RunOneReady() {
  // The first ready item in queue order (choice 0 of the ready list).
  for (size_t i = 0; i < work_.size(); ++i) {
    if (work_[i].due <= now_) {
      RunWork(i);
      return true;
    }
  }
  return false;
}

void IrpModel::RunReadyWork() {
  while (true) {
    size_t best = work_.size();
    for (size_t i = 0; i < work_.size(); ++i) {
      if (work_[i].due > now_) continue;
      if (best == work_.size() || work_[i].due < work_[best].due ||
          (work_[i].due == work_[best].due && work_[i].sequence < work_[best].sequence)) {
        best = i;
      }
    }
    if (best == work_.size()) return;
    RunWork(best);
  }
}

void IrpModel::MarkPending(Irp& irp) {
  if (irp.current > irp.stack_count) OutOfDomain();  // no location of its own
  irp.locations[irp.current].pending = true;
  const int32_t index = static_cast<int32_t>(&irp - irps_.data());
  for (Frame& frame : frames_) {
    if (frame.irp == index && frame.location == irp.current) frame.marked = true;
  }
}

// IoFreeIrp (A.3.3): builder IRPs belong to the I/O manager; a second free is
// a double free.
void IrpModel::FreeIrp(int32_t index) {
  const Irp& irp = irps_[index];
  if (irp.threaded()) Report("IoBuildSynchronousFsdRequestNoFree", false);
  if (irp.frees > 0) Report("IrpDoubleFree", true);
  if (irp.on_thread_list) Report("IrpFreedOnThreadList", true);
  // Not the caller's: a device below, or the I/O manager, owns it.
  if (irp.owner == Owner::kBelow || irp.owner == Owner::kCompleting) Report("IrpInUse", true);
  Freed(index);
}

void IrpModel::Freed(int32_t index) {
  Irp& irp = irps_[index];
  ++irp.frees;
  irp.owner = Owner::kFreed;
}

// The lower device cannot tell that another driver completed its IRP: it
// calls IoCompleteRequest, and the I/O manager acts on the IRP's current
// location (a second completion past the top is DoubleIrpCompletion; one
// stopped at the creator by STATUS_MORE_PROCESSING_REQUIRED goes on to the
// I/O manager's final step). Only an IRP already freed is caught here.
void IrpModel::LowerStillOwns(int32_t index) {
  if (irps_[index].frees != 0) Report("IrpInUse", true);
}

// IofCallDriver (A.2) and the dispatch-return checks (A.2, B.2 MarkIrpPending).
uint32_t IrpModel::CallDriver(int32_t index, int32_t device) {
  if (irps_[index].frees > 0) Report("IrpDoubleFree", true);
  if (irps_[index].current - 1 <= 0) Report("NoMoreIrpStackLocations", true);
  Irp& irp = irps_[index];
  --irp.current;
  irp.locations[irp.current].device = device;
  irp.owner = Owner::kBelow;
  if (!frames_.empty()) frames_.back().passed_down = true;
  frames_.push_back({index, irp.current});
  const uint32_t status = devices_[device].filter ? DispatchFilter(index, device) : DispatchLower(index, device);
  const Frame frame = frames_.back();
  frames_.pop_back();
  if (frame.marked && status != kPending) Report("MarkIrpPending", true);
  if (status == kPending && !frame.marked && !frame.passed_down) Report("MarkIrpPending2", true);
  if (status == kPending && irps_[index].threaded()) irps_[index].call_returned_pending = true;
  return status;
}

void IrpModel::LowerComplete(int32_t index, uint32_t status, uint64_t information) {
  Irp& irp = irps_[index];
  irp.lower = -1;
  irp.status = status;
  irp.information = information;
  Complete(index);
}

// The scripted lower device: completes inline, or marks pending, sets its
// cancel routine (unless it ignores cancellation; an IRP cancelled already
// is completed at once) and completes after its delay or never.
uint32_t IrpModel::DispatchLower(int32_t index, int32_t device) {
  const Op& config = devices_[device].op;
  if (config.arg("answer") == kAnswerInline) {
    const uint32_t status = config.arg("status");
    LowerComplete(index, status, config.arg("information"));
    return status;
  }
  MarkPending(irps_[index]);
  Irp& irp = irps_[index];
  irp.lower = device;
  irp.lower_work = 0;
  if (config.arg("on_cancel") != kOnCancelIgnore) {
    irp.cancel_routine = device;
    if (irp.cancel) {
      irp.cancel_routine = -1;
      LowerComplete(index, S(STATUS_CANCELLED), 0);
      return kPending;
    }
  }
  if (config.arg("answer") == kAnswerPend) {
    irps_[index].lower_work = Schedule(now_ + int64_t{config.arg("delay_ms")} * kTicksPerMs, false, index);
  }
  return kPending;
}

// The program's filter device (fuzz/wdm_driver.cc's dispatch modes).
uint32_t IrpModel::DispatchFilter(int32_t index, int32_t device) {
  const Device& filter = devices_[device];
  const Op& config = filter.op;
  const auto mode = static_cast<DispatchMode>(config.arg("dispatch"));
  const bool passes_down = mode == DispatchMode::kForward || mode == DispatchMode::kSkip;
  if (passes_down && filter.lower < 0) {
    irps_[index].status = S(STATUS_INVALID_DEVICE_REQUEST);
    irps_[index].information = 0;
    Complete(index);
    return S(STATUS_INVALID_DEVICE_REQUEST);
  }
  switch (mode) {
    case DispatchMode::kComplete:
    case DispatchMode::kMarkReturnSuccess: {
      if (mode == DispatchMode::kMarkReturnSuccess) MarkPending(irps_[index]);
      const uint32_t status = config.arg("status");
      irps_[index].status = status;
      irps_[index].information = config.arg("information");
      Complete(index);
      return mode == DispatchMode::kMarkReturnSuccess ? S(STATUS_SUCCESS) : status;
    }
    case DispatchMode::kPend:
    case DispatchMode::kPendUnmarked: {
      if (mode == DispatchMode::kPend) MarkPending(irps_[index]);
      // The IRP arrives in the program's slot with sinks of its own.
      const int32_t sinks = NewSinks();
      slots_[config.arg("arrive")] = {index, sinks};
      irps_[index].owner = Owner::kProgram;
      if (config.arg("cancel_routine") != 0) {
        irps_[index].cancel_routine = device;
        if (irps_[index].cancel) {
          irps_[index].cancel_routine = -1;
          irps_[index].status = S(STATUS_CANCELLED);
          irps_[index].information = 0;
          Complete(index);
        }
      }
      return kPending;
    }
    case DispatchMode::kForward: {
      Irp& irp = irps_[index];
      if (irp.current < 2) OutOfDomain();  // copies into a location that does not exist
      Location& next = irp.locations[irp.current - 1];
      next = Location{};
      next.routine = Location::Routine::kFilter;
      next.context = device;
      next.on_success = next.on_error = next.on_cancel = true;
      return CallDriver(index, filter.lower);
    }
    case DispatchMode::kSkip: ++irps_[index].current; return CallDriver(index, filter.lower);
    case DispatchMode::kCount: break;
  }
  OutOfDomain();
}

// IoCompleteRequest (A.3.1): the checks, the walk up the stack, then
// post-processing.
void IrpModel::Complete(int32_t index) {
  {
    const Irp& irp = irps_[index];
    if (irp.frees > 0) Report("IrpDoubleFree", true);
    if (irp.current > irp.stack_count + 1) Report("DoubleIrpCompletion", true);
    if (irp.cancel_routine != kNoCancel) Report("CompleteWithCancelRoutine", true);
    if (irp.status == kPending || irp.status == 0xFFFFFFFFu) Report("CompleteRequestStatusCheck", true);
  }
  irps_[index].owner = Owner::kCompleting;
  for (int32_t j = irps_[index].current; j <= irps_[index].stack_count; ++j) {
    Irp& irp = irps_[index];
    irp.current = j + 1;
    const Location location = irp.locations[j];
    irp.locations[j] = Location{};
    irp.pending_returned = location.pending;
    const bool ok = Success(irp.status);
    const bool invoke =
        location.routine != Location::Routine::kNone &&
        ((ok && location.on_success) || (!ok && location.on_error) || (irp.cancel && location.on_cancel));
    if (!invoke) {
      // Pending propagates through a location without a routine.
      if (irp.current <= irp.stack_count && irp.pending_returned) irp.locations[irp.current].pending = true;
      continue;
    }
    const bool creator = j == irp.stack_count;
    irp.owner = Owner::kProgram;  // the routine's driver owns it while the routine runs
    out_->callbacks.push_back({program::CallbackEvent::Kind::kIrpCompletion, irp.id, irp.status});
    bool more = false;
    bool marked = false;
    if (location.routine == Location::Routine::kFilter) {
      if (devices_[location.context].op.arg("mark") != 0 && irp.pending_returned) {
        MarkPending(irp);
        marked = true;
      }
    } else {
      Sinks& sinks = sinks_[location.context];
      switch (sinks.routine) {
        case RoutineMode::kMore: more = true; break;
        case RoutineMode::kFreeMore:
          FreeIrp(index);
          more = true;
          break;
        case RoutineMode::kSignalMore:
          sinks.event = true;
          more = true;
          break;
        case RoutineMode::kMarkContinue:
          if (irp.pending_returned) {
            if (creator) Report("CreatorMarkedPending", true);
            MarkPending(irp);
            marked = true;
          }
          break;
        default: break;
      }
    }
    if (more) {
      // STATUS_MORE_PROCESSING_REQUIRED: the routine's driver owns it again.
      if (irps_[index].frees == 0) irps_[index].owner = Owner::kProgram;
      return;
    }
    if (!creator && irps_[index].pending_returned && !marked) Report("PendingReturnedNotPropagated", true);
    irps_[index].owner = Owner::kCompleting;
  }
  Irp& irp = irps_[index];
  irp.current = irp.stack_count + 2;
  ++irp.completions;
  PostProcess(index);
}

// After the walk (A.3.1 step 7, A.3.2): a cancelled IRP with no thread is
// freed at once; an IoAllocateIrp IRP must not get here otherwise; the
// others get the completion APC in their thread.
void IrpModel::PostProcess(int32_t index) {
  Irp& irp = irps_[index];
  if (irp.origin == Origin::kAllocated) {
    if (!irp.cancel) Report("IoAllocateComplete", true);
    Freed(index);
    return;
  }
  Schedule(now_, true, index);
}

// IopCompleteRequest (A.3.2): IOSB and event unless an error that never
// pended; off the thread list; freed.
void IrpModel::CompletionApc(int32_t index) {
  Irp& irp = irps_[index];
  if (!Error(irp.status) || irp.pending_returned) {
    Sinks& sinks = sinks_[irp.user_sinks];
    sinks.iosb_status = irp.status;
    sinks.iosb_information = irp.information;
    if (irp.threaded()) sinks.event = true;
  }
  irp.on_thread_list = false;
  Freed(index);
}

void IrpModel::Unload() {
  RunReadyWork();
  for (const Irp& irp : irps_) {
    if (irp.threaded() && irp.call_returned_pending && !irp.waited) Report("IoBuildSynchronousFsdRequestWait", false);
  }
  for (const Irp& irp : irps_) {
    if (irp.frees == 0) Report("IrpLeak", false);
  }
  stopped_ = true;
}

void IrpModel::Execute(const Op& op) {
  auto a = [&op](const char* name) { return op.arg(name); };
  switch (op.code) {
    case OpCode::kWdmLowerDevice: {
      if (a("answer") == 0 || a("information") == 0xFFFF) OutOfDomain();
      Device device;
      device.op = op;
      device.stack_size = std::max<int32_t>(static_cast<int8_t>(a("stack_size")), 1);
      devices_.push_back(device);
      device_slots_[a("dst")] = static_cast<int32_t>(devices_.size() - 1);
      return;
    }
    case OpCode::kWdmFilterDevice: {
      Device device;
      device.filter = true;
      device.op = op;
      device.lower = device_slots_[a("lower")];
      device.stack_size = device.lower >= 0 ? devices_[device.lower].stack_size + 1 : 1;
      if (device.stack_size > 127) OutOfDomain();
      devices_.push_back(device);
      device_slots_[a("dst")] = static_cast<int32_t>(devices_.size() - 1);
      return;
    }
    case OpCode::kIrpBuildSync:
    case OpCode::kIrpBuildAsync:
    case OpCode::kIrpBuildIoctl: {
      const int32_t device = device_slots_[a("device")];
      if (device < 0) OutOfDomain();
      const Origin origin = op.code == OpCode::kIrpBuildSync    ? Origin::kSync
                            : op.code == OpCode::kIrpBuildAsync ? Origin::kAsync
                                                                : Origin::kIoctl;
      const int32_t sinks = NewSinks();
      const int32_t irp = NewIrp(origin, devices_[device].stack_size, sinks);
      if (irps_[irp].threaded()) sinks_[sinks].built = irp;
      slots_[a("dst")] = {irp, sinks};
      out_->value = 1;
      return;
    }
    case OpCode::kIrpAllocate: {
      if (a("stack_size") == 0 || a("stack_size") > 127) OutOfDomain();
      const int32_t irp = NewIrp(Origin::kAllocated, static_cast<int32_t>(a("stack_size")), -1);
      slots_[a("dst")] = {irp, NewSinks()};
      out_->value = 1;
      return;
    }
    case OpCode::kAdvanceTime: {
      const int64_t target = now_ + int64_t{a("ticks")};
      while (true) {
        while (RunOneReady()) {
        }
        int64_t next = INT64_MAX;
        for (const Work& work : work_) {
          if (work.due > now_) next = std::min(next, work.due);
        }
        if (next > target) break;
        now_ = next;
      }
      now_ = target;
      RunReadyWork();
      return;
    }
    case OpCode::kPassTime: now_ += a("ticks"); return;
    case OpCode::kRunReadyWork: RunReadyWork(); return;
    case OpCode::kUnload: Unload(); return;
    case OpCode::kIrpFree:
    case OpCode::kIrpSetCompletion:
    case OpCode::kIoCallDriver:
    case OpCode::kIoComplete:
    case OpCode::kIoCancel:
    case OpCode::kIrpSetCancelRoutine:
    case OpCode::kIrpMarkPending:
    case OpCode::kIrpWait:
    case OpCode::kIrpReadIosb:
    case OpCode::kIrpReadEvent: break;
    default: OutOfDomain();
  }

  // The ops on a held IRP; an empty slot is a no-op.
  const Slot slot = slots_[a("irp")];
  if (slot.irp < 0) return;
  const int32_t index = slot.irp;
  const bool freed = irps_[index].frees > 0;
  const auto held_at_top = [&] {
    const Irp& irp = irps_[index];
    return irp.owner == Owner::kProgram && irp.current == irp.stack_count + 1;
  };
  switch (op.code) {
    case OpCode::kIrpFree:
      if (!freed && irps_[index].owner == Owner::kProgram && !held_at_top()) OutOfDomain();
      FreeIrp(index);
      return;
    case OpCode::kIrpSetCompletion: {
      if (freed) return;
      const auto mode = static_cast<RoutineMode>(a("routine"));
      if (mode == RoutineMode::kNone && (a("success") || a("error") || a("cancel"))) OutOfDomain();
      Irp& irp = irps_[index];
      if (irp.owner != Owner::kProgram || irp.current < 2) OutOfDomain();
      sinks_[slot.sinks].routine = mode;
      Location& next = irp.locations[irp.current - 1];
      next = Location{};
      if (mode != RoutineMode::kNone) {
        next.routine = Location::Routine::kProgram;
        next.context = slot.sinks;
        next.on_success = a("success") != 0;
        next.on_error = a("error") != 0;
        next.on_cancel = a("cancel") != 0;
      }
      return;
    }
    case OpCode::kIoCallDriver: {
      const int32_t device = device_slots_[a("device")];
      if (device < 0) return;
      if (!freed && irps_[index].current > 1 && !held_at_top()) OutOfDomain();
      out_->status = CallDriver(index, device);
      return;
    }
    case OpCode::kIoComplete:
      if (!freed) {
        irps_[index].status = a("status");
        irps_[index].information = a("information");
      }
      Complete(index);
      return;
    case OpCode::kIoCancel: {
      if (freed) OutOfDomain();
      // IoCancelIrp (A.4.1).
      Irp& irp = irps_[index];
      irp.cancel = true;
      const int32_t routine = irp.cancel_routine;
      irp.cancel_routine = kNoCancel;
      if (routine == kNoCancel) {
        out_->value = 0;
        return;
      }
      if (irp.current > irp.stack_count + 1) Report("CancelStateInCompletedIrp", true);
      if (routine == kProgramCancel || devices_[routine].filter) {
        out_->callbacks.push_back({program::CallbackEvent::Kind::kIrpCancel, irp.id, S(STATUS_CANCELLED)});
        irp.status = S(STATUS_CANCELLED);
        irp.information = 0;
        Complete(index);
      } else if (irp.lower >= 0) {
        LowerStillOwns(index);
        // The lower device's cancel routine: its scheduled completion is
        // withdrawn, and it completes as its on_cancel mode says.
        if (irp.lower_work != 0) {
          work_.erase(std::remove_if(work_.begin(), work_.end(),
                                     [&](const Work& work) { return work.sequence == irp.lower_work; }),
                      work_.end());
          irp.lower_work = 0;
        }
        const Op& config = devices_[irp.lower].op;
        if (config.arg("on_cancel") == kOnCancelNormal) {
          LowerComplete(index, config.arg("status"), config.arg("information"));
        } else {
          LowerComplete(index, S(STATUS_CANCELLED), 0);
        }
      }
      out_->value = 1;
      return;
    }
    case OpCode::kIrpSetCancelRoutine:
      if (freed) OutOfDomain();
      // set=1 installs the program's cancel routine, set=0 clears (IoSetCancelRoutine).
      out_->value = irps_[index].cancel_routine != kNoCancel ? 1 : 0;
      irps_[index].cancel_routine = a("set") ? kProgramCancel : kNoCancel;
      return;
    case OpCode::kIrpMarkPending:
      if (freed) return;
      if (irps_[index].owner != Owner::kProgram) OutOfDomain();
      MarkPending(irps_[index]);
      return;
    case OpCode::kIrpWait: {
      const int32_t sinks = slot.sinks;
      if (sinks_[sinks].built >= 0) {
        irps_[sinks_[sinks].built].waited = true;
        if (a("infinite")) Report("IoBuildSynchronousFsdRequestWaitTimeout", false);
      }
      const int32_t timeout = static_cast<int32_t>(a("timeout_ms"));
      const int64_t deadline =
          a("infinite") ? INT64_MAX : now_ + (timeout < 0 ? -int64_t{timeout} : int64_t{timeout}) * kTicksPerMs;
      while (true) {
        if (sinks_[sinks].event) {
          out_->status = S(STATUS_SUCCESS);
          return;
        }
        if (now_ >= deadline) {
          out_->status = S(STATUS_TIMEOUT);
          return;
        }
        if (RunOneReady()) continue;
        int64_t next = deadline;
        for (const Work& work : work_) {
          if (work.due > now_) next = std::min(next, work.due);
        }
        if (next == INT64_MAX) Report("Liveness", true);
        now_ = next;
      }
    }
    case OpCode::kIrpReadIosb:
      out_->status = sinks_[slot.sinks].iosb_status;
      out_->value = sinks_[slot.sinks].iosb_information;
      return;
    case OpCode::kIrpReadEvent: out_->value = sinks_[slot.sinks].event ? 1 : 0; return;
    default: OutOfDomain();
  }
}

bool IrpModel::Step(const Op& op, OpOutcome& outcome) {
  outcome.executed = true;
  out_ = &outcome;
  try {
    Execute(op);
  } catch (const Fatal&) {
    outcome.bugcheck = true;
    stopped_ = true;
  } catch (const Outside&) {
    return false;
  }
  out_ = nullptr;
  return true;
}

bool IrpModel::Teardown(OpOutcome& outcome) {
  outcome.executed = true;
  out_ = &outcome;
  try {
    Unload();
  } catch (const Fatal&) {
    outcome.bugcheck = true;
  } catch (const Outside&) {
    return false;
  }
  out_ = nullptr;
  stopped_ = true;
  return true;
}

std::optional<program::RunOutcome> PredictIrps(const program::Program& program) {
  IrpModel model;
  program::RunOutcome outcome;
  outcome.ops.resize(program.ops.size());
  for (size_t i = 0; i < program.ops.size() && !model.stopped(); ++i) {
    if (!model.Step(program.ops[i], outcome.ops[i])) return std::nullopt;
  }
  if (!model.stopped() && !model.Teardown(outcome.teardown)) return std::nullopt;
  return outcome;
}

}  // namespace wdfsim::model
