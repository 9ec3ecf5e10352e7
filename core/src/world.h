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

// Who made an IRP, which decides who finishes it (SEMANTICS-WDM A.1, A.3.2).
enum class IrpOrigin : uint8_t {
  kIoManager,  // built by the simulated I/O manager for a presented request
  kFramework,  // allocated by the framework for a driver-created request
  kDriver,     // IoAllocateIrp by driver code
};

struct IrpRecord {
  uint32_t serial = 0;
  IrpOrigin origin = IrpOrigin::kDriver;
  int outcome = -1;         // index into io_outcomes for kIoManager IRPs
  PVOID user_buffer = nullptr;  // the originator's buffer (kIoManager)
  size_t user_buffer_length = 0;
  bool apc_queued = false;
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
  // Queues `run` to become ready at virtual time `due`, run at `irql`.
  void Schedule(int64_t due, KIRQL irql, std::string what, std::function<void()> run);
  // At a DDI entry: the choices may let ready work run first.
  void SchedulingPoint();
  // Runs every item that is ready now, in due order.
  void RunReadyWork();
  // Runs work falling due up to now + ticks, then sets the clock there.
  void AdvanceTime(int64_t ticks);
  bool HasReadyWork() const;

  // ---- IRPs ----
  IrpRecord* FindIrp(const IRP* irp);
  IrpRecord& AddIrp(IRP* irp, IrpOrigin origin);
  void RemoveIrp(const IRP* irp) { irps_.erase(irp); }
  std::vector<IoOutcome>& io_outcomes() { return io_outcomes_; }

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
    std::string what;
    std::function<void()> run;
  };
  void RunWork(size_t index);
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
  bool unloaded_ = false;
  bool switching_off_ = false;
};

// The framework driver object (FxDriver): the default parent.
class Driver final : public Object {
 public:
  explicit Driver(World& world);
};

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_WORLD_H_
