#include "program/outcome.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace wdfsim::program {

const char* CallbackKindName(CallbackEvent::Kind kind) {
  static constexpr const char* kNames[] = {"cleanup", "destroy", "completion", "irp_completion", "irp_cancel"};
  return kNames[static_cast<size_t>(kind)];
}

std::string OpOutcome::ToString() const {
  if (!executed) return "(not executed)";
  std::string out;
  if (status) absl::StrAppendFormat(&out, "status=0x%08X ", *status);
  if (value) absl::StrAppendFormat(&out, "value=%d ", *value);
  if (!rules.empty()) absl::StrAppendFormat(&out, "rules=[%s] ", absl::StrJoin(rules, ","));
  if (bugcheck) out += "BUGCHECK ";
  if (!callbacks.empty()) {
    out += "callbacks=[";
    for (size_t i = 0; i < callbacks.size(); ++i) {
      const CallbackEvent& c = callbacks[i];
      absl::StrAppendFormat(&out, "%s%s(#%d)", i ? "," : "", CallbackKindName(c.kind), c.object);
      if (HasStatus(c.kind)) absl::StrAppendFormat(&out, "=0x%08X", c.status);
    }
    out += "] ";
  }
  if (out.empty()) return "ok";
  out.pop_back();
  return out;
}

std::string RunOutcome::Diff(const RunOutcome& other) const {
  const size_t n = std::max(ops.size(), other.ops.size());
  for (size_t i = 0; i < n; ++i) {
    const OpOutcome none;
    const OpOutcome& a = i < ops.size() ? ops[i] : none;
    const OpOutcome& b = i < other.ops.size() ? other.ops[i] : none;
    if (!(a == b)) return absl::StrFormat("op %d: %s vs %s", i, a.ToString(), b.ToString());
  }
  if (!(teardown == other.teardown)) {
    return absl::StrFormat("teardown: %s vs %s", teardown.ToString(), other.teardown.ToString());
  }
  if (presented.size() != other.presented.size()) {
    return absl::StrFormat("presented: %d vs %d requests", presented.size(), other.presented.size());
  }
  for (size_t i = 0; i < presented.size(); ++i) {
    const PresentedOutcome& a = presented[i];
    const PresentedOutcome& b = other.presented[i];
    if (!(a == b)) {
      return absl::StrFormat("presented %d: completions %d status %s info %d vs completions %d status %s info %d", i,
                             a.completions, a.status ? absl::StrFormat("0x%08X", *a.status) : "-", a.information,
                             b.completions, b.status ? absl::StrFormat("0x%08X", *b.status) : "-", b.information);
    }
  }
  return "";
}

}  // namespace wdfsim::program
