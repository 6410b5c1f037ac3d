#ifndef CBUILDINFO_H
#define CBUILDINFO_H

/// The git commit the broker was built from (Package.swift's `gitCommit`), or "unknown".
const char *broker_build_commit(void);

#endif
