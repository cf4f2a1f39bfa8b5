// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_TYPE_IO_CHAIN: what the verifier accepts and refuses, and
 * BPF_PROG_TEST_RUN on a caller-supplied block and scratch area.
 *
 * Programs are raw instructions, so the test needs neither clang nor BTF.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>

#include "kselftest_harness.h"

#define CTX(f)	offsetof(struct bpf_io_chain, f)

static char log_buf[65536];

static int prog_load_attach(const struct bpf_insn *insns, size_t cnt,
			    __u32 attach_type)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_IO_CHAIN;
	attr.expected_attach_type = attach_type;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = cnt;
	attr.license = (uintptr_t)"GPL";
	attr.log_buf = (uintptr_t)log_buf;
	attr.log_size = sizeof(log_buf);
	attr.log_level = 1;
	log_buf[0] = 0;
	return syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

/* SKIP unless the kernel knows the type and lets us load programs. */
static const char *io_chain_unavailable(void)
{
	const struct bpf_insn ok[] = {
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
	};
	int fd = prog_load_attach(ok, ARRAY_SIZE(ok), 0);

	if (fd >= 0) {
		close(fd);
		return NULL;
	}
	if (errno == EPERM)
		return "loading IO_CHAIN programs needs CAP_BPF";
	if (errno == EINVAL && !log_buf[0])
		return "kernel lacks BPF_PROG_TYPE_IO_CHAIN";
	return "BPF_PROG_LOAD failed unexpectedly";
}

/* Loading must fail with @err and a verifier log containing @msg. */
static void expect_reject(struct __test_metadata *_metadata,
			  const struct bpf_insn *insns, size_t cnt, int err,
			  const char *msg)
{
	int fd = prog_load_attach(insns, cnt, 0);

	EXPECT_EQ(-1, fd);
	if (fd >= 0) {
		close(fd);
		return;
	}
	EXPECT_EQ(err, errno);
	EXPECT_NE(NULL, strstr(log_buf, msg))
		TH_LOG("log: %s", log_buf);
}

static void expect_accept(struct __test_metadata *_metadata,
			  const struct bpf_insn *insns, size_t cnt)
{
	int fd = prog_load_attach(insns, cnt, 0);

	EXPECT_LE(0, fd)
		TH_LOG("errno %d, log: %s", errno, log_buf);
	if (fd >= 0)
		close(fd);
}

/* Every test of the type needs it, and the right to load programs. */
FIXTURE(prog) {
	int unused;
};

FIXTURE_SETUP(prog)
{
	const char *why = io_chain_unavailable();

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(prog)
{
}

TEST_F(prog, accepts_done)
{
	const struct bpf_insn insns[] = {
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
	};

	expect_accept(_metadata, insns, ARRAY_SIZE(insns));
}

TEST_F(prog, accepts_block_walk)
{
	/* next_offset = *(u64 *)data; result = hop; return NEXT */
	const struct bpf_insn insns[] = {
		/* r2 = data, r3 = data_end; fewer than 8 bytes: DONE */
		BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, CTX(data)),
		BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, CTX(data_end)),
		BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
		BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 8),
		BPF_JMP_REG(BPF_JLE, BPF_REG_4, BPF_REG_3, 2),
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
		BPF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_2, 0),
		BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_5, CTX(next_offset)),
		BPF_LDX_MEM(BPF_W, BPF_REG_5, BPF_REG_1, CTX(hop)),
		BPF_STX_MEM(BPF_W, BPF_REG_1, BPF_REG_5, CTX(result)),
		BPF_ST_MEM(BPF_W, BPF_REG_1, CTX(result), 7),
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_NEXT),
		BPF_EXIT_INSN(),
	};

	expect_accept(_metadata, insns, ARRAY_SIZE(insns));
}

TEST_F(prog, accepts_scratch_variable_offset)
{
	/* scratch[(data[0] & 0x1f8)] = 1, the last u64 at most */
	const struct bpf_insn insns[] = {
		/* r2 = data, r3 = data_end; fewer than 8 bytes: DONE */
		BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, CTX(data)),
		BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, CTX(data_end)),
		BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
		BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 8),
		BPF_JMP_REG(BPF_JLE, BPF_REG_4, BPF_REG_3, 2),
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
		BPF_LDX_MEM(BPF_W, BPF_REG_5, BPF_REG_2, 0),
		BPF_ALU64_IMM(BPF_AND, BPF_REG_5, BPF_IO_CHAIN_SCRATCH_SIZE - 8),
		BPF_LDX_MEM(BPF_W, BPF_REG_6, BPF_REG_1, CTX(scratch)),
		BPF_ALU64_REG(BPF_ADD, BPF_REG_6, BPF_REG_5),
		BPF_ST_MEM(BPF_DW, BPF_REG_6, 0, 1),
		BPF_MOV64_IMM(BPF_REG_0, -ENOENT),
		BPF_EXIT_INSN(),
	};

	expect_accept(_metadata, insns, ARRAY_SIZE(insns));
}

