#include "wdfsim/harness/choice_source.h"

namespace wdfsim {

const char* ChoiceKindName(ChoiceKind kind) {
  switch (kind) {
    case ChoiceKind::kRunReadyWork: return "run-ready-work";
    case ChoiceKind::kPickReadyWork: return "pick-ready-work";
    case ChoiceKind::kCompletionApc: return "completion-apc";
    case ChoiceKind::kLowerAnswer: return "lower-answer";
    case ChoiceKind::kTiming: return "timing";
    case ChoiceKind::kCancel: return "cancel";
    case ChoiceKind::kThreadExit: return "thread-exit";
    case ChoiceKind::kAllocation: return "allocation";
  }
  return "?";
}

uint32_t ByteChoiceSource::Choose(uint32_t n, ChoiceKind) {
  if (n <= 1) return 0;
  const size_t width = n <= 0x100 ? 1 : n <= 0x10000 ? 2 : 4;
  if (pos_ >= bytes_.size()) return 0;
  uint32_t value = 0;
  for (size_t i = 0; i < width && pos_ < bytes_.size(); ++i) value |= uint32_t{bytes_[pos_++]} << (8 * i);
  return value % n;
}

uint32_t RandomChoiceSource::Choose(uint32_t n, ChoiceKind) {
  if (n <= 1) return 0;
  return static_cast<uint32_t>(rng_() % n);
}

uint32_t ScriptedChoiceSource::Choose(uint32_t n, ChoiceKind) {
  if (n <= 1) return 0;
  if (pos_ >= answers_.size()) return 0;
  return answers_[pos_++] % n;
}

}  // namespace wdfsim
