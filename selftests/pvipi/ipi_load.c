// SPDX-License-Identifier: GPL-2.0
/*
 * ipi_load: make the guest kernel send IPIs, from user space, and count
 * them.  Built static, run in the L2 guest (busybox initramfs).
 *
 * Spinner threads are pinned to CPUs 1..N (so each of those CPUs runs
 * this process's mm); the main thread, pinned to CPU 0, then calls
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) in a loop: each call makes
 * the kernel run smp_call_function_many() to every CPU running a thread
 * of the process, and wait for all of them.  One target: the call-
 * function-single IPI; several: the multicast call-function IPI.  A lost
 * IPI hangs the call (the kernel waits for every target), so "done" is
 * itself the proof that every IPI arrived.
 *
 * usage: ipi_load <spinners> <calls> [marker]
 *	calls < 0: call for -calls seconds instead
 *	marker: write "1" to /dev/port 0x80 before and "2" after the loop
 *	(a kvm:kvm_pio event in L1, to delimit the measurement)
 * Prints: "ipi_load: <calls> calls to <spinners> CPUs in <s> s, <ns>/call"
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static atomic_int running;

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static void *spin(void *arg)
{
	if (pin((int)(long)arg)) {
		perror("sched_setaffinity");
		exit(2);
	}
	atomic_fetch_add(&running, 1);
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		;
	return NULL;
}

static int membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

static void mark(int fd, char c)
{
	if (fd >= 0 && pwrite(fd, &c, 1, 0x80) != 1)
		perror("/dev/port");
}

int main(int argc, char *argv[])
{
	int spinners, fd = -1, i;
	long calls, c, secs = 0;
	pthread_t *t;
	struct timespec t0, t1;
	double s;

	if (argc < 3) {
		fprintf(stderr, "usage: %s <spinners> <calls> [marker]\n", argv[0]);
		return 2;
	}
	spinners = atoi(argv[1]);
	calls = atol(argv[2]);
	if (calls < 0) {
		secs = -calls;
		calls = -1;
	}
	if (argc > 3)
		fd = open("/dev/port", O_WRONLY);
	if (pin(0)) {
		perror("sched_setaffinity 0");
		return 2;
	}
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)) {
		perror("membarrier register");
		return 2;
	}
	t = calloc(spinners, sizeof(*t));
	for (i = 0; i < spinners; i++)
		if (pthread_create(&t[i], NULL, spin, (void *)(long)(i + 1))) {
			perror("pthread_create");
			return 2;
		}
	while (atomic_load(&running) < spinners)
		sched_yield();
	/* let every spinner be on its CPU */
	usleep(20000);

	mark(fd, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (c = 0; calls < 0 || c < calls; c++) {
		if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)) {
			perror("membarrier");
			return 1;
		}
		if (secs && !(c & 63)) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if ((t1.tv_sec - t0.tv_sec) * 1000000000L +
			    (t1.tv_nsec - t0.tv_nsec) >= secs * 1000000000L)
				break;
		}
	}
	if (calls < 0)
		calls = c + 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	mark(fd, 2);

	atomic_store(&stop, 1);
	for (i = 0; i < spinners; i++)
		pthread_join(t[i], NULL);
	s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("ipi_load: %ld calls to %d CPUs in %.3f s, %.0f ns/call\n",
	       calls, spinners, s, calls ? s * 1e9 / calls : 0.0);
	return 0;
}
