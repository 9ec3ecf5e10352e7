// How a fuzz target reports a finding: a stable "ORACLE:<name>" line for
// deduplication, the detail, and the program in the text form (which
// `wdfsim replay` runs), then abort so the engine keeps the input.
#ifndef WDFSIM_FUZZ_ORACLE_H_
#define WDFSIM_FUZZ_ORACLE_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "program/program.h"

namespace wdfsim::program {

[[noreturn]] inline void Fail(const char* oracle, const Program& program, const std::string& detail) {
  std::fprintf(stderr, "ORACLE:%s %s\nprogram:\n%s", oracle, detail.c_str(), ToText(program).c_str());
  std::abort();
}

}  // namespace wdfsim::program

#endif  // WDFSIM_FUZZ_ORACLE_H_
