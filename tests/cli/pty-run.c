/* smem_pty_run COMMAND [ARG...] — runs COMMAND with its standard output on
 * a pseudo-terminal (in raw mode, so that the bytes it writes arrive as
 * written), copies what it writes to our standard output, and exits with
 * its exit status (128 + N if signal N ended it).  For the tests of what
 * the tool does when its output is a terminal (tests/cli/test-newuser.sh).
 * Linux; posix_openpt and friends only, no libutil. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int open_pty(int *slave)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0)
        return -1;
    const char *name = ptsname(master);
    *slave = name ? open(name, O_RDWR | O_NOCTTY) : -1;
    if (*slave < 0)
        return -1;
    struct termios t;
    if (tcgetattr(*slave, &t) != 0)
        return -1;
    cfmakeraw(&t);
    return tcsetattr(*slave, TCSANOW, &t) != 0 ? -1 : master;
}

/* Copies what the command writes until the pty has no writer left. */
static void copy_out(int master)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(master, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) /* EIO once the slave is closed on every side */
            return;
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
            return;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: smem_pty_run COMMAND [ARG...]\n");
        return 2;
    }
    int slave;
    int master = open_pty(&slave);
    if (master < 0) {
        fprintf(stderr, "smem_pty_run: no pseudo-terminal: %s\n", strerror(errno));
        return 77;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("smem_pty_run: fork");
        return 2;
    }
    if (pid == 0) {
        close(master);
        if (dup2(slave, STDOUT_FILENO) < 0)
            _exit(127);
        close(slave);
        execvp(argv[1], argv + 1);
        fprintf(stderr, "smem_pty_run: %s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }
    close(slave);
    copy_out(master);
    fflush(stdout);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 2;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
