#include "model/queue_model.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace wdfsim::queue_model {
namespace {

constexpr uint32_t kAccept = 0x01, kDispatch = 0x02, kNoRequests = 0x04, kDriverNoRequests = 0x08, kPnpHeld = 0x10;

std::string Hex(NTSTATUS status) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08X", static_cast<unsigned>(status));
  return buf;
}

std::string CallbacksText(const std::vector<Callback>& callbacks) {
  std::string out = "[";
  for (const Callback& c : callbacks) {
    if (out.size() > 1) out += " ";
    out += std::string(EventName(c.event)) + "(q" + std::to_string(c.queue);
    if (c.request != kNoRequest) out += ",r" + std::to_string(c.request);
    out += ")";
  }
  return out + "]";
}

std::vector<Callback> OnQueue(const std::vector<Callback>& callbacks, uint8_t queue) {
  std::vector<Callback> out;
  for (const Callback& c : callbacks) {
    if (c.queue == queue) out.push_back(c);
  }
  return out;
}

}  // namespace

const char* DispatchName(Dispatch dispatch) {
  switch (dispatch) {
    case Dispatch::kManual: return "manual";
    case Dispatch::kSequential: return "sequential";
    case Dispatch::kParallel: return "parallel";
  }
  return "?";
}

const char* OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kArrive: return "arrive";
    case OpKind::kRetrieve: return "retrieve";
    case OpKind::kComplete: return "complete";
    case OpKind::kCompleteTwice: return "complete_twice";
    case OpKind::kRequeue: return "requeue";
    case OpKind::kForward: return "forward";
    case OpKind::kReadyNotify: return "ready_notify";
    case OpKind::kStart: return "start";
    case OpKind::kStop: return "stop";
    case OpKind::kPurge: return "purge";
    case OpKind::kDrain: return "drain";
    case OpKind::kCancel: return "cancel";
    case OpKind::kPowerDown: return "power_down";
    case OpKind::kPowerUp: return "power_up";
    case OpKind::kCount: break;
  }
  return "?";
}

const char* EventName(Event event) {
  switch (event) {
    case Event::kReady: return "Ready";
    case Event::kStopComplete: return "StopComplete";
    case Event::kPurgeComplete: return "PurgeComplete";
    case Event::kDrainComplete: return "DrainComplete";
    case Event::kIoDefault: return "EvtIoDefault";
    case Event::kCanceledOnQueue: return "EvtIoCanceledOnQueue";
    case Event::kIoStop: return "EvtIoStop";
    case Event::kIoResume: return "EvtIoResume";
  }
  return "?";
}

const char* ReportName(Report report) {
  switch (report) {
    case Report::kRequestNotOwned: return "RequestNotOwned";
    case Report::kDoubleCompletion: return "DoubleCompletion";
    case Report::kReadyNotifyMisuse: return "ReadyNotifyMisuse";
    case Report::kRetrieveSequential: return "RetrieveSequential";
    case Report::kQueueRequestMisuse: return "QueueRequestMisuse";
    case Report::kQueueFatalError: return "QueueFatalError";
    case Report::kInvalidHandle: return "InvalidHandle";
  }
  return "?";
}

bool IsBugCheck(Report report) { return report == Report::kQueueFatalError || report == Report::kInvalidHandle; }

std::string Op::ToString() const {
  std::string out = OpKindName(kind);
  switch (kind) {
    case OpKind::kPowerDown:
    case OpKind::kPowerUp:
    case OpKind::kArrive: break;
    case OpKind::kRetrieve:
    case OpKind::kStart: out += " q" + std::to_string(queue); break;
    case OpKind::kReadyNotify:
    case OpKind::kStop:
    case OpKind::kPurge:
    case OpKind::kDrain: out += " q" + std::to_string(queue) + (flag ? " with_callback" : " null_callback"); break;
    case OpKind::kComplete:
    case OpKind::kCompleteTwice: out += " r" + std::to_string(request) + " " + Hex(status); break;
    case OpKind::kRequeue:
    case OpKind::kCancel: out += " r" + std::to_string(request); break;
    case OpKind::kForward: out += " r" + std::to_string(request) + " to q" + std::to_string(queue); break;
    case OpKind::kCount: break;
  }
  return out;
}

