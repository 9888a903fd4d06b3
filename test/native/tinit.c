/*
 * Test-only init for a throwaway pid namespace (unshare -p -f ... tinit LOG
 * CMD ARG...). It runs CMD and reaps whatever becomes its child. A started
 * subhost's reaper is orphaned when subhost-enter exits, so it ends up here:
 * its exit status is only visible to us, hence the LOG ("PID exit N" or
 * "PID signal N" per reaped process other than CMD). Exits with CMD's
 * status; the kernel then kills everything left in the namespace, which is
 * what keeps the host clean whatever a test does.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t cmd, pid;
	int status;

	if (argc < 3) {
		fprintf(stderr, "usage: tinit LOG CMD [ARG...]\n");
		return 2;
	}
	cmd = fork();
	if (cmd == 0) {
		execvp(argv[2], &argv[2]);
		perror(argv[2]);
		_exit(127);
	}
	while ((pid = wait(&status)) > 0) {
		char line[64];
		int fd, n;

		if (pid == cmd)
			return WIFEXITED(status) ? WEXITSTATUS(status)
						 : 128 + WTERMSIG(status);
		n = WIFEXITED(status)
			? snprintf(line, sizeof(line), "%d exit %d\n", pid, WEXITSTATUS(status))
			: snprintf(line, sizeof(line), "%d signal %d\n", pid, WTERMSIG(status));
		fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0) {
			if (write(fd, line, (size_t)n) != n)
				perror(argv[1]);
			close(fd);
		}
	}
	return 127;
}
