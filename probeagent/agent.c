/*
 * berth-probe: berth's healthcheck probe agent.
 *
 * berth bind-mounts this static binary read-only into a container that has a
 * healthcheck (at /.berth/probe); the container's own process starts it
 * (launch, below), or berth starts it ONCE through containerd's exec, so
 * that it runs with exactly the confinement of an exec: the container's
 * namespaces, cgroup, capabilities, seccomp profile, user, no_new_privs,
 * environment and working directory. Every probe is then a vfork and exec of
 * this process instead of a runc exec through the shim (tens of milliseconds
 * of CPU each). It inherits all of that unchanged: nothing here changes
 * credentials, limits or the environment.
 *
 * Protocol, on standard input (requests) and standard output (replies); every
 * integer is an unsigned 32-bit big-endian number, every message a frame:
 *
 *   frame   = length (u32) payload[length]
 *   request = timeout_ms (u32) arg0 NUL arg1 NUL ... (at least one argument;
 *             the payload at most MAX_REQUEST bytes)
 *   reply   = kind (u8) code (u32) output[...]
 *
 * The agent says hello first: a reply of kind HELLO whose output is
 * "berth-probe/1". For each request it starts a child (see spawn), which makes a process group
 * of its own, takes /dev/null as standard input and one pipe as standard
 * output and error, and executes arg0 (searched in $PATH when it has no
 * slash, as runc does). The agent keeps the first MAX_OUTPUT bytes of the
 * output and discards the rest (a probe that floods its output neither blocks
 * nor grows the agent), and replies:
 *
 *   EXITED    code is the exit status, or 128+signal when a signal ended it
 *             (what containerd reports of an exec); output is the output.
 *   TIMEOUT   the probe ran past timeout_ms: its whole process group was
 *             killed (SIGKILL) and reaped.
 *   NOSTART   it could not be executed: code is the errno, output says why.
 *   BADREQ    the request was malformed; the agent then exits (the stream
 *             cannot be trusted to be in step any more).
 *
 * After the probe's process exits, its output is read until every writer has
 * closed the pipe, or LINGER_MS at most (a child it left behind may hold the
 * pipe open); what such a child does is not waited for, as with an exec.
 *
 * The agent exits when its standard input ends (the berth process that
 * started it went away) or a reply cannot be written (a probe that runs
 * then still ends, or is killed, at its timeout first). One request is
 * served at a time.
 *
 * "berth-probe launch -- CMD..." is how a container with a healthcheck and
 * a pid namespace of its own starts (containerd/probelaunch.go): it forks
 * "berth-probe serve" and executes CMD in its own place, so that CMD is
 * still pid 1, with its signals and exit status, and the agent, a fork of
 * the container's process, has its confinement exactly, with no runc exec
 * at all. The serve mode speaks the same protocol over the unix socket
 * SOCKET_PATH, on a small tmpfs of the container's own, which berth
 * reaches through /proc/PID/root of the container's process: each connection
 * is greeted, up to MAX_CONNS are served (a new one replaces the oldest),
 * one request at a time. It leaves the terminal's session and holds none
 * of the container's streams; it ends with the container's pid namespace,
 * or before, when it is the last child of a pid 1 that waits for all of
 * its children (see watch): without it that wait would have ended.
 *
 * "berth-probe pause" is something else: the process of the container that
 * holds a compose project's shared runc shim (containerd/shimgroup.go). It
 * does nothing until SIGTERM, SIGINT or SIGHUP ends it, reaping any child.
 *
 * Build: gcc -static -Os (see the Makefile's bin/berth-probe); it must be
 * static, since it runs in images that have no C library.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST (1u << 20)
#define MAX_OUTPUT 4096
#define LINGER_MS 1000
/* AGENT_PATH is where berth binds this program; SOCKET_PATH where the
 * serve mode listens, in the directory berth binds for it (the unit tests
 * build it with paths of their own). */
