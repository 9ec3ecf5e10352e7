// An independent reference model of the KMDF I/O queues of one device
// (SEMANTICS-WDF 5 and section 7 cases 26-29): manual, sequential and
// parallel dispatch, ready notification, retrieval, Stop/Start/Purge/Drain,
// requeue and forwarding, originator cancels, the device leaving and
// re-entering D0 (every queue is power-managed: the device is not a filter;
// Microsoft's "Using Power-Managed I/O Queues"), and the verifier's answers
// to misuse. Given a sequence of abstract operations it predicts, op by op, the
// status each DDI returns, the driver callbacks the framework makes, the
// requests completed to their originators, the verifier reports, and each
// queue's WdfIoQueueGetState. It shares no code with core/: only NTSTATUS
// values come from the public headers.
//
// Where SEMANTICS-WDF (and the framework code it cites) does not say what
// happens, Apply() marks the op unspecified and leaves the state untouched:
// tests and fuzz targets skip such ops instead of guessing.
#ifndef WDFSIM_PROPERTIES_MODEL_QUEUE_MODEL_H_
#define WDFSIM_PROPERTIES_MODEL_QUEUE_MODEL_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "wdfsim/ntstatus.h"

namespace wdfsim::queue_model {

enum class Dispatch : uint8_t { kManual, kSequential, kParallel };
const char* DispatchName(Dispatch dispatch);

struct QueueConfig {
  Dispatch dispatch = Dispatch::kManual;
  bool canceled_on_queue = false;  // EvtIoCanceledOnQueue is registered
};

// Queue 0 receives every request the I/O manager sends to the device (as
// the default queue, or through WdfDeviceConfigureRequestDispatching). Any
// other queue gets requests only by WdfRequestForwardToIoQueue.
struct DeviceConfig {
  std::vector<QueueConfig> queues = {QueueConfig{}};
  bool default_queue = true;  // else queue 0 is configured for IRP_MJ_READ
};

// Known places where the core departs from the documented semantics, each an
// entry (Q1, Q2, ...) of properties/DISAGREEMENTS.md. By default the model
// predicts the documented outcome; with a bit in `follow_core` it predicts
// what the core does instead, so that properties keep looking past a known
// disagreement.
enum Deviation : uint32_t {
  // Q1: RetrieveNextRequest on a sequential queue with no driver-owned
  // request. Docs (5.2, VerifyGetRequestUpdateFlags): a verifier break, and
  // the call goes on. Core: no report.
  kDevNoSequentialRetrieveBreak = 1u << 0,
  // Q2: a StopComplete still pending when the queue is started again. Docs
  // (5.3: Start "does not cancel a pending StopComplete callback";
  // DispatchEvents checks only m_DriverIoCount == 0): it fires when the
  // driver-owned count reaches 0. Core: only while the queue is stopped.
  kDevStopCompleteOnlyWhileStopped = 1u << 1,
  // Q3: a PurgeComplete or DrainComplete still pending when the queue accepts
  // again (Start, Stop). Docs (5.3: "PurgeComplete fires when queued +
  // driver-owned == 0"): it fires then. Core: only while not accepting.
  kDevPurgeCompleteOnlyWhileNotAccepting = 1u << 2,
  // Q4: WdfIoQueueStop on a purged or drained queue. Docs (5.3 QueueIdle:
  // "the queue state becomes Accept set, Dispatch cleared"): it accepts
  // again. Core: Accept stays cleared.
  kDevStopLeavesAcceptAlone = 1u << 3,
};
// The deviations the current core has (Q1-Q4 are fixed: none).
inline constexpr uint32_t kKnownCoreDeviations = 0;

enum class OpKind : uint8_t {
  kArrive,         // the I/O manager sends the next request (ids count up from 0)
  kRetrieve,       // WdfIoQueueRetrieveNextRequest(queue)
  kComplete,       // WdfRequestComplete(request, status)
  kCompleteTwice,  // WdfObjectReference; WdfRequestComplete x2; WdfObjectDereference
  kRequeue,        // WdfRequestRequeue(request)
  kForward,        // WdfRequestForwardToIoQueue(request, queue)
  kReadyNotify,    // WdfIoQueueReadyNotify(queue, flag ? callback : NULL, context)
  kStart,          // WdfIoQueueStart(queue)
  kStop,           // WdfIoQueueStop(queue, flag ? StopComplete : NULL, context)
  kPurge,          // WdfIoQueuePurge(queue, flag ? PurgeComplete : NULL, context)
  kDrain,          // WdfIoQueueDrain(queue, flag ? DrainComplete : NULL, context)
  kCancel,         // the originator cancels the request (IoCancelIrp)
  kPowerDown,      // the device leaves D0 (Simulation::PowerDown)
  kPowerUp,        // the device is back in D0 (Simulation::PowerUp)
  kCount,
};
const char* OpKindName(OpKind kind);

inline constexpr uint32_t kNoRequest = ~uint32_t{0};

struct Op {
  OpKind kind = OpKind::kArrive;
  uint8_t queue = 0;
  uint32_t request = 0;
  bool flag = false;
  NTSTATUS status = STATUS_SUCCESS;

