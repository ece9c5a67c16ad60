#ifndef CFRAUDSCHED_H
#define CFRAUDSCHED_H

/// Asks the Linux EEVDF scheduler for a time slice of `runtime_ns` nanoseconds for the calling thread
/// (`sched_setattr` with SCHED_OTHER, nice 0 and `sched_runtime`, Linux 6.12+; glibc has no wrapper and
/// `syscall` is variadic, hence C). A thread with a shorter slice gets an earlier virtual deadline, so when it
/// wakes it preempts a running thread with the default slice instead of waiting for that slice to end.
///
/// Returns 0, or the errno (EINVAL on kernels that ignore or refuse the runtime of a fair thread).
int fraud_sched_set_slice(unsigned long long runtime_ns);

/// The calling thread's slice in nanoseconds as `sched_getattr` reports it, or -errno.
long long fraud_sched_get_slice(void);

#endif
