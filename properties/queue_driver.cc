#include "queue_driver.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <utility>

#include "wdfsim/wdf.h"

namespace wdfsim::queue_driver {
namespace {

using queue_model::Callback;
using queue_model::Completion;
using queue_model::Dispatch;
using queue_model::Event;
using queue_model::Op;
using queue_model::OpKind;
using queue_model::Step;

// ---------------------------------------------------------------------------
// The driver. Its callbacks record what the framework called, in order.

struct DriverRecord {
  Event event;
  WDFQUEUE queue;
  WDFREQUEST request;
};

struct DeviceContext {
  queue_model::DeviceConfig config;
  WDFDEVICE device = nullptr;
  std::vector<WDFQUEUE> queues;
  std::vector<DriverRecord> log;
};

DeviceContext* g_context = nullptr;  // the one device of the one simulation

EVT_WDF_DRIVER_DEVICE_ADD EvtDriverDeviceAdd;
EVT_WDF_IO_QUEUE_IO_DEFAULT EvtIoDefault;
EVT_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE EvtIoCanceledOnQueue;
EVT_WDF_IO_QUEUE_IO_STOP EvtIoStop;
EVT_WDF_IO_QUEUE_IO_RESUME EvtIoResume;
EVT_WDF_IO_QUEUE_STATE EvtQueueReady;
EVT_WDF_IO_QUEUE_STATE EvtQueueStopComplete;
EVT_WDF_IO_QUEUE_STATE EvtQueuePurgeComplete;
EVT_WDF_IO_QUEUE_STATE EvtQueueDrainComplete;

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  WDF_DRIVER_CONFIG config;
  WDF_DRIVER_CONFIG_INIT(&config, EvtDriverDeviceAdd);
  return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}

WDF_IO_QUEUE_DISPATCH_TYPE DispatchType(Dispatch dispatch) {
  switch (dispatch) {
    case Dispatch::kManual: return WdfIoQueueDispatchManual;
    case Dispatch::kSequential: return WdfIoQueueDispatchSequential;
    case Dispatch::kParallel: return WdfIoQueueDispatchParallel;
  }
  return WdfIoQueueDispatchInvalid;
}

NTSTATUS EvtDriverDeviceAdd(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit) {
  (void)Driver;
  WDFDEVICE device;
  NTSTATUS status = WdfDeviceCreate(&DeviceInit, WDF_NO_OBJECT_ATTRIBUTES, &device);
  if (!NT_SUCCESS(status)) return status;
  g_context->device = device;
  const queue_model::DeviceConfig& config = g_context->config;
  for (size_t i = 0; i < config.queues.size(); ++i) {
    const WDF_IO_QUEUE_DISPATCH_TYPE type = DispatchType(config.queues[i].dispatch);
    WDF_IO_QUEUE_CONFIG queue_config;
    if (i == 0 && config.default_queue) {
      WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&queue_config, type);
    } else {
      WDF_IO_QUEUE_CONFIG_INIT(&queue_config, type);
    }
    if (type != WdfIoQueueDispatchManual) queue_config.EvtIoDefault = EvtIoDefault;
    if (config.queues[i].canceled_on_queue) queue_config.EvtIoCanceledOnQueue = EvtIoCanceledOnQueue;
    queue_config.EvtIoStop = EvtIoStop;
    queue_config.EvtIoResume = EvtIoResume;
    WDFQUEUE queue;
    status = WdfIoQueueCreate(device, &queue_config, WDF_NO_OBJECT_ATTRIBUTES, &queue);
    if (!NT_SUCCESS(status)) return status;
    if (i == 0 && !config.default_queue) {
      status = WdfDeviceConfigureRequestDispatching(device, queue, WdfRequestTypeRead);
      if (!NT_SUCCESS(status)) return status;
    }
    g_context->queues.push_back(queue);
  }
  return STATUS_SUCCESS;
}

// A sequential or parallel queue presents a request: the driver keeps it and
// completes it later (the test's ops say when).
VOID EvtIoDefault(WDFQUEUE Queue, WDFREQUEST Request) { g_context->log.push_back({Event::kIoDefault, Queue, Request}); }

VOID EvtIoCanceledOnQueue(WDFQUEUE Queue, WDFREQUEST Request) {
  g_context->log.push_back({Event::kCanceledOnQueue, Queue, Request});
  WdfRequestComplete(Request, STATUS_CANCELLED);
}

