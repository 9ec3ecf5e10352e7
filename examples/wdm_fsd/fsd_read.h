/* fsd_read: a small WDM read helper written as real drivers write it, with
 * planted bugs for the fsd_irp fuzzer (examples/wdm_fsd/fsd_irp_fuzzer.cc).
 *
 * Planted bugs, each a preprocessor switch (define at most one):
 *   FSD_BUG_NO_WAIT           FsdReadSync returns IoCallDriver's STATUS_PENDING
 *                             without waiting on the event (the IRP still points
 *                             at the stack IOSB and event). Verifier:
 *                             IoBuildSynchronousFsdRequestWait at unload.
 *   FSD_BUG_FREE_SYNC_IRP     FsdReadSync calls IoFreeIrp on the
 *                             IoBuildSynchronousFsdRequest IRP after it completed
 *                             (the I/O manager frees it). Verifier:
 *                             IoBuildSynchronousFsdRequestNoFree / IrpFreedOnThreadList
 *                             / IrpDoubleFree.
 *   FSD_BUG_NO_MPR            FsdReadAsync's completion routine frees its
 *                             IoAllocateIrp IRP but returns STATUS_SUCCESS, so the
 *                             I/O manager post-processes a freed IRP. Verifier:
 *                             IrpDoubleFree / IoAllocateComplete.
 *   FSD_BUG_RETURN_ON_TIMEOUT FsdReadSync, on the timed wait's STATUS_TIMEOUT,
 *                             calls IoCancelIrp and returns without the second
 *                             wait (KRN cheat-sheet scenario 7 done wrong): the
 *                             completion APC later writes the unwound stack IOSB.
 *                             No verifier rule; the fuzzer's own oracle
 *                             ApcAfterReturn sees the APC run after the return.
 */
#ifndef WDFSIM_EXAMPLES_FSD_READ_H_
#define WDFSIM_EXAMPLES_FSD_READ_H_

#include <ntddk.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Timed wait of FsdReadSync, in 100 ns units (relative). */
#define FSD_READ_TIMEOUT_100NS (100LL * 10000LL)

/* Reads Length bytes at Offset from Lower with an IoBuildSynchronousFsdRequest
 * IRP; waits (100 ms, then cancel and wait again) if it pends. Returns the IOSB
 * status (or IoCallDriver's status when the lower driver did not pend);
 * *BytesRead is the IOSB Information. */
NTSTATUS FsdReadSync(PDEVICE_OBJECT Lower, PVOID Buffer, ULONG Length, LONGLONG Offset, ULONG_PTR* BytesRead);

/* The same read with an IoAllocateIrp IRP (neither-I/O buffer: UserBuffer /
 * an MDL for direct devices is not built; the buffer is passed as UserBuffer
 * and, for buffered devices, as SystemBuffer), a completion routine that
 * frees it and returns STATUS_MORE_PROCESSING_REQUIRED, and an event the
 * caller waits on. */
NTSTATUS FsdReadAsync(PDEVICE_OBJECT Lower, PVOID Buffer, ULONG Length, LONGLONG Offset, ULONG_PTR* BytesRead);

#ifdef __cplusplus
}
#endif

#endif /* WDFSIM_EXAMPLES_FSD_READ_H_ */
