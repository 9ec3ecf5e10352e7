// WdfIoQueue* DDIs and the request DDIs that concern queues: parameters,
// forwarding, requeue, cancelable marking and stop acknowledgement
// (SEMANTICS-WDF 5; fxioqueueapi.cpp, fxrequestapi.cpp).
#include "absl/strings/str_format.h"
#include "device.h"
#include "irp.h"
#include "object_attributes.h"
#include "queue.h"
#include "request.h"
#include "world.h"

using wdfsim::RuleId;
using wdfsim::core::Ddi;
using wdfsim::core::Device;
using wdfsim::core::ObjectType;
using wdfsim::core::Queue;
using wdfsim::core::Request;
using wdfsim::core::World;

namespace {

Queue* ResolveQueue(World& w, WDFQUEUE handle, Ddi ddi) {
  return static_cast<Queue*>(w.Resolve(handle, ddi, {ObjectType::kQueue}));
}

Request* ResolveRequest(World& w, WDFREQUEST handle, Ddi ddi) {
  return static_cast<Request*>(w.Resolve(handle, ddi, {ObjectType::kRequest}));
}

// WdfIoQueueCreate's config checks (FxIoQueue::_Create / Initialize).
NTSTATUS ValidateQueueConfig(const WDF_IO_QUEUE_CONFIG& config) {
  if (config.Size != sizeof(WDF_IO_QUEUE_CONFIG)) return STATUS_INFO_LENGTH_MISMATCH;
  if (config.DispatchType <= WdfIoQueueDispatchInvalid || config.DispatchType >= WdfIoQueueDispatchMax) {
    return STATUS_INVALID_PARAMETER;
  }
  const bool any_io_callback = config.EvtIoDefault != nullptr || config.EvtIoRead != nullptr ||
                               config.EvtIoWrite != nullptr || config.EvtIoDeviceControl != nullptr ||
                               config.EvtIoInternalDeviceControl != nullptr;
  if (config.DispatchType == WdfIoQueueDispatchManual && any_io_callback) return STATUS_INVALID_PARAMETER;
  if (config.DispatchType != WdfIoQueueDispatchManual && !any_io_callback) return STATUS_WDF_NO_CALLBACK;
  if (config.DispatchType == WdfIoQueueDispatchParallel && config.Settings.Parallel.NumberOfPresentedRequests == 0) {
    return STATUS_INVALID_PARAMETER;
  }
  return STATUS_SUCCESS;
}

// A request the driver must own for requeue, forward or stop acknowledge.
bool DriverOwnsForQueueOp(World& w, Request& request, Ddi ddi) {
  if (!request.from_io() || !request.driver_owned() || request.queue() == nullptr || !request.queue()->Owns(&request)) {
    w.Report(RuleId::kQueueRequestMisuse, ddi, "the driver does not own the request", {&request});
    return false;
  }
  if (request.cancelable() && !request.cancel_routine_started()) {
    w.Report(RuleId::kQueueRequestMisuse, ddi, "the request is still cancelable; unmark it first", {&request});
    return false;
  }
  if (request.sent_to_target()) {
    w.Report(RuleId::kQueueRequestMisuse, ddi, "the request is still pending on an I/O target", {&request});
    return false;
  }
  return true;
}

void QueueIdleDdi(WDFQUEUE Queue, bool cancel, PFN_WDF_IO_QUEUE_STATE done, WDFCONTEXT context, Ddi ddi) {
  World& w = World::Current();
  w.EnterDdi(ddi, Queue);
  ResolveQueue(w, Queue, ddi)->Idle(cancel, done, context, ddi);
}

void QueuePurgeDdi(WDFQUEUE Queue, bool cancel, PFN_WDF_IO_QUEUE_STATE done, WDFCONTEXT context, Ddi ddi) {
  World& w = World::Current();
  w.EnterDdi(ddi, Queue);
  ResolveQueue(w, Queue, ddi)->Purge(cancel, done, context, ddi);
}

void QueueWaitDdi(WDFQUEUE Queue, bool purge, bool cancel, Ddi ddi) {
  World& w = World::Current();
  w.EnterDdi(ddi, Queue);
  ResolveQueue(w, Queue, ddi)->WaitFor(purge, cancel, ddi);
}

}  // namespace

