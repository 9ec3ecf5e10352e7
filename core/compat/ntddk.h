/* Lets driver code write #include <ntddk.h> unchanged. */
#include "wdfsim/wdm.h"
