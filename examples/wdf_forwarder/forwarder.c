/* forwarder.c: a KMDF filter in the style of the kbfiltr / toaster filter
 * samples, with a manual queue drained by its ready callback (ndisprot,
 * PATTERNS.md item 10) and the planted bugs documented in forwarder.h.
 * Compiled with -fexceptions: a bug check is a C++ exception that unwinds
 * through these frames. */
#include "forwarder.h"

#include <ntddk.h>
#include <string.h>
#include <wdf.h>

#ifndef InterlockedExchangeAdd
/* wdfsim's <wdm.h> has no Interlocked* yet; the compiler builtin is the same. */
#define InterlockedExchangeAdd(Addend, Value) __atomic_fetch_add((Addend), (Value), __ATOMIC_SEQ_CST)
#endif

typedef struct _FWD_DEVICE_CONTEXT {
  WDFDEVICE Device;
  WDFQUEUE Queue;     /* the manual queue reads, writes and ioctls wait in */
  WDFIOTARGET Target; /* the next-lower driver */
  /* Requests taken from the queue and not yet completed. At
   * FWD_MAX_IN_FLIGHT the queue is stopped; it starts again when the count
   * drops to 0. The model runs one thread at a time; a real driver would hold
   * a spin lock around the count and the Stop/Start. */
  volatile LONG InFlight;
  BOOLEAN Stopped;
} FWD_DEVICE_CONTEXT, *PFWD_DEVICE_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(FWD_DEVICE_CONTEXT, FwdGetDeviceContext)

/* Per received request. */
typedef struct _FWD_REQUEST_CONTEXT {
  PFWD_DEVICE_CONTEXT Device;
  ULONG Retries; /* reads and writes: resends so far */
  /* Ioctls: the sub-request, and the parties that must finish before the
   * received request is completed (the sub-request's completion, and the
   * cancel routine while one may run). The last one completes it. */
  WDFREQUEST Sub;
  volatile LONG Shares;
  NTSTATUS Status;
  ULONG_PTR Information;
} FWD_REQUEST_CONTEXT, *PFWD_REQUEST_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(FWD_REQUEST_CONTEXT, FwdGetRequestContext)

static EVT_WDF_DRIVER_DEVICE_ADD FwdEvtDeviceAdd;
static EVT_WDF_IO_QUEUE_STATE FwdEvtQueueReady;
static EVT_WDF_REQUEST_COMPLETION_ROUTINE FwdForwardComplete;
static EVT_WDF_REQUEST_COMPLETION_ROUTINE FwdIoctlComplete;
static EVT_WDF_REQUEST_CANCEL FwdIoctlCancel;

/* Completes a request taken from the queue, and lets the queue dispatch
 * again once the lower device is idle. */
static VOID FwdCompleteReceived(PFWD_DEVICE_CONTEXT Device, WDFREQUEST Request, NTSTATUS Status,
                                ULONG_PTR Information) {
  WdfRequestCompleteWithInformation(Request, Status, Information);
  if (InterlockedExchangeAdd(&Device->InFlight, -1) == 1 && Device->Stopped) {
    Device->Stopped = FALSE;
    /* The ready callback runs again if requests waited meanwhile. */
    WdfIoQueueStart(Device->Queue);
  }
}

static VOID FwdSendOptions(PWDF_REQUEST_SEND_OPTIONS Options) {
  WDF_REQUEST_SEND_OPTIONS_INIT(Options, 0);
  WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(Options, WDF_REL_TIMEOUT_IN_MS(FWD_SEND_TIMEOUT_MS));
}

/* ---- Reads and writes: the received request itself goes down ---- */

static VOID FwdSendCurrent(WDFREQUEST Request, PFWD_REQUEST_CONTEXT Context) {
  WDF_REQUEST_SEND_OPTIONS options;
  WdfRequestFormatRequestUsingCurrentType(Request);
  WdfRequestSetCompletionRoutine(Request, FwdForwardComplete, Context);
  FwdSendOptions(&options);
  if (!WdfRequestSend(Request, Context->Device->Target, &options)) {
    /* Not sent: no completion routine runs. */
    FwdCompleteReceived(Context->Device, Request, WdfRequestGetStatus(Request), 0);
  }
}

static VOID FwdForwardComplete(WDFREQUEST Request, WDFIOTARGET Target, PWDF_REQUEST_COMPLETION_PARAMS Params,
                               WDFCONTEXT CompletionContext) {
  PFWD_REQUEST_CONTEXT context = (PFWD_REQUEST_CONTEXT)CompletionContext;
  WDF_REQUEST_SEND_OPTIONS options;
  (void)Target;
  /* A transient device error is worth one more try, unless the caller gave up. */
  if (Params->IoStatus.Status == STATUS_DEVICE_DATA_ERROR && context->Retries < FWD_MAX_RETRIES &&
      !WdfRequestIsCanceled(Request)) {
    context->Retries++;
#ifndef FWD_BUG_RETRY_UNFORMATTED
    WdfRequestFormatRequestUsingCurrentType(Request);
#endif
    WdfRequestSetCompletionRoutine(Request, FwdForwardComplete, context);
    FwdSendOptions(&options);
    if (WdfRequestSend(Request, context->Device->Target, &options)) return;
    FwdCompleteReceived(context->Device, Request, WdfRequestGetStatus(Request), 0);
    return;
  }
  FwdCompleteReceived(context->Device, Request, Params->IoStatus.Status, Params->IoStatus.Information);
}

