/*
 * timing.h - monotonic wall-clock time in seconds, for phase timings.
 */
#ifndef IVFKIT_TIMING_H
#define IVFKIT_TIMING_H

/* Seconds since an arbitrary fixed point; never goes backwards. */
double tm_now(void);

#endif
