/*
 * A stand-in for a subhost's reaper, for subhost-go's native tests: two
 * seccomp filters that disagree (the newest must win, so a copy installed
 * in the wrong order shows), then optionally no_new_privs and capabilities
 * dropped from the bounding set; prints "ready" and waits.
 *
 *   sgtarget [nnp] [CAP_NUMBER...]
 *
 * Filter 1 (oldest): keyctl -> EPERM. Filter 2 (newest, with
 * SECCOMP_FILTER_FLAG_LOG): keyctl -> EACCES, add_key -> EPERM.
 * Both return ERRNO: for equal actions the kernel takes the data of the
 * most recently installed filter, so keyctl fails with EACCES.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static void deny(int nr1, int err1, int nr2, int err2, unsigned int flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr1, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned int)err1),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned int)err2),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p = { sizeof(f) / sizeof(f[0]), f };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &p) != 0) {
		perror("sgtarget: seccomp");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	int nnp = 0;

	deny(SYS_keyctl, EPERM, SYS_keyctl, EPERM, 0);
	deny(SYS_keyctl, EACCES, SYS_add_key, EPERM, SECCOMP_FILTER_FLAG_LOG);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "nnp") == 0)
			nnp = 1;
		else if (prctl(PR_CAPBSET_DROP, atoi(argv[i]), 0, 0, 0) != 0)
			perror("sgtarget: PR_CAPBSET_DROP");
	}
	if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		perror("sgtarget: PR_SET_NO_NEW_PRIVS");
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
