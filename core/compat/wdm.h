/* Lets driver code write #include <wdm.h> unchanged. */
#include "wdfsim/wdm.h"
