/*
 * berth-shim: containerd's runc v2 shim, without the second cleanup of a task
 * that was deleted cleanly.
 *
 * berth gives its containers this program as their runtime (an absolute path,
 * which containerd runs instead of looking containerd-shim-runc-v2 up by name).
 * For every action but one it replaces itself at once (execvp) with
 * containerd-shim-runc-v2, found on the PATH containerd gives its shims (berth
 * puts its containerd's directory first), with the same arguments: the shim
 * that serves the tasks is containerd's own, unchanged.
 *
 * The one action is "delete". containerd 2.4 runs `<runtime> ... delete` in a
 * task's bundle after EVERY delete of a task, not only after a shim died: its
 * delete closes its connection to the shim, and the connection's close handler
 * (cleanupAfterDeadShim in core/runtime/v2/shim.go) runs the runtime's delete
 * action and waits for it. containerd's shim then starts a Go process that runs
 * `runc delete --force` on a container runc has already deleted, tries to
 * unmount a root file system that is no longer mounted, and prints a result
 * containerd throws away (the task's delete already recorded the exit): about
 * 50 ms of CPU on a 2-core machine, per container, on the critical path of a
 * down (30 containers: 1.5 s of CPU, three quarters of a second of wall time).
 *
 * So when there is nothing left for it to do, this program does it alone:
 * when the bundle's runc options are the defaults or only a root
 * (options.json is absent, "{}" or {"root":"/path"}; runtime names no other
 * runc) and runc has no state for the task under that root (by default
 * /run/containerd/runc/<namespace>/<id>), and the bundle's rootfs is not a
 * mount point, the task is gone: it prints the
 * result containerd's shim prints when it finds no exit record (the pid from
 * init.pid, exit status 128+SIGKILL, exited now), as a protobuf
 * containerd.task.v2.DeleteResponse, and exits 0. In every other case (a shim
 * that really died, custom options, anything it cannot read) it runs
 * containerd's shim, which does the full cleanup.
 *
 * Build: gcc -static -Os (see the Makefile's bin/berth-shim).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REAL_SHIM "containerd-shim-runc-v2"
/* RUNC_ROOT is runc's default root in containerd's shim (process.RuncRoot); tests
 * build with another. */
#ifndef RUNC_ROOT
#define RUNC_ROOT "/run/containerd/runc"
#endif

/* realShim replaces this process with containerd's shim. */
static int realShim(char **argv)
{
	argv[0] = REAL_SHIM;
	execvp(REAL_SHIM, argv);
	fprintf(stderr, "berth-shim: run %s: %s\n", REAL_SHIM, strerror(errno));
	return 127;
}

/* readSmall reads up to n-1 bytes of path into buf, NUL-terminated; -1 with
 * errno set when it cannot be opened or read. */
