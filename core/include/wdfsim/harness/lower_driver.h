// Scripted devices for driver code to send IRPs to. A LowerDevice answers
// each IRP it receives as a script says, then as the ChoiceSource says:
// complete inline, or mark pending and complete later on the virtual clock
// (or never), honour a cancel with STATUS_CANCELLED, ignore it, or complete
// normally, at PASSIVE_LEVEL or DISPATCH_LEVEL. It is written against the
// same WDM DDIs as driver code, with the canonical cancel-race handling.
#ifndef WDFSIM_HARNESS_LOWER_DRIVER_H_
#define WDFSIM_HARNESS_LOWER_DRIVER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "wdfsim/wdm.h"

namespace wdfsim {

struct LowerAnswer {
  enum class Kind : uint8_t {
    kCompleteInline,  // IoCompleteRequest inside the dispatch routine
    kPend,            // IoMarkIrpPending, STATUS_PENDING, complete after `delay`
    kPendForever,     // IoMarkIrpPending, STATUS_PENDING, complete only on cancel
  };
  enum class OnCancel : uint8_t {
    kCompleteCancelled,  // a cancel routine completes with STATUS_CANCELLED, 0
    kIgnore,             // no cancel routine: the IRP completes when it would have
    kCompleteNormally,   // a cancel routine completes with `status`, `information`
  };
  // Information equal to the request's own length (read, ioctl output).
  static constexpr ULONG_PTR kWholeLength = ~ULONG_PTR{0};

  Kind kind = Kind::kCompleteInline;
  NTSTATUS status = STATUS_SUCCESS;
  ULONG_PTR information = kWholeLength;
  int64_t delay = 0;  // 100 ns units
  OnCancel on_cancel = OnCancel::kCompleteCancelled;
  KIRQL completion_irql = DISPATCH_LEVEL;  // where a pended completion runs
};

struct LowerDeviceOptions {
  CCHAR stack_size = 1;
  ULONG flags = DO_BUFFERED_IO;  // DO_BUFFERED_IO, DO_DIRECT_IO or neither
  // Answers for the first IRPs, in order.
  std::vector<LowerAnswer> script;
  // After the script: answers from the ChoiceSource, else `default_answer`.
  bool answers_from_choices = true;
  LowerAnswer default_answer;
};

// What the device saw of one IRP.
struct LowerIrpRecord {
  UCHAR major_function = 0;
  LowerAnswer answer;
  bool cancelled = false;
  bool completed = false;
};

class LowerDevice {
 public:
  virtual ~LowerDevice() = default;
  virtual PDEVICE_OBJECT device() = 0;
  virtual const std::vector<LowerIrpRecord>& irps() const = 0;
};

}  // namespace wdfsim

#endif  // WDFSIM_HARNESS_LOWER_DRIVER_H_
