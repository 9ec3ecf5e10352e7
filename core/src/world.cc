#include "world.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_format.h"
#include "device.h"
#include "irp.h"
#include "thread.h"

namespace wdfsim::core {
namespace {

World* g_current = nullptr;

}  // namespace

Driver::Driver(World& world) : Object(world, ObjectType::kDriver) {
  set_no_delete_ddi();
  Commit(nullptr);
}

World::World(Simulation& simulation, ChoiceSource& choices, const SimulationOptions& options)
    : simulation_(simulation), choices_(choices), options_(options) {
  if (g_current != nullptr) {
    std::fprintf(stderr, "wdfsim: a second Simulation was created while one is alive\n");
    std::abort();
  }
  g_current = this;
  trace_.Reserve(256);
  threads_.push_back(std::make_unique<SimThread>(1, "driver thread"));
  threads_.push_back(std::make_unique<SimThread>(2, "application thread"));
  current_thread_ = threads_[0].get();
  driver_ = new Driver(*this);
}

World::~World() {
  // The machine is switched off: free everything, run no callbacks.
  switching_off_ = true;
  std::vector<Object*> objects;
  for (auto& [serial, object] : live_) objects.push_back(object);
  live_.clear();
  for (Object* object : objects) delete object;
  for (auto& [irp, record] : irps_) {
    if (record.freed) {
      ReleaseQuarantinedIrp(const_cast<IRP*>(irp));
      continue;
    }
    if (record.user_buffer != nullptr) std::free(record.user_buffer);
    FreeIrpMemory(const_cast<IRP*>(irp));
  }
  irps_.clear();
  g_current = nullptr;
}

World& World::Current() {
  if (g_current == nullptr) {
    std::fprintf(stderr, "wdfsim: a DDI was called with no wdfsim::Simulation alive\n");
    std::abort();
  }
  return *g_current;
}

void World::ThrowIfCrashed(Ddi ddi) {
  if (verifier_.bugchecked()) {
    throw BugCheck(absl::StrFormat("%s called after the machine bug-checked", DdiName(ddi)));
  }
}

void World::EnterDdi(Ddi ddi, const void* handle) {
  ThrowIfCrashed(ddi);
  Log(EventKind::kDdi, ddi, SerialOf(handle));
  SchedulingPoint();
}

uint32_t World::SerialOf(const void* handle) const {
  if (handle == nullptr) return 0;
  const Object* object = handles_.Lookup(const_cast<void*>(handle));
  return object != nullptr ? object->serial() : 0;
}

void World::Log(EventKind kind, Ddi ddi, uint32_t object, int64_t a, int64_t b) {
  trace_.Add(TraceEvent{now_, kind, static_cast<uint16_t>(ddi), object, a, b});
}

std::string World::Describe(const Object* object) const {
  if (object == nullptr) return "(none)";
  size_t created = 0;
  const auto& events = trace_.events();
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].kind == EventKind::kObjectCreated && events[i].object == object->serial()) {
      created = i;
      break;
    }
  }
  return absl::StrFormat("%s (created at event %d, %d reference%s)", trace_.ObjectName(object->serial()), created,
                         object->references(), object->references() == 1 ? "" : "s");
}

void World::Report(RuleId rule, Ddi ddi, std::string message, std::initializer_list<const Object*> objects, uint64_t p2,
                   uint64_t p3) {
  wdfsim::Report report;
  report.rule = rule;
  report.ddi = DdiName(ddi);
  report.message = std::move(message);
  for (const Object* object : objects) {
    if (object == nullptr) continue;
    report.objects.push_back({reinterpret_cast<uint64_t>(object->handle()), Describe(object)});
  }
  report.p2 = p2;
  report.p3 = p3;
  Log(EventKind::kReport, ddi, objects.size() > 0 && *objects.begin() ? (*objects.begin())->serial() : 0,
      static_cast<int64_t>(rule));
  report.event = trace_.size() - 1;
  verifier_.Raise(std::move(report));
}

Object* World::Resolve(const void* handle, Ddi ddi, std::initializer_list<ObjectType> accepted) {
  Object* object = handles_.Lookup(const_cast<void*>(handle));
  const char* expected = ObjectTypeName(*accepted.begin());
  if (object != nullptr) {
    for (ObjectType type : accepted) {
      if (object->type() == type) return object;
    }
    Report(RuleId::kInvalidHandle, ddi,
           absl::StrFormat("handle of a %s passed where a %s is required", ObjectTypeName(object->type()), expected),
           {object}, reinterpret_cast<uint64_t>(handle));
    return nullptr;  // not reached: kInvalidHandle is a bug check
  }
  std::string why;
  switch (handles_.Classify(const_cast<void*>(handle))) {
    case HandleTable::State::kNull: why = absl::StrFormat("NULL %s handle", expected); break;
    case HandleTable::State::kNeverIssued:
      why = absl::StrFormat("%p is not a handle the framework issued (%s expected)", handle, expected);
      break;
    default: {
      uint32_t serial = 0;
      for (const auto& [h, s] : handle_history_) {
        if (h == handle) serial = s;
      }
      why = absl::StrFormat("stale handle: %s no longer exists (%s expected)",
                            serial ? trace_.ObjectName(serial) : std::string("the object"), expected);
      break;
    }
  }
  Report(RuleId::kInvalidHandle, ddi, why, {}, reinterpret_cast<uint64_t>(handle));
  return nullptr;
}

