// The state of one simulated machine behind wdfsim::Simulation: objects and
// handles, IRPs, the virtual clock and its work queue, IRQL, the trace and the
// verifier. Every DDI reaches it through World::Current().
#ifndef WDFSIM_CORE_WORLD_H_
#define WDFSIM_CORE_WORLD_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ddi.h"
#include "handle_table.h"
#include "object.h"
#include "wdfsim/harness/simulation.h"

namespace wdfsim::core {

class Driver;

class SimThread;

// Who made an IRP, which decides who finishes it (SEMANTICS-WDM A.1, A.3.2).
enum class IrpOrigin : uint8_t {
  kIoManager,      // built by the simulated I/O manager for a presented request
  kFramework,      // allocated by the framework for a driver-created request
  kAllocated,      // IoAllocateIrp by driver code
  kSyncFsd,        // IoBuildSynchronousFsdRequest (threaded)
  kAsyncFsd,       // IoBuildAsynchronousFsdRequest
  kDeviceControl,  // IoBuildDeviceIoControlRequest (threaded)
};

const char* IrpOriginName(IrpOrigin origin);

struct IrpRecord {
  uint32_t serial = 0;
  IrpOrigin origin = IrpOrigin::kAllocated;
  int outcome = -1;                 // index into io_outcomes for kIoManager IRPs
  PVOID user_buffer = nullptr;      // the originator's buffer (kIoManager), owned here
  size_t user_buffer_length = 0;    // bytes the originator's buffer holds
  size_t system_buffer_length = 0;  // bytes of AssociatedIrp.SystemBuffer
  bool apc_queued = false;
  bool pending_returned = false;  // IoCallDriver returned STATUS_PENDING to the builder
  bool waited = false;            // the builder waited on the IRP's event
  bool freed = false;             // a tombstone: the IRP's memory is gone
  uint32_t pending_marked = 0;    // bit k: location k was seen with SL_PENDING_RETURNED
  std::vector<bool> call_frames;  // per nested IoCallDriver: did its dispatch pass the IRP down
  // Copies of the IRP's sinks, readable after the free (user_event until
  // KeInitializeEvent makes a new event at that address).
  PKEVENT user_event = nullptr;
  PIO_STATUS_BLOCK user_iosb = nullptr;
};

class World {
 public:
  World(Simulation& simulation, ChoiceSource& choices, const SimulationOptions& options);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // The current world; a DDI called with no Simulation alive is a harness
  // misuse and aborts with a message.
  static World& Current();

  Simulation& simulation() { return simulation_; }
  const SimulationOptions& options() const { return options_; }
  void set_inject_allocation_failures(bool on) { options_.inject_allocation_failures = on; }
  bool verifier_on() const { return options_.kmdf_verifier; }
  Trace& trace() { return trace_; }
  Verifier& verifier() { return verifier_; }
  HandleTable& handles() { return handles_; }
  Driver* driver() const { return driver_; }

  // ---- DDI entry: a trace event and a scheduling point (DESIGN.md). ----
  void EnterDdi(Ddi ddi, const void* handle = nullptr);
  uint32_t SerialOf(const void* handle) const;

  // ---- Verifier ----
  // Raises `rule`; a bug-check rule throws BugCheck after recording.
  void Report(RuleId rule, Ddi ddi, std::string message, std::initializer_list<const Object*> objects = {},
              uint64_t p2 = 0, uint64_t p3 = 0);
  // "WDFREQUEST#3 (presented IRP_MJ_READ, created at event 4)".
  std::string Describe(const Object* object) const;
  // The live object `handle` names if its type is one of `accepted`;
  // otherwise WDF_INVALID_HANDLE (0x10D/0x5), as FxObjectHandleGetPtr.
  Object* Resolve(const void* handle, Ddi ddi, std::initializer_list<ObjectType> accepted);
  // Any live object (FX_TYPE_OBJECT).
  Object* ResolveAny(const void* handle, Ddi ddi);
  // FxPointerNotNull: WDF_REQUIRED_PARAMETER_IS_NULL (0x10D/0x4).
  void RequireNotNull(const void* pointer, Ddi ddi, const char* parameter);
  // FxVerifierCheckIrqlLevel: with the verifier on, a report and false when
  // the current IRQL is above `max`.
  bool VerifierIrqlOk(Ddi ddi, KIRQL max);

  // ---- Objects ----
  uint32_t Register(Object* object, uint8_t trace_type);
  void Unregister(Object* object);
  void NoteHandle(WDFOBJECT handle, uint32_t serial) { handle_history_.emplace_back(handle, serial); }
  const std::map<uint32_t, Object*>& live_objects() const { return live_; }

  // ---- Trace ----
  void Log(EventKind kind, Ddi ddi, uint32_t object = 0, int64_t a = 0, int64_t b = 0);