NTSTATUS WdfIoQueueCreate(WDFDEVICE Device, PWDF_IO_QUEUE_CONFIG Config, PWDF_OBJECT_ATTRIBUTES QueueAttributes,
                          WDFQUEUE* Queue) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfIoQueueCreate, Device);
  auto* device = static_cast<wdfsim::core::Device*>(w.Resolve(Device, Ddi::kWdfIoQueueCreate, {ObjectType::kDevice}));
  w.RequireNotNull(Config, Ddi::kWdfIoQueueCreate, "Config");
  NTSTATUS status = ValidateQueueConfig(*Config);
  if (!NT_SUCCESS(status)) return status;
  status = wdfsim::core::ValidateObjectAttributes(QueueAttributes, 0);
  if (!NT_SUCCESS(status)) return status;
  if (Config->DefaultQueue && device->default_queue() != nullptr) return STATUS_UNSUCCESSFUL;
  wdfsim::core::Object* parent = device;
  if (QueueAttributes != nullptr && QueueAttributes->ParentObject != nullptr) {
    status = wdfsim::core::ResolveParent(w, QueueAttributes, Ddi::kWdfIoQueueCreate, &parent);
    if (!NT_SUCCESS(status)) return status;
  }
  auto* queue = new wdfsim::core::Queue(w, *device, *Config);
  queue->ApplyAttributes(QueueAttributes);
  queue->Commit(parent);
  device->AddQueue(queue);
  if (Config->DefaultQueue) device->set_default_queue(queue);
  if (Queue != nullptr) *Queue = static_cast<WDFQUEUE>(queue->handle());
  return STATUS_SUCCESS;
}

NTSTATUS WdfDeviceConfigureRequestDispatching(WDFDEVICE Device, WDFQUEUE Queue, WDF_REQUEST_TYPE RequestType) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfDeviceConfigureRequestDispatching, Device);
  auto* device = static_cast<wdfsim::core::Device*>(
      w.Resolve(Device, Ddi::kWdfDeviceConfigureRequestDispatching, {ObjectType::kDevice}));
  auto* queue = ResolveQueue(w, Queue, Ddi::kWdfDeviceConfigureRequestDispatching);
  if (&queue->device() != device) return STATUS_INVALID_DEVICE_REQUEST;
  // FxPkgIo::ConfigureDynamicDispatching / ConfigureForwarding: the types a
  // queue can take, one queue per type.
  if (RequestType != WdfRequestTypeRead && RequestType != WdfRequestTypeWrite &&
      RequestType != WdfRequestTypeDeviceControl && RequestType != WdfRequestTypeDeviceControlInternal &&
      RequestType != WdfRequestTypeCreate) {
    return STATUS_INVALID_PARAMETER;
  }
  const auto major = static_cast<UCHAR>(RequestType);
  if (device->configured(major) != nullptr) return STATUS_WDF_BUSY;
  device->Configure(major, queue);
  return STATUS_SUCCESS;
}

WDF_IO_QUEUE_STATE WdfIoQueueGetState(WDFQUEUE Queue, PULONG QueueRequests, PULONG DriverRequests) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfIoQueueGetState, Queue);
  auto* queue = ResolveQueue(w, Queue, Ddi::kWdfIoQueueGetState);
  if (QueueRequests != nullptr) *QueueRequests = static_cast<ULONG>(queue->queued_count());
  if (DriverRequests != nullptr) *DriverRequests = static_cast<ULONG>(queue->driver_count());
  return queue->State();
}

WDFDEVICE WdfIoQueueGetDevice(WDFQUEUE Queue) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfIoQueueGetDevice, Queue);
  return static_cast<WDFDEVICE>(ResolveQueue(w, Queue, Ddi::kWdfIoQueueGetDevice)->device().handle());
}

NTSTATUS WdfIoQueueReadyNotify(WDFQUEUE Queue, PFN_WDF_IO_QUEUE_STATE QueueReady, WDFCONTEXT Context) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfIoQueueReadyNotify, Queue);
  return ResolveQueue(w, Queue, Ddi::kWdfIoQueueReadyNotify)
      ->ReadyNotify(QueueReady, Context, Ddi::kWdfIoQueueReadyNotify);
}