#ifndef AGENT_PATH
#define AGENT_PATH "/.berth/probe"
#endif
#ifndef SOCKET_PATH
#define SOCKET_PATH "/.berth/run/probe.sock"
#endif
#define MAX_CONNS 4
#define IO_TIMEOUT_S 5
/* WATCH_MS is how often the launched agent looks whether its parent
 * waits for it alone (see watch), when no request woke it meanwhile; after
 * a sibling it watched ended, it looks again after WATCH_FIRST_MS, then
 * twice as long each time up to WATCH_MS. CONFIRM_MS is the pause before
 * it looks a second time. */
#define WATCH_MS 2000
#define WATCH_FIRST_MS 1
#define CONFIRM_MS 10

enum { EXITED = 0, TIMEOUT = 1, NOSTART = 2, BADREQ = 3, HELLO = 4 };

static const char hello[] = "berth-probe/1";

/* sigchld_pipe is written to by the SIGCHLD handler, so that poll wakes up. */
static int sigchld_pipe[2] = {-1, -1};

static void on_sigchld(int sig)
{
	int saved = errno;
	(void)sig;
	(void)!write(sigchld_pipe[1], "c", 1);
	errno = saved;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* read_full reads exactly n bytes: 1 when it did, 0 at the end of the input
 * before the first byte, -1 on an error or an end half-way. */
static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return got == 0 ? 0 : -1;
		got += r;
	}
	return 1;
}

static int write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, (const char *)buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += w;
	}
	return 0;
}

/* reply writes one reply frame to fd: -1 when it cannot. */
static int reply(int fd, int kind, uint32_t code, const char *out, size_t n)
{
	unsigned char head[9];
	put_u32(head, 5 + n);
	head[4] = kind;
	put_u32(head + 5, code);
	if (write_full(fd, head, sizeof head) < 0 || write_full(fd, out, n) < 0)
		return -1;
	return 0;
}

/* exec_path executes argv[0] as runc does: as it is when it holds a slash,
 * else the first executable of that name in $PATH. It returns the errno to
 * report: that of the first entry found but not executable (EACCES), else
 * ENOENT. */
static int exec_path(char **argv)
{
	const char *name = argv[0];
	if (strchr(name, '/')) {
		execv(name, argv);
		return errno;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int first = 0;
	size_t nlen = strlen(name);
	for (const char *p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);
		char full[4096];
		if (dlen == 0) {
			/* An empty entry is the working directory. */
			if (nlen + 3 <= sizeof full) {
				memcpy(full, "./", 2);
				memcpy(full + 2, name, nlen + 1);
			} else {
				full[0] = 0;
			}
		} else if (dlen + 1 + nlen + 1 <= sizeof full) {
			memcpy(full, p, dlen);
			full[dlen] = '/';
			memcpy(full + dlen + 1, name, nlen + 1);
		} else {
			full[0] = 0;
		}
		if (full[0]) {
			execv(full, argv);
			if (errno != ENOENT && errno != ENOTDIR && !first)
				first = errno;
		}
		if (!end)
			break;
		p = end;
	}
	return first ? first : ENOENT;
}

/* child runs in the new process (see spawn): it never returns. Until it
 * executes the probe it may share the agent's memory: it changes nothing
 * there but errno, and calls nothing that takes a lock or allocates. */
static void child(char **argv, int out, int status)
{
	sigset_t none;
	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int in = open("/dev/null", O_RDONLY);
	if (in < 0) {
		/* No /dev/null: an input that ends at once. */
		int p[2];
		if (pipe(p) == 0) {
			close(p[1]);
			in = p[0];
		}
	}
	if (in >= 0 && in != 0) {
		dup2(in, 0);
		close(in);
	}
	dup2(out, 1);
	dup2(out, 2);
	if (out > 2)
		close(out);
	int err = exec_path(argv);
	(void)!write(status, &err, sizeof err);
	_exit(127);
}

/* spawn_args are what child needs, passed through clone. */
struct spawn_args {
	char **argv;
	int out, status;
};

static int spawned(void *p)
{
	struct spawn_args *a = p;
	child(a->argv, a->out, a->status);
	return 127;
}

