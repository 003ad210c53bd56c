// SPDX-License-Identifier: GPL-2.0
/*
 * timerloop: a loop of timer wake-ups, the load of the pvtimer stage.
 * Each iteration reads CLOCK_MONOTONIC, asks for a wake-up <interval> later
 * and, once woken, records the lateness: actual wake-up minus requested
 * wake-up.  Every iteration arms one timer in the guest kernel (one clock
 * event device programming unless an earlier timer is already pending),
 * so the exits it causes can be counted per wake-up in L1.
 *
 *   -m nanosleep   clock_nanosleep(CLOCK_MONOTONIC), relative
 *   -m timerfd     a one-shot relative timerfd, waited for in epoll_wait()
 *   -m idle        one sleep of -t seconds (the guest idle, NOHZ)
 *
 * With -S, the steal time of its CPU (/proc/stat, the time the host did
 * not run this vCPU although it was runnable, in 10 ms ticks) is read
 * after each wake-up (the reading before a wait is the one after the
 * previous wake-up: /proc/stat is not cheap): a wake-up late only because
 * the host ran something else is told apart from one the guest's timer
 * made late.
 * It adds "steal_ms=<total> worst_steal_us=<the steal during the wait
 * that woke latest> unstolen_max_us=<the largest lateness minus the
 * steal during its own wait> unstolen_at_ms=<when that wait was due, in
 * ms from the loop's start>" to the output line.
 *
 * With -o <file>, every wake-up's lateness (ns, one per line, in order) is
 * appended to <file>, so that several loops can be pooled (make bench's
 * interleaved blocks).
 *
 * With -p <port>, the loop is framed by two one-byte writes to that I/O
 * port through /dev/port (0xb1 before the first wake-up is asked for,
 * 0xe1 after the last): they show in L1 as kvm:kvm_pio events, so L1
 * counts the exits of the loop alone, whatever its own marks' timing.
 *
 * The process pins itself to one CPU (-c, default 1: away from CPU 0,
 * which takes the serial console's interrupts and runs the stage's
 * shell; CPU 0 when there is only one) and sets its timer slack to 1 ns
 * (-s), so that the default 50 us slack of a normal task does not count
 * as lateness.  Built static, run in the L2 guest (busybox initramfs).
 *
 * usage: timerloop -m nanosleep|timerfd|idle [-i <interval us>] [-n <count>]
 *                  [-t <seconds>] [-c <cpu>] [-s <slack ns>] [-p <port>] [-S]
 *                  [-o <file>]
 * Stops after <count> wake-ups (default 1000) or, with -t, once <seconds>
 * have passed (whichever comes first).  Prints one line:
 * "timerloop mode=<m> interval_us=<i> cpu=<c> n=<wake-ups> elapsed_s=<s>
 *  lat_us p50=<us> p99=<us> max=<us> min=<us> p90=<us> p95=<us>
 *  tail_us=<the worst 2 %, comma-separated>[ steal_ms=...]"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* a wait that long past its deadline is a lost timer, not lateness */
#define LOST_TIMER_S	30
/* the values written to the marker port (-p) */
#define MARK_BEGIN	0xb1
#define MARK_END	0xe1

static int port_fd = -1;
static long port;