namespace {

// GetRequest for both retrieval DDIs; `file_object` null takes any request.
NTSTATUS RetrieveDdi(WDFQUEUE Queue, WDFFILEOBJECT FileObject, WDFREQUEST* OutRequest, Ddi ddi) {
  World& w = World::Current();
  w.EnterDdi(ddi, Queue);
  auto* queue = ResolveQueue(w, Queue, ddi);
  const wdfsim::core::Object* file_object = ddi == Ddi::kWdfIoQueueRetrieveRequestByFileObject
                                                ? w.Resolve(FileObject, ddi, {ObjectType::kFileObject})
                                                : nullptr;
  w.RequireNotNull(OutRequest, ddi, "OutRequest");
  Request* request = nullptr;
  const NTSTATUS status = queue->Retrieve(file_object, &request, ddi);
  *OutRequest = request != nullptr ? static_cast<WDFREQUEST>(request->handle()) : nullptr;
  return status;
}

}  // namespace

NTSTATUS WdfIoQueueRetrieveNextRequest(WDFQUEUE Queue, WDFREQUEST* OutRequest) {
  return RetrieveDdi(Queue, nullptr, OutRequest, Ddi::kWdfIoQueueRetrieveNextRequest);
}

NTSTATUS WdfIoQueueRetrieveRequestByFileObject(WDFQUEUE Queue, WDFFILEOBJECT FileObject, WDFREQUEST* OutRequest) {
  return RetrieveDdi(Queue, FileObject, OutRequest, Ddi::kWdfIoQueueRetrieveRequestByFileObject);
}

VOID WdfIoQueueStart(WDFQUEUE Queue) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfIoQueueStart, Queue);
  ResolveQueue(w, Queue, Ddi::kWdfIoQueueStart)->Start(Ddi::kWdfIoQueueStart);
}

VOID WdfIoQueueStop(WDFQUEUE Queue, PFN_WDF_IO_QUEUE_STATE StopComplete, WDFCONTEXT Context) {
  QueueIdleDdi(Queue, false, StopComplete, Context, Ddi::kWdfIoQueueStop);
}

VOID WdfIoQueueStopSynchronously(WDFQUEUE Queue) {
  QueueWaitDdi(Queue, false, false, Ddi::kWdfIoQueueStopSynchronously);
}

VOID WdfIoQueueStopAndPurge(WDFQUEUE Queue, PFN_WDF_IO_QUEUE_STATE StopAndPurgeComplete, WDFCONTEXT Context) {
  QueueIdleDdi(Queue, true, StopAndPurgeComplete, Context, Ddi::kWdfIoQueueStopAndPurge);
}

VOID WdfIoQueueStopAndPurgeSynchronously(WDFQUEUE Queue) {
  QueueWaitDdi(Queue, false, true, Ddi::kWdfIoQueueStopAndPurgeSynchronously);
}

VOID WdfIoQueuePurge(WDFQUEUE Queue, PFN_WDF_IO_QUEUE_STATE PurgeComplete, WDFCONTEXT Context) {
  QueuePurgeDdi(Queue, true, PurgeComplete, Context, Ddi::kWdfIoQueuePurge);
}

VOID WdfIoQueuePurgeSynchronously(WDFQUEUE Queue) {
  QueueWaitDdi(Queue, true, true, Ddi::kWdfIoQueuePurgeSynchronously);
}

VOID WdfIoQueueDrain(WDFQUEUE Queue, PFN_WDF_IO_QUEUE_STATE DrainComplete, WDFCONTEXT Context) {
  QueuePurgeDdi(Queue, false, DrainComplete, Context, Ddi::kWdfIoQueueDrain);
}

VOID WdfIoQueueDrainSynchronously(WDFQUEUE Queue) {
  QueueWaitDdi(Queue, true, false, Ddi::kWdfIoQueueDrainSynchronously);
}

