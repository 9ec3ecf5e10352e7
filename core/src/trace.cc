#include "wdfsim/harness/trace.h"

#include "absl/strings/str_format.h"
#include "ddi.h"
#include "object.h"
#include "wdfsim/harness/choice_source.h"
#include "wdfsim/harness/verifier.h"

namespace wdfsim {
namespace {

const char* KindName(EventKind kind) {
  switch (kind) {
    case EventKind::kDdi: return "call";
    case EventKind::kObjectCreated: return "created";
    case EventKind::kObjectDeleteCalled: return "delete";
    case EventKind::kObjectDisposed: return "disposed";
    case EventKind::kObjectDestroyed: return "destroyed";
    case EventKind::kReference: return "ref";
    case EventKind::kDereference: return "deref";
    case EventKind::kCleanupCallback: return "EvtCleanupCallback";
    case EventKind::kDestroyCallback: return "EvtDestroyCallback";
    case EventKind::kCompletionRoutine: return "completion-routine";
    case EventKind::kRequestPresented: return "presented";
    case EventKind::kRequestCompleted: return "completed";
    case EventKind::kIrpCompleted: return "IoCompleteRequest";
    case EventKind::kIrpFreed: return "irp-freed";
    case EventKind::kIrpApc: return "completion-apc";
    case EventKind::kChoice: return "choice";
    case EventKind::kTimeAdvanced: return "time";
    case EventKind::kIrql: return "irql";
    case EventKind::kWorkRun: return "work";
    case EventKind::kReport: return "REPORT";
    case EventKind::kUnload: return "unload";
    case EventKind::kEventSet: return "event-set";
    case EventKind::kIrpCompletionRoutine: return "io-completion";
    case EventKind::kIrpCancelRoutine: return "cancel-routine";
    case EventKind::kTargetSend: return "target-send";
    case EventKind::kTargetCompleted: return "target-completed";
    case EventKind::kTimerFired: return "timer-fired";
    case EventKind::kNote: return "note";
    case EventKind::kRequestQueued: return "request-queued";
    case EventKind::kQueueCallback: return "queue-callback";
  }
  return "?";
}

}  // namespace

uint64_t Trace::Hash() const {
  uint64_t hash = 1469598103934665603ull;
  auto mix = [&hash](uint64_t value) {
    for (int i = 0; i < 8; ++i) {
      hash ^= (value >> (8 * i)) & 0xFF;
      hash *= 1099511628211ull;
    }
  };
  for (const TraceEvent& e : events_) {
    mix(static_cast<uint64_t>(e.time));
    mix((uint64_t{static_cast<uint8_t>(e.kind)} << 48) | (uint64_t{e.ddi} << 32) | e.object);
    mix(static_cast<uint64_t>(e.a));
    mix(static_cast<uint64_t>(e.b));
  }
  return hash;
}

uint32_t Trace::NewObject(uint8_t type, std::string label) {
  objects_.push_back({type, std::move(label)});
  return static_cast<uint32_t>(objects_.size());
}

void Trace::SetObjectLabel(uint32_t serial, std::string label) {
  if (serial >= 1 && serial <= objects_.size()) objects_[serial - 1].label = std::move(label);
}

int64_t Trace::AddNote(std::string note) {
  notes_.push_back(std::move(note));
  return static_cast<int64_t>(notes_.size() - 1);
}

std::string Trace::ObjectName(uint32_t serial) const {
  if (serial == 0 || serial > objects_.size()) return "-";
  const TraceObject& object = objects_[serial - 1];
  return absl::StrFormat("%s#%d", core::ObjectTypeName(static_cast<core::ObjectType>(object.type)), serial);
}

std::string Trace::FormatEvent(size_t i) const {
  const TraceEvent& e = events_[i];
  std::string out = absl::StrFormat("%5d  t=%-8d %-18s", i, e.time, KindName(e.kind));
  switch (e.kind) {
    case EventKind::kDdi:
      absl::StrAppendFormat(&out, " %s %s", core::DdiName(static_cast<core::Ddi>(e.ddi)), ObjectName(e.object));
      break;
    case EventKind::kChoice:
      absl::StrAppendFormat(&out, " %s = %d of %d", ChoiceKindName(static_cast<ChoiceKind>(e.ddi)), e.a, e.b);
      break;
    case EventKind::kReport:
      absl::StrAppendFormat(&out, " %s in %s %s", GetRule(static_cast<RuleId>(e.a)).name,
                            core::DdiName(static_cast<core::Ddi>(e.ddi)), ObjectName(e.object));
      break;
    case EventKind::kObjectCreated:
      absl::StrAppendFormat(&out, " %s parent=%s", ObjectName(e.object), ObjectName(static_cast<uint32_t>(e.a)));
      break;
    case EventKind::kReference:
    case EventKind::kDereference:
      absl::StrAppendFormat(&out, " %s %s=%d", ObjectName(e.object), e.b ? "irp-refs" : "refs", e.a);
      break;
    case EventKind::kRequestCompleted:
      absl::StrAppendFormat(&out, " %s status=0x%08X information=%d", ObjectName(e.object), static_cast<uint32_t>(e.a),
                            e.b);
      break;
    case EventKind::kRequestPresented:
      absl::StrAppendFormat(&out, " %s major=0x%02X IRP#%d", ObjectName(e.object), e.a, e.b);
      break;
    case EventKind::kIrpCompleted:
      absl::StrAppendFormat(&out, " IRP#%d status=0x%08X", e.a, static_cast<uint32_t>(e.b));
      break;
    case EventKind::kIrpFreed:
    case EventKind::kIrpApc:
    case EventKind::kIrpCompletionRoutine:
    case EventKind::kIrpCancelRoutine: absl::StrAppendFormat(&out, " IRP#%d", e.a); break;
    case EventKind::kTargetCompleted:
      absl::StrAppendFormat(&out, " %s status=0x%08X", ObjectName(e.object), static_cast<uint32_t>(e.a));
      break;
    case EventKind::kTimeAdvanced:
    case EventKind::kIrql:
    case EventKind::kWorkRun: absl::StrAppendFormat(&out, " %d", e.a); break;
    case EventKind::kNote:
      absl::StrAppendFormat(&out, " %s %s", ObjectName(e.object),
                            e.a >= 0 && static_cast<size_t>(e.a) < notes_.size() ? notes_[e.a] : "");
      break;
    case EventKind::kRequestQueued:
      absl::StrAppendFormat(&out, " %s on %s", ObjectName(e.object), ObjectName(static_cast<uint32_t>(e.a)));
      break;
    case EventKind::kQueueCallback:
      absl::StrAppendFormat(&out, " %s %s %s", ObjectName(e.object), QueueCallbackName(static_cast<QueueCallback>(e.a)),
                            ObjectName(static_cast<uint32_t>(e.b)));
      break;
    default: absl::StrAppendFormat(&out, " %s", ObjectName(e.object)); break;
  }
  return out;
}

const char* QueueCallbackName(QueueCallback callback) {
  switch (callback) {
    case QueueCallback::kReadyNotify: return "EvtIoQueueState(ready)";
    case QueueCallback::kIoDefault: return "EvtIoDefault";
    case QueueCallback::kIoRead: return "EvtIoRead";
    case QueueCallback::kIoWrite: return "EvtIoWrite";
    case QueueCallback::kIoDeviceControl: return "EvtIoDeviceControl";
    case QueueCallback::kIoInternalDeviceControl: return "EvtIoInternalDeviceControl";
    case QueueCallback::kIoStop: return "EvtIoStop";
    case QueueCallback::kIoCanceledOnQueue: return "EvtIoCanceledOnQueue";
    case QueueCallback::kStopComplete: return "EvtIoQueueState(stop complete)";
    case QueueCallback::kPurgeComplete: return "EvtIoQueueState(purge complete)";
    case QueueCallback::kRequestCancel: return "EvtRequestCancel";
    case QueueCallback::kDeviceAdd: return "EvtDriverDeviceAdd";
    case QueueCallback::kDriverUnload: return "EvtDriverUnload";
    case QueueCallback::kIoResume: return "EvtIoResume";
  }
  return "?";
}

std::string Trace::FormatTail(size_t n, size_t end) const {
  end = std::min(end, events_.size());
  const size_t begin = end > n ? end - n : 0;
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    out += FormatEvent(i);
    out += "\n";
  }
  return out;
}

}  // namespace wdfsim