TEST_F(prog, accepts_32bit_errno)
{
	/* what clang makes of "return -ENOENT" in an int function */
	const struct bpf_insn insns[] = {
		BPF_MOV32_IMM(BPF_REG_0, -ENOENT),
		BPF_EXIT_INSN(),
	};

	expect_accept(_metadata, insns, ARRAY_SIZE(insns));
}

TEST_F(prog, rejects_write_to_data)
{
	const struct bpf_insn insns[] = {
		/* r2 = data, r3 = data_end; fewer than 8 bytes: DONE */
		BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, CTX(data)),
		BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, CTX(data_end)),
		BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
		BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 8),
		BPF_JMP_REG(BPF_JLE, BPF_REG_4, BPF_REG_3, 2),
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
		BPF_ST_MEM(BPF_B, BPF_REG_2, 0, 1),
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
	};

	expect_reject(_metadata, insns, ARRAY_SIZE(insns), EACCES,
		      "cannot write into packet");
}

TEST_F(prog, rejects_read_past_data_end)
{
	/* checks 8 bytes, reads the 9th */
	const struct bpf_insn insns[] = {
		/* r2 = data, r3 = data_end; fewer than 8 bytes: DONE */
		BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, CTX(data)),
		BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, CTX(data_end)),
		BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
		BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 8),
		BPF_JMP_REG(BPF_JLE, BPF_REG_4, BPF_REG_3, 2),
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
		BPF_LDX_MEM(BPF_B, BPF_REG_5, BPF_REG_2, 8),
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
	};

	expect_reject(_metadata, insns, ARRAY_SIZE(insns), EACCES,
		      "invalid access to packet");
}

TEST_F(prog, rejects_unchecked_read)
{
	const struct bpf_insn insns[] = {
		BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, CTX(data)),
		BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_2, 0),
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
	};

	expect_reject(_metadata, insns, ARRAY_SIZE(insns), EACCES,
		      "invalid access to packet");
}

TEST_F(prog, rejects_write_to_read_only_fields)
{
	static const short ro[] = { CTX(data), CTX(data_end), CTX(scratch),
				    CTX(len), CTX(hop), CTX(scratch_len) };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ro); i++) {
		const struct bpf_insn insns[] = {
			BPF_MOV64_IMM(BPF_REG_2, 0),
			BPF_STX_MEM(BPF_W, BPF_REG_1, BPF_REG_2, ro[i]),
			BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
			BPF_EXIT_INSN(),
		};

		expect_reject(_metadata, insns, ARRAY_SIZE(insns), EACCES,
			      "invalid bpf_context access");
	}
	{
		const struct bpf_insn insns[] = {
			BPF_MOV64_IMM(BPF_REG_2, 0),
			BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_2, CTX(offset)),
			BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
			BPF_EXIT_INSN(),
		};

		expect_reject(_metadata, insns, ARRAY_SIZE(insns), EACCES,
			      "invalid bpf_context access");
	}
}

TEST_F(prog, rejects_bad_ctx_reads)
{
	/* narrow pointer, narrow u64, the padding, past the end */
	const struct { int size; short off; } bad[] = {
		{ BPF_H, CTX(data) }, { BPF_W, CTX(offset) },
		{ BPF_W, CTX(result) + 4 }, { BPF_W, sizeof(struct bpf_io_chain) },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		const struct bpf_insn insns[] = {
			BPF_LDX_MEM(bad[i].size, BPF_REG_2, BPF_REG_1, bad[i].off),
			BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
			BPF_EXIT_INSN(),
		};

		expect_reject(_metadata, insns, ARRAY_SIZE(insns), EACCES,
			      "invalid bpf_context access");
	}
}

TEST_F(prog, rejects_scratch_overflow)
{
	const struct bpf_insn insns[] = {
		BPF_LDX_MEM(BPF_W, BPF_REG_6, BPF_REG_1, CTX(scratch)),
		BPF_ST_MEM(BPF_DW, BPF_REG_6, BPF_IO_CHAIN_SCRATCH_SIZE - 4, 1),
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
	};

	expect_reject(_metadata, insns, ARRAY_SIZE(insns), EACCES,
		      "invalid access to memory");
}

TEST_F(prog, rejects_infinite_loop)
{
	const struct bpf_insn insns[] = {
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, BPF_IO_CHAIN_DONE, -1),
		BPF_EXIT_INSN(),
	};

	expect_reject(_metadata, insns, ARRAY_SIZE(insns), EINVAL,
		      "infinite loop detected");
}

