#include "wdm_driver.h"

namespace wdfsim::program {

FilterDevice::FilterDevice(const FilterConfig& config, PDEVICE_OBJECT lower, const WdmDriverHooks* hooks)
    : config_(config), lower_(lower), hooks_(hooks) {
  driver_.Type = 4;
  driver_.Size = sizeof(driver_);
  for (auto& entry : driver_.MajorFunction) entry = Dispatch;
  driver_.DeviceObject = &device_;
  device_.Type = 3;
  device_.Size = sizeof(device_);
  device_.DriverObject = &driver_;
  device_.DeviceExtension = this;
  device_.DeviceType = FILE_DEVICE_UNKNOWN;
  // A filter takes one location above its lower device and its I/O type.
  device_.StackSize = static_cast<CCHAR>(lower != nullptr ? lower->StackSize + 1 : 1);
  device_.Flags = lower != nullptr ? lower->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO) : DO_BUFFERED_IO;
}

NTSTATUS FilterDevice::Dispatch(PDEVICE_OBJECT device, PIRP irp) {
  auto* self = static_cast<FilterDevice*>(device->DeviceExtension);
  const FilterConfig& config = self->config_;
  const bool passes_down = config.mode == DispatchMode::kForward || config.mode == DispatchMode::kSkip;
  if (passes_down && self->lower_ == nullptr) {
    irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  switch (config.mode) {
    case DispatchMode::kComplete:
    case DispatchMode::kMarkReturnSuccess: {
      if (config.mode == DispatchMode::kMarkReturnSuccess) IoMarkIrpPending(irp);
      const NTSTATUS status = config.status;
      irp->IoStatus.Status = status;
      irp->IoStatus.Information = config.information;
      IoCompleteRequest(irp, IO_NO_INCREMENT);
      return config.mode == DispatchMode::kMarkReturnSuccess ? STATUS_SUCCESS : status;
    }
    case DispatchMode::kPend:
    case DispatchMode::kPendUnmarked:
      if (config.mode == DispatchMode::kPend) IoMarkIrpPending(irp);
      self->hooks_->arrived(irp, config.arrive);
      if (config.cancel_routine) {
        IoSetCancelRoutine(irp, Cancel);
        // The canonical race check: cancelled before the routine was set.
        if (irp->Cancel && IoSetCancelRoutine(irp, nullptr) != nullptr) {
          irp->IoStatus.Status = STATUS_CANCELLED;
          irp->IoStatus.Information = 0;
          IoCompleteRequest(irp, IO_NO_INCREMENT);
        }
      }
      return STATUS_PENDING;
    case DispatchMode::kForward:
      IoCopyCurrentIrpStackLocationToNext(irp);
      IoSetCompletionRoutine(irp, ForwardCompletion, self, TRUE, TRUE, TRUE);
      return IoCallDriver(self->lower_, irp);
    case DispatchMode::kSkip: IoSkipCurrentIrpStackLocation(irp); return IoCallDriver(self->lower_, irp);
    case DispatchMode::kCount: break;
  }
  return STATUS_INVALID_DEVICE_REQUEST;
}

VOID FilterDevice::Cancel(PDEVICE_OBJECT device, PIRP irp) {
  auto* self = static_cast<FilterDevice*>(device->DeviceExtension);
  IoReleaseCancelSpinLock(irp->CancelIrql);
  self->hooks_->called(irp, /*cancel=*/true, STATUS_CANCELLED);
  irp->IoStatus.Status = STATUS_CANCELLED;
  irp->IoStatus.Information = 0;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
}

NTSTATUS FilterDevice::ForwardCompletion(PDEVICE_OBJECT, PIRP irp, PVOID context) {
  auto* self = static_cast<FilterDevice*>(context);
  self->hooks_->called(irp, /*cancel=*/false, irp->IoStatus.Status);
  if (self->config_.mark && irp->PendingReturned) IoMarkIrpPending(irp);
  return STATUS_CONTINUE_COMPLETION;
}

namespace {

NTSTATUS ProgramCompletion(PDEVICE_OBJECT, PIRP irp, PVOID context) {
  auto* sinks = static_cast<IrpSinks*>(context);
  sinks->hooks->called(irp, /*cancel=*/false, irp->IoStatus.Status);
  switch (sinks->routine) {
    case RoutineMode::kMore: return STATUS_MORE_PROCESSING_REQUIRED;
    case RoutineMode::kFreeMore: IoFreeIrp(irp); return STATUS_MORE_PROCESSING_REQUIRED;
    case RoutineMode::kSignalMore:
      KeSetEvent(&sinks->event, IO_NO_INCREMENT, FALSE);
      return STATUS_MORE_PROCESSING_REQUIRED;
    case RoutineMode::kMarkContinue:
      if (irp->PendingReturned) IoMarkIrpPending(irp);
      return STATUS_CONTINUE_COMPLETION;
    default: return STATUS_CONTINUE_COMPLETION;
  }
}

}  // namespace

namespace {

const WdmDriverHooks* g_cancel_hooks = nullptr;  // one program runs at a time

VOID ProgramCancel(PDEVICE_OBJECT, PIRP irp) {
  IoReleaseCancelSpinLock(irp->CancelIrql);
  g_cancel_hooks->called(irp, /*cancel=*/true, STATUS_CANCELLED);
  irp->IoStatus.Status = STATUS_CANCELLED;
  irp->IoStatus.Information = 0;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
}

}  // namespace

void SetProgramCancelRoutine(PIRP irp, const WdmDriverHooks* hooks, bool set, bool* had_routine) {
  g_cancel_hooks = hooks;
  *had_routine = IoSetCancelRoutine(irp, set ? ProgramCancel : nullptr) != nullptr;
}

void SetProgramCompletionRoutine(IrpSinks& sinks, bool on_success, bool on_error, bool on_cancel) {
  IoSetCompletionRoutine(sinks.irp, sinks.routine == RoutineMode::kNone ? nullptr : ProgramCompletion, &sinks,
                         on_success, on_error, on_cancel);
}

}  // namespace wdfsim::program