VOID WdfRequestGetParameters(WDFREQUEST Request, PWDF_REQUEST_PARAMETERS Parameters) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestGetParameters, Request);
  auto* request = ResolveRequest(w, Request, Ddi::kWdfRequestGetParameters);
  w.RequireNotNull(Parameters, Ddi::kWdfRequestGetParameters, "Parameters");
  WDF_REQUEST_PARAMETERS_INIT(Parameters);
  const IO_STACK_LOCATION& location = request->parameters();
  Parameters->MinorFunction = location.MinorFunction;
  Parameters->Type = static_cast<WDF_REQUEST_TYPE>(location.MajorFunction);
  switch (location.MajorFunction) {
    case IRP_MJ_READ:
      Parameters->Parameters.Read.Length = location.Parameters.Read.Length;
      Parameters->Parameters.Read.DeviceOffset = location.Parameters.Read.ByteOffset.QuadPart;
      break;
    case IRP_MJ_WRITE:
      Parameters->Parameters.Write.Length = location.Parameters.Write.Length;
      Parameters->Parameters.Write.DeviceOffset = location.Parameters.Write.ByteOffset.QuadPart;
      break;
    case IRP_MJ_DEVICE_CONTROL:
    case IRP_MJ_INTERNAL_DEVICE_CONTROL:
      Parameters->Parameters.DeviceIoControl.OutputBufferLength =
          location.Parameters.DeviceIoControl.OutputBufferLength;
      Parameters->Parameters.DeviceIoControl.InputBufferLength = location.Parameters.DeviceIoControl.InputBufferLength;
      Parameters->Parameters.DeviceIoControl.IoControlCode = location.Parameters.DeviceIoControl.IoControlCode;
      Parameters->Parameters.DeviceIoControl.Type3InputBuffer = location.Parameters.DeviceIoControl.Type3InputBuffer;
      break;
    default: break;
  }
}

WDFQUEUE WdfRequestGetIoQueue(WDFREQUEST Request) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestGetIoQueue, Request);
  Queue* queue = ResolveRequest(w, Request, Ddi::kWdfRequestGetIoQueue)->queue();
  return queue != nullptr ? static_cast<WDFQUEUE>(queue->handle()) : nullptr;
}

WDFFILEOBJECT WdfRequestGetFileObject(WDFREQUEST Request) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestGetFileObject, Request);
  wdfsim::core::FileObject* file_object = ResolveRequest(w, Request, Ddi::kWdfRequestGetFileObject)->file_object();
  return file_object != nullptr ? static_cast<WDFFILEOBJECT>(file_object->handle()) : nullptr;
}

