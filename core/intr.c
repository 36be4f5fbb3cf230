/*
 * intr.c - signal flag (see intr.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "intr.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t intr_flag;

static void intr_handler(int sig)
{
	(void)sig;
	intr_flag = 1;
}

void intr_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = intr_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* the terminal closed: stop and clean up too */
}

int intr_pending(void)
{
	return intr_flag != 0;
}
