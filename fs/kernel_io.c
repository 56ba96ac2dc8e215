/*
 * kernel_io.c: plain read and writev on /dev/fuse, with three changes.
 *
 * The reply to FUSE_INIT always carries FUSE_PARALLEL_DIROPS (a kernel
 * without it ignores the bit; see ops_init() for why we want it). libfuse
 * 3.14 (Debian 12) maps every other wanted capability into the reply but
 * not this one, so the kernel serialized all lookups in a folder: 40 first
 * reads of a 200 ms API took 8 s.
 *
 * The INIT request is kept in the handover state, and marked answered once
 * the kernel took our reply. A server that takes over the connection finds
 * it there: the kernel will not send INIT again, so the first read of the
 * new session returns the kept request, libfuse negotiates exactly as the
 * first server did, and its reply is swallowed. Every other reader waits
 * until that is done (libfuse answers EIO to anything before INIT). If the
 * previous server died between reading INIT and answering it, the kernel
 * still waits for the answer: the resend below brings the INIT back, and
 * if a request other than INIT comes first the kernel had got the answer
 * after all, so the kept INIT is replayed before that request.
 *
 * A server taking over first sends FUSE_NOTIFY_RESEND: the kernel puts
 * every request the dead server had read but not answered back in the
 * queue (Linux 6.9 and later; older kernels refuse it with EINVAL, and
 * those requests' readers wait until they are interrupted).
 */
#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ctx.h"
#include "handover.h"
#include "kernel_io.h"
#include "log.h"

/* Not in Debian 12's <linux/fuse.h>: Linux 6.9's notification code. */
#ifndef FUSE_NOTIFY_RESEND
#define FUSE_NOTIFY_RESEND 7
#endif

enum kernel_io_phase {
	KIO_FRESH,		/* the kernel's own INIT is yet to be answered */
	KIO_REPLAY,		/* hand the kept INIT to the first reader */
	KIO_MAYBE_REPLAY,	/* kept INIT perhaps answered: the first request tells */
	KIO_REPLAYING,		/* libfuse is negotiating the kept INIT */
	KIO_DONE,
};

struct kernel_io {
	struct handover *state;
	pthread_mutex_t lock;
	pthread_cond_t done;
	enum kernel_io_phase phase;
	int reader_busy;		/* KIO_MAYBE_REPLAY: one reader asks the kernel */
	uint64_t init_unique;		/* INIT being answered (kernel's or kept) */
	unsigned char init[HANDOVER_INIT_MAX];
	size_t init_len;
	void *stash;			/* a request read before the kept INIT's replay */
	size_t stash_len;
	int stashed;			/* stash is set (read without the lock) */
	int resent;
};

static int
kernel_io_is_init(const void *buf, size_t n, uint64_t *unique)
{
	struct fuse_in_header in;

	if (n < sizeof(in))
		return 0;
	memcpy(&in, buf, sizeof(in));
	*unique = in.unique;
	return in.opcode == FUSE_INIT;
}

/* Hand out the kept INIT (lock held). */
static ssize_t
kernel_io_replay_locked(struct kernel_io *k, void *buf, size_t len)
{
	uint64_t unique = 0;

	if (k->init_len > len)
		return -EINVAL;
	memcpy(buf, k->init, k->init_len);
	(void)kernel_io_is_init(k->init, k->init_len, &unique);
	k->init_unique = unique;
	__atomic_store_n(&k->phase, KIO_REPLAYING, __ATOMIC_RELEASE);
	log_info("taking over the connection: replaying its INIT");
	return (ssize_t)k->init_len;
}

