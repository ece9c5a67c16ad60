#ifndef CFRAUDPROTO_H
#define CFRAUDPROTO_H
// Umbrella header over the committed protoc-c output (regenerate with `make proto`).
#include "fraud/v1/fraud.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#endif