static ssize_t readSmall(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	while (got < n - 1) {
		ssize_t r = read(fd, buf + got, n - 1 - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = 0;
	return (ssize_t)got;
}

/* squeeze removes the white space of s, in place. */
static void squeeze(char *s)
{
	char *d = s;
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			*d++ = *s;
	*d = 0;
}

/* runcRoot finds runc's root for the bundle, into root (of size n): its
 * default when the options are the defaults (options.json absent, empty or
 * "{}"), or the only option, a root, as containerd's shim writes it
 * ({"root":"/path"}, with no escapes); and no other runc binary (runtime
 * absent or empty). 0 when it is not known so. */
static int runcRoot(char *root, size_t n)
{
	char buf[4200];
	ssize_t got = readSmall("options.json", buf, sizeof buf);
	if (got < 0) {
		if (errno != ENOENT)
			return 0;
		buf[0] = 0;
	} else if ((size_t)got >= sizeof buf - 1) {
		return 0; /* too long to be only a root */
	}
	static const char pre[] = "{\"root\":\"", post[] = "\"}";
	size_t len = strlen(buf), lp = sizeof pre - 1, lq = sizeof post - 1;
	if (len > lp + lq && !strncmp(buf, pre, lp) && !strcmp(buf + len - lq, post)) {
		const char *path = buf + lp;
		size_t pl = len - lp - lq;
		if (pl >= n || path[0] != '/' || memchr(path, '"', pl) || memchr(path, '\\', pl))
			return 0;
		memcpy(root, path, pl);
		root[pl] = 0;
	} else {
		squeeze(buf);
		if (buf[0] && strcmp(buf, "{}"))
			return 0;
		if (strlen(RUNC_ROOT) >= n)
			return 0;
		strcpy(root, RUNC_ROOT);
	}
	if (readSmall("runtime", buf, sizeof buf) < 0)
		return errno == ENOENT;
	squeeze(buf);
	return buf[0] == 0;
}

/* Protobuf encoding of containerd.task.v2.DeleteResponse {pid = 1,
 * exit_status = 2, exited_at = 3 (google.protobuf.Timestamp {seconds = 1,
 * nanos = 2})}; fields with value 0 are left out, as Go's proto.Marshal
 * does. */
static size_t varint(unsigned char *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

static size_t field(unsigned char *p, int num, uint64_t v)
{
	if (v == 0)
		return 0;
	size_t n = varint(p, (uint64_t)num << 3);
	return n + varint(p + n, v);
}

/* deleted prints the result of the delete of a task that is gone. */
static int deleted(void)
{
	char buf[32];
	uint64_t pid = 0;
	if (readSmall("init.pid", buf, sizeof buf) > 0)
		pid = strtoull(buf, NULL, 10);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	unsigned char ts[32], out[64];
	size_t tn = field(ts, 1, (uint64_t)now.tv_sec);
	tn += field(ts + tn, 2, (uint64_t)now.tv_nsec);
	size_t n = field(out, 1, pid);
	n += field(out + n, 2, 128 + 9);
	out[n++] = (3 << 3) | 2; /* exited_at, length-delimited */
	n += varint(out + n, tn);
	memcpy(out + n, ts, tn);
	n += tn;
	for (size_t off = 0; off < n;) {
		ssize_t w = write(1, out + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		off += (size_t)w;
	}
	return 0;
}

/* gone reports whether the task of bundle id in namespace ns has nothing left
 * for containerd's shim to clean: see the top of the file. */
static int gone(const char *ns, const char *id)
{
	char root[4096], path[4096 + 512];
	if (!runcRoot(root, sizeof root))
		return 0;
	if (snprintf(path, sizeof path, "%s/%s/%s", root, ns, id) >= (int)sizeof path)
		return 0;
	struct stat st;
	if (lstat(path, &st) == 0 || errno != ENOENT)
		return 0;
	struct stat bundle, rootfs;
	if (stat(".", &bundle) != 0)
		return 0;
	if (stat("rootfs", &rootfs) == 0) {
		if (rootfs.st_dev != bundle.st_dev)
			return 0; /* still mounted */
	} else if (errno != ENOENT) {
		return 0;
	}
	/* The bundle is the task's own (the shim runs in it, named by id). */
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		return 0;
	const char *base = strrchr(cwd, '/');
	return base && strcmp(base + 1, id) == 0;
}

/* flagTakesValue reports whether the shim's flag name (without its dashes)
 * takes a value (pkg/shim/shim.go's parseFlags). */
static int flagTakesValue(const char *name, size_t len)
{
	static const char *const withValue[] = {"namespace", "id", "socket", "debug-socket", "bundle", "address", "publish-binary"};
	for (size_t i = 0; i < sizeof withValue / sizeof withValue[0]; i++)
		if (strlen(withValue[i]) == len && !strncmp(name, withValue[i], len))
			return 1;
	return 0;
}

/* inBundle reports whether the working directory is the directory bundle. */
static int inBundle(const char *bundle)
{
	struct stat b, cwd;
	return stat(bundle, &b) == 0 && stat(".", &cwd) == 0 && b.st_dev == cwd.st_dev && b.st_ino == cwd.st_ino;
}

/* safeName reports whether s names one directory entry. */
static int safeName(const char *s)
{
	return s && *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

int main(int argc, char **argv)
{
	const char *ns = NULL, *id = NULL, *action = NULL, *bundle = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !strcmp(a, "-") || !strcmp(a, "--")) {
			if (action || a[0] == '-')
				return realShim(argv); /* not a form this knows */
			action = a;
			continue;
		}
		a += (a[1] == '-') ? 2 : 1;
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		if (!flagTakesValue(a, len))
			continue; /* a boolean flag: -debug, -v, -info */
		const char *val = eq ? eq + 1 : NULL;
		if (!val) {
			if (i + 1 >= argc)
				return realShim(argv);
			val = argv[++i];
		}
		if (len == 9 && !strncmp(a, "namespace", len))
			ns = val;
		else if (len == 2 && !strncmp(a, "id", len))
			id = val;
		else if (len == 6 && !strncmp(a, "bundle", len))
			bundle = val;
	}
	/* containerd names the bundle with -bundle and runs the action in it;
	 * a -bundle elsewhere than the working directory is left to
	 * containerd's shim. */
	if (action && !strcmp(action, "delete") && (!bundle || inBundle(bundle)) && safeName(ns) && safeName(id) &&
	    gone(ns, id))
		return deleted();
	return realShim(argv);
}
