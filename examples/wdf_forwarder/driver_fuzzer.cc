// driver_fuzzer: the forwarder KMDF driver (forwarder.c, plain C against
// <wdf.h>) loaded into a simulated machine: DriverEntry, one device over a
// scripted lower device whose answers come from the fuzz input, then a
// decoded sequence of reads, writes, ioctls, originator cancels, clock
// advances, power transitions (the device leaving and re-entering D0) and the
// application thread's exit, then the driver's unload.
// Originator cancels come as explicit events between steps and, when the
// header says so, at any scheduling point inside the driver's work
// (SimulationOptions::originator_cancels, drawn from the choices); the
// application thread's exit likewise (an event, or SimulationOptions::
// thread_exits).
// Built once per planted bug (forwarder.h); the plain build must never report.
//
// Input layout (corpus/driver/README.md):
//   byte 0: bits 0-1 the lower device's I/O (0 buffered, 1 direct, 2 neither,
//           3 buffered); bits 2-3 lower stack size 1 + v % 3; bit 4 inject
//           allocation failures; bit 5 originator cancels at any scheduling
//           point; bit 6 the application thread may exit at any scheduling
//           point while it has IRPs outstanding; bit 7 unused
//   byte 1: number of events 1 + v % 16
//   then:   two bytes per event (op, argument); see Step()
//   rest:   the ByteChoiceSource (lower answers, delays, scheduling, ...)
//
// Oracles: any verifier report that is not lint, and any bug check. When the
// lower device pends an IRP forever and ignores its cancel (the environment
// hangs, not the driver), what the unload reports is not judged, nor Liveness.
// Then each request sent must have finished exactly once (CompletedOnce),
// with whatever status: STATUS_CANCELLED or the driver's own.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "driver_oracle.h"
#include "forwarder.h"
#include "wdfsim/harness/simulation.h"

namespace {

constexpr size_t kHeader = 2;
constexpr int kMaxEvents = 16;

// Clock steps around the driver's 100 ms send timeout and the lower device's
// delays (100 ns, 10 ms, 50 ms, 1 s).
constexpr int64_t kTicks[] = {1, 10000, 10 * 10000, 50 * 10000, 99 * 10000, 100 * 10000, 101 * 10000, 1000 * 10000};

struct Environment {
  ULONG lower_flags = DO_BUFFERED_IO;
  CCHAR lower_stack = 1;
  bool inject = false;
  bool originator_cancels = false;
  bool thread_exits = false;
};

Environment DecodeEnvironment(uint8_t byte) {
  Environment env;
  switch (byte & 3) {
    case 1: env.lower_flags = DO_DIRECT_IO; break;
    case 2: env.lower_flags = 0; break;
    default: break;
  }
  env.lower_stack = static_cast<CCHAR>(1 + ((byte >> 2) & 3) % 3);
  env.inject = (byte >> 4) & 1;
  env.originator_cancels = (byte >> 5) & 1;
  env.thread_exits = (byte >> 6) & 1;
  return env;
}

// One event. op & 7:
//   0 read, length arg % 65 (0: a zero-length read)
//   1 write, length arg % 65, data arg
//   2 ioctl, method (op >> 3) & 3, input arg & 15 bytes, output (arg >> 4) * 4
//   3 ioctl, METHOD_BUFFERED, the same lengths
//   4 the originator cancels request arg % (requests sent so far)
//   5 AdvanceTime(kTicks[arg % 8])
//   6 PassTime(kTicks[arg % 8])
//   7 the application thread exits (no requests after it); with op bit 3
//     set instead, a power transition: the device leaves D0 if it is in
//     it (Simulation::PowerDown: power-managed queues stop, EvtIoStop), else
//     re-enters it (PowerUp)
// For requests, bit 3 of op (read, write) is a kernel-mode requestor and
// bits 5-6 the file object (0 none).
void Step(wdfsim::Simulation& sim, WDFDEVICE device, uint8_t op, uint8_t arg, bool& in_d0) {
  // The I/O manager sizes the IRP to the device stack and takes the I/O type
  // from the device (a filter inherits the lower device's).
  wdfsim::IoRequestSpec spec;
  spec.file_object = (op >> 5) & 3;
  switch (op & 7) {
    case 0:
    case 1:
      spec.major_function = (op & 7) == 0 ? IRP_MJ_READ : IRP_MJ_WRITE;
      spec.length = arg % 65;
      spec.fill = arg;
      spec.kernel_mode_requestor = (op >> 3) & 1;
      break;
    case 2:
    case 3: {
      const ULONG method = (op & 7) == 2 ? (op >> 3) & 3 : METHOD_BUFFERED;
      spec.major_function = IRP_MJ_DEVICE_CONTROL;
      spec.io_control_code = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, method, FILE_ANY_ACCESS);
      spec.input_length = arg & 15;
      spec.output_length = (arg >> 4) * 4;
      spec.fill = static_cast<uint8_t>(arg ^ 0x5A);
      break;
    }
    case 4:
      if (!sim.io_outcomes().empty()) sim.CancelRequest(arg % sim.io_outcomes().size());
      return;
    case 5: sim.AdvanceTime(kTicks[arg % 8]); return;
    case 6: sim.PassTime(kTicks[arg % 8]); return;
    case 7:
      if ((op >> 3) & 1) {
        if (in_d0) {
          sim.PowerDown(device);
        } else {
          sim.PowerUp(device);
        }
        in_d0 = !in_d0;
        return;
      }
      sim.ExitThread(sim.application_thread());  // once: a second exit does nothing
      return;
  }
  // The application thread may also have exited at a scheduling point.
  if (!sim.thread_exited(sim.application_thread())) sim.SendRequest(device, spec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader || size > 1024) return 0;
  const Environment env = DecodeEnvironment(data[0]);
  const int events = 1 + data[1] % kMaxEvents;
  const size_t choices_at = std::min(size, kHeader + 2 * static_cast<size_t>(events));
  auto byte = [&](size_t i) -> uint8_t { return i < choices_at ? data[i] : 0; };

