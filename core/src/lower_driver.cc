#include "lower_driver.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "world.h"

namespace wdfsim::core {
namespace {

ScriptedLowerDevice& From(PDEVICE_OBJECT device) { return *static_cast<ScriptedLowerDevice*>(device->DeviceExtension); }

NTSTATUS LowerDispatch(PDEVICE_OBJECT device, PIRP irp) { return From(device).Dispatch(irp); }

VOID LowerCancel(PDEVICE_OBJECT device, PIRP irp) { From(device).CancelRoutine(irp); }

// The length an answer of kWholeLength stands for: what the IRP asks to move.
ULONG_PTR RequestLength(const IO_STACK_LOCATION& location) {
  switch (location.MajorFunction) {
    case IRP_MJ_READ: return location.Parameters.Read.Length;
    case IRP_MJ_WRITE: return location.Parameters.Write.Length;
    case IRP_MJ_DEVICE_CONTROL:
    case IRP_MJ_INTERNAL_DEVICE_CONTROL: return location.Parameters.DeviceIoControl.OutputBufferLength;
    default: return 0;
  }
}

// The buffer the device writes read data into, and its size.
void* DataBuffer(IRP* irp, const IO_STACK_LOCATION& location, ULONG device_flags, size_t* size) {
  *size = 0;
  const bool read = location.MajorFunction == IRP_MJ_READ;
  const bool ioctl =
      location.MajorFunction == IRP_MJ_DEVICE_CONTROL || location.MajorFunction == IRP_MJ_INTERNAL_DEVICE_CONTROL;
  if (!read && !ioctl) return nullptr;
  *size = read ? location.Parameters.Read.Length : location.Parameters.DeviceIoControl.OutputBufferLength;
  if (ioctl) {
    const ULONG method = METHOD_FROM_CTL_CODE(location.Parameters.DeviceIoControl.IoControlCode);
    if (method == METHOD_BUFFERED) return irp->AssociatedIrp.SystemBuffer;
    if (method == METHOD_NEITHER) return irp->UserBuffer;
    return irp->MdlAddress ? MmGetMdlVirtualAddress(irp->MdlAddress) : nullptr;
  }
  if (device_flags & DO_BUFFERED_IO) return irp->AssociatedIrp.SystemBuffer;
  if (device_flags & DO_DIRECT_IO) return irp->MdlAddress ? MmGetMdlVirtualAddress(irp->MdlAddress) : nullptr;
  return irp->UserBuffer;
}

constexpr NTSTATUS kChosenStatuses[] = {STATUS_SUCCESS, STATUS_BUFFER_OVERFLOW, STATUS_DEVICE_DATA_ERROR,
                                        STATUS_CANCELLED, STATUS_UNSUCCESSFUL};
constexpr int64_t kChosenDelays[] = {0, 1, 10 * 10000, 50 * 10000, 10000000};  // 0, 100 ns, 10 ms, 50 ms, 1 s

}  // namespace

ScriptedLowerDevice::ScriptedLowerDevice(World& world, LowerDeviceOptions options)
    : world_(world), options_(std::move(options)) {
  driver_.Type = 4;
  driver_.Size = sizeof(driver_);
  for (auto& dispatch : driver_.MajorFunction) dispatch = LowerDispatch;
  driver_.DeviceObject = &device_;
  device_.Type = 3;
  device_.Size = sizeof(device_);
  device_.DriverObject = &driver_;
  device_.StackSize = std::max<CCHAR>(options_.stack_size, 1);
  device_.Flags = options_.flags;
  device_.DeviceExtension = this;
  device_.DeviceType = FILE_DEVICE_UNKNOWN;
}

LowerAnswer ScriptedLowerDevice::NextAnswer(const IRP* irp) {
  if (script_position_ < options_.script.size()) return options_.script[script_position_++];
  if (!options_.answers_from_choices) return options_.default_answer;
  LowerAnswer answer;
  answer.kind = static_cast<LowerAnswer::Kind>(world_.Choose(3, ChoiceKind::kLowerAnswer));
  answer.status = kChosenStatuses[world_.Choose(5, ChoiceKind::kLowerAnswer)];
  const ULONG_PTR length = RequestLength(*IoGetCurrentIrpStackLocation(const_cast<IRP*>(irp)));
  answer.information =
      world_.Choose(static_cast<uint32_t>(std::min<ULONG_PTR>(length, 0xFFFF) + 1), ChoiceKind::kLowerAnswer);
  if (!NT_SUCCESS(answer.status) && NT_ERROR(answer.status)) answer.information = 0;
  answer.delay = kChosenDelays[world_.Choose(5, ChoiceKind::kTiming)];
  answer.on_cancel = static_cast<LowerAnswer::OnCancel>(world_.Choose(3, ChoiceKind::kLowerAnswer));
  answer.completion_irql = world_.Choose(2, ChoiceKind::kLowerAnswer) ? DISPATCH_LEVEL : PASSIVE_LEVEL;
  return answer;
}

ScriptedLowerDevice::Pending* ScriptedLowerDevice::FindPending(const IRP* irp) {
  for (Pending& p : pending_) {
    if (p.irp == irp) return &p;
  }
  return nullptr;
}

void ScriptedLowerDevice::Complete(IRP* irp, NTSTATUS status, ULONG_PTR information, size_t record) {
  const IO_STACK_LOCATION& location = *locations_[record];
  const ULONG_PTR length = RequestLength(location);
  if (information == LowerAnswer::kWholeLength) information = length;
  size_t size = 0;
  if (void* data = DataBuffer(irp, location, device_.Flags, &size); data != nullptr && !NT_ERROR(status)) {
    memset(data, 0xD0, std::min<size_t>(information, size));
  }
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(), [irp](const Pending& p) { return p.irp == irp; }),
                 pending_.end());
  irps_[record].completed = true;
  irp->IoStatus.Status = status;
  irp->IoStatus.Information = information;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
}