static ssize_t
kernel_io_read(int fd, void *buf, size_t len, void *userdata)
{
	struct kernel_io *k = ((struct cfs_ctx *)userdata)->kio;
	ssize_t n;
	uint64_t unique = 0;

	if (__atomic_load_n(&k->phase, __ATOMIC_ACQUIRE) == KIO_DONE &&
	    !__atomic_load_n(&k->stashed, __ATOMIC_ACQUIRE))
		return read(fd, buf, len);
	pthread_mutex_lock(&k->lock);
	for (;;) {
		if (k->phase == KIO_REPLAY) {
			n = kernel_io_replay_locked(k, buf, len);
			pthread_mutex_unlock(&k->lock);
			return n;
		}
		if (k->phase == KIO_DONE && k->stash != NULL) {
			/* The request that came before the replay, first in line. */
			n = (ssize_t)k->stash_len;
			if ((size_t)n > len) {
				n = -EINVAL;
			} else {
				memcpy(buf, k->stash, (size_t)n);
			}
			free(k->stash);
			k->stash = NULL;
			__atomic_store_n(&k->stashed, 0, __ATOMIC_RELEASE);
			pthread_mutex_unlock(&k->lock);
			return n;
		}
		if (k->phase == KIO_DONE || k->phase == KIO_FRESH)
			break;
		if (k->phase == KIO_MAYBE_REPLAY && !k->reader_busy)
			break;
		pthread_cond_wait(&k->done, &k->lock);
	}
	if (k->phase == KIO_MAYBE_REPLAY)
		k->reader_busy = 1;
	pthread_mutex_unlock(&k->lock);

	n = read(fd, buf, len);
	if (n < 0)
		n = -errno;

	pthread_mutex_lock(&k->lock);
	if (k->phase == KIO_MAYBE_REPLAY) {
		k->reader_busy = 0;
		if (n > 0 && !kernel_io_is_init(buf, (size_t)n, &unique)) {
			/* The kernel is past INIT: replay ours, then this request. */
			k->stash = malloc((size_t)n);
			if (k->stash != NULL) {
				memcpy(k->stash, buf, (size_t)n);
				k->stash_len = (size_t)n;
				__atomic_store_n(&k->stashed, 1, __ATOMIC_RELEASE);
				n = kernel_io_replay_locked(k, buf, len);
			} else {
				n = -ENOMEM;
			}
		} else if (n > 0) {
			/* The kernel's INIT, resent: answer it for real. */
			__atomic_store_n(&k->phase, KIO_FRESH, __ATOMIC_RELEASE);
		}
		pthread_cond_broadcast(&k->done);
	}
	if (n > 0 && k->phase == KIO_FRESH && kernel_io_is_init(buf, (size_t)n, &unique) &&
	    (size_t)n <= sizeof(k->init)) {
		k->init_unique = unique;
		memcpy(k->init, buf, (size_t)n);
		k->init_len = (size_t)n;
		if (k->state != NULL) {
			handover_set_field(k->state, HANDOVER_INIT_ANSWERED, 0);
			(void)handover_set_init(k->state, buf, (size_t)n);
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (n < 0) {
		errno = (int)-n;
		return -1;
	}
	return n;
}

static size_t
kernel_io_iov_len(const struct iovec *iov, int count)
{
	size_t total = 0;
	int i;

	for (i = 0; i < count; i++)
		total += iov[i].iov_len;
	return total;
}

static ssize_t
kernel_io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct kernel_io *k = ((struct cfs_ctx *)userdata)->kio;
	struct fuse_out_header out;
	struct fuse_init_out init;
	enum kernel_io_phase phase;
	ssize_t n;

	phase = __atomic_load_n(&k->phase, __ATOMIC_ACQUIRE);
	if (phase == KIO_DONE || count < 1 || iov[0].iov_len < sizeof(out))
		return writev(fd, iov, count);
	memcpy(&out, iov[0].iov_base, sizeof(out));
	pthread_mutex_lock(&k->lock);
	if (out.unique == 0 || out.unique != k->init_unique || (k->phase != KIO_FRESH &&
	    k->phase != KIO_REPLAYING)) {
		pthread_mutex_unlock(&k->lock);
		return writev(fd, iov, count);
	}
	if (k->phase == KIO_REPLAYING) {
		/* The kernel negotiated with the first server; it wants no reply. */
		__atomic_store_n(&k->phase, KIO_DONE, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&k->done);
		pthread_mutex_unlock(&k->lock);
		if (out.error != 0)
			log_warnx("the replayed INIT failed (error %d)", out.error);
		return (ssize_t)kernel_io_iov_len(iov, count);
	}
	if (out.error == 0 && count >= 2 &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, max_write)) {
		size_t l = iov[1].iov_len < sizeof(init) ? iov[1].iov_len : sizeof(init);

		memcpy(&init, iov[1].iov_base, l);
		init.flags |= FUSE_PARALLEL_DIROPS;
		memcpy(iov[1].iov_base, &init, l);
	}
	n = writev(fd, iov, count);
	if (n >= 0 && out.error == 0 && k->state != NULL)
		handover_set_field(k->state, HANDOVER_INIT_ANSWERED, 1);
	__atomic_store_n(&k->phase, KIO_DONE, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&k->done);
	pthread_mutex_unlock(&k->lock);
	return n;
}

static void
kernel_io_resend(struct kernel_io *k, int fd)
{
	struct fuse_out_header out = {
		.len = sizeof(out),
		.error = FUSE_NOTIFY_RESEND,
		.unique = 0,
	};

	if (write(fd, &out, sizeof(out)) == (ssize_t)sizeof(out)) {
		k->resent = 1;
		return;
	}
	if (errno == EINVAL || errno == ENOSYS)
		log_warnx("the kernel cannot resend requests (FUSE_NOTIFY_RESEND needs "
		    "Linux 6.9): reads the previous server had taken wait until interrupted");
	else
		log_warn("FUSE_NOTIFY_RESEND");
}

int
kernel_io_install(struct cfs_ctx *ctx, int fd, struct handover *state, int takeover)
{
	static const struct fuse_custom_io io = {
		.read = kernel_io_read,
		.writev = kernel_io_writev,
	};
	struct kernel_io *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -1;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->done, NULL);
	k->state = state;
	__atomic_store_n(&k->phase, KIO_FRESH, __ATOMIC_RELEASE);
	if (takeover && state != NULL) {
		k->init_len = handover_init(state, k->init, sizeof(k->init));
		if (k->init_len > 0)
			k->phase = handover_field(state, HANDOVER_INIT_ANSWERED) ?
			    KIO_REPLAY : KIO_MAYBE_REPLAY;
	}
	/* Before any read: what the dead server held goes back in the queue. */
	if (takeover)
		kernel_io_resend(k, fd);
	/* libfuse hands the hooks the session's userdata: the ctx. */
	ctx->kio = k;
	if (fuse_session_custom_io(ctx->se, &io, fd) != 0) {
		ctx->kio = NULL;
		kernel_io_free(&k);
		return -1;
	}
	return 0;
}

int
kernel_io_resent(const struct kernel_io *k)
{
	return k != NULL && k->resent;
}

void
kernel_io_free(struct kernel_io **kp)
{
	struct kernel_io *k;

	if (kp == NULL || *kp == NULL)
		return;
	k = *kp;
	*kp = NULL;
	free(k->stash);
	pthread_cond_destroy(&k->done);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
