// queue_fuzzer: the core's KMDF I/O queues (manual, sequential, parallel;
// ready notification, retrieval, Stop/Start/Purge/Drain, requeue, forward,
// originator cancels, the device leaving and re-entering D0) driven by a decoded op sequence, misuse included, with
// every op checked against the queue reference model
// (properties/model/queue_model.h) through a KMDF test driver
// (properties/queue_driver.h).
//
// Input layout (corpus/queue/README.md), read front to back:
//   byte 0: device: bits 0-1 queue 0 dispatch (0 or 3 manual, 1 sequential,
//           2 parallel); bit 2 a second (manual) queue; bits 3, 4
//           EvtIoCanceledOnQueue on queue 0, 1; bit 5 queue 0 gets reads by
//           WdfDeviceConfigureRequestDispatching instead of being the default;
//           bit 6 the power ops (PowerDown, PowerUp) are in the op kinds
//   byte 1: op count, % 64
//   then two bytes per op: [kind % 12 (% 14 with bit 6) in bits 0-3 | flag
//           bit 4 | status bits 5-6], [request in bits 0-3 | queue bit 4]
//   rest:   the ByteChoiceSource (which ready work runs at scheduling points)
//
// Oracles (one "ORACLE:<name> ..." line, then the ops, then abort):
// QueueStep (an op's status, callbacks, completions, reports or queue state
// differ from the model), UnexpectedReport (a non-lint report the model has no
// counterpart for), Deferred (a callback or completion ran only after the DDI
// returned), TeardownReport (a report at unload after a quiesced run),
// Outcomes (a request did not reach its originator once with the model's
// status). Ops the model leaves unspecified are skipped.
//
// The model follows the core on the known disagreements
// (properties/DISAGREEMENTS.md, queue_model::kKnownCoreDeviations) so that
// the fuzzer looks past them; QUEUE_FUZZER_DOCUMENTED=1 in the environment
// holds the core to the documented semantics everywhere.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "model/queue_model.h"
#include "queue_driver.h"

namespace {

uint32_t follow_core = wdfsim::queue_model::kKnownCoreDeviations;

using wdfsim::queue_model::DeviceConfig;
using wdfsim::queue_model::Dispatch;
using wdfsim::queue_model::Op;
using wdfsim::queue_model::OpKind;
using wdfsim::queue_model::QueueConfig;

constexpr NTSTATUS kStatuses[] = {STATUS_SUCCESS, STATUS_UNSUCCESSFUL, STATUS_CANCELLED, STATUS_INVALID_DEVICE_REQUEST};

DeviceConfig DecodeConfig(uint8_t b) {
  constexpr Dispatch kDispatch[] = {Dispatch::kManual, Dispatch::kSequential, Dispatch::kParallel, Dispatch::kManual};
  DeviceConfig config;
  config.queues = {QueueConfig{kDispatch[b & 3], ((b >> 3) & 1) != 0}};
  if ((b >> 2) & 1) config.queues.push_back(QueueConfig{Dispatch::kManual, ((b >> 4) & 1) != 0});
  config.default_queue = ((b >> 5) & 1) == 0;
  return config;
}

// Without power ops (header bit 6 clear) the kinds are the twelve before
// them, so inputs written before they existed decode as they did.
Op DecodeOp(uint8_t a, uint8_t b, size_t queues, bool power) {
  Op op;
  const uint8_t kinds = static_cast<uint8_t>(power ? OpKind::kCount : OpKind::kPowerDown);
  op.kind = static_cast<OpKind>((a & 0x0F) % kinds);
  op.flag = ((a >> 4) & 1) != 0;
  op.status = kStatuses[(a >> 5) & 3];
  op.request = b & 0x0F;
  op.queue = static_cast<uint8_t>(((b >> 4) & 1) % queues);
  return op;
}

[[noreturn]] void Fail(const wdfsim::queue_driver::Disagreement& d, const DeviceConfig& config,
                       const std::vector<Op>& ops, size_t executed) {
  std::string text;
  for (size_t i = 0; i < ops.size() && i <= executed; ++i) text += (i ? "; " : "") + ops[i].ToString();
  std::fprintf(stderr, "ORACLE:%s %s\nqueue 0 %s%s, ops: %s\n", d.oracle.c_str(), d.detail.c_str(),
               wdfsim::queue_model::DispatchName(config.queues[0].dispatch),
               config.queues.size() > 1 ? " + manual queue 1" : "", text.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* documented = std::getenv("QUEUE_FUZZER_DOCUMENTED");
  if (documented != nullptr && std::string(documented) == "1") follow_core = 0;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 4096) return 0;
  FuzzedDataProvider fdp(data, size);
  const std::vector<uint8_t> header = fdp.ConsumeBytes<uint8_t>(2);
  const DeviceConfig config = DecodeConfig(header[0]);
  std::vector<Op> ops;
  for (size_t i = 0; i < header[1] % 64u && fdp.remaining_bytes() >= 2; ++i) {
    const std::vector<uint8_t> op = fdp.ConsumeBytes<uint8_t>(2);
    ops.push_back(DecodeOp(op[0], op[1], config.queues.size(), ((header[0] >> 6) & 1) != 0));
  }
  const std::vector<uint8_t> choice_bytes = fdp.ConsumeRemainingBytes<uint8_t>();

  wdfsim::ByteChoiceSource choices(choice_bytes);
  wdfsim::queue_model::QueueModel model(config, follow_core);
  wdfsim::queue_driver::QueueRig rig(choices, config);
  std::string error;
  if (!rig.Load(&error)) Fail({"Load", error}, config, ops, 0);
  for (size_t i = 0; i < ops.size() && !model.stopped(); ++i) {
    if (const auto d = wdfsim::queue_driver::Compare(rig, model, ops[i])) Fail(d, config, ops, i);
  }
  if (const auto d = wdfsim::queue_driver::Finish(rig, model)) Fail(d, config, ops, ops.size());
  return 0;
}
