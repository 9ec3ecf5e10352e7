// AddressSanitizer defaults linked into every fuzz target. ASAN_OPTIONS at run
// time still override them.
//
//   detect_stack_use_after_return=1  frames live on a fake stack and are
//       poisoned when their function returns, so the completion APC writing a
//       caller's IO_STATUS_BLOCK or KEVENT after that caller returned is
//       IosbOnUnwoundStack / EventOnUnwoundStack (0xC9/0x0C, 0x0D), or an
//       ASan stack-use-after-return where driver code touches it.
// Unused in builds without ASan.
extern "C" const char* __asan_default_options();  // NOLINT(readability-identifier-naming)
extern "C" const char* __asan_default_options() { return "detect_stack_use_after_return=1"; }