/* ---- Ioctls: a sub-request of the driver's own goes down ---- */

/* Drops Count shares of the received request; the last one deletes the
 * sub-request (releasing its reference on the received request's output
 * memory) and completes the received request. */
static VOID FwdIoctlRelease(WDFREQUEST Received, LONG Count) {
  PFWD_REQUEST_CONTEXT context = FwdGetRequestContext(Received);
  if (InterlockedExchangeAdd(&context->Shares, -Count) != Count) return;
#ifndef FWD_BUG_EARLY_COMPLETE
  WdfObjectDelete(context->Sub);
#endif
  FwdCompleteReceived(context->Device, Received, context->Status, context->Information);
}

/* The sub-request is finished (completed, or not sent). */
static VOID FwdIoctlDone(WDFREQUEST Received, NTSTATUS Status, ULONG_PTR Information) {
  PFWD_REQUEST_CONTEXT context = FwdGetRequestContext(Received);
  context->Status = Status;
  context->Information = Information;
#ifdef FWD_BUG_DOUBLE_COMPLETE
  (void)WdfRequestUnmarkCancelable(Received);
  FwdIoctlRelease(Received, 2);
#else
  /* STATUS_CANCELLED: the cancel routine has run or will run, and keeps its share. */
  FwdIoctlRelease(Received, WdfRequestUnmarkCancelable(Received) == STATUS_CANCELLED ? 1 : 2);
#endif
}

static VOID FwdIoctlComplete(WDFREQUEST Request, WDFIOTARGET Target, PWDF_REQUEST_COMPLETION_PARAMS Params,
                             WDFCONTEXT CompletionContext) {
  (void)Target;
#ifdef FWD_BUG_EARLY_COMPLETE
  /* The received request was completed at send time. */
  (void)Params;
  (void)CompletionContext;
  WdfObjectDelete(Request);
#else
  (void)Request;
  FwdIoctlDone((WDFREQUEST)CompletionContext, Params->IoStatus.Status, Params->IoStatus.Information);
#endif
}

static VOID FwdIoctlCancel(WDFREQUEST Request) {
  PFWD_REQUEST_CONTEXT context = FwdGetRequestContext(Request);
  PFWD_DEVICE_CONTEXT device = context->Device;
  /* The sub-request is alive while this routine holds its share. The
   * sub-request's completion then reports the lower's status. */
  (void)WdfRequestCancelSentRequest(context->Sub);
#ifdef FWD_BUG_DOUBLE_COMPLETE
  FwdCompleteReceived(device, Request, STATUS_CANCELLED, 0);
#else
  (void)device;
  FwdIoctlRelease(Request, 1);
#endif
}

static VOID FwdForwardIoctl(WDFREQUEST Received, PFWD_REQUEST_CONTEXT Context, PWDF_REQUEST_PARAMETERS Params) {
  const size_t in_length = Params->Parameters.DeviceIoControl.InputBufferLength;
  const size_t out_length = Params->Parameters.DeviceIoControl.OutputBufferLength;
  WDFIOTARGET target = Context->Device->Target;
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_REQUEST_SEND_OPTIONS options;
  WDFMEMORY in_memory = NULL;
  WDFMEMORY out_memory = NULL;
  WDFREQUEST sub;
  NTSTATUS status;

  if (out_length > 0) {
    status = WdfRequestRetrieveOutputMemory(Received, &out_memory);
    if (!NT_SUCCESS(status)) {
      FwdCompleteReceived(Context->Device, Received, status, 0);
      return;
    }
  }
  WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
  attributes.ParentObject = Context->Device->Device;
  status = WdfRequestCreate(&attributes, target, &sub);
  if (!NT_SUCCESS(status)) {
    FwdCompleteReceived(Context->Device, Received, status, 0);
    return;
  }
  if (in_length > 0) {
    /* The lower driver gets a private copy of the input (METHOD_BUFFERED
     * ioctls share one buffer for input and output). */
    PVOID in_buffer;
    PVOID copy;
    status = WdfRequestRetrieveInputBuffer(Received, in_length, &in_buffer, NULL);
    if (NT_SUCCESS(status)) {
      WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
      attributes.ParentObject = sub;
      status = WdfMemoryCreate(&attributes, NonPagedPoolNx, FWD_POOL_TAG, in_length, &in_memory, &copy);
      if (NT_SUCCESS(status)) memcpy(copy, in_buffer, in_length);
    }
  }
  if (NT_SUCCESS(status)) {
    status = WdfIoTargetFormatRequestForIoctl(target, sub, Params->Parameters.DeviceIoControl.IoControlCode, in_memory,
                                              NULL, out_memory, NULL);
  }
  if (!NT_SUCCESS(status)) {
    WdfObjectDelete(sub);
    FwdCompleteReceived(Context->Device, Received, status, 0);
    return;
  }
  WdfRequestSetCompletionRoutine(sub, FwdIoctlComplete, Received);
  Context->Sub = sub;
  Context->Shares = 2;

#ifndef FWD_BUG_MARK_AFTER_SEND
  status = WdfRequestMarkCancelableEx(Received, FwdIoctlCancel);
  if (!NT_SUCCESS(status)) {
    /* Already canceled: the cancel routine will not run. */
    WdfObjectDelete(sub);
    FwdCompleteReceived(Context->Device, Received, status, 0);
    return;
  }
#endif
  FwdSendOptions(&options);
  if (!WdfRequestSend(sub, target, &options)) {
    FwdIoctlDone(Received, WdfRequestGetStatus(sub), 0);
    return;
  }
#ifdef FWD_BUG_MARK_AFTER_SEND
  status = WdfRequestMarkCancelableEx(Received, FwdIoctlCancel);
  if (!NT_SUCCESS(status)) (void)WdfRequestCancelSentRequest(sub);
#endif
#ifdef FWD_BUG_EARLY_COMPLETE
  FwdIoctlDone(Received, STATUS_SUCCESS, 0);
#endif
}

