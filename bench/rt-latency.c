/*
 * rt-latency: how late a process wakes up from a 1 ms sleep, in a loop,
 * pinned to one CPU. Prints the count, median, p99 and max of the
 * overshoot in microseconds: "n=N p50=A p99=B max=C".
 *
 * Usage: rt-latency CPU SECONDS
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static long ns(struct timespec t) { return t.tv_sec * 1000000000L + t.tv_nsec; }

int main(int argc, char **argv)
{
	cpu_set_t set;
	struct timespec start, now, want;
	long n = 0, cap = 200000, *late;

	if (argc != 3)
		return 2;
	CPU_ZERO(&set);
	CPU_SET(atoi(argv[1]), &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) {
		perror("sched_setaffinity");
		return 1;
	}
	late = malloc(sizeof(long) * (size_t)cap);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		clock_gettime(CLOCK_MONOTONIC, &want);
		want.tv_nsec += 1000000;
		if (want.tv_nsec >= 1000000000) {
			want.tv_nsec -= 1000000000;
			want.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &want, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (n < cap)
			late[n++] = (ns(now) - ns(want)) / 1000;
	} while (ns(now) - ns(start) < atol(argv[2]) * 1000000000L);
	qsort(late, (size_t)n, sizeof(long), cmp);
	printf("n=%ld p50=%ld p99=%ld max=%ld\n", n, late[n / 2], late[n * 99 / 100], late[n - 1]);
	return 0;
}
