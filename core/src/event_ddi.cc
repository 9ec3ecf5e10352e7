// Events, waits and the clock (SEMANTICS-WDM A.2 waiting rule, A.4.3 IRQL).
// A wait runs the simulation until the event is signalled or the timeout
// passes on the virtual clock; a wait nothing can ever satisfy is a
// Liveness report, never a hang.
#include "absl/strings/str_format.h"
#include "irp.h"
#include "thread.h"
#include "world.h"

using wdfsim::RuleId;
using wdfsim::core::Ddi;
using wdfsim::core::IrpOrigin;
using wdfsim::core::World;

namespace wdfsim::core {

LONG SignalEvent(World& world, PKEVENT event) {
  const LONG previous = event->Header.SignalState;
  event->Header.SignalState = 1;
  world.Log(EventKind::kEventSet, Ddi::kKeSetEvent, 0, previous);
  return previous;
}

}  // namespace wdfsim::core

extern "C" {

VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kKeInitializeEvent);
  w.RequireNotNull(Event, Ddi::kKeInitializeEvent, "Event");
  Event->Header.Type = static_cast<UCHAR>(Type);
  Event->Header.SignalState = State ? 1 : 0;
  Event->Header.WaitListHead.Flink = Event->Header.WaitListHead.Blink = &Event->Header.WaitListHead;
  // A new event at this address: a finished IRP's copy of its old sink no
  // longer names it (a later wait on it is not a wait for that IRP).
  w.ForEachIrp([&](const IRP*, wdfsim::core::IrpRecord& record) {
    if (record.freed && record.user_event == Event) record.user_event = nullptr;
  });
}

LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait) {
  (void)Increment;
  World& w = World::Current();
  w.EnterDdi(Ddi::kKeSetEvent);
  w.RequireNotNull(Event, Ddi::kKeSetEvent, "Event");
  if (w.irql() > (Wait ? APC_LEVEL : DISPATCH_LEVEL)) {
    w.Report(RuleId::kIrqlKeSetEvent, Ddi::kKeSetEvent,
             absl::StrFormat("KeSetEvent(Wait=%s) at IRQL %d", Wait ? "TRUE" : "FALSE", w.irql()));
  }
  return wdfsim::core::SignalEvent(w, Event);
}

VOID KeClearEvent(PRKEVENT Event) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kKeClearEvent);
  w.RequireNotNull(Event, Ddi::kKeClearEvent, "Event");
  Event->Header.SignalState = 0;
}

LONG KeResetEvent(PRKEVENT Event) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kKeResetEvent);
  w.RequireNotNull(Event, Ddi::kKeResetEvent, "Event");
  const LONG previous = Event->Header.SignalState;
  Event->Header.SignalState = 0;
  return previous;
}

LONG KeReadStateEvent(PRKEVENT Event) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kKeReadStateEvent);
  w.RequireNotNull(Event, Ddi::kKeReadStateEvent, "Event");
  return Event->Header.SignalState;
}

NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                               PLARGE_INTEGER Timeout) {
  (void)WaitReason, (void)WaitMode, (void)Alertable;
  World& w = World::Current();
  const Ddi ddi = Ddi::kKeWaitForSingleObject;
  w.EnterDdi(ddi);
  w.RequireNotNull(Object, ddi, "Object");
  const bool poll = Timeout != nullptr && Timeout->QuadPart == 0;
  if (w.irql() > DISPATCH_LEVEL) {
    w.Report(RuleId::kKeWaitIrqlAboveDispatch, ddi, absl::StrFormat("a wait at IRQL %d", w.irql()));
  } else if (w.irql() > (poll ? DISPATCH_LEVEL : APC_LEVEL)) {
    w.Report(RuleId::kKeWaitIrql, ddi, absl::StrFormat("a wait at IRQL %d", w.irql()));
  }
  auto* event = static_cast<PKEVENT>(Object);
  // The builder waited on its IRP's event (IoBuildSynchronousFsdRequestWait).
  bool builder_event = false;
  w.ForEachIrp([&](const IRP*, wdfsim::core::IrpRecord& record) {
    if (record.user_event == event &&
        (record.origin == IrpOrigin::kSyncFsd || record.origin == IrpOrigin::kDeviceControl)) {
      record.waited = true;
      builder_event = true;
    }
  });
  if (Timeout == nullptr && builder_event) {
    w.Report(RuleId::kIoBuildSynchronousFsdRequestWaitTimeout, ddi,
             "the event of a synchronous builder IRP is waited on with no timeout");
  }
  int64_t deadline = INT64_MAX;
  if (Timeout != nullptr) {
    deadline = Timeout->QuadPart < 0 ? w.now() - Timeout->QuadPart : Timeout->QuadPart - World::kSystemTimeEpoch;
  }
  const bool signalled =
      w.WaitUntil([event] { return event->Header.SignalState > 0; }, deadline, ddi, "KeWaitForSingleObject");
  if (!signalled) return STATUS_TIMEOUT;
  if (event->Header.Type == SynchronizationEvent) event->Header.SignalState = 0;
  return STATUS_SUCCESS;
}

VOID KeQuerySystemTime(PLARGE_INTEGER CurrentTime) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kKeQuerySystemTime);
  w.RequireNotNull(CurrentTime, Ddi::kKeQuerySystemTime, "CurrentTime");
  CurrentTime->QuadPart = w.system_time();
}

PETHREAD PsGetCurrentThread(VOID) { return World::Current().current_thread(); }

}  // extern "C"