NTSTATUS ScriptedLowerDevice::Dispatch(IRP* irp) {
  const LowerAnswer answer = NextAnswer(irp);
  const size_t record = irps_.size();
  irps_.push_back({IoGetCurrentIrpStackLocation(irp)->MajorFunction, answer, false, false});
  locations_.push_back(IoGetCurrentIrpStackLocation(irp));
  if (answer.kind == LowerAnswer::Kind::kCompleteInline) {
    const NTSTATUS status = answer.status;
    Complete(irp, answer.status, answer.information, record);
    return status;
  }
  IoMarkIrpPending(irp);
  pending_.push_back({irp, record, 0});
  if (answer.on_cancel != LowerAnswer::OnCancel::kIgnore) {
    IoSetCancelRoutine(irp, LowerCancel);
    // Cancelled before the routine was set: take it back and complete now.
    // The check runs under the device's queue lock, which LowerCancel takes
    // too: a cancel on another processor cannot complete (and the I/O
    // manager free) the IRP between the set and the check, as it could in a
    // driver without the lock.
    world_.AcquireDriverLock();
    const bool cancelled_before = irp->Cancel && IoSetCancelRoutine(irp, nullptr) != nullptr;
    world_.ReleaseDriverLock();
    if (cancelled_before) {
      irps_[record].cancelled = true;
      Complete(irp, STATUS_CANCELLED, 0, record);
      return STATUS_PENDING;
    }
  }
  // The work a scheduling point ran at IoSetCancelRoutine's entry may have
  // completed this IRP already: sent to this device a second time, its first
  // dispatch's completion is also this one's (Complete forgets both).
  Pending* pending = FindPending(irp);
  if (answer.kind == LowerAnswer::Kind::kPend && pending != nullptr) {
    pending->completion_work = world_.Schedule(world_.now() + answer.delay, answer.completion_irql,
                                               "lower driver completion", [this, irp] { ScheduledCompletion(irp); });
  }
  return STATUS_PENDING;
}

bool ScriptedLowerDevice::StillAllocated(IRP* irp) {
  const IrpRecord* record = world_.FindIrp(irp);
  if (record != nullptr && !record->freed) return true;
  world_.Report(RuleId::kIrpInUse, Ddi::kNone, "an IRP this lower driver still owned was freed by another driver", {},
                reinterpret_cast<uint64_t>(irp));
  return false;
}

void ScriptedLowerDevice::ScheduledCompletion(IRP* irp) {
  Pending* pending = FindPending(irp);
  if (pending == nullptr || !StillAllocated(irp)) return;
  const size_t record = pending->record;
  pending->completion_work = 0;
  const LowerAnswer& answer = irps_[record].answer;
  // The dequeue side of the cancel race: NULL means the cancel routine owns it.
  if (answer.on_cancel != LowerAnswer::OnCancel::kIgnore && IoSetCancelRoutine(irp, nullptr) == nullptr) return;
  Complete(irp, answer.status, answer.information, record);
}

void ScriptedLowerDevice::CancelRoutine(IRP* irp) {
  IoReleaseCancelSpinLock(irp->CancelIrql);
  Pending* pending = FindPending(irp);
  if (pending == nullptr || !StillAllocated(irp)) return;
  const size_t record = pending->record;
  if (pending->completion_work != 0) world_.Cancel(pending->completion_work);
  irps_[record].cancelled = true;
  const LowerAnswer& answer = irps_[record].answer;
  if (answer.on_cancel == LowerAnswer::OnCancel::kCompleteNormally) {
    Complete(irp, answer.status, answer.information, record);
  } else {
    Complete(irp, STATUS_CANCELLED, 0, record);
  }
}

}  // namespace wdfsim::core