/* mark: one byte to the marker port, if any (failures are reported once) */
static void mark(unsigned char val)
{
	if (port_fd < 0)
		return;
	if (pwrite(port_fd, &val, 1, port) != 1) {
		perror("timerloop: write /dev/port (no phase marks)");
		close(port_fd);
		port_fd = -1;
	}
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec to_ts(long long ns)
{
	struct timespec ts = {
		.tv_sec = ns / 1000000000LL,
		.tv_nsec = ns % 1000000000LL,
	};

	return ts;
}

/* steal_ns: @cpu's steal time so far (/proc/stat, USER_HZ ticks), in ns */
static long long steal_ns(int cpu)
{
	static long hz;
	char line[512], name[16];
	unsigned long long v[8];
	long long ret = -1;
	FILE *f;

	if (!hz)
		hz = sysconf(_SC_CLK_TCK);
	snprintf(name, sizeof(name), "cpu%d ", cpu);
	f = fopen("/proc/stat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, strlen(name)))
			continue;
		/* user nice system idle iowait irq softirq steal */
		if (sscanf(line + strlen(name), "%llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
			ret = (long long)v[7] * (1000000000LL / hz);
		break;
	}
	fclose(f);
	return ret;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static void bad_args(void)
{
	fprintf(stderr,
		"usage: timerloop -m nanosleep|timerfd|idle [-i <interval us>] [-n <count>]\n"
		"                 [-t <seconds>] [-c <cpu>] [-s <slack ns>] [-p <port>] [-S]\n"
		"                 [-o <file>]\n");
	exit(2);
}

/* One relative sleep of @ns; returns the requested wake-up time. */
static long long wait_nanosleep(long long ns)
{
	struct timespec req = to_ts(ns);
	long long t0 = now_ns();
	int err;

	/* relative: on EINTR, sleep the rest (the requested time stays) */
	while ((err = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &req)) == EINTR)
		;
	if (err) {
		fprintf(stderr, "timerloop: clock_nanosleep: %s\n", strerror(err));
		exit(1);
	}
	return t0 + ns;
}

/* One relative one-shot timerfd of @ns, waited for with epoll_wait(). */
static long long wait_timerfd(int tfd, int ep, long long ns)
{
	struct itimerspec its = { .it_value = to_ts(ns) };
	struct epoll_event ev;
	unsigned long long expirations;
	long long t0;
	int r;

	t0 = now_ns();
	if (timerfd_settime(tfd, 0, &its, NULL)) {
		perror("timerloop: timerfd_settime");
		exit(1);
	}
	do
		r = epoll_wait(ep, &ev, 1, (int)(ns / 1000000) + LOST_TIMER_S * 1000);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		perror("timerloop: epoll_wait");
		exit(1);
	}
	if (r == 0) {
		fprintf(stderr, "timerloop: timerfd not signalled %d s after its expiry\n",
			LOST_TIMER_S);
		exit(1);
	}
	if (read(tfd, &expirations, sizeof(expirations)) != sizeof(expirations)) {
		perror("timerloop: read timerfd");
		exit(1);
	}
	return t0 + ns;
}

/* -o: append the @n latenesses to @path, one per line */
static int write_raw(const char *path, const long long *lat, long n)
{
	FILE *f = fopen(path, "a");
	long i;

	if (!f) {
		perror("timerloop: -o");
		return 1;
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%lld\n", lat[i]);
	if (fclose(f)) {
		perror("timerloop: -o");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long long interval_us = 0, slack_ns = 1, limit_ns = 0, start, due, late;
	long long st0 = 0, st1, st_begin = 0, worst = -1, worst_steal = 0;
	long long unstolen_max = 0, unstolen_at = 0, unstolen_due = 0;
	long long *lat;
	int steal = 0;
	long i, n = 1000;
	int opt, cpu = -1, tfd = -1, ep = -1;
	const char *mode = NULL, *raw = NULL;
	struct epoll_event ev = { .events = EPOLLIN };
	cpu_set_t set;

	while ((opt = getopt(argc, argv, "m:i:n:t:c:s:p:So:")) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 'i':
			interval_us = atoll(optarg);
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 't':
			limit_ns = (long long)(atof(optarg) * 1e9);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 's':
			slack_ns = atoll(optarg);
			break;
		case 'p':
			port = strtol(optarg, NULL, 0);
			port_fd = open("/dev/port", O_WRONLY | O_CLOEXEC);
			if (port_fd < 0)
				perror("timerloop: /dev/port (no phase marks)");
			break;
		case 'S':
			steal = 1;
			break;
		case 'o':
			raw = optarg;
			break;
		default:
			bad_args();
		}
	}
	if (mode && !strcmp(mode, "idle")) {
		/* one wake-up, -t seconds away */
		if (limit_ns < 1)
			bad_args();
		interval_us = limit_ns / 1000;
		limit_ns = 0;
		n = 1;
	}
	if (!mode || interval_us < 1 || n < 1 || slack_ns < 1 ||
	    (strcmp(mode, "nanosleep") && strcmp(mode, "timerfd") &&
	     strcmp(mode, "idle")))
		bad_args();
	/* with a time limit, at most one wake-up per interval */
	if (limit_ns && n > limit_ns / (interval_us * 1000) + 1)
		n = limit_ns / (interval_us * 1000) + 1;
	if (cpu < 0)
		cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("timerloop: sched_setaffinity");
		return 1;
	}
	if (prctl(PR_SET_TIMERSLACK, (unsigned long)slack_ns, 0, 0, 0)) {
		perror("timerloop: PR_SET_TIMERSLACK");
		return 1;
	}
	lat = calloc(n, sizeof(*lat));
	if (!lat) {
		perror("timerloop");
		return 1;
	}
	if (!strcmp(mode, "timerfd")) {
		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (tfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev)) {
			perror("timerloop: timerfd/epoll");
			return 1;
		}
	}

	if (steal) {
		st_begin = steal_ns(cpu);
		if (st_begin < 0) {
			fprintf(stderr, "timerloop: no steal time for cpu%d in /proc/stat\n", cpu);
			return 1;
		}
		st0 = st_begin;
	}
	mark(MARK_BEGIN);
	start = now_ns();
	for (i = 0; i < n; i++) {
		if (limit_ns && now_ns() - start >= limit_ns)
			break;
		if (tfd >= 0)
			due = wait_timerfd(tfd, ep, interval_us * 1000);
		else
			due = wait_nanosleep(interval_us * 1000);
		late = now_ns() - due;
		/* a wake-up before the requested time is a bug: keep its sign */
		lat[i] = late;
		if (steal) {
			st1 = steal_ns(cpu);
			if (late > worst) {
				worst = late;
				worst_steal = st1 - st0;
			}
			if (late - (st1 - st0) > unstolen_max) {
				unstolen_max = late - (st1 - st0);
				unstolen_at = due - start;
				unstolen_due = due;
			}
			st0 = st1;
		}
	}
	mark(MARK_END);
	n = i;
	if (!n) {
		fprintf(stderr, "timerloop: no wake-up in the time given\n");
		return 1;
	}
	if (raw && write_raw(raw, lat, n))
		return 1;
	qsort(lat, n, sizeof(*lat), cmp_ll);
	printf("timerloop mode=%s interval_us=%lld cpu=%d n=%ld elapsed_s=%.3f",
	       mode, interval_us, cpu, n, (now_ns() - start) / 1e9);
	printf(" lat_us p50=%.1f p99=%.1f max=%.1f min=%.1f",
	       lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3, lat[n - 1] / 1e3,
	       lat[0] / 1e3);
	/* the tail's shape: the worst 2 %, in us, best first */
	printf(" p90=%.1f p95=%.1f tail_us=", lat[n * 90 / 100] / 1e3,
	       lat[n * 95 / 100] / 1e3);
	for (i = n * 98 / 100; i < n; i++)
		printf("%s%.0f", i > n * 98 / 100 ? "," : "", lat[i] / 1e3);
	if (steal) {
		printf(" steal_ms=%.0f worst_steal_us=%.0f unstolen_max_us=%.1f",
		       (steal_ns(cpu) - st_begin) / 1e6, worst_steal / 1e3,
		       unstolen_max / 1e3);
		printf(" unstolen_at_ms=%.0f", unstolen_at / 1e6);
		printf(" unstolen_due_mono_us=%.0f", unstolen_due / 1e3);
	}
	printf("\n");
	if (lat[0] < 0) {
		fprintf(stderr, "timerloop: woken %.1f us before the requested time\n",
			-lat[0] / 1e3);
		return 1;
	}
	return 0;
}
