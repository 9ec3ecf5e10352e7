/* fsd_read.c: a WDM read helper in the style of serenum's byte reads and the
 * disk class geometry code (PATTERNS.md item 12), with the planted bugs
 * documented in fsd_read.h. The timed waits use the creator-side cancel of
 * KRN cheat-sheet scenario 7 (SEMANTICS-WDM A.4.2): a 4-state lock shared
 * with the completion routine decides who post-processes the IRP.
 * Compiled with -fexceptions: a bug check is a C++ exception that unwinds
 * through these frames. */
#include "fsd_read.h"

#ifndef InterlockedExchange
/* wdfsim's <wdm.h> has no Interlocked* yet; the compiler builtin is the same. */
#define InterlockedExchange(Target, Value) __atomic_exchange_n((Target), (Value), __ATOMIC_SEQ_CST)
#endif

#define IRPLOCK_CANCELABLE 0
#define IRPLOCK_CANCEL_STARTED 1
#define IRPLOCK_CANCEL_COMPLETE 2
#define IRPLOCK_COMPLETED 3

static NTSTATUS FsdReadSyncComplete(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  volatile LONG* lock = (volatile LONG*)Context;
  (void)DeviceObject;
  (void)Irp;
  /* The canceller is between its two exchanges: it completes the IRP again. */
  if (InterlockedExchange(lock, IRPLOCK_COMPLETED) == IRPLOCK_CANCEL_STARTED) return STATUS_MORE_PROCESSING_REQUIRED;
  return STATUS_CONTINUE_COMPLETION;
}

NTSTATUS FsdReadSync(PDEVICE_OBJECT Lower, PVOID Buffer, ULONG Length, LONGLONG Offset, ULONG_PTR* BytesRead) {
  KEVENT event;
  IO_STATUS_BLOCK iosb;
  LARGE_INTEGER offset;
  volatile LONG lock = IRPLOCK_CANCELABLE;
  PIRP irp;
  NTSTATUS status;

  *BytesRead = 0;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  iosb.Status = STATUS_SUCCESS;
  iosb.Information = 0;
  offset.QuadPart = Offset;
  irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, Lower, Buffer, Length, &offset, &event, &iosb);
  if (irp == NULL) return STATUS_INSUFFICIENT_RESOURCES;
  IoSetCompletionRoutine(irp, FsdReadSyncComplete, (PVOID)&lock, TRUE, TRUE, TRUE);

  status = IoCallDriver(Lower, irp);
  if (status == STATUS_PENDING) {
#ifdef FSD_BUG_NO_WAIT
    return status;
#else
    LARGE_INTEGER timeout;
    timeout.QuadPart = -FSD_READ_TIMEOUT_100NS;
    status = KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &timeout);
    if (status == STATUS_TIMEOUT) {
      if (InterlockedExchange(&lock, IRPLOCK_CANCEL_STARTED) == IRPLOCK_CANCELABLE) {
        /* The IRP is ours (we built it) and not yet completed. */
        IoCancelIrp(irp);
#ifdef FSD_BUG_RETURN_ON_TIMEOUT
        return STATUS_TIMEOUT;
#endif
        if (InterlockedExchange(&lock, IRPLOCK_CANCEL_COMPLETE) == IRPLOCK_COMPLETED) {
          IoCompleteRequest(irp, IO_NO_INCREMENT);
        }
      }
      /* The I/O manager still writes the stack IOSB and signals the event. */
      KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
    }
    status = iosb.Status;
#endif
  }
#ifdef FSD_BUG_FREE_SYNC_IRP
  IoFreeIrp(irp);
#endif
  /* Without a pend, an error status is only in IoCallDriver's return value
   * (the I/O manager writes the IOSB only for non-errors, A.3.2). */
  if (!NT_ERROR(status)) *BytesRead = iosb.Information;
  return status;
}

typedef struct _FSD_ASYNC_CONTEXT {
  KEVENT Event;
  volatile LONG Lock;
  NTSTATUS Status;
  ULONG_PTR Information;
} FSD_ASYNC_CONTEXT, *PFSD_ASYNC_CONTEXT;

static NTSTATUS FsdReadAsyncComplete(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  PFSD_ASYNC_CONTEXT ctx = (PFSD_ASYNC_CONTEXT)Context;
  (void)DeviceObject;
  ctx->Status = Irp->IoStatus.Status;
  ctx->Information = Irp->IoStatus.Information;
  /* A canceller between its two exchanges still touches the IRP: it frees it. */
  if (InterlockedExchange(&ctx->Lock, IRPLOCK_COMPLETED) != IRPLOCK_CANCEL_STARTED) IoFreeIrp(Irp);
  KeSetEvent(&ctx->Event, IO_NO_INCREMENT, FALSE);
#ifdef FSD_BUG_NO_MPR
  return STATUS_SUCCESS;
#else
  return STATUS_MORE_PROCESSING_REQUIRED;
#endif
}

NTSTATUS FsdReadAsync(PDEVICE_OBJECT Lower, PVOID Buffer, ULONG Length, LONGLONG Offset, ULONG_PTR* BytesRead) {
  FSD_ASYNC_CONTEXT ctx;
  LARGE_INTEGER timeout;
  PIRP irp;
  PIO_STACK_LOCATION next;

  *BytesRead = 0;
  KeInitializeEvent(&ctx.Event, NotificationEvent, FALSE);
  ctx.Lock = IRPLOCK_CANCELABLE;
  ctx.Status = STATUS_UNSUCCESSFUL;
  ctx.Information = 0;
  irp = IoAllocateIrp(Lower->StackSize, FALSE);
  if (irp == NULL) return STATUS_INSUFFICIENT_RESOURCES;
  irp->UserBuffer = Buffer;
  if (Lower->Flags & DO_BUFFERED_IO) irp->AssociatedIrp.SystemBuffer = Buffer;
  next = IoGetNextIrpStackLocation(irp);
  next->MajorFunction = IRP_MJ_READ;
  next->Parameters.Read.Length = Length;
  next->Parameters.Read.ByteOffset.QuadPart = Offset;
  IoSetCompletionRoutine(irp, FsdReadAsyncComplete, &ctx, TRUE, TRUE, TRUE);
  (void)IoCallDriver(Lower, irp);
  /* The completion routine always runs and always signals. */
  timeout.QuadPart = -FSD_READ_TIMEOUT_100NS;
  if (KeWaitForSingleObject(&ctx.Event, Executive, KernelMode, FALSE, &timeout) == STATUS_TIMEOUT) {
    if (InterlockedExchange(&ctx.Lock, IRPLOCK_CANCEL_STARTED) == IRPLOCK_CANCELABLE) {
      IoCancelIrp(irp);
      if (InterlockedExchange(&ctx.Lock, IRPLOCK_CANCEL_COMPLETE) == IRPLOCK_COMPLETED) IoFreeIrp(irp);
    }
    KeWaitForSingleObject(&ctx.Event, Executive, KernelMode, FALSE, NULL);
  }
  *BytesRead = ctx.Information;
  return ctx.Status;
}