// The device leaves D0 (or is removed): the driver keeps the request and
// says so; it resumes it when the device is back.
VOID EvtIoStop(WDFQUEUE Queue, WDFREQUEST Request, ULONG ActionFlags) {
  if (!(ActionFlags & WdfRequestStopActionSuspend)) return;  // removal: the model's Quiesce left nothing owned
  g_context->log.push_back({Event::kIoStop, Queue, Request});
  WdfRequestStopAcknowledge(Request, FALSE);
}

VOID EvtIoResume(WDFQUEUE Queue, WDFREQUEST Request) { g_context->log.push_back({Event::kIoResume, Queue, Request}); }

VOID EvtQueueReady(WDFQUEUE Queue, WDFCONTEXT) { g_context->log.push_back({Event::kReady, Queue, nullptr}); }
VOID EvtQueueStopComplete(WDFQUEUE Queue, WDFCONTEXT) {
  g_context->log.push_back({Event::kStopComplete, Queue, nullptr});
}
VOID EvtQueuePurgeComplete(WDFQUEUE Queue, WDFCONTEXT) {
  g_context->log.push_back({Event::kPurgeComplete, Queue, nullptr});
}
VOID EvtQueueDrainComplete(WDFQUEUE Queue, WDFCONTEXT) {
  g_context->log.push_back({Event::kDrainComplete, Queue, nullptr});
}

// ---------------------------------------------------------------------------
// Translating between the core and the model.

uint8_t QueueIndex(WDFQUEUE queue) {
  const auto& queues = g_context->queues;
  return static_cast<uint8_t>(std::find(queues.begin(), queues.end(), queue) - queues.begin());
}

// The io_outcomes() index of a live request handle.
uint32_t RequestId(const Simulation& sim, WDFREQUEST request) {
  if (request == nullptr) return queue_model::kNoRequest;
  const auto& outcomes = sim.io_outcomes();
  for (size_t i = outcomes.size(); i-- > 0;) {
    if (outcomes[i].request == request && outcomes[i].completions == 0) return static_cast<uint32_t>(i);
  }
  return queue_model::kNoRequest - 1;  // a handle the harness never presented
}

WDFREQUEST Handle(const Simulation& sim, uint32_t id) { return sim.io_outcomes()[id].request; }

// The verifier's rules in the model's terms, by their catalog names.
std::optional<queue_model::Report> MapReport(const wdfsim::Report& report) {
  using queue_model::Report;
  const std::string_view name = report.rule_info().name;
  if (name == "InvalidHandle") return Report::kInvalidHandle;
  if (name == "DoubleCompletion") return Report::kDoubleCompletion;
  if (name == "RequestNotOwned") return Report::kRequestNotOwned;
  if (name == "ReadyNotifyMisuse") return Report::kReadyNotifyMisuse;
  if (name == "QueueRequestMisuse") return Report::kQueueRequestMisuse;
  if (name == "QueueFatalError") return Report::kQueueFatalError;
  // SEMANTICS-WDF 5.2's break for a sequential queue, by the DDI it fires in.
  if (report.rule_info().severity == Severity::kBreak && report.ddi.find("RetrieveNextRequest") != std::string::npos) {
    return Report::kRetrieveSequential;
  }
  return std::nullopt;
}

std::vector<Callback> Translate(const Simulation& sim, const std::vector<DriverRecord>& log, size_t from, size_t to) {
  std::vector<Callback> out;
  for (size_t i = from; i < to; ++i) {
    Callback c{log[i].event, QueueIndex(log[i].queue)};
    if (log[i].request != nullptr) {
      // Presented and canceled-on-queue requests are still live when recorded;
      // find them by handle among all outcomes.
      const auto& outcomes = sim.io_outcomes();
      c.request = queue_model::kNoRequest - 1;
      for (size_t j = outcomes.size(); j-- > 0;) {
        if (outcomes[j].request == log[i].request) {
          c.request = static_cast<uint32_t>(j);
          break;
        }
      }
    }
    out.push_back(c);
  }
  return out;
}