  wdfsim::ByteChoiceSource choices(absl::MakeConstSpan(data + choices_at, size - choices_at));
  wdfsim::SimulationOptions options;
  options.inject_allocation_failures = env.inject;
  options.originator_cancels = env.originator_cancels;
  options.thread_exits = env.thread_exits;
  wdfsim::Simulation sim(choices, options);
  wdfsim::LowerDeviceOptions lower_options;
  lower_options.stack_size = env.lower_stack;
  lower_options.flags = env.lower_flags;
  wdfsim::LowerDevice& lower = sim.AddLowerDevice(lower_options);

  size_t judged = static_cast<size_t>(-1);  // reports from this index on are not judged
  bool hung = false;
  try {
    if (NT_SUCCESS(sim.LoadDriver(DriverEntry))) {
      if (WDFDEVICE device = sim.AddDevice(lower); device != nullptr) {
        bool in_d0 = true;  // what the power events did (the core keeps it per queue)
        for (int i = 0; i < events; ++i) {
          Step(sim, device, byte(kHeader + 2 * i), byte(kHeader + 2 * i + 1), in_d0);
        }
        // Back in D0 before the removal, so that unload judges the driver,
        // not requests a power-managed queue still holds for D0.
        if (!in_d0) sim.PowerUp(device);
      }
    }
    sim.AdvanceTime(10LL * 1000 * 10000);
    hung = wdfsim::fuzz::AnyHangsForever(lower);
    if (hung) judged = sim.verifier().reports().size();
    sim.Unload();
  } catch (const wdfsim::BugCheck&) {
    hung = wdfsim::fuzz::AnyHangsForever(lower);
  }
  wdfsim::fuzz::JudgeReports(sim, hung, judged);
  // What the originators saw: each request, cancelled or not, finished once
  // (with STATUS_CANCELLED or the driver's status), unless the lower device
  // hangs or the machine stopped.
  const bool bugchecked = sim.verifier().bugchecked();
  for (size_t i = 0; i < sim.io_outcomes().size(); ++i) {
    const wdfsim::IoOutcome& outcome = sim.io_outcomes()[i];
    if (outcome.completions > 1 || (outcome.completions == 0 && !hung && !bugchecked && sim.unloaded())) {
      wdfsim::fuzz::ReportFinding(
          "CompletedOnce",
          "request " + std::to_string(i) + " finished " + std::to_string(outcome.completions) + " times", &sim);
    }
  }
  return 0;
}
