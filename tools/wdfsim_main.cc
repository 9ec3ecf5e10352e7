// wdfsim: the command line.
//
//   wdfsim replay [--trace] [--check] [--target=NAME] FILE|DIR...
//       Runs each program (text form or fuzzer bytes) and prints the program,
//       the verifier's reports with their trace, the verdict and the trace
//       hash. --trace prints the whole trace. Exit 1 on a finding, 2 on bad
//       input. --check instead checks each input: the core agrees with the
//       reference model, and a text file's '# expect:' line (a
//       comma-separated list of rule names, or 'clean') names exactly the
//       rules reported, an op line ending '# -> OUTCOME' (as replay prints
//       it; '# unload -> OUTCOME' for the teardown) is what that op gave,
//       and a second run gives the same trace hash; exit 1
//       if any check fails. Fuzzer bytes decode in their target's language:
//       --target=NAME (e.g. request_lifecycle), else inferred from a
//       corpus/<area>/ path.
//   wdfsim show [--target=NAME] FILE
//       Prints a program in the text form (fuzzer bytes decode as for replay).
//   wdfsim encode IN OUT   Writes the fuzzer bytes of a text program.
//   wdfsim explore [--strategy=exhaustive|pct] SCENARIO
//       Runs the program SCENARIO under every schedule (depth-first, bounded
//       by --max-schedules=N and --depth=N) or under --runs=N PCT-style
//       schedules with --deviations=N and --seed=N; prints how many ran and
//       each distinct outcome, and writes the first failing schedule to
//       --out=FILE (default SCENARIO.failing.txt). Exit 1 if one failed.
//   wdfsim rules           Prints the verifier's rule catalog.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "explorer.h"
#include "interpreter.h"
#include "model/reference_model.h"
#include "program/program.h"
#include "wdfsim/harness/verifier.h"

namespace fs = std::filesystem;
using wdfsim::program::Program;

namespace {

constexpr int kExitFinding = 1;
constexpr int kExitBadInput = 2;

struct Input {
  std::string path;
  std::string bytes;
};

// Reads FILE, or every file under DIR in name order. Errors are one line.
bool CollectInputs(const std::string& arg, std::vector<Input>* inputs, std::string* error) {
  std::error_code ec;
  std::vector<fs::path> paths;
  if (fs::is_directory(arg, ec)) {
    for (const auto& entry : fs::recursive_directory_iterator(arg, ec)) {
      if (entry.is_regular_file()) paths.push_back(entry.path());
    }
    std::sort(paths.begin(), paths.end());
  } else if (fs::exists(arg, ec)) {
    paths.emplace_back(arg);
  } else {
    *error = absl::StrFormat("%s: no such file or directory", arg);
    return false;
  }
  for (const fs::path& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      *error = absl::StrFormat("%s: cannot read", path.string());
      return false;
    }
    inputs->push_back({path.string(), std::string(std::istreambuf_iterator<char>(in), {})});
  }
  return true;
}

// The language of a fuzz target's binary inputs: request_lifecycle's is the
// lifecycle slice, io_target's and timeout_race's the WDF language, every
// other target's the whole language. Inferred from a path under
// corpus/<area>/ unless --target names it.
uint32_t OpCountFor(const std::string& path, const std::string& target) {
  const std::string area = !target.empty() ? target : path;
  if (area.find("request_lifecycle") != std::string::npos) return wdfsim::program::kLifecycleOpCount;
  if (area.find("io_target") != std::string::npos || area.find("timeout_race") != std::string::npos) {
    return wdfsim::program::kWdfOpCount;
  }
  return wdfsim::program::kAllOpCount;
}

bool ParseInput(const Input& input, Program* program, std::string* error, const std::string& target = "") {
  const auto* data = reinterpret_cast<const uint8_t*>(input.bytes.data());
  if (wdfsim::program::IsText({data, input.bytes.size()})) {
    auto parsed = wdfsim::program::ParseText(input.bytes);
    if (!parsed.ok()) {
      *error = absl::StrFormat("%s:%s", input.path, parsed.status().message());
      return false;
    }
    *program = *std::move(parsed);
    return true;
  }
  *program = wdfsim::program::Decode({data, input.bytes.size()}, OpCountFor(input.path, target));
  return true;
}

// The '# expect:' line of a text program, if any.
bool ExpectedRules(const std::string& text, std::vector<std::string>* rules) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, "# expect:")) continue;
    line = absl::StripAsciiWhitespace(line);
    if (line == "clean") return true;
    for (absl::string_view rule : absl::StrSplit(line, ',', absl::SkipEmpty())) {
      rules->emplace_back(absl::StripAsciiWhitespace(rule));
    }
    return true;
  }
  return false;
}

