// WDFIOTARGET (FxIoTarget): its states, formatting a request for it, the
// synchronous and asynchronous submit paths, the completion-ownership count
// that arbitrates between the lower driver's completion, the send timer and a
// cancel, and Start/Stop/Purge/Close (SEMANTICS-WDF sections 1, 2, 4.2-4.5, 4.9).
#ifndef WDFSIM_CORE_IO_TARGET_H_
#define WDFSIM_CORE_IO_TARGET_H_

#include <cstdint>
#include <vector>

#include "object.h"
#include "wdfsim/wdf.h"

namespace wdfsim::core {

class MemoryBase;
class Request;

// A buffer a format describes: a WDFMEMORY (referenced while formatted) or
// raw memory (a sync DDI's buffer descriptor).
struct FormatBuffer {
  MemoryBase* memory = nullptr;
  void* buffer = nullptr;
  size_t length = 0;
  size_t offset = 0;  // into the WDFMEMORY
};

// The outcome of a synchronous send, written by the sync completion path.
struct SyncWait {
  bool done = false;
  NTSTATUS status = STATUS_SUCCESS;
  bool call_driver_routine = false;  // WdfRequestSend(SYNCHRONOUS) chains the driver's routine
  PFN_WDF_REQUEST_COMPLETION_ROUTINE routine = nullptr;
  WDFCONTEXT context = nullptr;
};

class IoTarget final : public Object {
 public:
  IoTarget(World& world, PDEVICE_OBJECT device);

  WDF_IO_TARGET_STATE state() const { return state_; }
  PDEVICE_OBJECT device() const { return device_; }
  CCHAR stack_size() const { return stack_size_; }

  // FxRequestBase::ValidateTarget: the request's IRP, (re)allocated if the
  // framework owns it, must have a location for this target.
  NTSTATUS ValidateTarget(Request& request);
  // FormatIoRequest / FormatIoctlRequest. `major` is READ, WRITE,
  // DEVICE_CONTROL or INTERNAL_DEVICE_CONTROL.
  NTSTATUS Format(Request& request, UCHAR major, ULONG ioctl, const FormatBuffer& input, const FormatBuffer& output,
                  LONGLONG device_offset);

  // WdfRequestSend's asynchronous path: SubmitLocked, then IoCallDriver.
  // Returns TRUE if the request was sent or queued.
  bool SendAsync(Request& request, const WDF_REQUEST_SEND_OPTIONS* options, Ddi ddi);
  // FxIoTarget::SubmitSync: send, wait on the virtual clock (a timeout
  // cancels and waits again), return the status. `sync.call_driver_routine`
  // for WdfRequestSend(SYNCHRONOUS). *sent is set if the request was sent or queued.
  NTSTATUS SendSync(Request& request, const WDF_REQUEST_SEND_OPTIONS* options, SyncWait& sync, bool* sent, Ddi ddi);
  // Send-and-forget: the IRP goes to IoCallDriver directly (SEMANTICS-WDF 4.9).
  void SendAndForget(Request& request, Ddi ddi);

  // FxRequestBase::Cancel.
  BOOLEAN Cancel(Request& request, Ddi ddi);

  NTSTATUS Start(Ddi ddi);
  void Stop(WDF_IO_TARGET_SENT_IO_ACTION action, Ddi ddi);
  void Purge(WDF_IO_TARGET_PURGE_IO_ACTION action, Ddi ddi);
  void Close(Ddi ddi);

  // The framework's IO_COMPLETION_ROUTINE for the request's IRP.
  void OnIrpCompleted(Request& request, IRP* irp);
  // The timer's expiry and its DPC (TimerCallback).
  void OnTimerExpired(Request& request);
  void OnTimerDpc(Request& request);
  // The cancel routine of a request pended while the target is stopped.
  void OnPendedCancelled(Request& request, IRP* irp);

 protected:
  void Dispose() override;

 private:
  enum class Submit { kSend, kQueued, kFailed };
  Submit SubmitLocked(Request& request, const WDF_REQUEST_SEND_OPTIONS* options, ULONG flags, Ddi ddi);
  void StartTimer(Request& request, LONGLONG timeout);
  // KeCancelTimer: false once the timer has expired and its DPC is queued.
  bool CancelTimer(Request& request);
  // CanComplete: whoever brings the ownership count to zero completes.
  bool CanComplete(Request& request);
  bool IncrementGreaterThanZero(Request& request);
  void CompleteRequest(Request& request);  // RemoveCompletedRequestLocked + CompleteSubmitted
  void MorphTimeout(Request& request);
  void SendIrp(Request& request);
  void Pend(Request& request);
  void FailPended(Request& request, NTSTATUS status);
  void ResendPended();
  void CancelSent(Ddi ddi);
  void WaitForSentIo(Ddi ddi);
  void Unlink(Request& request);
  // A request the driver completed while it was sent (CompleteWhileSent):
  // the target drops its bookkeeping and its reference, with nothing to
  // complete.
  void Disown(Request& request);

  PDEVICE_OBJECT device_;
  CCHAR stack_size_;
  WDF_IO_TARGET_STATE state_ = WdfIoTargetStarted;
  bool removing_ = false;
  std::vector<Request*> sent_;    // m_SentIoListHead and m_IgnoredIoListHead
  std::vector<Request*> pended_;  // m_PendedQueue
};

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_IO_TARGET_H_
