// One simulated machine: a KMDF driver over the WDM I/O manager, with the
// KMDF verifier on, a virtual clock and one ChoiceSource for every
// nondeterministic decision. While a Simulation is alive it is current: the
// DDIs of <wdf.h> and <wdm.h> act on it. One at a time per process.
#ifndef WDFSIM_HARNESS_SIMULATION_H_
#define WDFSIM_HARNESS_SIMULATION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "wdfsim/harness/choice_source.h"
#include "wdfsim/harness/lower_driver.h"
#include "wdfsim/harness/trace.h"
#include "wdfsim/harness/verifier.h"
#include "wdfsim/wdf.h"

namespace wdfsim {

namespace core {
class World;
}

struct SimulationOptions {
  // KMDF Verifier (VerifierOn, with VerifierIO). The model is defined with it
  // on; off reproduces the framework's unverified paths where they differ.
  bool kmdf_verifier = true;
  // The driver's KMDF minor version (1.<minor>); gates version checks.
  uint32_t kmdf_minor_version = 33;
  // Liveness: scheduling steps a blocked wait may take before it is reported.
  uint32_t step_budget = 100000;
  // Allocations by the I/O manager's DDIs (IoAllocateIrp, the builders,
  // IoAllocateMdl) may fail, as the ChoiceSource decides.
  bool inject_allocation_failures = false;
  // At every scheduling point (each DDI entry of top-level driver code) the
  // choices may have an originator cancel one of its outstanding requests:
  // IoCancelIrp from another processor, at any point of the driver's work.
  bool originator_cancels = false;
  // At every scheduling point at which the application thread has IRPs on its
  // list, the choices may have it exit (once): IoCancelThreadIo at any point
  // of the driver's work (SEMANTICS-WDM A.1.6, case 25). No request is sent
  // from it afterwards (thread_exited).
  bool thread_exits = false;
};

// How the I/O manager's device hands buffers to the driver for reads and writes.
enum class IoType : uint8_t { kBuffered, kDirect, kNeither };

// A request that the I/O manager presents to the driver.
struct IoRequestSpec {
  UCHAR major_function = IRP_MJ_READ;
  ULONG length = 0;           // READ / WRITE length
  ULONG io_control_code = 0;  // DEVICE_CONTROL / INTERNAL_DEVICE_CONTROL
  ULONG input_length = 0;
  ULONG output_length = 0;
  IoType io_type = IoType::kBuffered;
  // Stack locations the IRP has at and below the driver (the driver's own
  // location included); a request forwarded on needs more (SEMANTICS-WDF 1.2).
  CCHAR stack_size = 1;
  // Bytes the originator's buffer starts with (WRITE data, ioctl input).
  uint8_t fill = 0;
  // RequestorMode: an application's request is UserMode.
  bool kernel_mode_requestor = false;
  // The originator's open handle the request is issued on: 0 for none, else
  // an id; requests with the same id share one WDFFILEOBJECT
  // (WdfRequestGetFileObject, WdfIoQueueRetrieveRequestByFileObject).
  uint32_t file_object = 0;
};

// What the originator of a presented request saw.
struct IoOutcome {
  WDFREQUEST request = nullptr;  // the handle as presented (may be stale now)
  uint32_t request_serial = 0;
  UCHAR major_function = 0;
  bool presented = false;    // the driver received it (from a queue, or PresentRequest)
  bool completed = false;    // the completion APC delivered the result
  uint32_t completions = 0;  // IoCompleteRequest calls whose stack walk finished the IRP
  NTSTATUS status = 0;       // IoStatus when the walk finished
  ULONG_PTR information = 0;
  std::vector<uint8_t> data;  // what the originator's buffer holds after completion
};

// The outcome of a run.
struct Verdict {
  bool bugcheck = false;
  std::vector<Report> reports;
  uint64_t trace_hash = 0;
  size_t trace_events = 0;

  // No report of bug-check or break severity.
  bool clean() const;
  // "clean" or "BUGCHECK 0x10D/0x5 InvalidHandle ..." one line per report.
  std::string Summary() const;
};

class Simulation {
 public:
  explicit Simulation(ChoiceSource& choices, SimulationOptions options = {});
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // The simulation the DDIs act on; nullptr if none is alive.
  static Simulation* Current();

  const SimulationOptions& options() const;
  Verifier& verifier();
  const Trace& trace() const;
  Verdict verdict() const;