std::string Step::Diff(const Step& other) const {
  std::string out;
  auto add = [&out](const std::string& what, const std::string& a, const std::string& b) {
    out += what + ": " + a + " vs " + b + "; ";
  };
  if (has_status != other.has_status || (has_status && status != other.status)) {
    add("status", has_status ? Hex(status) : "none", other.has_status ? Hex(other.status) : "none");
  }
  if (request != other.request) add("request", std::to_string(request), std::to_string(other.request));
  for (uint8_t q = 0; q < 8; ++q) {
    const auto mine = OnQueue(callbacks, q), theirs = OnQueue(other.callbacks, q);
    if (mine != theirs) add("callbacks on q" + std::to_string(q), CallbacksText(mine), CallbacksText(theirs));
  }
  if (completions != other.completions) {
    auto text = [](const std::vector<Completion>& cs) {
      std::string s = "[";
      for (const Completion& c : cs) s += (s.size() > 1 ? " r" : "r") + std::to_string(c.request) + "=" + Hex(c.status);
      return s + "]";
    };
    add("completions", text(completions), text(other.completions));
  }
  if (reports != other.reports) {
    auto text = [](const std::vector<Report>& rs) {
      std::string s = "[";
      for (Report r : rs) s += (s.size() > 1 ? " " : "") + std::string(ReportName(r));
      return s + "]";
    };
    add("reports", text(reports), text(other.reports));
  }
  if (bugcheck != other.bugcheck) add("bugcheck", bugcheck ? "yes" : "no", other.bugcheck ? "yes" : "no");
  if (!bugcheck && !other.bugcheck && queues != other.queues) {
    for (size_t q = 0; q < std::min(queues.size(), other.queues.size()); ++q) {
      auto text = [](const QueueSnapshot& s) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "state=0x%X queued=%u owned=%u", s.state, s.queued, s.driver_owned);
        return std::string(buf);
      };
      if (!(queues[q] == other.queues[q])) add("q" + std::to_string(q), text(queues[q]), text(other.queues[q]));
    }
  }
  return out;
}

QueueModel::QueueModel(DeviceConfig config, uint32_t follow_core)
    : config_(std::move(config)), follow_core_(follow_core) {
  for (const QueueConfig& qc : config_.queues) {
    Queue q;
    q.config = qc;
    queues_.push_back(q);  // created started (FxIoQueue::Initialize)
  }
}

std::vector<uint32_t> QueueModel::RequestsWhere(Where where) const {
  std::vector<uint32_t> out;
  for (uint32_t id = 0; id < requests_.size(); ++id) {
    if (requests_[id].where == where) out.push_back(id);
  }
  return out;
}

QueueSnapshot QueueModel::Snapshot(uint8_t q) const {
  const Queue& queue = queues_[q];
  QueueSnapshot s;
  s.state = (queue.accept ? kAccept : 0) | (queue.dispatch ? kDispatch : 0) | (queue.items.empty() ? kNoRequests : 0) |
            (queue.owned == 0 ? kDriverNoRequests : 0) | (queue.power_off ? kPnpHeld : 0);
  s.queued = static_cast<uint32_t>(queue.items.size());
  s.driver_owned = queue.owned;
  return s;
}

void QueueModel::Unspecified(Step& step, std::string why) const {
  step.unspecified = true;
  step.why = std::move(why);
}

// InsertNewRequestLocked / Requeue / QueueRequestFromForward, then
// CheckTransitionFromEmpty (5.1): the empty->non-empty edge, or the force flag.
void QueueModel::Insert(uint8_t q, uint32_t id, bool at_head, Step&) {
  Queue& queue = queues_[q];
  if (at_head) {
    queue.items.push_front(id);
  } else {
    queue.items.push_back(id);
  }
  requests_[id].where = Where::kQueued;
  requests_[id].queue = q;
  if (queue.items.size() == 1 || queue.force_transition) {
    queue.transition_from_empty = true;
    queue.force_transition = false;
  }
}

// CancelForQueue (5.3): EvtIoCanceledOnQueue if registered and the request was
// presented before (the test driver completes it at once), else the framework
// completes it STATUS_CANCELLED.
void QueueModel::CancelOnQueue(uint32_t id, Step& step) {
  Request& r = requests_[id];
  Queue& queue = queues_[r.queue];
  queue.items.erase(std::find(queue.items.begin(), queue.items.end(), id));
  if (queue.config.canceled_on_queue && r.presented) {
    step.callbacks.push_back({Event::kCanceledOnQueue, r.queue, id});
  }
  r.where = Where::kCompleted;
  r.status = STATUS_CANCELLED;
  step.completions.push_back({id, STATUS_CANCELLED});
}