Object* World::ResolveAny(const void* handle, Ddi ddi) {
  return Resolve(handle, ddi,
                 {ObjectType::kDriver, ObjectType::kDevice, ObjectType::kMemory, ObjectType::kRequestMemory,
                  ObjectType::kRequest, ObjectType::kIoTarget, ObjectType::kQueue});
}

void World::RequireNotNull(const void* pointer, Ddi ddi, const char* parameter) {
  if (pointer != nullptr) return;
  Report(RuleId::kRequiredParameterNull, ddi, absl::StrFormat("required parameter %s is NULL", parameter));
}

bool World::VerifierIrqlOk(Ddi ddi, KIRQL max) {
  if (!verifier_on() || irql_ <= max) return true;
  Report(RuleId::kIrqlTooHigh, ddi, absl::StrFormat("called at IRQL %d, above its maximum %d", irql_, max), {}, irql_,
         max);
  return false;
}

uint32_t World::Register(Object* object, uint8_t trace_type) {
  const uint32_t serial = trace_.NewObject(trace_type);
  live_.emplace(serial, object);
  return serial;
}

void World::Unregister(Object* object) { live_.erase(object->serial()); }

void World::SetIrql(KIRQL irql) {
  irql_ = irql;
  Log(EventKind::kIrql, Ddi::kNone, 0, irql);
  DeliverApcs();
}

uint32_t World::Choose(uint32_t n, ChoiceKind kind) {
  const uint32_t answer = n <= 1 ? 0 : choices_.Choose(n, kind);
  Log(EventKind::kChoice, static_cast<Ddi>(kind), 0, answer, n);
  return answer;
}

uint64_t World::Schedule(int64_t due, KIRQL irql, const char* what, std::function<void()> run, SimThread* thread) {
  const uint64_t sequence = next_work_sequence_++;
  work_.push_back(Work{due, sequence, irql, what, std::move(run), thread});
  if (thread != nullptr && thread == current_thread_ && due <= now_) DeliverApcs();
  return sequence;
}

bool World::Cancel(uint64_t sequence) {
  for (size_t i = 0; i < work_.size(); ++i) {
    if (work_[i].sequence == sequence) {
      work_.erase(work_.begin() + static_cast<std::ptrdiff_t>(i));
      return true;
    }
  }
  return false;
}

int64_t World::NextDue() const {
  int64_t next = INT64_MAX;
  for (const Work& w : work_) {
    if (w.due > now_) next = std::min(next, w.due);
  }
  return next;
}

bool World::Ready(const Work& work) const {
  if (work.due > now_) return false;
  // A special kernel APC waits until its thread is below APC_LEVEL.
  return work.thread == nullptr || work.thread != current_thread_ || irql_ < APC_LEVEL;
}

std::vector<size_t> World::ReadyIndices() const {
  std::vector<size_t> ready;
  for (size_t i = 0; i < work_.size(); ++i) {
    if (Ready(work_[i])) ready.push_back(i);
  }
  return ready;
}

bool World::HasReadyWork() const {
  return std::any_of(work_.begin(), work_.end(), [&](const Work& w) { return Ready(w); });
}

void World::RunWork(size_t index) {
  Work work = std::move(work_[index]);
  work_.erase(work_.begin() + static_cast<std::ptrdiff_t>(index));
  const KIRQL saved = irql_;
  irql_ = work.irql;
  ++work_depth_;
  Log(EventKind::kWorkRun, Ddi::kNone, 0, static_cast<int64_t>(work.sequence));
  work.run();
  --work_depth_;
  irql_ = saved;
}

void World::DeliverApcs() {
  if (work_depth_ > 0 || cancel_lock_held_ || irql_ >= APC_LEVEL || verifier_.bugchecked()) return;
  while (true) {
    size_t next = work_.size();
    for (size_t i = 0; i < work_.size(); ++i) {
      if (work_[i].thread == current_thread_ && work_[i].due <= now_ &&
          (next == work_.size() || work_[i].sequence < work_[next].sequence)) {
        next = i;
      }
    }
    if (next == work_.size()) return;
    RunWork(next);
  }
}

bool World::RunOneReady() {
  const std::vector<size_t> ready = ReadyIndices();
  if (ready.empty()) return false;
  RunWork(ready[Choose(static_cast<uint32_t>(ready.size()), ChoiceKind::kPickReadyWork)]);
  return true;
}

