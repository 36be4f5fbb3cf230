/*
 * err.h - error codes and the caller-owned message buffer every library fills.
 *
 * Libraries never print or exit. A failing call returns a negative ERR_* code and
 * writes one line (no trailing newline) into a caller-owned buffer of ERR_LEN bytes;
 * outputs stay untouched. CLIs turn the code into an exit status with err_report().
 */
#ifndef IVFKIT_ERR_H
#define IVFKIT_ERR_H

#define ERR_LEN 512

enum {
	ERR_OK = 0,
	ERR_FAIL = -1,   /* runtime failure: I/O, SQLite, verification (exit 1) */
	ERR_INPUT = -2,  /* bad input: file, table, option (exit 2) */
	ERR_INTR = -3,   /* interrupted by a signal (exit 130) */
	ERR_NOMEM = -4,  /* allocation failed (exit 1) */
};

/* Formats the message into err (may be NULL) and returns code, so that
 * `return err_set(err, ERR_INPUT, "...")` reads naturally. Control characters
 * (from quoted input) become '?', so the message stays one line. */
int err_set(char *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Exit status for an ERR_* code: 0, 1, 2 or 130. */
int err_exit_status(int code);

/* Prints "prog: error: msg" to stderr when code < 0; returns err_exit_status(code). */
int err_report(const char *prog, int code, const char *err);

#endif
