// SPDX-License-Identifier: GPL-2.0
/*
 * pingpong: a pipe ping-pong between two processes pinned to CPUs 0 and
 * 1, the load whose wake-ups dynidle's poll should catch.  Each round
 * trip is one byte each way; the side that waits blocks in read(), so
 * its CPU goes idle and is woken by the other side's write().  Built
 * static, run in the L2 guest (busybox initramfs).
 *
 * usage: pingpong <round trips>
 * Prints: "pingpong: <n> round trips in <s> s, <ns>/round trip"
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		exit(1);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int ping[2], pong[2], status;
	long i, n = argc > 1 ? atol(argv[1]) : 10000;
	char c = 0;
	double t0, t;
	pid_t pid;

	if (n < 1 || pipe(ping) || pipe(pong)) {
		fprintf(stderr, "usage: pingpong <round trips>\n");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (!pid) {
		pin(1);
		for (i = 0; i < n; i++)
			if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	pin(0);
	t0 = now();
	for (i = 0; i < n; i++)
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) {
			fprintf(stderr, "pingpong: pipe broke at %ld\n", i);
			return 1;
		}
	t = now() - t0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "pingpong: partner failed\n");
		return 1;
	}
	printf("pingpong: %ld round trips in %.3f s, %.0f ns/round trip\n",
	       n, t, t * 1e9 / n);
	return 0;
}
