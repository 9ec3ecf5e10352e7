// Whether an address lies in a stack frame that has already returned: how the
// I/O manager's completion APC tells a caller's IO_STATUS_BLOCK or KEVENT on an
// unwound stack (bug check 0xC9/0x0C, 0x0D; SEMANTICS-WDM part C case 11).
//
// Only AddressSanitizer's stack-use-after-return mode can answer: it moves
// frames to a fake stack and poisons a frame when its function returns. In
// any other build, or with the mode off at run time, the answer is false and
// the fuzzers' own oracles (and IoBuildSynchronousFsdRequestWait at unload)
// stand in.
#ifndef WDFSIM_CORE_UNWOUND_STACK_H_
#define WDFSIM_CORE_UNWOUND_STACK_H_

#include <cstddef>

namespace wdfsim::core {

bool OnUnwoundStack(const void* address, size_t size);

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_UNWOUND_STACK_H_
