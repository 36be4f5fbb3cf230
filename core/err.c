/*
 * err.c - error codes and messages (see err.h).
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int err_set(char *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, ERR_LEN, fmt, ap);
		va_end(ap);
		/* messages quote names and values read from input files: a newline or a
		 * terminal escape in them must not break the one-line contract */
		for (char *c = err; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	}
	return code;
}

int err_exit_status(int code)
{
	switch (code) {
	case ERR_OK:
		return 0;
	case ERR_INPUT:
		return 2;
	case ERR_INTR:
		return 130;
	default:
		return code < 0 ? 1 : 0;
	}
}

int err_report(const char *prog, int code, const char *err)
{
	if (code < 0)
		fprintf(stderr, "%s: error: %s\n", prog,
			err && *err ? err : "unknown error");
	return err_exit_status(code);
}