  // ---- Time, IRQL, choices and work ----
  int64_t now() const { return now_; }
  KIRQL irql() const { return irql_; }
  void SetIrql(KIRQL irql);
  uint32_t Choose(uint32_t n, ChoiceKind kind);
  // Queues `run` to become ready at virtual time `due`, run at `irql`. Work
  // with a `thread` is an APC for it: it runs only while that thread is
  // below APC_LEVEL. Returns the work's sequence number.
  uint64_t Schedule(int64_t due, KIRQL irql, const char* what, std::function<void()> run, SimThread* thread = nullptr);
  // Removes queued work that has not run; false if it already ran.
  bool Cancel(uint64_t sequence);
  // The next time after now that queued work falls due; INT64_MAX if none.
  int64_t NextDue() const;
  // Runs one item of ready work (a choice picks among several); false if none.
  bool RunOneReady();
  // A blocking wait on the current thread: runs the simulation until `done`
  // holds (true) or the virtual clock reaches `deadline` (false). A wait
  // nothing left can end, or one past the step budget, is a Liveness report.
  bool WaitUntil(const std::function<bool()>& done, int64_t deadline, Ddi ddi, const char* what);
  // At a DDI entry: the choices may let ready work run first, and (with
  // SimulationOptions::originator_cancels) an originator cancel a request.
  void SchedulingPoint();
  // Delivers the APCs the running thread queued to itself, if it can take
  // them now: top-level code (not work "on another processor"), below
  // APC_LEVEL, no spin lock held. The kernel requests an APC_LEVEL software
  // interrupt on insert and delivers it the moment IRQL drops below
  // APC_LEVEL, so an IRP the thread completes at PASSIVE_LEVEL is finished
  // before IoCompleteRequest returns, and one completed at raised IRQL when
  // it lowers (SEMANTICS-WDM A.3.2). An APC queued from work on another
  // processor stays ready work: the thread takes it at a scheduling point or
  // in a wait, as the choices say.
  void DeliverApcs();
  // Runs every item that is ready now, in due order.
  void RunReadyWork();
  // Runs work falling due up to now + ticks, then sets the clock there.
  void AdvanceTime(int64_t ticks);
  // Moves the clock to now + ticks without running anything.
  void PassTime(int64_t ticks);
  bool HasReadyWork() const;

  // ---- Threads ----
  SimThread* current_thread() const { return current_thread_; }
  SimThread* main_thread() const { return threads_[0].get(); }
  SimThread* application_thread() const { return threads_[1].get(); }
  SimThread* FindThread(PETHREAD thread) const;
  // System time (KeQuerySystemTime): a fixed epoch plus the virtual clock.
  int64_t system_time() const { return kSystemTimeEpoch + now_; }
  static constexpr int64_t kSystemTimeEpoch = 134116992000000000;  // 2026-01-01, 100 ns since 1601

  // ---- IRPs ----
  // The record of an IRP, live or freed (a tombstone until the address is
  // allocated again); nullptr for a pointer that was never an IRP.
  IrpRecord* FindIrp(const IRP* irp);
  IrpRecord& AddIrp(IRP* irp, IrpOrigin origin);
  template <typename F>
  void ForEachIrp(F f) {
    for (auto& [irp, record] : irps_) f(irp, record);
  }
  // A driver's own spin lock that the other side of a race takes too: while
  // one is held, a scheduling point runs no other work (nothing on another
  // processor gets past the lock).
  void AcquireDriverLock() { ++driver_locks_held_; }
  void ReleaseDriverLock() { --driver_locks_held_; }
  // The cancel spin lock (IoAcquireCancelSpinLock).
  bool cancel_lock_held() const { return cancel_lock_held_; }
  void set_cancel_lock_held(bool held) { cancel_lock_held_ = held; }
  std::vector<IoOutcome>& io_outcomes() { return io_outcomes_; }

  // ---- Devices ----
  LowerDevice& AddLowerDevice(std::unique_ptr<LowerDevice> device) {
    lower_devices_.push_back(std::move(device));
    return *lower_devices_.back();
  }

  // ---- Teardown ----
  void Unload();
  bool unloaded() const { return unloaded_; }
  // True while ~World frees everything without running driver code.
  bool switching_off() const { return switching_off_; }

 private:
  struct Work {
    int64_t due;
    uint64_t sequence;
    KIRQL irql;
    const char* what;
    std::function<void()> run;
    SimThread* thread;
  };
  void RunWork(size_t index);
  void MaybeOriginatorCancel();
  void MaybeThreadExit();
  bool Ready(const Work& work) const;
  std::vector<size_t> ReadyIndices() const;
  void ThrowIfCrashed(Ddi ddi);

  Simulation& simulation_;
  ChoiceSource& choices_;
  SimulationOptions options_;
  Trace trace_;
  Verifier verifier_;
  HandleTable handles_;
  Driver* driver_ = nullptr;
  std::map<uint32_t, Object*> live_;  // by serial: teardown order is creation order
  std::vector<std::pair<WDFOBJECT, uint32_t>> handle_history_;
  std::unordered_map<const IRP*, IrpRecord> irps_;
  uint32_t next_irp_serial_ = 1;
  std::vector<IoOutcome> io_outcomes_;
  std::vector<Work> work_;
  uint64_t next_work_sequence_ = 1;
  int work_depth_ = 0;
  int64_t now_ = 0;
  KIRQL irql_ = PASSIVE_LEVEL;
  std::vector<std::unique_ptr<SimThread>> threads_;
  bool cancel_lock_held_ = false;
  int driver_locks_held_ = 0;
  std::vector<std::unique_ptr<LowerDevice>> lower_devices_;
  SimThread* current_thread_ = nullptr;
  bool unloaded_ = false;
  bool switching_off_ = false;
  bool in_environment_cancel_ = false;
};

class Device;

// The framework driver object (FxDriver): the default parent, the
// DRIVER_OBJECT DriverEntry receives, and what WdfDriverCreate configured.
class Driver final : public Object {
 public:
  explicit Driver(World& world);
  DRIVER_OBJECT& driver_object() { return driver_object_; }
  // Set by WdfDriverCreate.
  bool created() const { return created_; }
  const WDF_DRIVER_CONFIG& config() const { return config_; }
  void Create(const WDF_DRIVER_CONFIG& config) {
    config_ = config;
    created_ = true;
  }
  // The devices EvtDriverDeviceAdd created, in creation order.
  std::vector<Device*>& devices() { return devices_; }

 private:
  DRIVER_OBJECT driver_object_{};
  WDF_DRIVER_CONFIG config_{};
  bool created_ = false;
  std::vector<Device*> devices_;
};

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_WORLD_H_