std::vector<Completion> NewCompletions(const Simulation& sim, const std::vector<uint32_t>& before) {
  std::vector<Completion> out;
  const auto& outcomes = sim.io_outcomes();
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const uint32_t prior = i < before.size() ? before[i] : 0;
    for (uint32_t n = prior; n < outcomes[i].completions; ++n) {
      out.push_back({static_cast<uint32_t>(i), outcomes[i].status});
    }
  }
  return out;
}

std::vector<uint32_t> CompletionCounts(const Simulation& sim) {
  std::vector<uint32_t> out;
  for (const IoOutcome& o : sim.io_outcomes()) out.push_back(o.completions);
  return out;
}

}  // namespace

QueueRig::QueueRig(ChoiceSource& choices, const queue_model::DeviceConfig& config)
    : sim_(std::make_unique<Simulation>(choices)), config_(config) {}

QueueRig::~QueueRig() {
  sim_.reset();
  delete g_context;
  g_context = nullptr;
}

bool QueueRig::Load(std::string* error) {
  delete g_context;
  g_context = new DeviceContext{config_};
  try {
    const NTSTATUS entry = sim_->LoadDriver(DriverEntry);
    if (!NT_SUCCESS(entry)) {
      *error = "DriverEntry failed";
      return false;
    }
    LowerDevice& lower = sim_->AddLowerDevice(LowerDeviceOptions{});
    NTSTATUS add = STATUS_SUCCESS;
    if (sim_->AddDevice(lower, &add) == nullptr || g_context->queues.size() != config_.queues.size()) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "EvtDriverDeviceAdd failed: 0x%08X", static_cast<unsigned>(add));
      *error = buf;
      return false;
    }
  } catch (const BugCheck& bugcheck) {
    *error = std::string("bug check while loading: ") + bugcheck.what();
    return false;
  }
  if (!sim_->verifier().reports().empty()) {
    *error = "reports while loading: " + sim_->verdict().Summary();
    return false;
  }
  return true;
}

Observation QueueRig::Run(const Op& op) {
  Observation obs;
  Step& step = obs.step;
  Simulation& sim = *sim_;
  const size_t reports_before = sim.verifier().reports().size();
  const size_t log_before = g_context->log.size();
  const std::vector<uint32_t> counts_before = CompletionCounts(sim);
  const WDFQUEUE queue = op.queue < g_context->queues.size() ? g_context->queues[op.queue] : nullptr;
  auto returned = [&step](NTSTATUS status) {
    step.has_status = true;
    step.status = status;
  };
  try {
    switch (op.kind) {
      case OpKind::kArrive: {
        IoRequestSpec spec;
        spec.major_function = IRP_MJ_READ;
        spec.length = 16;
        step.request = static_cast<uint32_t>(sim.SendRequest(g_context->device, spec));
        break;
      }
      case OpKind::kRetrieve: {
        WDFREQUEST request = nullptr;
        returned(WdfIoQueueRetrieveNextRequest(queue, &request));
        step.request = RequestId(sim, request);
        break;
      }
      case OpKind::kComplete: WdfRequestComplete(Handle(sim, op.request), op.status); break;
      case OpKind::kCompleteTwice: {
        WDFREQUEST request = Handle(sim, op.request);
        WdfObjectReference(request);
        WdfRequestComplete(request, op.status);
        WdfRequestComplete(request, op.status);
        WdfObjectDereference(request);
        break;
      }
      case OpKind::kRequeue: returned(WdfRequestRequeue(Handle(sim, op.request))); break;
      case OpKind::kForward: returned(WdfRequestForwardToIoQueue(Handle(sim, op.request), queue)); break;
      case OpKind::kReadyNotify:
        returned(WdfIoQueueReadyNotify(queue, op.flag ? EvtQueueReady : nullptr, WDF_NO_CONTEXT));
        break;
      case OpKind::kStart: WdfIoQueueStart(queue); break;
      case OpKind::kStop: WdfIoQueueStop(queue, op.flag ? EvtQueueStopComplete : nullptr, WDF_NO_CONTEXT); break;
      case OpKind::kPurge: WdfIoQueuePurge(queue, op.flag ? EvtQueuePurgeComplete : nullptr, WDF_NO_CONTEXT); break;
      case OpKind::kDrain: WdfIoQueueDrain(queue, op.flag ? EvtQueueDrainComplete : nullptr, WDF_NO_CONTEXT); break;
      case OpKind::kCancel: sim.CancelRequest(op.request); break;
      case OpKind::kPowerDown: sim.PowerDown(g_context->device); break;
      case OpKind::kPowerUp: sim.PowerUp(g_context->device); break;
      case OpKind::kCount: break;
    }
  } catch (const BugCheck&) {
    bugchecked_ = true;
  }
  const size_t log_mid = g_context->log.size();
  step.callbacks = Translate(sim, g_context->log, log_before, log_mid);
  step.completions = NewCompletions(sim, counts_before);
  if (!bugchecked_) {
    const std::vector<uint32_t> counts_mid = CompletionCounts(sim);
    try {
      sim.RunReadyWork();
      obs.late_callbacks = Translate(sim, g_context->log, log_mid, g_context->log.size());
      obs.late_completions = NewCompletions(sim, counts_mid);
      for (WDFQUEUE q : g_context->queues) {
        queue_model::QueueSnapshot snapshot;
        ULONG queued = 0, owned = 0;
        snapshot.state = static_cast<uint32_t>(WdfIoQueueGetState(q, &queued, &owned));
        snapshot.queued = queued;
        snapshot.driver_owned = owned;
        step.queues.push_back(snapshot);
      }
    } catch (const BugCheck&) {
      bugchecked_ = true;
    }
  }
  step.bugcheck = bugchecked_;
  const auto& reports = sim.verifier().reports();
  for (size_t i = reports_before; i < reports.size(); ++i) {
    if (reports[i].rule_info().severity == Severity::kLint) continue;
    if (const auto mapped = MapReport(reports[i])) {
      step.reports.push_back(*mapped);
    } else {
      obs.unmapped_reports.push_back(std::string(reports[i].rule_info().name) + " in " + reports[i].ddi + ": " +
                                     reports[i].message);
    }
  }
  return obs;
}

