#include "wdfsim/harness/simulation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "device.h"
#include "io_manager.h"
#include "io_target.h"
#include "irp.h"
#include "lower_driver.h"
#include "thread.h"
#include "world.h"

namespace wdfsim {

namespace {
Simulation* g_simulation = nullptr;
}

Simulation::Simulation(ChoiceSource& choices, SimulationOptions options)
    : world_(std::make_unique<core::World>(*this, choices, options)) {
  g_simulation = this;
}

Simulation::~Simulation() {
  world_.reset();
  g_simulation = nullptr;
}

Simulation* Simulation::Current() { return g_simulation; }

const SimulationOptions& Simulation::options() const { return world_->options(); }
Verifier& Simulation::verifier() { return world_->verifier(); }
const Trace& Simulation::trace() const { return world_->trace(); }
int64_t Simulation::now() const { return world_->now(); }
void Simulation::AdvanceTime(int64_t ticks) { world_->AdvanceTime(ticks); }
void Simulation::PassTime(int64_t ticks) { world_->PassTime(ticks); }
void Simulation::RunReadyWork() { world_->RunReadyWork(); }
KIRQL Simulation::irql() const { return world_->irql(); }
void Simulation::SetIrql(KIRQL irql) { world_->SetIrql(irql); }

WDFDRIVER Simulation::driver() const {
  return world_->driver() ? static_cast<WDFDRIVER>(world_->driver()->handle()) : nullptr;
}

WDFREQUEST Simulation::PresentRequest(const IoRequestSpec& spec) { return core::PresentRequest(*world_, spec); }

const std::vector<IoOutcome>& Simulation::io_outcomes() const { return world_->io_outcomes(); }

NTSTATUS Simulation::LoadDriver(PDRIVER_INITIALIZE driver_entry) { return core::LoadDriver(*world_, driver_entry); }

WDFDEVICE Simulation::AddDevice(LowerDevice& lower, NTSTATUS* status) {
  return core::AddDevice(*world_, lower, status);
}

size_t Simulation::SendRequest(WDFDEVICE device, const IoRequestSpec& spec) {
  return core::SendRequest(*world_, device, spec);
}

bool Simulation::CancelRequest(size_t outcome) { return core::CancelRequest(*world_, outcome); }

void Simulation::PowerDown(WDFDEVICE device) { core::PowerDown(*world_, device); }

void Simulation::PowerUp(WDFDEVICE device) { core::PowerUp(*world_, device); }

LowerDevice& Simulation::AddLowerDevice(LowerDeviceOptions options) {
  return world_->AddLowerDevice(std::make_unique<core::ScriptedLowerDevice>(*world_, std::move(options)));
}

WDFIOTARGET Simulation::CreateIoTarget(PDEVICE_OBJECT device) {
  auto* target = new core::IoTarget(*world_, device);
  target->Commit(world_->driver());
  return static_cast<WDFIOTARGET>(target->handle());
}

PETHREAD Simulation::driver_thread() const { return world_->main_thread(); }
PETHREAD Simulation::application_thread() const { return world_->application_thread(); }

bool Simulation::thread_exited(PETHREAD thread) const {
  const core::SimThread* t = world_->FindThread(thread);
  return t != nullptr && t->exiting();
}

void Simulation::ExitThread(PETHREAD thread) {
  if (core::SimThread* t = world_->FindThread(thread)) core::ExitThread(*world_, *t);
}

void Simulation::Unload() { world_->Unload(); }
bool Simulation::unloaded() const { return world_->unloaded(); }

void Simulation::RunLater(int64_t delay, std::function<void()> run) {
  world_->Schedule(world_->now() + delay, PASSIVE_LEVEL, "environment", std::move(run));
}

void Simulation::SetInjectAllocationFailures(bool on) { world_->set_inject_allocation_failures(on); }

bool Simulation::IrpAllocated(const IRP* irp) {
  const core::IrpRecord* record = irp != nullptr ? world_->FindIrp(irp) : nullptr;
  return record != nullptr && !record->freed;
}

Verdict Simulation::verdict() const {
  Verdict verdict;
  verdict.bugcheck = world_->verifier().bugchecked();
  verdict.reports = world_->verifier().reports();
  verdict.trace_hash = world_->trace().Hash();
  verdict.trace_events = world_->trace().size();
  return verdict;
}

bool Verdict::clean() const {
  for (const Report& report : reports) {
    if (report.rule_info().severity != Severity::kLint) return false;
  }
  return true;
}

std::string Verdict::Summary() const {
  if (reports.empty()) return "clean";
  std::string out;
  for (const Report& report : reports) {
    const Rule& rule = report.rule_info();
    if (!out.empty()) out += "\n";
    if (rule.bugcheck != 0) {
      absl::StrAppendFormat(&out, "BUGCHECK 0x%X", rule.bugcheck);
      if (rule.p1 != 0) absl::StrAppendFormat(&out, "/0x%X", rule.p1);
      if (rule.p2 != 0) absl::StrAppendFormat(&out, "/0x%X", rule.p2);
      absl::StrAppendFormat(&out, " %s in %s: %s", rule.name, report.ddi, report.message);
    } else {
      absl::StrAppendFormat(&out, "%s %s in %s: %s", absl::AsciiStrToUpper(SeverityName(rule.severity)), rule.name,
                            report.ddi, report.message);
    }
  }
  return out;
}

}  // namespace wdfsim