/* child_stack is the stack of a child started by clone until it executes
 * the probe: one at a time, and the agent waits meanwhile (CLONE_VFORK). */
static char child_stack[64 * 1024] __attribute__((aligned(16)));

/* spawn starts child(argv, out, status) as a new process, as vfork does:
 * sharing the agent's memory until it executes the probe, on a stack of
 * its own, the agent waiting meanwhile. A fork copies the agent's page
 * tables only for exec to throw them away, and on a virtual machine whose
 * page table updates are costly that was a third of a probe's CPU. Every
 * signal is blocked across it, so that no handler of the agent's runs in
 * the child (child resets them before it unblocks). fork is the fallback
 * where clone is refused (a seccomp profile, say). */
static pid_t spawn(char **argv, int out, int status)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	struct spawn_args a = {argv, out, status};
	pid_t pid = clone(spawned, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	if (pid < 0) {
		pid = fork();
		if (pid == 0)
			child(argv, out, status);
	}
	int e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return pid;
}

static void drain_sigchld(void)
{
	char buf[64];
	while (read(sigchld_pipe[0], buf, sizeof buf) > 0)
		;
}

/* code_of is what containerd reports of an exec's end. */
static uint32_t code_of(int ws)
{
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return WEXITSTATUS(ws);
}

/* run runs one request's argv and replies to fd: -1 when the reply could
 * not be written. */
static int run(int fd, char **argv, uint32_t timeout_ms)
{
	static char out[MAX_OUTPUT];
	size_t kept = 0;
	int outp[2], statusp[2];
	if (pipe2(outp, O_CLOEXEC) < 0) {
		return reply(fd, NOSTART, errno, "pipe: ", 6);
	}
	if (pipe2(statusp, O_CLOEXEC) < 0) {
		int e = errno;
		close(outp[0]);
		close(outp[1]);
		return reply(fd, NOSTART, e, "pipe: ", 6);
	}
	int64_t start = now_ms();
	drain_sigchld();
	pid_t pid = spawn(argv, outp[1], statusp[1]);
	if (pid < 0) {
		int e = errno;
		close(outp[0]);
		close(outp[1]);
		close(statusp[0]);
		close(statusp[1]);
		const char *msg = strerror(e);
		return reply(fd, NOSTART, e, msg, strlen(msg));
	}
	setpgid(pid, pid); /* also here: kill(-pid) must find the group at once */
	close(outp[1]);
	close(statusp[1]);

	int err = 0;
	ssize_t n;
	while ((n = read(statusp[0], &err, sizeof err)) < 0 && errno == EINTR)
		;
	close(statusp[0]);
	if (n == (ssize_t)sizeof err) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(outp[0]);
		const char *msg = strerror(err);
		return reply(fd, NOSTART, err, msg, strlen(msg));
	}

	int exited = 0, ws = 0, open_out = 1;
	int64_t deadline = start + timeout_ms, linger = 0;
	for (;;) {
		if (!exited) {
			pid_t w = waitpid(pid, &ws, WNOHANG);
			if (w == pid) {
				exited = 1;
				linger = now_ms() + LINGER_MS;
			}
		}
		if (exited && !open_out)
			break;
		int64_t t = now_ms();
		if (!exited && t >= deadline) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			if (open_out)
				close(outp[0]);
			return reply(fd, TIMEOUT, 0, NULL, 0);
		}
		if (exited && t >= linger)
			break;
		int64_t wait = exited ? linger - t : deadline - t;
		struct pollfd fds[2] = {
			{.fd = sigchld_pipe[0], .events = POLLIN},
			{.fd = open_out ? outp[0] : -1, .events = POLLIN},
		};
		if (poll(fds, 2, wait > 60000 ? 60000 : (int)wait) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			drain_sigchld();
		if (open_out && fds[1].revents) {
			char buf[8192];
			ssize_t r = read(outp[0], buf, sizeof buf);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				close(outp[0]);
				open_out = 0;
				continue;
			}
			size_t room = MAX_OUTPUT - kept;
			size_t take = (size_t)r < room ? (size_t)r : room;
			memcpy(out + kept, buf, take);
			kept += take;
		}
	}
	if (open_out)
		close(outp[0]);
	if (!exited) {
		/* poll failed: do not leave the probe behind. */
		kill(-pid, SIGKILL);
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
	}
	return reply(fd, EXITED, code_of(ws), out, kept);
}