TEST_F(prog, rejects_bad_return_codes)
{
	static const int bad[] = { BPF_IO_CHAIN_NEXT + 1, -4096, 1000 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		const struct bpf_insn insns[] = {
			BPF_MOV64_IMM(BPF_REG_0, bad[i]),
			BPF_EXIT_INSN(),
		};

		expect_reject(_metadata, insns, ARRAY_SIZE(insns), EINVAL,
			      "should have been in [-4095, 1]");
	}
}

TEST_F(prog, rejects_attach_type)
{
	const struct bpf_insn insns[] = {
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
	};

	EXPECT_EQ(-1, prog_load_attach(insns, ARRAY_SIZE(insns), BPF_XDP));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(prog, rejects_packet_helpers)
{
	/* bpf_skb_load_bytes() is not an IO_CHAIN helper */
	const struct bpf_insn insns[] = {
		BPF_EMIT_CALL(BPF_FUNC_skb_load_bytes),
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
	};

	expect_reject(_metadata, insns, ARRAY_SIZE(insns), EINVAL,
		      "program of this type cannot use helper");
}

TEST_F(prog, unprivileged_load_is_refused)
{
	const struct bpf_insn insns[] = {
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
	};
	int status;
	pid_t pid;

	if (getuid() != 0)
		SKIP(return, "needs root to drop privileges");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* nobody, without any capability */
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		if (prog_load_attach(insns, ARRAY_SIZE(insns), 0) == -1 && errno == EPERM)
			_exit(0);
		_exit(1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* BPF_PROG_TEST_RUN */

struct test_run {
	struct bpf_io_chain ctx_out;
	__u32 retval;
	__u32 data_size_out;
	unsigned char data_out[4096 + BPF_IO_CHAIN_SCRATCH_SIZE];
};

static int test_run(int prog, const void *data, __u32 size,
		    const struct bpf_io_chain *ctx, struct test_run *out)
{
	union bpf_attr attr;
	int ret;

	memset(&attr, 0, sizeof(attr));
	memset(out, 0, sizeof(*out));
	attr.test.prog_fd = prog;
	attr.test.data_in = (uintptr_t)data;
	attr.test.data_size_in = size;
	attr.test.data_out = (uintptr_t)out->data_out;
	attr.test.data_size_out = sizeof(out->data_out);
	if (ctx) {
		attr.test.ctx_in = (uintptr_t)ctx;
		attr.test.ctx_size_in = sizeof(*ctx);
		attr.test.ctx_out = (uintptr_t)&out->ctx_out;
		attr.test.ctx_size_out = sizeof(out->ctx_out);
	}
	ret = syscall(__NR_bpf, BPF_PROG_TEST_RUN, &attr, sizeof(attr));
	out->retval = attr.test.retval;
	out->data_size_out = attr.test.data_size_out;
	return ret;
}

/*
 * next_offset = offset + *(u64 *)data; scratch[8..15] = scratch[0..7] + 1;
 * result = hop * 10 + scratch_len + len; return NEXT.
 */
static const struct bpf_insn walker[] = {
	/* r2 = data, r3 = data_end; fewer than 8 bytes: DONE */
	BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, CTX(data)),
	BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, CTX(data_end)),
	BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
	BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 8),
	BPF_JMP_REG(BPF_JLE, BPF_REG_4, BPF_REG_3, 2),
	BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
	BPF_EXIT_INSN(),
	BPF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_2, 0),
	BPF_LDX_MEM(BPF_DW, BPF_REG_6, BPF_REG_1, CTX(offset)),
	BPF_ALU64_REG(BPF_ADD, BPF_REG_5, BPF_REG_6),
	BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_5, CTX(next_offset)),
	BPF_LDX_MEM(BPF_W, BPF_REG_6, BPF_REG_1, CTX(scratch)),
	BPF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_6, 0),
	BPF_ALU64_IMM(BPF_ADD, BPF_REG_5, 1),
	BPF_STX_MEM(BPF_DW, BPF_REG_6, BPF_REG_5, 8),
	BPF_LDX_MEM(BPF_W, BPF_REG_5, BPF_REG_1, CTX(hop)),
	BPF_ALU64_IMM(BPF_MUL, BPF_REG_5, 10),
	BPF_LDX_MEM(BPF_W, BPF_REG_6, BPF_REG_1, CTX(scratch_len)),
	BPF_ALU64_REG(BPF_ADD, BPF_REG_5, BPF_REG_6),
	BPF_LDX_MEM(BPF_W, BPF_REG_6, BPF_REG_1, CTX(len)),
	BPF_ALU64_REG(BPF_ADD, BPF_REG_5, BPF_REG_6),
	BPF_STX_MEM(BPF_W, BPF_REG_1, BPF_REG_5, CTX(result)),
	BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_NEXT),
	BPF_EXIT_INSN(),
};