std::vector<std::string> QueueRig::Unload() {
  const size_t before = sim_->verifier().reports().size();
  try {
    sim_->Unload();
  } catch (const BugCheck&) {
    bugchecked_ = true;
  }
  std::vector<std::string> out;
  const auto& reports = sim_->verifier().reports();
  for (size_t i = before; i < reports.size(); ++i) {
    if (reports[i].rule_info().severity == Severity::kLint) continue;
    out.push_back(std::string(reports[i].rule_info().name) + ": " + reports[i].message);
  }
  return out;
}

Disagreement Compare(QueueRig& rig, queue_model::QueueModel& model, const Op& op, bool* skipped) {
  const Step predicted = model.Apply(op);
  if (skipped != nullptr) *skipped = predicted.unspecified;
  if (predicted.unspecified) return {};
  const Observation observed = rig.Run(op);
  const std::string where = " at `" + op.ToString() + "`";
  if (!observed.unmapped_reports.empty()) return {"UnexpectedReport", observed.unmapped_reports[0] + where};
  const std::string diff = predicted.Diff(observed.step);
  if (!diff.empty()) return {"QueueStep", "model vs core" + where + ": " + diff};
  if (!observed.late_callbacks.empty() || !observed.late_completions.empty()) {
    return {"Deferred", "callbacks or completions ran only after the DDI returned" + where};
  }
  return {};
}

Disagreement Finish(QueueRig& rig, queue_model::QueueModel& model) {
  if (model.stopped()) return {};  // the machine bug-checked, as predicted
  for (const Op& op : model.Quiesce()) {
    if (Disagreement d = Compare(rig, model, op)) return d;
  }
  const std::vector<std::string> teardown = rig.Unload();
  if (!teardown.empty()) return {"TeardownReport", teardown[0]};
  const auto& outcomes = rig.sim().io_outcomes();
  const auto& requests = model.requests();
  if (outcomes.size() != requests.size()) {
    return {"Outcomes",
            std::to_string(outcomes.size()) + " requests sent, model has " + std::to_string(requests.size())};
  }
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const IoOutcome& o = outcomes[i];
    if (!o.completed || o.completions != 1 || o.status != requests[i].status) {
      char buf[160];
      std::snprintf(buf, sizeof(buf), "r%zu: completed=%d completions=%u status=0x%08X, model status 0x%08X", i,
                    o.completed, o.completions, static_cast<unsigned>(o.status),
                    static_cast<unsigned>(requests[i].status));
      return {"Outcomes", buf};
    }
  }
  return {};
}

}  // namespace wdfsim::queue_driver