static void on_stop(int sig)
{
	(void)sig;
	_exit(0);
}

/* pause_forever is the pause mode: PID 1 of its own PID namespace gets no
 * signal it has no handler for, so it handles the stopping ones. */
__attribute__((noreturn)) static void pause_forever(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	for (;;) {
		pause();
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}

/* serve_one reads one request from in and replies to out: 1 when it did,
 * 0 at the end of the input, -1 when the stream cannot be used any more
 * (a malformed request, a reply that could not be written). */
static int serve_one(int in, int out)
{
	unsigned char head[4];
	int r = read_full(in, head, sizeof head);
	if (r <= 0)
		return r;
	uint32_t len = get_u32(head);
	if (len < 6 || len > MAX_REQUEST) {
		reply(out, BADREQ, 0, "bad length", 10);
		return -1;
	}
	char *req = malloc(len + 1);
	if (!req) {
		reply(out, BADREQ, ENOMEM, "out of memory", 13);
		return -1;
	}
	if (read_full(in, req, len) != 1) {
		free(req);
		return -1;
	}
	req[len] = 0;
	uint32_t timeout_ms = get_u32((unsigned char *)req);
	char *args = req + 4;
	size_t alen = len - 4;
	if (args[alen - 1] != 0 || args[0] == 0) {
		free(req);
		reply(out, BADREQ, 0, "bad arguments", 13);
		return -1;
	}
	size_t argc = 0;
	for (size_t i = 0; i < alen; i++)
		argc += args[i] == 0;
	char **argv = calloc(argc + 1, sizeof *argv);
	if (!argv) {
		free(req);
		reply(out, BADREQ, ENOMEM, "out of memory", 13);
		return -1;
	}
	char *p = args;
	for (size_t i = 0; i < argc; i++) {
		argv[i] = p;
		p += strlen(p) + 1;
	}
	r = run(out, argv, timeout_ms) < 0 ? -1 : 1;
	free(argv);
	free(req);
	return r;
}

/* setup installs the SIGCHLD handler that wakes run's poll. */
static int setup(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	sigaction(SIGCHLD, &sa, NULL);
	return 0;
}

/* put_str writes s to fd, for launch's one error message. */
static void put_str(int fd, const char *s)
{
	(void)write_full(fd, s, strlen(s));
}

/* put_errno writes the message of errno e as Go spells it (glibc's with
 * a lower-case first letter), as runc's messages have it. */
static void put_errno(int fd, int e)
{
	char msg[256];
	const char *m = strerror(e);
	size_t n = strlen(m);
	if (n >= sizeof msg)
		n = sizeof msg - 1;
	memcpy(msg, m, n);
	msg[n] = 0;
	msg[0] = tolower((unsigned char)msg[0]);
	put_str(fd, msg);
}

/* executable is Go's findExecutable, which runc's exec.LookPath uses: 0
 * when path is a file that is no directory and has an execute bit, else
 * the errno (ENOENT, EISDIR, EACCES ...). */
static int executable(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	return st.st_mode & 0111 ? 0 : EACCES;
}

/* lookup resolves name as runc does before it starts a container's
 * process (Go's exec.LookPath): as it is when it holds a slash, else the
 * first entry of $PATH (an empty one is the working directory) where it
 * is executable. It returns the path in buf, or NULL with *err set. */
static const char *lookup(const char *name, char *buf, size_t size, int *err)
{
	if (strchr(name, '/')) {
		*err = executable(name);
		return *err ? NULL : name;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	size_t nlen = strlen(name);
	for (const char *p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);
		const char *dir = dlen ? p : ".";
		if (!dlen)
			dlen = 1;
		if (dlen + 1 + nlen + 1 <= size) {
			memcpy(buf, dir, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, name, nlen + 1);
			if (executable(buf) == 0)
				return buf;
		}
		if (!end)
			break;
		p = end;
	}
	*err = ENOENT;
	return NULL;
}

/* launch is the launch mode, the container's process itself: it starts
 * the agent in serve mode as a child, then executes argv in its own place
 * (searched in $PATH as runc does), so that the command keeps the pid
 * (1), the signals and the exit status it would have had. The agent is a
 * fork of this process before it executes anything of the image's: it has
 * exactly the container process's confinement. It execs itself again as
 * "serve" so that it holds nothing of this process and shows as such in
 * ps. Whatever becomes of the agent (it could not be started), argv runs:
 * berth then probes by exec.
 *
 * A command it cannot find fails with runc's message of that (which runc
 * gives before the start, as the start's error) and 127 (not found) or
 * 126, as Docker's shell does; berth runs a command its image does not
 * have without the launcher, so this is for one that went away since.
 * One that is found but cannot be executed (an exec format error: garbage,
 * or a binary of another architecture that no emulator is registered for;
 * a script whose interpreter is missing) fails as runc's init does when
 * its last exec fails, after the start: "exec PATH: reason" and status 1. */
__attribute__((noreturn)) static void launch(char **argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		char *self[] = {(char *)AGENT_PATH, (char *)"serve", NULL};
		execv(AGENT_PATH, self);
		_exit(127);
	}
	char buf[4096];
	int err = 0;
	const char *name = lookup(argv[0], buf, sizeof buf, &err);
	if (name) {
		execv(name, argv);
		err = errno;
		put_str(2, "exec ");
		put_str(2, name);
		put_str(2, ": ");
		put_errno(2, err);
		put_str(2, "\n");
		_exit(1);
	}
	put_str(2, "exec: \"");
	put_str(2, argv[0]);
	if (!strchr(argv[0], '/')) {
		put_str(2, "\": executable file not found in $PATH\n");
	} else {
		put_str(2, "\": ");
		if (err == ENOENT || err == ENOTDIR) {
			put_str(2, "stat ");
			put_str(2, argv[0]);
			put_str(2, ": ");
		}
		put_errno(2, err);
		put_str(2, "\n");
	}
	_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

/* set_timeouts bounds how long a connection's read or write may block:
 * a client that stalls half-way must not stop the agent for good. */
static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* read_small reads the small file at path into buf (n bytes at most,
 * NUL-terminated, a trailing newline dropped): its length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r, got = 0;
	while ((size_t)got < n - 1 && (r = read(fd, buf + got, n - 1 - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return -1;
		}
		got += r;
	}
	close(fd);
	if (got > 0 && buf[got - 1] == '\n')
		got--;
	buf[got] = 0;
	return got;
}

/* ended reports whether process pid has ended (a zombie, or gone). */
static int ended(long pid)
{
	char path[64], st[512];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (read_small(path, st, sizeof st) < 0)
		return 1;
	const char *p = strrchr(st, ')');
	return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

enum { WAITS_FOR_US = 1, NOT_NOW = 0, CANNOT_TELL = -1 };

/* look tells whether parent waits for a child (its main thread sleeps
 * in the kernel's do_wait) and has no child but self: WAITS_FOR_US; else
 * NOT_NOW, with *live a child of parent that has not ended (0 when none
 * or when parent does not wait), so that the caller may watch for its
 * end; CANNOT_TELL when the kernel does not say who parent's children
 * are (no /proc/PID/task/TID/children). While parent does not wait, it
 * costs one read of a small file: a look at a pid 1 that serves is
 * cheap. A wait in another thread than the main one is not seen. */
static int look(pid_t parent, pid_t self, long *live)
{
	char path[96], buf[4096];
	*live = 0;
	snprintf(path, sizeof path, "/proc/%d/wchan", (int)parent);
	if (read_small(path, buf, sizeof buf) < 0)
		return CANNOT_TELL;
	if (strcmp(buf, "do_wait") != 0)
		return NOT_NOW;
	/* The children of all of its threads: a wait is for any of them. */
	snprintf(path, sizeof path, "/proc/%d/task", (int)parent);
	DIR *d = opendir(path);
	if (!d)
		return CANNOT_TELL;
	int known = 0, others = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		long tid = strtol(e->d_name, NULL, 10);
		snprintf(path, sizeof path, "/proc/%d/task/%ld/children", (int)parent, tid);
		if (read_small(path, buf, sizeof buf) < 0)
			continue;
		known = 1;
		for (char *p = buf, *end;; p = end) {
			long c = strtol(p, &end, 10);
			if (end == p)
				break;
			if (c == self)
				continue;
			others++;
			if (!*live && !ended(c))
				*live = c;
		}
	}
	closedir(d);
	if (!known)
		return CANNOT_TELL;
	return others ? NOT_NOW : WAITS_FOR_US;
}

/* watch is what the launched agent knows of its parent, the container's
 * pid 1. A pid 1 that waits for all of its children before it exits (a
 * reaper looping on wait until ECHILD, say on its way out after stop's
 * TERM) would wait for the agent, its child, for ever: nothing ends the
 * agent but the end of the pid namespace, which is that pid 1's. So the
 * agent exits when its parent waits and it is the parent's only child:
 * a wait that, without the agent, would have failed with ECHILD at once.
 * The parent then reaps it and goes on as it would have (berth probes
 * through an agent started by exec from then on). It looks after a request
 * it served (awake anyway: that look costs a few microseconds, where a
 * wake-up for it costs a hundred or more on a virtual machine) when the
 * last look is WATCH_MS/2 old, else every WATCH_MS, and, while its parent
 * waits for other children, holds a pidfd
 * of one of them, to look again soon after it ends (the moment the
 * parent is left with the agent alone); it exits when it sees the same
 * twice, CONFIRM_MS apart (a child that ends while the kernel lists the
 * parent's children may hide another). A parent that is gone (only
 * outside a pid namespace) ends it too. Where the kernel cannot tell,
 * it stops looking and lives on, as before. */
struct watch {
	pid_t parent, self;
	int fd;       /* the pidfd of a child of the parent's, or -1 */
	int64_t next; /* when to look next (now_ms), or 0: never */
	int64_t last; /* when it looked last */
	int64_t step; /* the pause after the next look, from WATCH_FIRST_MS to WATCH_MS */
	int seen;     /* the last look saw the parent wait for the agent alone */
};

static void watch_start(struct watch *w)
{
	w->parent = getppid();
	w->self = getpid();
	w->fd = -1;
	w->last = now_ms();
	w->next = w->last + WATCH_MS;
	w->step = WATCH_MS;
	w->seen = 0;
}

/* watch_served is called after the agent served a request: look now if
 * the last look is old enough, and spare the wake-up of the next. */
static void watch_served(struct watch *w)
{
	if (w->next && now_ms() - w->last >= WATCH_MS / 2)
		w->next = now_ms();
}

/* watch_timeout is poll's timeout until the next look. */
static int watch_timeout(const struct watch *w)
{
	if (!w->next)
		return -1;
	int64_t t = w->next - now_ms();
	return t < 0 ? 0 : t > WATCH_MS ? WATCH_MS : (int)t;
}

/* watch_ended is called when the watched child's pidfd turned readable:
 * look again at once, and soon after. */
static void watch_ended(struct watch *w)
{
	close(w->fd);
	w->fd = -1;
	w->next = now_ms();
	w->step = WATCH_FIRST_MS;
}

/* watch_look looks when it is time to, and ends the agent when its
 * parent waits for it alone (seen twice) or is gone. */
static void watch_look(struct watch *w)
{
	if (!w->next || now_ms() < w->next)
		return;
	w->last = now_ms();
	if (getppid() != w->parent)
		_exit(0);
	long live = 0;
	int r = look(w->parent, w->self, &live);
	if (r == CANNOT_TELL) {
		if (w->fd >= 0)
			close(w->fd);
		w->fd = -1;
		w->next = 0;
		return;
	}
	if (r == WAITS_FOR_US) {
		if (w->seen)
			_exit(0);
		w->seen = 1;
		w->next = now_ms() + CONFIRM_MS;
		return;
	}
	w->seen = 0;
	if (w->fd < 0 && live) {
		/* No pidfd (a kernel before 5.3, a seccomp profile without it):
		 * only the periodic look. */
		w->fd = syscall(SYS_pidfd_open, (pid_t)live, 0);
		if (w->fd >= 0)
			fcntl(w->fd, F_SETFD, FD_CLOEXEC);
	}
	w->next = now_ms() + w->step;
	w->step = w->step * 2 > WATCH_MS ? WATCH_MS : w->step * 2;
}

/* serve is the serve mode: the agent launch started. It listens on
 * SOCKET_PATH (in the directory berth binds for it) and serves the
 * connections there, up to MAX_CONNS at once (a newer one replaces the
 * oldest: a berth process that went away without closing must not lock
 * out its successor), one request at a time, each greeted with HELLO. It
 * lives as long as the container's pid namespace (the end of the
 * container's process ends it), unless its parent waits for it alone
 * (see watch). */
__attribute__((noreturn)) static void serve(void)
{
	setsid(); /* out of the terminal's process group: ^C is not for it */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		/* It holds none of the container's streams open. */
		dup3(null, 0, 0);
		dup3(null, 1, 0);
		dup3(null, 2, 0);
	}
	if (setup() < 0)
		_exit(1);
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		_exit(1);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, SOCKET_PATH, sizeof SOCKET_PATH);
	unlink(SOCKET_PATH); /* the previous task's */
	if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(SOCKET_PATH, 0600) < 0 || listen(ls, MAX_CONNS) < 0)
		_exit(1);
	int conns[MAX_CONNS];
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i] = -1;
	int next = 0; /* the oldest connection's slot, once all are taken */
	struct watch w;
	watch_start(&w);
	for (;;) {
		struct pollfd fds[MAX_CONNS + 2];
		fds[0] = (struct pollfd){.fd = ls, .events = POLLIN};
		for (int i = 0; i < MAX_CONNS; i++)
			fds[i + 1] = (struct pollfd){.fd = conns[i], .events = POLLIN};
		fds[MAX_CONNS + 1] = (struct pollfd){.fd = w.fd, .events = POLLIN};
		if (poll(fds, MAX_CONNS + 2, watch_timeout(&w)) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		drain_sigchld();
		if (w.fd >= 0 && fds[MAX_CONNS + 1].revents)
			watch_ended(&w);
		for (int i = 0; i < MAX_CONNS; i++) {
			if (conns[i] < 0 || !fds[i + 1].revents)
				continue;
			int r = serve_one(conns[i], conns[i]);
			if (r > 0)
				watch_served(&w);
			if (r <= 0) {
				close(conns[i]);
				conns[i] = -1;
			}
		}
		watch_look(&w);
		if (fds[0].revents & POLLIN) {
			int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			set_timeouts(c);
			int slot = -1;
			for (int i = 0; i < MAX_CONNS && slot < 0; i++)
				if (conns[i] < 0)
					slot = i;
			if (slot < 0) {
				slot = next;
				next = (next + 1) % MAX_CONNS;
				close(conns[slot]);
			}
			conns[slot] = c;
			if (reply(c, HELLO, 0, hello, sizeof hello - 1) < 0) {
				close(c);
				conns[slot] = -1;
			}
		}
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "pause") == 0)
		pause_forever();
	if (argc >= 3 && strcmp(argv[1], "launch") == 0 && strcmp(argv[2], "--") == 0) {
		if (argc == 3) {
			put_str(2, "berth-probe launch: no command to run\n");
			return 127;
		}
		launch(argv + 3);
	}
	if (argc == 2 && strcmp(argv[1], "serve") == 0)
		serve();
	if (setup() < 0)
		return 1;
	if (reply(1, HELLO, 0, hello, sizeof hello - 1) < 0)
		return 0;
	for (;;) {
		int r = serve_one(0, 1);
		if (r <= 0)
			return r < 0;
	}
}
