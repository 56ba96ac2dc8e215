/*
 * fsbench.c: the timing loops behind `make bench`. Each mode prints one
 * number, nanoseconds per operation, so the driver (scripts/bench.py) can
 * interleave connectorfs and tmpfs runs and compare medians.
 *   fsbench read PATH N     open + read + close, N times
 *   fsbench stat PATH N     stat, N times
 *   fsbench cat PATH N      fork + exec cat PATH > /dev/null + wait, N times
 *   fsbench burst PATH K    K threads open+read PATH at once (prints errors)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
read_once(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0 ? -1 : 0;
}

static int
cat_once(const char *path)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0)
			dup2(devnull, 1);
		execlp("cat", "cat", path, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

struct burst {
	const char *path;
	pthread_barrier_t *barrier;
	int failed;
};

static void *
burst_one(void *arg)
{
	struct burst *b = arg;

	pthread_barrier_wait(b->barrier);
	b->failed = read_once(b->path) != 0;
	return NULL;
}

int
main(int argc, char *argv[])
{
	long n, i;
	long long t0;
	struct stat st;

	if (argc != 4 || (n = strtol(argv[3], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: fsbench read|stat|cat|burst PATH N\n");
		return 2;
	}
	if (strcmp(argv[1], "burst") == 0) {
		pthread_barrier_t barrier;
		pthread_t *t = calloc((size_t)n, sizeof(*t));
		struct burst *b = calloc((size_t)n, sizeof(*b));
		int failed = 0;

		if (t == NULL || b == NULL)
			return 1;
		pthread_barrier_init(&barrier, NULL, (unsigned)n);
		for (i = 0; i < n; i++) {
			b[i].path = argv[2];
			b[i].barrier = &barrier;
			pthread_create(&t[i], NULL, burst_one, &b[i]);
		}
		for (i = 0; i < n; i++) {
			pthread_join(t[i], NULL);
			failed += b[i].failed;
		}
		printf("%d\n", failed);
		return failed ? 1 : 0;
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		int rc;

		if (strcmp(argv[1], "read") == 0)
			rc = read_once(argv[2]);
		else if (strcmp(argv[1], "stat") == 0)
			rc = stat(argv[2], &st);
		else if (strcmp(argv[1], "cat") == 0)
			rc = cat_once(argv[2]);
		else {
			fprintf(stderr, "fsbench: unknown mode %s\n", argv[1]);
			return 2;
		}
		if (rc != 0) {
			fprintf(stderr, "fsbench: %s %s: %s\n", argv[1], argv[2], strerror(errno));
			return 1;
		}
	}
	printf("%.1f\n", (double)(now_ns() - t0) / (double)n);
	return 0;
}
