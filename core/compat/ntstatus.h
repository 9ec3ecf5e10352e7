/* Lets driver code write #include <ntstatus.h> unchanged. */
#include "wdfsim/ntstatus.h"
