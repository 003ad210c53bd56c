// SPDX-License-Identifier: GPL-2.0
/*
 * pingpong: a ping-pong between two processes pinned to CPUs 0 and 1,
 * the load whose wake-ups dynidle's poll should catch.  Each round trip
 * is one byte each way; the side that waits blocks in read(), so its CPU
 * goes idle and is woken by the other side's write().  By default over
 * two pipes; with -t over a TCP connection on the loopback interface
 * (TCP_NODELAY: a request-response loop).  Built static, run in the L2
 * guest (busybox initramfs; the caller brings "lo" up for -t).
 *
 * usage: pingpong [-t] <round trips>
 * Prints: "pingpong: <n> round trips in <s> s, <ns> ns/round trip,
 *          p50 <ns> ns, p99 <ns> ns"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * A connected TCP pair over 127.0.0.1: *@cl for this side, *@sv for the
 * partner.  Returns 0, or -1 with a message.
 */
static int tcp_pair(int *cl, int *sv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int ls;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(ls, 1) || getsockname(ls, (struct sockaddr *)&a, &len)) {
		perror("pingpong: listen on 127.0.0.1 (is lo up?)");
		return -1;
	}
	*cl = socket(AF_INET, SOCK_STREAM, 0);
	if (*cl < 0 || connect(*cl, (struct sockaddr *)&a, sizeof(a))) {
		perror("pingpong: connect");
		return -1;
	}
	*sv = accept(ls, NULL, NULL);
	if (*sv < 0) {
		perror("pingpong: accept");
		return -1;
	}
	close(ls);
	nodelay(*cl);
	nodelay(*sv);
	return 0;
}

int main(int argc, char **argv)
{
	int tx, rx, ptx, prx, status, tcp = 0, ping[2], pong[2];
	long i, n;
	char c = 0;
	double t0, t, *trip;
	pid_t pid;

	if (argc > 1 && !strcmp(argv[1], "-t")) {
		tcp = 1;
		argv++;
		argc--;
	}
	n = argc > 1 ? atol(argv[1]) : 10000;
	if (n < 1) {
		fprintf(stderr, "usage: pingpong [-t] <round trips>\n");
		return 1;
	}
	trip = calloc(n, sizeof(*trip));
	if (!trip) {
		perror("pingpong");
		return 1;
	}
	if (tcp) {
		if (tcp_pair(&tx, &ptx))
			return 1;
		rx = tx;
		prx = ptx;
	} else {
		if (pipe(ping) || pipe(pong)) {
			perror("pingpong: pipe");
			return 1;
		}
		tx = ping[1];
		prx = ping[0];
		ptx = pong[1];
		rx = pong[0];
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (!pid) {
		pin(1);
		for (i = 0; i < n; i++)
			if (read(prx, &c, 1) != 1 || write(ptx, &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	pin(0);
	t0 = now();
	for (i = 0; i < n; i++) {
		t = now();
		if (write(tx, &c, 1) != 1 || read(rx, &c, 1) != 1) {
			fprintf(stderr, "pingpong: %s broke at %ld\n",
				tcp ? "connection" : "pipe", i);
			return 1;
		}
		trip[i] = now() - t;
	}
	t = now() - t0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "pingpong: partner failed\n");
		return 1;
	}
	qsort(trip, n, sizeof(*trip), cmp_double);
	printf("pingpong: %ld round trips in %.3f s, %.0f ns/round trip, p50 %.0f ns, p99 %.0f ns\n",
	       n, t, t * 1e9 / n, trip[n / 2] * 1e9, trip[n * 99 / 100] * 1e9);
	return 0;
}