void QueueModel::CompleteRequest(uint32_t id, NTSTATUS status, Step& step) {
  Request& r = requests_[id];
  queues_[r.queue].owned--;
  r.where = Where::kCompleted;
  r.status = status;
  step.completions.push_back({id, status});
  DispatchEvents(r.queue, step);  // RequestCompletedCallback
}

// FxIoQueue::DispatchEvents: idle (Stop) completion, then purge/drain
// completion, then the manual queue's ready notification or the presentation
// of the next request, until nothing is left to do.
void QueueModel::DispatchEvents(uint8_t q, Step& step) {
  Queue& queue = queues_[q];
  for (;;) {
    const bool stopped = !queue.dispatch || !(follow_core_ & kDevStopCompleteOnlyWhileStopped);
    const bool not_accepting = !queue.accept || !(follow_core_ & kDevPurgeCompleteOnlyWhileNotAccepting);
    if (queue.idle_pending && queue.owned == 0 && stopped) {
      queue.idle_pending = false;
      step.callbacks.push_back({Event::kStopComplete, q});
      continue;
    }
    if (queue.purge_pending && queue.owned == 0 && queue.items.empty() && not_accepting) {
      queue.purge_pending = false;
      step.callbacks.push_back({queue.purge_event, q});
      continue;
    }
    if (!queue.dispatch || queue.power_off) return;
    switch (queue.config.dispatch) {
      case Dispatch::kManual:
        if (queue.ready && queue.transition_from_empty) {
          queue.transition_from_empty = false;  // consumed before the callback (ProcessReadyNotify)
          step.callbacks.push_back({Event::kReady, q});
          continue;
        }
        return;
      case Dispatch::kSequential:
      case Dispatch::kParallel:
        if (queue.items.empty() || (queue.config.dispatch == Dispatch::kSequential && queue.owned > 0)) return;
        {
          const uint32_t id = queue.items.front();
          queue.items.pop_front();
          Own(id);
          requests_[id].presented = true;
          queue.owned++;
          step.callbacks.push_back({Event::kIoDefault, q, id});
        }
        continue;
    }
  }
}

Step QueueModel::Peek(const Op& op) const {
  QueueModel copy = *this;
  return copy.Apply(op);
}