// The outcomes a text program pins, in the form replay prints them: an op
// line ending "# -> <outcome>" (op index, outcome), and "# unload -> <outcome>"
// for the harness's teardown (index -1).
std::vector<std::pair<int, std::string>> ExpectedOutcomes(const std::string& text) {
  std::vector<std::pair<int, std::string>> expected;
  int op = 0;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const size_t hash = line.find('#');
    const absl::string_view code = absl::StripAsciiWhitespace(line.substr(0, hash));
    const absl::string_view comment =
        hash == absl::string_view::npos ? "" : absl::StripAsciiWhitespace(line.substr(hash + 1));
    if (code.empty()) {
      absl::string_view rest = comment;
      if (absl::ConsumePrefix(&rest, "unload ->")) expected.emplace_back(-1, absl::StripAsciiWhitespace(rest));
      continue;
    }
    if (header || absl::StartsWith(code, "choices")) {
      header = false;
      continue;
    }
    absl::string_view rest = comment;
    if (absl::ConsumePrefix(&rest, "->")) expected.emplace_back(op, absl::StripAsciiWhitespace(rest));
    ++op;
  }
  return expected;
}

// An op's outcome with statuses by name.
std::string Describe(const wdfsim::program::OpOutcome& outcome) {
  if (!outcome.executed) return "(not run)";
  std::string out;
  if (outcome.status) out += "status=" + wdfsim::program::StatusName(*outcome.status) + " ";
  if (outcome.value) out += absl::StrFormat("value=%d ", *outcome.value);
  for (const auto& rule : outcome.rules) out += rule + " ";
  if (outcome.bugcheck) out += "BUGCHECK ";
  for (const auto& c : outcome.callbacks) {
    const char* kind = wdfsim::program::CallbackKindName(c.kind);
    if (wdfsim::program::HasStatus(c.kind)) {
      out += absl::StrFormat("%s(#%d, %s) ", kind, c.object, wdfsim::program::StatusName(c.status));
    } else {
      out += absl::StrFormat("%s(#%d) ", kind, c.object);
    }
  }
  if (out.empty()) return "ok";
  out.pop_back();
  return out;
}

int Replay(const std::vector<std::string>& args) {
  bool full_trace = false, check = false;
  std::string target;
  std::vector<Input> inputs;
  for (const std::string& arg : args) {
    if (arg.rfind("--target=", 0) == 0) {
      target = arg.substr(9);
    } else if (arg == "--trace") {
      full_trace = true;
    } else if (arg == "--check") {
      check = true;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "wdfsim replay: unknown flag %s\n", arg.c_str());
      return kExitBadInput;
    } else {
      std::string error;
      if (!CollectInputs(arg, &inputs, &error)) {
        std::fprintf(stderr, "wdfsim: %s\n", error.c_str());
        return kExitBadInput;
      }
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "wdfsim replay: no input files\n");
    return kExitBadInput;
  }
  int exit_code = 0;
  size_t passed = 0, failed = 0;
  for (const Input& input : inputs) {
    Program program;
    std::string error;
    if (!ParseInput(input, &program, &error, target)) {
      std::fprintf(stderr, "wdfsim: %s\n", error.c_str());
      return kExitBadInput;
    }
    wdfsim::program::InterpreterOptions options;
    options.keep_text = true;
    const wdfsim::program::RunResult result = wdfsim::program::Run(program, options);
    // The program, each op with what it returned.
    std::printf("== %s\n%s\n", input.path.c_str(), std::string(wdfsim::program::kTextMagic).c_str());
    for (size_t i = 0; i < program.ops.size(); ++i) {
      std::printf("%-70s # -> %s\n", wdfsim::program::OpToText(program.ops[i]).c_str(),
                  Describe(result.outcome.ops[i]).c_str());
    }
    if (result.outcome.teardown.executed) std::printf("# unload -> %s\n", Describe(result.outcome.teardown).c_str());
    if (!program.choices.empty()) {
      std::printf("choices");
      for (uint8_t c : program.choices) std::printf(" %u", c);
      std::printf("\n");
    }
    if (full_trace) std::printf("-- trace\n%s", result.trace_text.c_str());
    if (!result.reports_text.empty()) std::printf("-- reports\n%s", result.reports_text.c_str());
    std::printf("-- verdict: %s\n-- trace hash: %016llx (%zu events)\n", result.verdict.Summary().c_str(),
                static_cast<unsigned long long>(result.verdict.trace_hash), result.verdict.trace_events);
    bool ok = true;
    if (check) {
      // Determinism self-check: a second run must give the same trace.
      const wdfsim::program::RunResult again = wdfsim::program::Run(program);
      if (again.verdict.trace_hash != result.verdict.trace_hash) {
        std::printf("-- CHECK FAILED: nondeterministic: a second run gave trace hash %016llx\n",
                    static_cast<unsigned long long>(again.verdict.trace_hash));
        ok = false;
      }
      // The reference model covers the lifecycle slice; sending is checked by
      // the expectation and the fuzzers' invariants.
      const bool modelled = wdfsim::program::UsesOnly(program, wdfsim::program::kLifecycleOpCount);
      const std::string diff = modelled ? result.outcome.Diff(wdfsim::model::Predict(program)) : "";
      if (!diff.empty()) {
        std::printf("-- CHECK FAILED: core and reference model disagree: %s\n", diff.c_str());
        ok = false;
      }
      std::vector<std::string> expected;
      if (wdfsim::program::IsText({reinterpret_cast<const uint8_t*>(input.bytes.data()), input.bytes.size()}) &&
          ExpectedRules(input.bytes, &expected)) {
        std::vector<std::string> actual;
        for (const wdfsim::Report& report : result.verdict.reports) actual.emplace_back(report.rule_info().name);
        const std::set<std::string> want(expected.begin(), expected.end()), got(actual.begin(), actual.end());
        if (want != got) {
          std::printf("-- CHECK FAILED: expected [%s], got [%s]\n", absl::StrJoin(want, ",").c_str(),
                      absl::StrJoin(got, ",").c_str());
          ok = false;
        }
      }
      if (wdfsim::program::IsText({reinterpret_cast<const uint8_t*>(input.bytes.data()), input.bytes.size()})) {
        for (const auto& [index, want] : ExpectedOutcomes(input.bytes)) {
          const bool teardown = index < 0;
          if (!teardown && static_cast<size_t>(index) >= result.outcome.ops.size()) continue;
          const std::string got =
              Describe(teardown ? result.outcome.teardown : result.outcome.ops[static_cast<size_t>(index)]);
          if (got != want) {
            std::printf("-- CHECK FAILED: %s: expected '%s', got '%s'\n",
                        teardown ? "unload" : absl::StrCat("op ", index).c_str(), want.c_str(), got.c_str());
            ok = false;
          }
        }
      }
      // Without an expectation (fuzzer bytes, regression inputs) the check is
      // the core's agreement with the model: misuse findings are expected.
    } else if (!result.verdict.clean()) {
      ok = false;
    }
    (ok ? passed : failed)++;
    if (!ok) exit_code = kExitFinding;
  }
  std::printf("%zu passed, %zu failed\n", passed, failed);
  return exit_code;
}

