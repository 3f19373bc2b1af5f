/* SPDX-License-Identifier: MIT */
/** @file
 *
 * measure: run one command and report its wall time and peak memory, for
 * `make bench`.
 *
 *	measure OUT CMD ARGS...
 *
 * Writes "SECONDS MAXRSS_KIB STATUS" to OUT: the wall time of CMD
 * (CLOCK_MONOTONIC), the peak resident set of CMD and of every descendant
 * it waited for (ru_maxrss from wait4(), exact even for a command that
 * lives 50 ms, which polling /proc would miss; this program is small, so
 * the image CMD is forked from adds little), and its exit status (128 + N
 * for signal N); then, on a second line, "CPU_SECONDS": the CPU time
 * (user + system) of CMD and of those descendants.  CMD's stdout and stderr are passed through.  Exits with
 * CMD's status.  SIGTERM, SIGINT and SIGHUP are passed on to CMD by its
 * pid, so the benchmark's cleanup, which stops this process by its pid,
 * stops CMD too.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child; /* CMD, once started */

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = forward};
	struct rusage ru;
	int status, rc;
	double t0;
	FILE *out;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: measure OUT CMD ARGS...\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	t0 = now();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "measure: cannot fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "measure: cannot run '%s': %s\n", argv[2],
			strerror(errno));
		_exit(127);
	}
	child = pid;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "measure: wait4: %s\n",
				strerror(errno));
			return 2;
		}
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	out = fopen(argv[1], "w");
	if (!out) {
		fprintf(stderr, "measure: cannot write '%s': %s\n", argv[1],
			strerror(errno));
		return 2;
	}
	fprintf(out, "%.6f %ld %d\n%.6f\n", now() - t0, ru.ru_maxrss, rc,
		ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	if (fclose(out)) {
		fprintf(stderr, "measure: cannot write '%s': %s\n", argv[1],
			strerror(errno));
		return 2;
	}
	return rc;
}
