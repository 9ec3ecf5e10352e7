// WDFQUEUE (FxIoQueue): the requests it holds, the requests the driver took
// from it, its accept/dispatch state, ready notification, the Stop / Purge /
// Drain completion callbacks, presentation to EvtIo* callbacks, and cancel
// of a request while it waits in the queue (SEMANTICS-WDF 5).
#ifndef WDFSIM_CORE_QUEUE_H_
#define WDFSIM_CORE_QUEUE_H_

#include <deque>
#include <functional>
#include <vector>

#include "object.h"
#include "wdfsim/harness/trace.h"
#include "wdfsim/wdf.h"

namespace wdfsim::core {

class Device;
class Request;

class Queue final : public Object {
 public:
  Queue(World& world, Device& device, const WDF_IO_QUEUE_CONFIG& config);

  Device& device() const { return device_; }
  WDF_IO_QUEUE_DISPATCH_TYPE dispatch_type() const { return config_.DispatchType; }
  bool manual() const { return config_.DispatchType == WdfIoQueueDispatchManual; }
  bool accepting() const { return accept_; }
  bool dispatching() const { return dispatch_; }
  bool HasReadyNotify() const { return ready_.method != nullptr; }
  bool transition_from_empty() const { return transition_from_empty_; }
  size_t queued_count() const { return queued_.size(); }
  size_t driver_count() const { return owned_.size(); }
  WDF_IO_QUEUE_STATE State() const;

  // FxIoQueue::QueueRequest: an arrival (or a forward). A queue that does not
  // accept completes it with STATUS_INVALID_DEVICE_STATE (forwards get the
  // status back instead). Returns the status of the insertion.
  NTSTATUS QueueRequest(Request& request, bool forwarded, Ddi ddi);
  // WdfRequestRequeue: back to the head of this (manual) queue.
  NTSTATUS Requeue(Request& request, Ddi ddi);

  NTSTATUS ReadyNotify(PFN_WDF_IO_QUEUE_STATE method, WDFCONTEXT context, Ddi ddi);
  // GetRequest: the first queued request (of `file_object`, if given).
  NTSTATUS Retrieve(const Object* file_object, Request** out, Ddi ddi);
  void Start(Ddi ddi);
  // QueueIdle: Stop (cancel_requests false) or StopAndPurge (true).
  void Idle(bool cancel_requests, PFN_WDF_IO_QUEUE_STATE done, WDFCONTEXT context, Ddi ddi);
  // QueuePurge: Purge (cancel_requests true) or Drain (false).
  void Purge(bool cancel_requests, PFN_WDF_IO_QUEUE_STATE done, WDFCONTEXT context, Ddi ddi);
  // The *Synchronously variants: the same with an internal callback, then a
  // wait on the virtual clock until it ran.
  void WaitFor(bool purge, bool cancel_requests, Ddi ddi);

  // A request this queue holds or the driver took from it is gone.
  void RequestCompleted(const Request* request);
  // The request leaves the driver-owned list (forwarded or requeued away);
  // the caller runs ProcessEvents once the move is done.
  void ReleaseOwnership(const Request* request);
  void ProcessEvents();
  // The originator canceled a queued request's IRP (CancelForQueue).
  void CancelQueued(Request& request, Ddi ddi);
  // Power-managed queues (WDF_IO_QUEUE_CONFIG.PowerManaged; by default all
  // but a filter's) deliver requests only while the device is in D0.
  bool power_managed() const { return power_managed_; }
  bool powered_off() const { return powered_off_; }
  // The device leaves D0: no more presentation or ready notification, and
  // EvtIoStop(Suspend) once for each request the driver holds. The device may
  // go once PowerOffDone().
  void PowerOff(Ddi ddi);
  // Each request the driver held is completed, requeued, or acknowledged with
  // WdfRequestStopAcknowledge(Requeue=FALSE).
  bool PowerOffDone() const;
  // The device is back in D0: EvtIoResume for each request acknowledged
  // without requeue, then dispatch as at Start (a non-empty queue notifies).
  void PowerOn(Ddi ddi);
  // WdfRequestStopAcknowledge(Requeue=FALSE) on a request the driver holds.
  void StopAcknowledged(Request* request);
  // Device removal: EvtIoStop(Purge) for the requests the driver holds,
  // queued requests canceled, driver-cancelable requests canceled.
  void PurgeForRemove(Ddi ddi);
  bool Owns(const Request* request) const;
  bool Holds(const Request* request) const;

 protected:
  void Dispose() override;

 private:
  struct Callback {
    PFN_WDF_IO_QUEUE_STATE method = nullptr;
    WDFCONTEXT context = nullptr;
    std::function<void()> internal;  // for the *Synchronously DDIs
    bool pending() const { return method != nullptr || internal != nullptr; }
  };
  void Insert(Request& request, bool at_head, Ddi ddi);
  void CheckTransitionFromEmpty();
  // FxIoQueue::DispatchEvents: ready notification, presentation, the idle
  // and purge callbacks. Not reentrant: a nested call makes the running one
  // loop again.
  void DispatchEvents();
  void Present(Request& request);
  // A zero-length read or write the queue does not allow: the framework
  // completes it (STATUS_SUCCESS, 0). True if it did.
  bool CompletedAsZeroLength(Request& request, Ddi ddi);
  void CancelQueuedRequests(Ddi ddi);
  void CancelDriverCancelable(Ddi ddi);
  void FatalError(NTSTATUS status, Ddi ddi, const char* what);
  void Invoke(Callback callback, QueueCallback which);
  bool CanPresent() const;

  Device& device_;
  WDF_IO_QUEUE_CONFIG config_;
  bool accept_ = true;
  bool dispatch_ = true;
  std::deque<Request*> queued_;  // FxIrpQueue, arrival order
  std::vector<Request*> owned_;  // m_DriverIoCount's list
  bool transition_from_empty_ = false;
  bool force_transition_ = false;
  bool cancel_dispatched_requests_ = false;
  bool power_managed_;
  bool powered_off_ = false;
  std::vector<Request*> suspended_;  // acknowledged without requeue, awaiting EvtIoResume
  Callback ready_;
  Callback idle_;
  Callback purge_;
  int dispatching_events_ = 0;
  bool dispatch_again_ = false;
};

// The framework's cancel routines for a request's IRP: in a queue
// (FxIoQueue::_IrpCancelForQueue) and marked cancelable by the driver
// (FxRequest::_IrpCancelRoutine).
VOID QueueIrpCancel(PDEVICE_OBJECT device, PIRP irp);
VOID RequestIrpCancel(PDEVICE_OBJECT device, PIRP irp);

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_QUEUE_H_
