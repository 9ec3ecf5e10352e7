// The one source of every nondeterministic decision in a simulation: which
// ready work runs first, how a lower driver answers, when a cancel arrives.
// A run is a pure function of its program and the answers given here, so a
// byte-backed source replays a fuzz input and a scripted one replays a
// schedule found by the explorer.
#ifndef WDFSIM_HARNESS_CHOICE_SOURCE_H_
#define WDFSIM_HARNESS_CHOICE_SOURCE_H_

#include <cstdint>
#include <random>
#include <vector>

#include "absl/types/span.h"

namespace wdfsim {

// What a choice decides. Recorded with each answer so traces and schedule
// files say what was decided, not only the number.
enum class ChoiceKind : uint8_t {
  kRunReadyWork,   // at a scheduling point: let ready work run first (0 = no)
  kPickReadyWork,  // which of several ready items runs
  kCompletionApc,  // when the I/O manager's completion APC runs
  kLowerAnswer,    // how a scripted lower driver answers
  kTiming,         // a delay on the virtual clock
  kCancel,         // whether an originator cancels
  kThreadExit,     // whether a simulated thread exits here
  kAllocation,     // whether an allocation fails
};

const char* ChoiceKindName(ChoiceKind kind);

class ChoiceSource {
 public:
  virtual ~ChoiceSource() = default;
  // Returns a value in [0, n); n must be at least 1. A source with nothing
  // left answers 0, the default, so short inputs stay meaningful.
  virtual uint32_t Choose(uint32_t n, ChoiceKind kind) = 0;
};

// Answers from bytes, in order: one byte for n <= 256, two for n <= 65536,
// four otherwise, each reduced modulo n.
class ByteChoiceSource final : public ChoiceSource {
 public:
  explicit ByteChoiceSource(absl::Span<const uint8_t> bytes) : bytes_(bytes) {}
  uint32_t Choose(uint32_t n, ChoiceKind kind) override;
  size_t consumed() const { return pos_; }

 private:
  absl::Span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

// Answers from a seeded std::mt19937_64.
class RandomChoiceSource final : public ChoiceSource {
 public:
  explicit RandomChoiceSource(uint64_t seed) : rng_(seed) {}
  uint32_t Choose(uint32_t n, ChoiceKind kind) override;

 private:
  std::mt19937_64 rng_;
};

// Answers from a fixed list (each reduced modulo n), then the default.
class ScriptedChoiceSource final : public ChoiceSource {
 public:
  explicit ScriptedChoiceSource(std::vector<uint32_t> answers) : answers_(std::move(answers)) {}
  uint32_t Choose(uint32_t n, ChoiceKind kind) override;
  size_t consumed() const { return pos_; }

 private:
  std::vector<uint32_t> answers_;
  size_t pos_ = 0;
};

// Always the default answer.
class DefaultChoiceSource final : public ChoiceSource {
 public:
  uint32_t Choose(uint32_t, ChoiceKind) override { return 0; }
};

}  // namespace wdfsim

#endif  // WDFSIM_HARNESS_CHOICE_SOURCE_H_