Step QueueModel::Apply(const Op& op) {
  Step step;
  if (stopped_) {
    Unspecified(step, "the machine has bug-checked");
    return step;
  }
  const QueueModel before = *this;
  const bool needs_queue = op.kind == OpKind::kRetrieve || op.kind == OpKind::kForward ||
                           op.kind == OpKind::kReadyNotify || op.kind == OpKind::kStart || op.kind == OpKind::kStop ||
                           op.kind == OpKind::kPurge || op.kind == OpKind::kDrain;
  const bool needs_request = op.kind == OpKind::kComplete || op.kind == OpKind::kCompleteTwice ||
                             op.kind == OpKind::kRequeue || op.kind == OpKind::kForward || op.kind == OpKind::kCancel;
  if ((needs_queue && op.queue >= queues_.size()) || (needs_request && !Valid(op.request))) {
    Unspecified(step, "no such queue or request");
    return step;
  }
  auto bugcheck = [&](Report report) {
    step.reports.push_back(report);
    step.bugcheck = true;
  };
  auto refuse = [&](Report report, NTSTATUS status) {
    step.reports.push_back(report);
    step.has_status = true;
    step.status = status;
  };
  Request* r = needs_request ? &requests_[op.request] : nullptr;

  switch (op.kind) {
    case OpKind::kArrive: {
      const uint32_t id = static_cast<uint32_t>(requests_.size());
      requests_.push_back(Request{});
      step.request = id;
      if (!queues_[0].accept) {  // FxIoQueue::QueueRequest (5.3)
        requests_[id].where = Where::kCompleted;
        requests_[id].status = STATUS_INVALID_DEVICE_STATE;
        step.completions.push_back({id, STATUS_INVALID_DEVICE_STATE});
        break;
      }
      Insert(0, id, /*at_head=*/false, step);
      DispatchEvents(0, step);
      break;
    }

    case OpKind::kRetrieve: {  // 5.2
      Queue& queue = queues_[op.queue];
      step.has_status = true;
      if (queue.config.dispatch == Dispatch::kParallel) {
        step.status = STATUS_INVALID_DEVICE_STATE;
        break;
      }
      if (queue.config.dispatch == Dispatch::kSequential && queue.owned == 0 &&
          !(follow_core_ & kDevNoSequentialRetrieveBreak)) {
        step.reports.push_back(Report::kRetrieveSequential);  // a break; the call goes on
      }
      if (!queue.dispatch || queue.power_off) {
        step.status = STATUS_WDF_PAUSED;
        break;
      }
      if (queue.items.empty()) {
        step.status = STATUS_NO_MORE_ENTRIES;
        // Requests mid-cancel still counted would set the force flag; in this
        // model a cancel leaves the queue at once, so the count is 0 here.
        break;
      }
      const uint32_t id = queue.items.front();
      queue.items.pop_front();
      Own(id);
      requests_[id].presented = true;
      queue.owned++;
      step.status = STATUS_SUCCESS;
      step.request = id;
      break;
    }

    case OpKind::kComplete:
    case OpKind::kCompleteTwice:  // 4.7
      if (r->where == Where::kCompleted) {
        bugcheck(Report::kInvalidHandle);
        break;
      }
      if (r->where == Where::kQueued) {
        step.reports.push_back(Report::kRequestNotOwned);
        if (op.kind == OpKind::kCompleteTwice) step.reports.push_back(Report::kRequestNotOwned);
        break;
      }
      CompleteRequest(op.request, op.status, step);
      if (op.kind == OpKind::kCompleteTwice) step.reports.push_back(Report::kDoubleCompletion);
      break;

    case OpKind::kRequeue: {  // FxIoQueue::Requeue
      if (r->where == Where::kCompleted) {
        bugcheck(Report::kInvalidHandle);
        break;
      }
      if (r->where == Where::kQueued) {
        refuse(Report::kQueueRequestMisuse, STATUS_INVALID_DEVICE_REQUEST);
        break;
      }
      Queue& queue = queues_[r->queue];
      if (queue.config.dispatch != Dispatch::kManual) {
        refuse(Report::kQueueRequestMisuse, STATUS_INVALID_DEVICE_REQUEST);
        break;
      }
      if (r->irp_cancelled) {
        Unspecified(step, "requeue of a request its originator cancelled");
        break;
      }
      if (!queue.accept) {
        Unspecified(step, "requeue to a queue that is not accepting (purge cancels dispatched requests?)");
        break;
      }
      queue.owned--;
      Insert(r->queue, op.request, /*at_head=*/true, step);
      DispatchEvents(r->queue, step);
      step.has_status = true;
      step.status = STATUS_SUCCESS;
      break;
    }

    case OpKind::kForward: {
      if (r->where == Where::kCompleted) {
        bugcheck(Report::kInvalidHandle);
        break;
      }
      if (r->where == Where::kQueued) {
        refuse(Report::kQueueRequestMisuse, STATUS_INVALID_DEVICE_REQUEST);
        break;
      }
      if (op.queue == r->queue) {
        Unspecified(step, "forward to the request's own queue");
        break;
      }
      if (r->irp_cancelled) {
        Unspecified(step, "forward of a request its originator cancelled");
        break;
      }
      if (!queues_[op.queue].accept) {
        Unspecified(step, "forward to a queue that is not accepting");
        break;
      }
      const uint8_t source = r->queue;
      queues_[source].owned--;
      Insert(op.queue, op.request, /*at_head=*/false, step);
      DispatchEvents(op.queue, step);
      DispatchEvents(source, step);
      step.has_status = true;
      step.status = STATUS_SUCCESS;
      break;
    }

    case OpKind::kReadyNotify: {  // 5.1
      Queue& queue = queues_[op.queue];
      const bool refused = queue.config.dispatch != Dispatch::kManual || (op.flag && queue.ready) ||
                           (!op.flag && (!queue.ready || queue.dispatch));
      if (refused) {
        refuse(Report::kReadyNotifyMisuse, STATUS_INVALID_DEVICE_REQUEST);
        break;
      }
      queue.ready = op.flag;
      step.has_status = true;
      step.status = STATUS_SUCCESS;
      DispatchEvents(op.queue, step);  // before returning: fires now if the flag is set
      break;
    }

    case OpKind::kStart: {  // 5.3 QueueStart
      Queue& queue = queues_[op.queue];
      queue.accept = queue.dispatch = true;
      if (!queue.items.empty()) queue.transition_from_empty = true;
      DispatchEvents(op.queue, step);
      break;
    }

    case OpKind::kStop: {  // 5.3 QueueIdle(FALSE)
      Queue& queue = queues_[op.queue];
      if (op.flag && queue.idle_pending) {
        bugcheck(Report::kQueueFatalError);
        break;
      }
      if (op.flag) queue.idle_pending = true;
      if (!(follow_core_ & kDevStopLeavesAcceptAlone)) queue.accept = true;
      queue.dispatch = false;
      DispatchEvents(op.queue, step);
      break;
    }

    case OpKind::kPurge:
    case OpKind::kDrain: {  // 5.3 QueuePurge
      Queue& queue = queues_[op.queue];
      if (op.flag && queue.purge_pending) {
        bugcheck(Report::kQueueFatalError);
        break;
      }
      if (op.flag) {
        queue.purge_pending = true;
        queue.purge_event = op.kind == OpKind::kPurge ? Event::kPurgeComplete : Event::kDrainComplete;
      }
      queue.accept = false;
      if (op.kind == OpKind::kPurge) {
        const std::deque<uint32_t> queued = queue.items;
        for (uint32_t id : queued) CancelOnQueue(id, step);
      }
      DispatchEvents(op.queue, step);
      break;
    }

    case OpKind::kCancel:  // IoCancelIrp by the originator
      if (r->where == Where::kQueued) {
        const uint8_t q = r->queue;
        CancelOnQueue(op.request, step);
        DispatchEvents(q, step);
      } else if (r->where == Where::kOwned) {
        r->irp_cancelled = true;  // not cancelable: nothing runs until the driver completes it
      }
      break;

    case OpKind::kPowerDown:  // the device leaves D0
      if (powered_off_) break;
      powered_off_ = true;
      for (uint8_t q = 0; q < queues_.size(); ++q) {
        queues_[q].power_off = true;
        // EvtIoStop(Suspend) once per request the driver holds, in the order
        // the queue's owned list has them; the test driver acknowledges each
        // without requeue, so the device can leave D0 at once.
        for (uint32_t id : OwnedOf(q)) {
          step.callbacks.push_back({Event::kIoStop, q, id});
          requests_[id].suspended = true;
        }
      }
      break;

    case OpKind::kPowerUp:  // back in D0: EvtIoResume, then dispatch as at Start
      if (!powered_off_) break;
      powered_off_ = false;
      for (uint8_t q = 0; q < queues_.size(); ++q) {
        queues_[q].power_off = false;
        for (uint32_t id : OwnedOf(q)) {
          if (!requests_[id].suspended) continue;
          requests_[id].suspended = false;
          step.callbacks.push_back({Event::kIoResume, q, id});
        }
        if (!queues_[q].items.empty()) queues_[q].transition_from_empty = true;
        DispatchEvents(q, step);
      }
      break;

    case OpKind::kCount: Unspecified(step, "no such op"); break;
  }

  if (step.unspecified) {
    *this = before;
    return step;
  }
  std::sort(step.completions.begin(), step.completions.end());
  if (step.bugcheck) stopped_ = true;
  for (uint8_t q = 0; q < queues_.size(); ++q) step.queues.push_back(Snapshot(q));
  return step;
}

