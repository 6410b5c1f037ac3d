#include "CBuildInfo.h"

#ifndef BROKER_GIT_COMMIT
#define BROKER_GIT_COMMIT "unknown"
#endif

const char *broker_build_commit(void) { return BROKER_GIT_COMMIT; }