FIXTURE(run) {
	int prog;
	unsigned char in[4096 + 16];
};

FIXTURE_SETUP(run)
{
	const char *why = io_chain_unavailable();

	if (why)
		SKIP(return, "%s", why);
	self->prog = prog_load_attach(walker, ARRAY_SIZE(walker), 0);
	ASSERT_LE(0, self->prog) TH_LOG("log: %s", log_buf);
	memset(self->in, 0xab, sizeof(self->in));
}

FIXTURE_TEARDOWN(run)
{
	if (self->prog > 0)
		close(self->prog);
}

TEST_F(run, block_and_scratch)
{
	struct bpf_io_chain ctx = { .offset = 8192, .hop = 3, .scratch_len = 16 };
	__u64 step = 4096, key = 41, val;
	struct test_run out;

	/* a 512-byte block, then 16 bytes of scratch */
	memcpy(self->in, &step, sizeof(step));
	memcpy(self->in + 512, &key, sizeof(key));
	ASSERT_EQ(0, test_run(self->prog, self->in, 512 + 16, &ctx, &out));
	EXPECT_EQ(BPF_IO_CHAIN_NEXT, out.retval);
	EXPECT_EQ(8192 + 4096, out.ctx_out.next_offset);
	EXPECT_EQ(3 * 10 + 16 + 512, out.ctx_out.result);
	EXPECT_EQ(512, out.ctx_out.len);
	EXPECT_EQ(512 + 16, out.data_size_out);
	memcpy(&val, out.data_out + 512 + 8, sizeof(val));
	EXPECT_EQ(42, val);
	EXPECT_EQ(0, memcmp(out.data_out, self->in, 512));
}

TEST_F(run, page_sized_block)
{
	struct bpf_io_chain ctx = { .scratch_len = 16 };
	struct test_run out;

	ASSERT_EQ(0, test_run(self->prog, self->in, 4096 + 16, &ctx, &out));
	EXPECT_EQ(4096, out.ctx_out.len);
	EXPECT_EQ(BPF_IO_CHAIN_NEXT, out.retval);
}

TEST_F(run, without_ctx)
{
	struct test_run out;

	ASSERT_EQ(0, test_run(self->prog, self->in, 512, NULL, &out));
	EXPECT_EQ(BPF_IO_CHAIN_NEXT, out.retval);
}

TEST_F(run, short_block_ends_chain)
{
	struct test_run out;

	/* the program's bounds check fails on a 4-byte block: DONE */
	ASSERT_EQ(0, test_run(self->prog, self->in, 4, NULL, &out));
	EXPECT_EQ(BPF_IO_CHAIN_DONE, out.retval);
}

TEST_F(run, bad_input)
{
	struct bpf_io_chain ctx;
	struct test_run out;

	memset(&ctx, 0, sizeof(ctx));
	ctx.data = 1;
	EXPECT_EQ(-1, test_run(self->prog, self->in, 512, &ctx, &out));
	EXPECT_EQ(EINVAL, errno);

	memset(&ctx, 0, sizeof(ctx));
	ctx.scratch_len = BPF_IO_CHAIN_SCRATCH_SIZE + 8;
	EXPECT_EQ(-1, test_run(self->prog, self->in, 1024, &ctx, &out));
	EXPECT_EQ(EINVAL, errno);

	memset(&ctx, 0, sizeof(ctx));
	ctx.scratch_len = 16;
	EXPECT_EQ(-1, test_run(self->prog, self->in, 16, &ctx, &out));
	EXPECT_EQ(EINVAL, errno);	/* no block at all */

	EXPECT_EQ(-1, test_run(self->prog, self->in, 4096 + 16, NULL, &out));
	EXPECT_EQ(EINVAL, errno);	/* block larger than a page */

	memset(&ctx, 0, sizeof(ctx));
	ctx.len = 100;
	EXPECT_EQ(-1, test_run(self->prog, self->in, 512, &ctx, &out));
	EXPECT_EQ(EINVAL, errno);	/* len disagrees with data_size_in */
}

TEST_F(prog, test_run_error_return)
{
	const struct bpf_insn insns[] = {
		BPF_MOV64_IMM(BPF_REG_0, -EUCLEAN),
		BPF_EXIT_INSN(),
	};
	unsigned char block[512] = {};
	struct test_run out;
	int fd;

	fd = prog_load_attach(insns, ARRAY_SIZE(insns), 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, test_run(fd, block, sizeof(block), NULL, &out));
	EXPECT_EQ(-EUCLEAN, (int)out.retval);
	close(fd);
}

TEST_HARNESS_MAIN