// Reads one program file (text or bytes, the latter in `target`'s language);
// a one-line error if it cannot.
bool LoadProgram(const std::string& path, Program* program, const std::string& target = "") {
  std::vector<Input> inputs;
  std::string error;
  if (!CollectInputs(path, &inputs, &error) || inputs.size() != 1) {
    std::fprintf(stderr, "wdfsim: %s\n", error.empty() ? (path + ": not a file").c_str() : error.c_str());
    return false;
  }
  if (!ParseInput(inputs[0], program, &error, target)) {
    std::fprintf(stderr, "wdfsim: %s\n", error.c_str());
    return false;
  }
  return true;
}

int Show(const std::vector<std::string>& args) {
  std::string target;
  std::vector<std::string> files;
  for (const std::string& arg : args) {
    if (arg.rfind("--target=", 0) == 0) {
      target = arg.substr(9);
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "wdfsim show: unknown flag %s\n", arg.c_str());
      return kExitBadInput;
    } else {
      files.push_back(arg);
    }
  }
  if (files.size() != 1) {
    std::fprintf(stderr, "usage: wdfsim show [--target=NAME] FILE\n");
    return kExitBadInput;
  }
  Program program;
  if (!LoadProgram(files[0], &program, target)) return kExitBadInput;
  std::printf("%s", wdfsim::program::ToText(program).c_str());
  return 0;
}

int Encode(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    std::fprintf(stderr, "usage: wdfsim encode IN OUT\n");
    return kExitBadInput;
  }
  Program program;
  if (!LoadProgram(args[0], &program)) return kExitBadInput;
  const std::vector<uint8_t> bytes = wdfsim::program::Encode(program);
  std::ofstream out(args[1], std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "wdfsim: %s: cannot write\n", args[1].c_str());
    return kExitBadInput;
  }
  return 0;
}

// Parses --name=value into `value`; false (after a one-line error) if it is not a number.
bool NumberFlag(const std::string& arg, const char* name, uint64_t* value, bool* matched) {
  const std::string prefix = std::string("--") + name + "=";
  if (arg.rfind(prefix, 0) != 0) return true;
  *matched = true;
  if (!absl::SimpleAtoi(arg.substr(prefix.size()), value)) {
    std::fprintf(stderr, "wdfsim explore: %s needs a whole number\n", prefix.c_str());
    return false;
  }
  return true;
}

