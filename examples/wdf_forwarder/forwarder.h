/* forwarder: a small KMDF filter driver written as real drivers are, with
 * planted bugs for driver_fuzzer (examples/wdf_forwarder/driver_fuzzer.cc).
 *
 * DriverEntry creates the WDFDRIVER; EvtDriverDeviceAdd creates a filter
 * device with one manual queue that receives reads, writes and device
 * controls, and registers a ready callback that drains it. At most
 * FWD_MAX_IN_FLIGHT requests are with the lower driver: at that mark the
 * driver stops the queue (requests wait in it), and starts it again when the
 * lower driver has none left. Each request is forwarded to the device's lower
 * target with a send timeout:
 *   - reads and writes are sent on themselves (WdfRequestFormatRequestUsing-
 *     CurrentType) and completed from the completion routine with the lower
 *     status and information; a STATUS_DEVICE_DATA_ERROR is retried once;
 *   - device controls go down as a driver-created sub-request (parented to
 *     the device) that writes the lower's output into the received request's
 *     output WDFMEMORY and carries a private copy of the input in its own
 *     WDFMEMORY. The received request is cancelable while it waits: its
 *     EvtRequestCancel cancels the sub-request, and whichever of the cancel
 *     routine and the sub-request's completion finishes last deletes the
 *     sub-request and completes the received one (bluetooth serialhcibus
 *     io.c, PATTERNS.md item 3; SpbTestTool, item 7).
 *
 * Planted bugs, each a preprocessor switch (define at most one):
 *   FWD_BUG_NO_DRAIN           the ready callback retrieves one request per
 *                              notification instead of draining the queue to
 *                              STATUS_NO_MORE_ENTRIES; when the queue starts
 *                              again with several requests waiting, all but
 *                              one stall. Verifier:
 *                              ManualQueueStalled / RequestCompleted at unload.
 *   FWD_BUG_DOUBLE_COMPLETE    EvtRequestCancel completes the received ioctl
 *                              with STATUS_CANCELLED itself, and the
 *                              sub-request's completion ignores
 *                              WdfRequestUnmarkCancelable's STATUS_CANCELLED and
 *                              completes it too (an originator's cancel while
 *                              the sub-request is pending). Verifier:
 *                              InvalidHandle / DoubleCompletion /
 *                              CompleteWithMemoryReferenced.
 *   FWD_BUG_EARLY_COMPLETE     the received ioctl is completed as soon as the
 *                              sub-request was sent, while the sub-request's
 *                              format still references its output memory.
 *                              Verifier: CompleteWithMemoryReferenced.
 *   FWD_BUG_RETRY_UNFORMATTED  the retry of a read or write that failed with
 *                              STATUS_DEVICE_DATA_ERROR resends the request
 *                              without formatting it again. Verifier:
 *                              RequestFormattedValid.
 *   FWD_BUG_MARK_AFTER_SEND    the received ioctl is marked cancelable after the
 *                              sub-request was sent instead of before; a lower
 *                              driver that completes at once has already
 *                              completed it. Verifier: CancelableStateInvalid /
 *                              InvalidHandle.
 */
#ifndef WDFSIM_EXAMPLES_FORWARDER_H_
#define WDFSIM_EXAMPLES_FORWARDER_H_

#include <wdf.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Timeout of every send to the lower target, in milliseconds. */
#define FWD_SEND_TIMEOUT_MS 100

/* Requests with the lower driver at which the queue is stopped. */
#define FWD_MAX_IN_FLIGHT 2

/* Extra sends of a read or write that failed with STATUS_DEVICE_DATA_ERROR. */
#define FWD_MAX_RETRIES 1

/* Pool tag of the sub-request's input copy: 'Frwd' (the WDK writes 'dwrF';
 * gcc's -Wmultichar refuses that). */
#define FWD_POOL_TAG 0x64777246u

/* The driver's entry point: creates the WDFDRIVER with EvtDriverDeviceAdd. */
DRIVER_INITIALIZE DriverEntry;

#ifdef __cplusplus
}
#endif

#endif /* WDFSIM_EXAMPLES_FORWARDER_H_ */
