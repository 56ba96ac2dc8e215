/*
 * kernel_io.c: plain read and writev on /dev/fuse, with one change: the
 * reply to FUSE_INIT always carries FUSE_PARALLEL_DIROPS (a kernel without
 * it ignores the bit; see ops_init() for why we want it). libfuse 3.14 (Debian 12) maps every other wanted
 * capability into the reply but not this one, so the kernel serializes all
 * lookups in a folder: one slow connector (or a stranger's made-up names)
 * held up every other first read in the root, 40 first reads of a 200 ms
 * API took 8 s. Later libfuse versions send the flag; setting it again is
 * harmless. Everything else passes through untouched.
 */
#include <linux/fuse.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ctx.h"
#include "kernel_io.h"

static ssize_t
kernel_io_read(int fd, void *buf, size_t len, void *userdata)
{
	struct cfs_ctx *ctx = userdata;
	ssize_t n = read(fd, buf, len);

	/* Only the first request is INIT; after its reply, nothing is looked at. */
	if (n >= (ssize_t)sizeof(struct fuse_in_header) &&
	    !__atomic_load_n(&ctx->init_replied, __ATOMIC_ACQUIRE)) {
		struct fuse_in_header in;

		memcpy(&in, buf, sizeof(in));
		if (in.opcode == FUSE_INIT)
			__atomic_store_n(&ctx->init_unique, in.unique, __ATOMIC_RELEASE);
	}
	return n;
}

static ssize_t
kernel_io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct cfs_ctx *ctx = userdata;
	struct fuse_out_header out;
	struct fuse_init_out init;
	uint64_t unique;

	unique = __atomic_load_n(&ctx->init_unique, __ATOMIC_ACQUIRE);
	if (unique != 0 && count >= 2 && iov[0].iov_len >= sizeof(out) &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, max_write)) {
		memcpy(&out, iov[0].iov_base, sizeof(out));
		if (out.unique == unique && out.error == 0) {
			memcpy(&init, iov[1].iov_base,
			    iov[1].iov_len < sizeof(init) ? iov[1].iov_len : sizeof(init));
			init.flags |= FUSE_PARALLEL_DIROPS;
			memcpy(iov[1].iov_base, &init,
			    iov[1].iov_len < sizeof(init) ? iov[1].iov_len : sizeof(init));
		}
		if (out.unique == unique) {
			__atomic_store_n(&ctx->init_unique, 0, __ATOMIC_RELEASE);
			__atomic_store_n(&ctx->init_replied, 1, __ATOMIC_RELEASE);
		}
	}
	return writev(fd, iov, count);
}

int
kernel_io_install(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = kernel_io_read,
		.writev = kernel_io_writev,
	};

	return fuse_session_custom_io(se, &io, fuse_session_fd(se)) == 0 ? 0 : -1;
}