  std::string ToString() const;
};

// A driver callback the framework made.
enum class Event : uint8_t {
  kReady,            // the ReadyNotify callback
  kStopComplete,     // WdfIoQueueStop's StopComplete
  kPurgeComplete,    // WdfIoQueuePurge's PurgeComplete
  kDrainComplete,    // WdfIoQueueDrain's DrainComplete
  kIoDefault,        // EvtIoDefault presented `request` (sequential, parallel)
  kCanceledOnQueue,  // EvtIoCanceledOnQueue(request); the test driver completes it STATUS_CANCELLED
  kIoStop,           // EvtIoStop(request, Suspend); the test driver acknowledges it without requeue
  kIoResume,         // EvtIoResume(request)
};
const char* EventName(Event event);

struct Callback {
  Event event;
  uint8_t queue;
  uint32_t request = kNoRequest;
  friend bool operator==(const Callback&, const Callback&) = default;
};

// The originator's IRP was completed during the op.
struct Completion {
  uint32_t request;
  NTSTATUS status;
  friend bool operator==(const Completion&, const Completion&) = default;
  friend bool operator<(const Completion& a, const Completion& b) { return a.request < b.request; }
};

// What the verifier reports (SEMANTICS-WDF 4.7, 5, 6.4, and DESIGN.md for
// stale handles).
enum class Report : uint8_t {
  kRequestNotOwned,     // break: WdfRequestComplete of a request the driver does not own
  kDoubleCompletion,    // break: the second WdfRequestComplete of a request (handle still referenced)
  kReadyNotifyMisuse,   // break: WdfIoQueueReadyNotify refused with STATUS_INVALID_DEVICE_REQUEST
  kRetrieveSequential,  // break: RetrieveNextRequest on a sequential queue with no driver-owned request
  kQueueRequestMisuse,  // break: requeue/forward of a request not owned, or requeue from a non-manual queue
  kQueueFatalError,     // bug check 0x10D/0xA: a second Stop/Purge/Drain completion registration
  kInvalidHandle,       // bug check 0x10D/0x5: a completed request's handle is stale
};
const char* ReportName(Report report);
bool IsBugCheck(Report report);

// WdfIoQueueGetState and its two counts.
struct QueueSnapshot {
  uint32_t state = 0;  // WDF_IO_QUEUE_STATE bits
  uint32_t queued = 0;
  uint32_t driver_owned = 0;
  friend bool operator==(const QueueSnapshot&, const QueueSnapshot&) = default;
};

// The observable result of one op.
struct Step {
  bool unspecified = false;  // the docs do not say; the op was not applied
  std::string why;           // for unspecified ops

