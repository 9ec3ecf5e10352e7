// fsd_irp_fuzzer: FsdReadSync / FsdReadAsync (fsd_read.c, plain WDM C) over a
// scripted lower device whose answers come from the fuzz input. Built once
// per planted bug (fsd_read.h); the plain build must never report.
//
// Input layout (corpus/fsd_irp/README.md):
//   byte 0: bit 0 direct I/O (else buffered); bits 1-2 stack size 1 + v % 3;
//           bit 3 inject allocation failures; bits 4-5 number of calls 1 + v
//   byte 1: two bits per call i (bits 2i, 2i+1): async?, exit the driver
//           thread after the call (no further calls then)
//   byte 2: read length 1 + v % 64
//   rest:   the ByteChoiceSource (lower answers, delays, APC timing, ...)
//
// Oracles: any verifier report that is not lint, except Liveness when the
// lower device pends forever and ignores cancel (the environment hangs, not
// the driver); and ApcAfterReturn: a synchronous read whose IRP pended must
// not return before the I/O manager's completion APC for it ran (the APC
// writes the caller's stack IOSB and event).
//
// Environment (read in LLVMFuzzerInitialize):
//   FSD_IRP_FUZZER_NO_APC_ORACLE=1  turns ApcAfterReturn off, so the late APC
//       runs and the core's own check (IosbOnUnwoundStack, under ASan's
//       stack-use-after-return detection) has to catch the unwound IOSB.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "driver_oracle.h"
#include "fsd_read.h"
#include "wdfsim/harness/simulation.h"

namespace {

bool apc_oracle = true;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* off = std::getenv("FSD_IRP_FUZZER_NO_APC_ORACLE");
  apc_oracle = off == nullptr || std::string_view(off) != "1";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3 || size > 1024) return 0;
  const bool direct = data[0] & 1;
  const CCHAR stack_size = static_cast<CCHAR>(1 + ((data[0] >> 1) & 3) % 3);
  const bool inject = (data[0] >> 3) & 1;
  const int calls = 1 + ((data[0] >> 4) & 3);
  const ULONG length = 1 + data[2] % 64;

  wdfsim::ByteChoiceSource choices(absl::MakeConstSpan(data + 3, size - 3));
  wdfsim::SimulationOptions options;
  options.inject_allocation_failures = inject;
  bool hung = false;
  {
    wdfsim::Simulation sim(choices, options);
    wdfsim::LowerDeviceOptions lower_options;
    lower_options.stack_size = stack_size;
    lower_options.flags = direct ? DO_DIRECT_IO : DO_BUFFERED_IO;
    wdfsim::LowerDevice& lower = sim.AddLowerDevice(lower_options);
    std::vector<uint8_t> buffer(length);
    try {
      for (int i = 0; i < calls; ++i) {
        const bool async = (data[1] >> (2 * i)) & 1;
        const bool exit_thread = (data[1] >> (2 * i + 1)) & 1;
        const size_t first_event = sim.trace().size();
        const size_t first_irp = lower.irps().size();
        ULONG_PTR bytes = 0;
        const NTSTATUS status = async ? FsdReadAsync(lower.device(), buffer.data(), length, 512LL * i, &bytes)
                                      : FsdReadSync(lower.device(), buffer.data(), length, 512LL * i, &bytes);
        if (status == STATUS_PENDING)
          wdfsim::fuzz::ReportFinding("ReturnedPending", "a read returned STATUS_PENDING", &sim);
        if (NT_SUCCESS(status) && bytes > length)
          wdfsim::fuzz::ReportFinding("BytesRead", "more bytes than the buffer", &sim);
        if (!async) {
          bool pended = false;
          for (size_t j = first_irp; j < lower.irps().size(); ++j) {
            pended |= lower.irps()[j].answer.kind != wdfsim::LowerAnswer::Kind::kCompleteInline;
          }
          size_t apcs = 0;
          const auto& events = sim.trace().events();
          for (size_t e = first_event; e < events.size(); ++e) apcs += events[e].kind == wdfsim::EventKind::kIrpApc;
          if (apc_oracle && pended && apcs == 0) {
            wdfsim::fuzz::ReportFinding("ApcAfterReturn",
                                        "FsdReadSync returned before its pended IRP's completion APC ran", &sim);
          }
        }
        if (exit_thread) {
          sim.ExitThread(sim.driver_thread());
          break;
        }
        sim.AdvanceTime(50 * 10000);
      }
      sim.AdvanceTime(10LL * 1000 * 10000);
      sim.Unload();
    } catch (const wdfsim::BugCheck&) {
      hung = wdfsim::fuzz::AnyHangsForever(lower);
    }
    wdfsim::fuzz::JudgeReports(sim, hung);
  }
  return 0;
}
