// The driver code behind the program language's WDM ops, written against
// <wdm.h> as a real driver's would be: a filter device whose dispatch routine
// completes, pends (with or without a cancel routine), forwards or skips each
// IRP it receives; and the completion routines a program sets on the IRPs it
// builds. What they do is recorded through the hooks, for the run's outcome.
#ifndef WDFSIM_FUZZ_WDM_DRIVER_H_
#define WDFSIM_FUZZ_WDM_DRIVER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "program/program.h"
#include "wdfsim/wdm.h"

namespace wdfsim::program {

// Hooks the driver code reports through.
struct WdmDriverHooks {
  // A filter in kPend / kPendUnmarked mode received `irp`: it goes into slot `arrive`.
  std::function<void(PIRP irp, uint32_t arrive)> arrived;
  // A routine ran: the filter's cancel routine (cancel = true) or a completion routine.
  std::function<void(PIRP irp, bool cancel, NTSTATUS status)> called;
};

// What the program keeps for one IRP: the sinks a builder was given (they
// outlive the IRP: the I/O manager may write them after the program moved
// on), its buffers, and the completion routine the program chose for it.
struct IrpSinks {
  PIRP irp = nullptr;
  uint32_t id = 0;  // the IRP's program id (CallbackEvent::object)
  KEVENT event;
  IO_STATUS_BLOCK iosb;
  LARGE_INTEGER offset;
  std::vector<uint8_t> buffer;  // READ/WRITE data, ioctl input
  std::vector<uint8_t> output;  // ioctl output
  RoutineMode routine = RoutineMode::kNone;
  const WdmDriverHooks* hooks = nullptr;
};

struct FilterConfig {
  DispatchMode mode = DispatchMode::kComplete;
  NTSTATUS status = STATUS_SUCCESS;
  ULONG_PTR information = 0;
  uint32_t arrive = 0;          // the IRP slot a pended IRP goes to
  bool cancel_routine = false;  // kPend: a cancel routine that completes with STATUS_CANCELLED
  bool mark = false;            // kForward: the routine propagates pending (IoMarkIrpPending)
};

// A device object of a driver of its own; IRPs reach Dispatch through the
// driver object's dispatch table. Lives as long as the run.
class FilterDevice {
 public:
  FilterDevice(const FilterConfig& config, PDEVICE_OBJECT lower, const WdmDriverHooks* hooks);
  FilterDevice(const FilterDevice&) = delete;
  FilterDevice& operator=(const FilterDevice&) = delete;

  PDEVICE_OBJECT device() { return &device_; }

 private:
  static NTSTATUS Dispatch(PDEVICE_OBJECT device, PIRP irp);
  static VOID Cancel(PDEVICE_OBJECT device, PIRP irp);
  static NTSTATUS ForwardCompletion(PDEVICE_OBJECT device, PIRP irp, PVOID context);

  FilterConfig config_;
  PDEVICE_OBJECT lower_;
  const WdmDriverHooks* hooks_;
  DRIVER_OBJECT driver_{};
  DEVICE_OBJECT device_{};
};

// The program's cancel routine (IoSetCancelRoutine): releases the cancel
// lock and completes the IRP with STATUS_CANCELLED, as a driver that made an
// IRP it holds cancelable does (set = false clears the routine).
// `hooks` hears of each call; *had_routine tells whether one was set before.
void SetProgramCancelRoutine(PIRP irp, const WdmDriverHooks* hooks, bool set, bool* had_routine);

// The program's completion routine on the IRP of `sinks` (IoSetCompletionRoutine
// on its next location); sinks->routine says what it does, sinks->hooks
// hears of each call. kNone clears the routine.
void SetProgramCompletionRoutine(IrpSinks& sinks, bool on_success, bool on_error, bool on_cancel);

}  // namespace wdfsim::program

#endif  // WDFSIM_FUZZ_WDM_DRIVER_H_