  // Virtual time in 100 ns units since the simulation started.
  int64_t now() const;
  // Runs the work that falls due over the next `ticks`, advancing the clock.
  void AdvanceTime(int64_t ticks);
  // Moves the clock only: the driver thread kept running for `ticks`. Work
  // that fell due runs at the next scheduling points, as the choices say.
  void PassTime(int64_t ticks);
  // Runs every item of work that is ready now.
  void RunReadyWork();

  // The IRQL of the running thread.
  KIRQL irql() const;
  void SetIrql(KIRQL irql);

  // The framework driver object every driver-created object defaults to.
  WDFDRIVER driver() const;

  // The I/O manager builds an IRP for `spec` and presents it to the driver as
  // a request the driver owns (as if a queue had dispatched it).
  WDFREQUEST PresentRequest(const IoRequestSpec& spec);

  // ---- A driver under test, loaded as the I/O manager and PnP load one ----
  // Calls `driver_entry` (DriverEntry) with the simulation's DRIVER_OBJECT; it
  // is expected to call WdfDriverCreate. Returns what DriverEntry returned.
  NTSTATUS LoadDriver(PDRIVER_INITIALIZE driver_entry);
  // PnP adds a device above `lower`: the framework calls the driver's
  // EvtDriverDeviceAdd with a WDFDEVICE_INIT, and the device it creates has
  // `lower` as its default I/O target (WdfDeviceGetIoTarget). Returns the
  // device, or nullptr when EvtDriverDeviceAdd failed or created none
  // (`status`, if given, receives its return value).
  WDFDEVICE AddDevice(LowerDevice& lower, NTSTATUS* status = nullptr);
  // The I/O manager sends a request to `device` from the application thread;
  // the framework dispatches it to the device's queues (SEMANTICS-WDF 5).
  // Returns the index of its entry in io_outcomes().
  size_t SendRequest(WDFDEVICE device, const IoRequestSpec& spec);
  // The originator cancels a request it sent (IoCancelIrp on its IRP); false
  // if it was already completed or the IRP is gone.
  bool CancelRequest(size_t outcome);
  // PnP/power: the device leaves its working state (D0). Its power-managed
  // queues stop delivering requests and the framework calls EvtIoStop
  // (WdfRequestStopActionSuspend) for each request the driver holds; the call
  // returns once each of them is completed, requeued or acknowledged
  // (WdfRequestStopAcknowledge), on the virtual clock. If that can never
  // happen it is a Liveness report (on Windows, bug check 0x9F).
  void PowerDown(WDFDEVICE device);
  // The device is back in D0: EvtIoResume for each request acknowledged
  // without requeue, then the queues deliver again (a non-empty manual queue
  // notifies its ready callback).
  void PowerUp(WDFDEVICE device);
  // One entry per presented request, in presentation order.
  const std::vector<IoOutcome>& io_outcomes() const;

  // A scripted device driver code can send IRPs to; it lives as long as the
  // simulation.
  LowerDevice& AddLowerDevice(LowerDeviceOptions options);
  // A started WDFIOTARGET for `device` (as WdfIoTargetCreate + Open would
  // give), parented to the driver; its stack size and I/O type are the
  // device's.
  WDFIOTARGET CreateIoTarget(PDEVICE_OBJECT device);

  // Another thread of the environment runs `run` at PASSIVE_LEVEL `delay`
  // from now (100 ns units), e.g. PnP starting a target while the driver
  // waits in a synchronous send.
  void RunLater(int64_t delay, std::function<void()> run);

  // From now on, SimulationOptions::inject_allocation_failures is `on`.
  void SetInjectAllocationFailures(bool on);

  // True while `irp` is an IRP the I/O manager allocated and has not freed:
  // for harness code that holds IRP pointers across the driver's work and
  // must not touch one that is gone.
  bool IrpAllocated(const IRP* irp);

  // Simulated threads: the driver thread the program runs on and the
  // application thread that issues presented requests.
  PETHREAD driver_thread() const;
  PETHREAD application_thread() const;
  // The thread exits: the I/O manager cancels its IRPs and waits for them
  // (IoCancelThreadIo, SEMANTICS-WDM A.1.6), on the virtual clock.
  void ExitThread(PETHREAD thread);
  // Whether the thread has exited (ExitThread, or thread_exits).
  bool thread_exited(PETHREAD thread) const;

  // Driver unload: the I/O manager's pending work runs, the driver object is
  // deleted, and the teardown checks report what was left behind.
  void Unload();
  bool unloaded() const;

  core::World& world() { return *world_; }

 private:
  std::unique_ptr<core::World> world_;
};

}  // namespace wdfsim

#endif  // WDFSIM_HARNESS_SIMULATION_H_