  bool has_status = false;  // the DDI returns an NTSTATUS
  NTSTATUS status = STATUS_SUCCESS;
  uint32_t request = kNoRequest;  // kArrive: the new id; kRetrieve: the request retrieved
  std::vector<Callback> callbacks;
  std::vector<Completion> completions;  // sorted by request
  std::vector<Report> reports;
  bool bugcheck = false;
  std::vector<QueueSnapshot> queues;  // after the op, one per queue

  // Human-readable differences from `other` (empty when equal); callbacks
  // are compared queue by queue, in order.
  std::string Diff(const Step& other) const;
};

enum class Where : uint8_t { kQueued, kOwned, kCompleted };

struct Request {
  Where where = Where::kQueued;
  uint8_t queue = 0;           // queued on / owned from
  bool presented = false;      // the driver has had it (retrieved or EvtIo*)
  bool irp_cancelled = false;  // the originator cancelled it while the driver owned it
  NTSTATUS status = 0;         // final status once completed
  uint64_t owned_since = 0;    // when it last became driver-owned (the order of the queue's owned list)
  bool suspended = false;      // acknowledged in EvtIoStop while owned: EvtIoResume at the return to D0
};

class QueueModel {
 public:
  explicit QueueModel(DeviceConfig config, uint32_t follow_core = 0);

  // Predicts `op` and applies it (unless the step is unspecified).
  Step Apply(const Op& op);
  // What Apply would say, without applying it.
  Step Peek(const Op& op) const;

  const DeviceConfig& config() const { return config_; }
  size_t queue_count() const { return queues_.size(); }
  const std::vector<Request>& requests() const { return requests_; }
  std::vector<uint32_t> RequestsWhere(Where where) const;
  // The run ended in a bug check: no further op is executed.
  bool stopped() const { return stopped_; }
  QueueSnapshot Snapshot(uint8_t queue) const;
  bool ready_registered(uint8_t queue) const { return queues_[queue].ready; }
  bool completion_pending(uint8_t queue) const { return queues_[queue].idle_pending || queues_[queue].purge_pending; }
  // The ops that bring the device to rest from here: every queue started,
  // every request retrieved (or presented) and completed. Applying them in
  // order leaves nothing queued or owned.
  std::vector<Op> Quiesce() const;

 private:
  struct Queue {
    QueueConfig config;
    bool accept = true, dispatch = true;
    std::deque<uint32_t> items;
    uint32_t owned = 0;
    bool ready = false;                  // a ReadyNotify callback is registered
    bool transition_from_empty = false;  // m_TransitionFromEmpty
    bool force_transition = false;       // m_ForceTransitionFromEmptyWhenAddingNewRequest
    bool idle_pending = false;           // StopComplete registered, not yet called
    bool purge_pending = false;          // PurgeComplete or DrainComplete registered
    Event purge_event = Event::kPurgeComplete;
    bool power_off = false;  // the device is out of D0: no presentation, no notification
  };

  bool Valid(uint32_t request) const { return request < requests_.size(); }
  void Insert(uint8_t q, uint32_t id, bool at_head, Step& step);
  void CancelOnQueue(uint32_t id, Step& step);
  void CompleteRequest(uint32_t id, NTSTATUS status, Step& step);
  void DispatchEvents(uint8_t q, Step& step);
  void Own(uint32_t id);
  // The owned requests of queue `q` in the order they became owned.
  std::vector<uint32_t> OwnedOf(uint8_t q) const;
  void Unspecified(Step& step, std::string why) const;

  DeviceConfig config_;
  uint32_t follow_core_;
  std::vector<Queue> queues_;
  std::vector<Request> requests_;
  bool stopped_ = false;
  bool powered_off_ = false;
  uint64_t next_owned_ = 1;
};

}  // namespace wdfsim::queue_model

#endif  // WDFSIM_PROPERTIES_MODEL_QUEUE_MODEL_H_
