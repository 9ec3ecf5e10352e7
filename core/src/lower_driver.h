// The LowerDevice implementation: a DRIVER_OBJECT and DEVICE_OBJECT whose
// dispatch routine answers from a script or the ChoiceSource.
#ifndef WDFSIM_CORE_LOWER_DRIVER_H_
#define WDFSIM_CORE_LOWER_DRIVER_H_

#include <memory>
#include <vector>

#include "wdfsim/harness/lower_driver.h"

namespace wdfsim::core {

class World;

class ScriptedLowerDevice final : public LowerDevice {
 public:
  ScriptedLowerDevice(World& world, LowerDeviceOptions options);
  PDEVICE_OBJECT device() override { return &device_; }
  const std::vector<LowerIrpRecord>& irps() const override { return irps_; }

  // The dispatch and cancel routines (C entry points find the device here).
  NTSTATUS Dispatch(IRP* irp);
  void CancelRoutine(IRP* irp);

 private:
  struct Pending {
    IRP* irp;
    size_t record;
    uint64_t completion_work;  // 0 when no completion is scheduled
  };
  LowerAnswer NextAnswer(const IRP* irp);
  // Completes as the answer says, through the stack location the IRP had at
  // dispatch (a driver keeps that pointer; the IRP's current one may have
  // moved if another driver completed it under this one).
  void Complete(IRP* irp, NTSTATUS status, ULONG_PTR information, size_t record);
  void ScheduledCompletion(IRP* irp);
  // True if `irp` is still allocated. Else another driver freed an IRP this
  // one owned (IrpInUse), and a real lower driver would now write freed
  // memory. (One that was completed or reset under it is completed anyway,
  // as a real driver would, and the I/O manager's checks report that.)
  bool StillAllocated(IRP* irp);
  Pending* FindPending(const IRP* irp);

  World& world_;
  LowerDeviceOptions options_;
  size_t script_position_ = 0;
  DRIVER_OBJECT driver_{};
  DEVICE_OBJECT device_{};
  std::vector<LowerIrpRecord> irps_;
  std::vector<const IO_STACK_LOCATION*> locations_;  // per record: its location at dispatch
  std::vector<Pending> pending_;
};

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_LOWER_DRIVER_H_