bool World::WaitUntil(const std::function<bool()>& done, int64_t deadline, Ddi ddi, const char* what) {
  for (uint32_t steps = 0;; ++steps) {
    if (done()) return true;
    if (now_ >= deadline) {
      // Work due at the deadline's instant may still beat the timeout.
      if (HasReadyWork() && Choose(2, ChoiceKind::kTiming) == 1 && RunOneReady()) continue;
      return false;
    }
    if (steps >= options_.step_budget) {
      Report(RuleId::kLiveness, ddi, absl::StrFormat("%s did not end within the step budget", what));
    }
    if (RunOneReady()) continue;
    const int64_t next = std::min(deadline, NextDue());
    if (next == INT64_MAX) {
      Report(RuleId::kLiveness, ddi,
             absl::StrFormat("%s waits with no timeout for something nothing left in the simulation will do", what));
    }
    // Only the clock moves: what falls due then runs through RunOneReady, so
    // the choices order simultaneous work (a timer and a completion at the
    // same instant).
    now_ = next;
    Log(EventKind::kTimeAdvanced, Ddi::kNone, 0, now_);
  }
}

void World::SchedulingPoint() {
  // Work runs "on another processor" only between two steps of top-level
  // driver code; callbacks already running on behalf of work run to the end.
  // Nor while this processor holds the cancel spin lock: work that takes
  // it would spin until it is released, so it can only run after.
  if (work_depth_ > 0 || cancel_lock_held_ || driver_locks_held_ > 0) return;
  MaybeOriginatorCancel();
  MaybeThreadExit();
  while (HasReadyWork() && Choose(2, ChoiceKind::kRunReadyWork) == 1) RunOneReady();
}

void World::MaybeOriginatorCancel() {
  if (!options_.originator_cancels || in_environment_cancel_ || verifier_.bugchecked()) return;
  std::vector<size_t> outstanding;
  for (auto& [irp, record] : irps_) {
    if (!record.freed && record.origin == IrpOrigin::kIoManager && record.outcome >= 0 && !irp->Cancel &&
        io_outcomes_[record.outcome].completions == 0) {
      outstanding.push_back(static_cast<size_t>(record.outcome));
    }
  }
  if (outstanding.empty() || Choose(2, ChoiceKind::kCancel) == 0) return;
  std::sort(outstanding.begin(), outstanding.end());  // the map's order is not stable
  const size_t victim = outstanding[Choose(static_cast<uint32_t>(outstanding.size()), ChoiceKind::kCancel)];
  in_environment_cancel_ = true;
  (void)CancelRequest(*this, victim);
  in_environment_cancel_ = false;
}

void World::MaybeThreadExit() {
  if (!options_.thread_exits || in_environment_cancel_ || verifier_.bugchecked()) return;
  SimThread& thread = *application_thread();
  LIST_ENTRY& irps = thread.irp_list();
  if (thread.exiting() || irps.Flink == &irps || Choose(2, ChoiceKind::kThreadExit) == 0) return;
  in_environment_cancel_ = true;  // its cancels draw no originator cancel or exit of their own
  ExitThread(*this, thread);
  in_environment_cancel_ = false;
}

void World::RunReadyWork() {
  // Deterministic order, no choices: due time, then queue order.
  while (true) {
    size_t best = work_.size();
    for (size_t i = 0; i < work_.size(); ++i) {
      if (!Ready(work_[i])) continue;
      if (best == work_.size() || work_[i].due < work_[best].due ||
          (work_[i].due == work_[best].due && work_[i].sequence < work_[best].sequence)) {
        best = i;
      }
    }
    if (best == work_.size()) return;
    RunWork(best);
  }
}

void World::AdvanceTime(int64_t ticks) {
  const int64_t target = now_ + std::max<int64_t>(ticks, 0);
  while (true) {
    while (RunOneReady()) {
    }
    const int64_t next = NextDue();
    if (next > target) break;
    now_ = next;
    Log(EventKind::kTimeAdvanced, Ddi::kNone, 0, now_);
  }
  if (now_ != target) {
    now_ = target;
    Log(EventKind::kTimeAdvanced, Ddi::kNone, 0, now_);
  }
  RunReadyWork();
}

void World::PassTime(int64_t ticks) {
  if (ticks <= 0) return;
  now_ += ticks;
  Log(EventKind::kTimeAdvanced, Ddi::kNone, 0, now_);
}

SimThread* World::FindThread(PETHREAD thread) const {
  for (const auto& t : threads_) {
    if (static_cast<_KTHREAD*>(t.get()) == thread) return t.get();
  }
  return nullptr;
}

IrpRecord* World::FindIrp(const IRP* irp) {
  auto it = irps_.find(irp);
  return it == irps_.end() ? nullptr : &it->second;
}

const char* IrpOriginName(IrpOrigin origin) {
  switch (origin) {
    case IrpOrigin::kIoManager: return "I/O manager";
    case IrpOrigin::kFramework: return "framework";
    case IrpOrigin::kAllocated: return "IoAllocateIrp";
    case IrpOrigin::kSyncFsd: return "IoBuildSynchronousFsdRequest";
    case IrpOrigin::kAsyncFsd: return "IoBuildAsynchronousFsdRequest";
    case IrpOrigin::kDeviceControl: return "IoBuildDeviceIoControlRequest";
  }
  return "?";
}

IrpRecord& World::AddIrp(IRP* irp, IrpOrigin origin) {
  IrpRecord& record = irps_[irp];
  record = IrpRecord{};
  record.serial = next_irp_serial_++;
  record.origin = origin;
  return record;
}

}  // namespace wdfsim::core