void QueueModel::Own(uint32_t id) {
  requests_[id].where = Where::kOwned;
  requests_[id].owned_since = next_owned_++;
  requests_[id].suspended = false;
}

std::vector<uint32_t> QueueModel::OwnedOf(uint8_t q) const {
  std::vector<uint32_t> out;
  for (uint32_t id = 0; id < requests_.size(); ++id) {
    if (requests_[id].where == Where::kOwned && requests_[id].queue == q) out.push_back(id);
  }
  std::sort(out.begin(), out.end(),
            [this](uint32_t a, uint32_t b) { return requests_[a].owned_since < requests_[b].owned_since; });
  return out;
}

std::vector<Op> QueueModel::Quiesce() const {
  QueueModel m = *this;
  std::vector<Op> ops;
  auto run = [&](const Op& op) {
    ops.push_back(op);
    m.Apply(op);
  };
  if (m.stopped_) return ops;
  if (m.powered_off_) run(Op{OpKind::kPowerUp});
  for (uint8_t q = 0; q < m.queues_.size(); ++q) {
    if (!m.queues_[q].accept || !m.queues_[q].dispatch) run(Op{OpKind::kStart, q});
  }
  for (int round = 0; round < 1000; ++round) {
    bool progress = false;
    for (uint32_t id : m.RequestsWhere(Where::kOwned)) {
      run(Op{OpKind::kComplete, 0, id, false, STATUS_SUCCESS});
      progress = true;
    }
    for (uint8_t q = 0; q < m.queues_.size(); ++q) {
      if (m.queues_[q].config.dispatch == Dispatch::kManual && !m.queues_[q].items.empty()) {
        run(Op{OpKind::kRetrieve, q});
        progress = true;
      }
    }
    if (!progress) break;
  }
  return ops;
}

}  // namespace wdfsim::queue_model
