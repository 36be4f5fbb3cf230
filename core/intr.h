/*
 * intr.h - Ctrl-C as a flag that long library loops poll, so they can stop at a
 * safe point (before any write, or by rolling back) instead of dying mid-way.
 */
#ifndef IVFKIT_INTR_H
#define IVFKIT_INTR_H

/* Installs SIGINT/SIGTERM/SIGHUP handlers that set the flag (CLIs call this once). */
void intr_install(void);
/* Nonzero once a signal arrived; libraries then return ERR_INTR. */
int intr_pending(void);

#endif