/* ---- The manual queue ---- */

static VOID FwdDispatch(PFWD_DEVICE_CONTEXT Device, WDFREQUEST Request) {
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_REQUEST_PARAMETERS params;
  PFWD_REQUEST_CONTEXT context;
  NTSTATUS status;

  if (InterlockedExchangeAdd(&Device->InFlight, 1) + 1 == FWD_MAX_IN_FLIGHT) {
    /* The lower device has enough to do: new requests wait in the queue. */
    Device->Stopped = TRUE;
    WdfIoQueueStop(Device->Queue, NULL, NULL);
  }
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, FWD_REQUEST_CONTEXT);
  status = WdfObjectAllocateContext(Request, &attributes, (PVOID*)&context);
  if (!NT_SUCCESS(status)) {
    FwdCompleteReceived(Device, Request, status, 0);
    return;
  }
  context->Device = Device;
  WDF_REQUEST_PARAMETERS_INIT(&params);
  WdfRequestGetParameters(Request, &params);
  switch (params.Type) {
    case WdfRequestTypeRead:
    case WdfRequestTypeWrite: FwdSendCurrent(Request, context); break;
    case WdfRequestTypeDeviceControl: FwdForwardIoctl(Request, context, &params); break;
    default: FwdCompleteReceived(Device, Request, STATUS_INVALID_DEVICE_REQUEST, 0); break;
  }
}

static VOID FwdEvtQueueReady(WDFQUEUE Queue, WDFCONTEXT Context) {
  PFWD_DEVICE_CONTEXT device = (PFWD_DEVICE_CONTEXT)Context;
  WDFREQUEST request;
  /* The callback fires on the queue's empty-to-non-empty edge (or a Start
   * with requests waiting) only: drain it until STATUS_NO_MORE_ENTRIES, or
   * STATUS_WDF_PAUSED once FwdDispatch stopped the queue. */
  while (NT_SUCCESS(WdfIoQueueRetrieveNextRequest(Queue, &request))) {
    FwdDispatch(device, request);
#ifdef FWD_BUG_NO_DRAIN
    break;
#endif
  }
}

/* ---- Driver and device ---- */

static NTSTATUS FwdEvtDeviceAdd(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit) {
  static const WDF_REQUEST_TYPE kForwarded[] = {WdfRequestTypeRead, WdfRequestTypeWrite, WdfRequestTypeDeviceControl};
  WDF_OBJECT_ATTRIBUTES attributes;
  WDF_IO_QUEUE_CONFIG queue_config;
  PFWD_DEVICE_CONTEXT context;
  WDFDEVICE device;
  NTSTATUS status;
  ULONG i;
  (void)Driver;

  /* Requests the driver has no queue for pass down to the lower driver. */
  WdfFdoInitSetFilter(DeviceInit);
  WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, FWD_DEVICE_CONTEXT);
  status = WdfDeviceCreate(&DeviceInit, &attributes, &device);
  if (!NT_SUCCESS(status)) return status;
  context = FwdGetDeviceContext(device);
  context->Device = device;
  context->Target = WdfDeviceGetIoTarget(device);

  WDF_IO_QUEUE_CONFIG_INIT(&queue_config, WdfIoQueueDispatchManual);
  status = WdfIoQueueCreate(device, &queue_config, WDF_NO_OBJECT_ATTRIBUTES, &context->Queue);
  if (!NT_SUCCESS(status)) return status;
  for (i = 0; i < sizeof(kForwarded) / sizeof(kForwarded[0]); ++i) {
    status = WdfDeviceConfigureRequestDispatching(device, context->Queue, kForwarded[i]);
    if (!NT_SUCCESS(status)) return status;
  }
  return WdfIoQueueReadyNotify(context->Queue, FwdEvtQueueReady, context);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  WDF_DRIVER_CONFIG config;
  WDF_DRIVER_CONFIG_INIT(&config, FwdEvtDeviceAdd);
  return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}