NTSTATUS WdfRequestForwardToIoQueue(WDFREQUEST Request, WDFQUEUE DestinationQueue) {
  World& w = World::Current();
  const Ddi ddi = Ddi::kWdfRequestForwardToIoQueue;
  w.EnterDdi(ddi, Request);
  auto* request = ResolveRequest(w, Request, ddi);
  auto* destination = ResolveQueue(w, DestinationQueue, ddi);
  if (!DriverOwnsForQueueOp(w, *request, ddi)) return STATUS_INVALID_DEVICE_REQUEST;
  Queue* source = request->queue();
  if (destination == source) {
    w.Report(RuleId::kQueueRequestMisuse, ddi, "the request is forwarded to the queue it came from", {request});
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  if (&destination->device() != &source->device()) {
    w.Report(RuleId::kQueueRequestMisuse, ddi, "the destination queue belongs to another device", {request});
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  if (!destination->accepting()) return STATUS_INVALID_DEVICE_STATE;  // the driver keeps the request
  source->ReleaseOwnership(request);
  request->set_deferred();
  // ForwardRequestWorker: the destination's events, then the source's.
  const NTSTATUS status = destination->QueueRequest(*request, /*forwarded=*/true, ddi);
  source->ProcessEvents();
  return status;
}

NTSTATUS WdfRequestRequeue(WDFREQUEST Request) {
  World& w = World::Current();
  const Ddi ddi = Ddi::kWdfRequestRequeue;
  w.EnterDdi(ddi, Request);
  auto* request = ResolveRequest(w, Request, ddi);
  if (!DriverOwnsForQueueOp(w, *request, ddi)) return STATUS_INVALID_DEVICE_REQUEST;
  if (!request->queue()->manual()) {
    w.Report(RuleId::kQueueRequestMisuse, ddi, "WdfRequestRequeue of a request from a queue that is not manual",
             {request});
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  return request->queue()->Requeue(*request, ddi);
}

VOID WdfRequestStopAcknowledge(WDFREQUEST Request, BOOLEAN Requeue) {
  World& w = World::Current();
  const Ddi ddi = Ddi::kWdfRequestStopAcknowledge;
  w.EnterDdi(ddi, Request);
  auto* request = ResolveRequest(w, Request, ddi);
  if (!Requeue) {
    // The driver keeps the request (and completes it later, or resumes it in
    // EvtIoResume once the device is back in D0).
    if (request->queue() != nullptr) request->queue()->StopAcknowledged(request);
    return;
  }
  if (!DriverOwnsForQueueOp(w, *request, ddi)) return;
  (void)request->queue()->Requeue(*request, ddi);
}

namespace {

// MarkCancelable / MarkCancelableEx (FxRequest::MarkCancelable).
NTSTATUS MarkCancelable(WDFREQUEST Request, PFN_WDF_REQUEST_CANCEL EvtRequestCancel, bool ex, Ddi ddi) {
  World& w = World::Current();
  w.EnterDdi(ddi, Request);
  auto* request = ResolveRequest(w, Request, ddi);
  w.RequireNotNull(reinterpret_cast<const void*>(EvtRequestCancel), ddi, "EvtRequestCancel");
  if (!request->from_io() || !request->driver_owned() || request->irp() == nullptr) {
    w.Report(RuleId::kRequestNotOwned, ddi, "the request is not owned by the driver", {request});
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  if (request->cancelable()) {
    w.Report(RuleId::kCancelableStateInvalid, ddi, "the request is already cancelable", {request});
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  request->MarkCancelable(EvtRequestCancel);
  IRP* irp = request->irp();
  if (!irp->Cancel) return STATUS_SUCCESS;
  // Already canceled: the Ex variant refuses, the plain one runs the
  // driver's cancel routine now.
  irp->CancelRoutine = nullptr;
  if (ex) {
    request->ClearCancelable();
    return STATUS_CANCELLED;
  }
  w.Report(RuleId::kCancelableStateInvalid, ddi,
           "WdfRequestMarkCancelable on a request already canceled (use WdfRequestMarkCancelableEx)", {request});
  request->set_cancel_routine_started();
  EvtRequestCancel(Request);
  return STATUS_SUCCESS;
}

}  // namespace

VOID WdfRequestMarkCancelable(WDFREQUEST Request, PFN_WDF_REQUEST_CANCEL EvtRequestCancel) {
  (void)MarkCancelable(Request, EvtRequestCancel, false, Ddi::kWdfRequestMarkCancelable);
}

NTSTATUS WdfRequestMarkCancelableEx(WDFREQUEST Request, PFN_WDF_REQUEST_CANCEL EvtRequestCancel) {
  return MarkCancelable(Request, EvtRequestCancel, true, Ddi::kWdfRequestMarkCancelableEx);
}

NTSTATUS WdfRequestUnmarkCancelable(WDFREQUEST Request) {
  World& w = World::Current();
  const Ddi ddi = Ddi::kWdfRequestUnmarkCancelable;
  w.EnterDdi(ddi, Request);
  auto* request = ResolveRequest(w, Request, ddi);
  if (!request->cancelable()) {
    w.Report(RuleId::kCancelableStateInvalid, ddi, "the request is not cancelable", {request});
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  if (request->cancel_routine_started()) {
    // The cancel routine owns completion.
    request->ClearCancelable();
    return STATUS_CANCELLED;
  }
  IRP* irp = request->irp();
  if (irp != nullptr && irp->CancelRoutine == &wdfsim::core::RequestIrpCancel) irp->CancelRoutine = nullptr;
  request->ClearCancelable();
  return STATUS_SUCCESS;
}

BOOLEAN WdfRequestIsCanceled(WDFREQUEST Request) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestIsCanceled, Request);
  auto* request = ResolveRequest(w, Request, Ddi::kWdfRequestIsCanceled);
  return request->irp() != nullptr && request->irp()->Cancel ? TRUE : FALSE;
}