int Explore(const std::vector<std::string>& args) {
  wdfsim::program::ExploreOptions options;
  std::string scenario, out;
  for (const std::string& arg : args) {
    bool matched = false;
    uint64_t value = 0;
    if (arg == "--strategy=exhaustive") {
      options.strategy = wdfsim::program::ExploreOptions::Strategy::kExhaustive;
      continue;
    }
    if (arg == "--strategy=pct") {
      options.strategy = wdfsim::program::ExploreOptions::Strategy::kPct;
      continue;
    }
    if (arg.rfind("--out=", 0) == 0) {
      out = arg.substr(6);
      continue;
    }
    if (!NumberFlag(arg, "max-schedules", &options.max_schedules, &matched) ||
        !NumberFlag(arg, "runs", &options.runs, &matched) || !NumberFlag(arg, "seed", &options.seed, &matched)) {
      return kExitBadInput;
    }
    if (!NumberFlag(arg, "depth", &value, &matched)) return kExitBadInput;
    if (matched && arg.rfind("--depth=", 0) == 0) options.max_depth = static_cast<uint32_t>(value);
    if (!NumberFlag(arg, "deviations", &value, &matched)) return kExitBadInput;
    if (matched && arg.rfind("--deviations=", 0) == 0) options.deviations = static_cast<uint32_t>(value);
    if (matched) continue;
    if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "wdfsim explore: unknown flag %s\n", arg.c_str());
      return kExitBadInput;
    }
    if (!scenario.empty()) {
      std::fprintf(stderr, "wdfsim explore: one scenario at a time\n");
      return kExitBadInput;
    }
    scenario = arg;
  }
  if (scenario.empty()) {
    std::fprintf(stderr, "usage: wdfsim explore [--strategy=exhaustive|pct] [flags] SCENARIO\n");
    return kExitBadInput;
  }
  Program program;
  if (!LoadProgram(scenario, &program)) return kExitBadInput;
  const wdfsim::program::ExploreResult result = wdfsim::program::Explore(program, options);
  const bool exhaustive = options.strategy == wdfsim::program::ExploreOptions::Strategy::kExhaustive;
  std::printf("%llu schedules ran (%s)\n%zu distinct outcomes:\n", static_cast<unsigned long long>(result.schedules),
              exhaustive
                  ? (result.exhaustive_complete ? "all of them" : "bounded: --max-schedules reached")
                  : absl::StrFormat("PCT-style, %d deviations, seed %d", options.deviations, options.seed).c_str(),
              result.outcomes.size());
  for (const auto& [outcome, count] : result.outcomes) {
    std::printf("  %8llu x %s\n", static_cast<unsigned long long>(count), outcome.c_str());
  }
  if (!result.first_failure) return 0;
  if (out.empty()) out = fs::path(scenario).filename().string() + ".failing.txt";
  std::ofstream file(out);
  file << "# The first failing schedule wdfsim explore found for " << scenario << "\n"
       << wdfsim::program::ToText(*result.first_failure);
  if (!file) {
    std::fprintf(stderr, "wdfsim: %s: cannot write\n", out.c_str());
    return kExitBadInput;
  }
  std::printf("first failing schedule written to %s (wdfsim replay %s)\n", out.c_str(), out.c_str());
  return kExitFinding;
}

int Rules() {
  std::printf("%-30s %-9s %-18s %s\n", "rule", "severity", "bug check", "meaning");
  for (const wdfsim::Rule& rule : wdfsim::RuleCatalog()) {
    std::string code = "-";
    if (rule.bugcheck != 0) {
      code = absl::StrFormat("0x%X", rule.bugcheck);
      if (rule.p1 != 0) absl::StrAppendFormat(&code, "/0x%X", rule.p1);
      if (rule.p2 != 0) absl::StrAppendFormat(&code, "/0x%X", rule.p2);
    }
    std::printf("%-30s %-9s %-18s %s\n", std::string(rule.name).c_str(), wdfsim::SeverityName(rule.severity),
                code.c_str(), std::string(rule.meaning).c_str());
  }
  return 0;
}

void Usage() {
  std::fprintf(stderr,
               "usage: wdfsim replay [--trace] [--check] [--target=NAME] FILE|DIR...\n"
               "       wdfsim show [--target=NAME] FILE\n"
               "       wdfsim encode IN OUT\n"
               "       wdfsim explore [--strategy=exhaustive|pct] [--max-schedules=N] [--depth=N]\n"
               "                      [--runs=N] [--deviations=N] [--seed=N] [--out=FILE] SCENARIO\n"
               "       wdfsim rules\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage();
    return kExitBadInput;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "replay") return Replay(args);
  if (command == "show") return Show(args);
  if (command == "encode") return Encode(args);
  if (command == "rules") return Rules();
  if (command == "explore") return Explore(args);
  std::fprintf(stderr, "wdfsim: unknown command '%s'\n", command.c_str());
  Usage();
  return kExitBadInput;
}
