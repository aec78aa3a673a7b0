/*
 * tests/emu/emu_exec.cc — runs one kernel launch of the CUDA emulator: the
 * blocks one after another, the threads of a block as fibers (own x86-64
 * stack switch: callee-saved registers and the stack pointer, no signal
 * mask syscall), barriers and warp collectives as emu.h describes.
 */
#include "emu_internal.h"

#include <cuda_fp16.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <vector>

#if !defined(__x86_64__)
#error "the CUDA emulator's fibers are written for x86-64"
#endif

extern "C" void emu_swap(void **save, void *next);
extern "C" void emu_fiber_entry();

/* emu_swap: pushes the callee-saved registers, stores the stack pointer in
 * *save, switches to next and pops the other side's. emu_fiber_entry is
 * where a new fiber's first switch returns to: it calls r13(r12). */
asm(R"(
    .text
    .globl emu_swap
    .type emu_swap, @function
emu_swap:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_swap, .-emu_swap
    .globl emu_fiber_entry
    .type emu_fiber_entry, @function
emu_fiber_entry:
    movq %r12, %rdi
    callq *%r13
    ud2
    .size emu_fiber_entry, .-emu_fiber_entry
)");

namespace emu {

thread_local const thread_ids *cur;

namespace {

enum { T_RUN, T_BLOCK, T_WARP, T_DONE };

struct cp_pending {
    void *dst;
    const void *src;
    int bytes;
    long group;
};

struct fthread {
    thread_ids ids;
    void *sp;
    char *stack_lo;
    int state;
    int bar_op, bar_pred, bar_out;
    warp_resolve wres;
    void *wpayload;
    std::vector<cp_pending> cp;
    long cp_committed; /* groups committed so far */
};

constexpr size_t STACK_BYTES = 256 << 10;
constexpr size_t GUARD_BYTES = 4096;
constexpr int MAX_THREADS = 1024;

struct block_run {
    fthread th[MAX_THREADS];
    int n;
    closure *body;
    void *sched_sp;
    const char *name;
    bool failed;
    char why[512];
    char *smem;
    size_t smem_bytes;
};

block_run *g_run;
fthread *g_thread;
char *g_stacks;

void fail(const char *fmt, ...)
{
    va_list ap;

    if (g_run->failed)
        return;
    g_run->failed = true;
    va_start(ap, fmt);
    vsnprintf(g_run->why, sizeof g_run->why, fmt, ap);
    va_end(ap);
}

void fiber_main(fthread *t)
{
    g_run->body->run();
    t->state = T_DONE;
    t->cp.clear();
    emu_swap(&t->sp, g_run->sched_sp);
    abort(); /* an ended fiber is never resumed */
}

void fiber_init(fthread *t)
{
    uintptr_t top = ((uintptr_t)t->stack_lo + STACK_BYTES) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - 56); /* 8 mod 16: aligned after the ret */

    sp[0] = 0;                               /* r15 */
    sp[1] = 0;                               /* r14 */
    sp[2] = (uint64_t)(uintptr_t)fiber_main; /* r13: the function */
    sp[3] = (uint64_t)(uintptr_t)t;          /* r12: its argument */
    sp[4] = 0;                               /* rbx */
    sp[5] = 0;                               /* rbp */
    sp[6] = (uint64_t)(uintptr_t)emu_fiber_entry;
    t->sp = sp;
}

bool stacks_ready()
{
    if (g_stacks)
        return true;
    size_t per = STACK_BYTES + GUARD_BYTES;
    void *m = mmap(NULL, per * MAX_THREADS, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (m == MAP_FAILED)
        return false;
    g_stacks = (char *)m;
    for (int i = 0; i < MAX_THREADS; i++)
        mprotect(g_stacks + i * per, GUARD_BYTES, PROT_NONE); /* overflow faults */
    return true;
}

void resume(fthread *t)
{
    g_thread = t;
    cur = &t->ids;
    emu_swap(&g_run->sched_sp, t->sp);
    g_thread = NULL;
    cur = NULL;
}

void park()
{
    emu_swap(&g_thread->sp, g_run->sched_sp);
}

/* The order a pass visits the threads in (EMU_SCHEDULE). */
void visit_order(std::vector<int> &order, int n, unsigned *seed)
{
    static const char *mode = getenv("EMU_SCHEDULE");

    order.resize(n);
    for (int i = 0; i < n; i++)
        order[i] = i;
    if (mode && !strcmp(mode, "rev")) {
        for (int i = 0; i < n; i++)
            order[i] = n - 1 - i;
    } else if (mode && !strcmp(mode, "shuffle")) {
        for (int i = n - 1; i > 0; i--) {
            *seed = *seed * 1103515245u + 12345u;
            int j = (int)((*seed >> 8) % (unsigned)(i + 1));
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
    }
}

/* Releases the warps whose live lanes all wait at one collective. */
bool resolve_warps(block_run *r)
{
    bool any = false;

    for (int w0 = 0; w0 < r->n && !r->failed; w0 += 32) {
        void *pay[32] = { 0 };
        unsigned live = 0;
        bool all = true;
        warp_resolve res = NULL;
        int lanes = r->n - w0 < 32 ? r->n - w0 : 32;

        for (int l = 0; l < lanes; l++) {
            fthread *t = &r->th[w0 + l];

            if (t->state == T_DONE)
                continue;
            live |= 1u << l;
            if (t->state != T_WARP) {
                all = false;
                continue;
            }
            if (res && res != t->wres) {
                fail("warp %d: lanes wait at different warp operations", w0 / 32);
                return false;
            }
            res = t->wres;
            pay[l] = t->wpayload;
        }
        if (!live || !res)
            continue;
        if (!all) {
            fail("warp %d: some lanes wait at a warp operation, others at __syncthreads "
                 "(divergent warp collective)",
                 w0 / 32);
            return false;
        }
        res(pay, live);
        for (int l = 0; l < lanes; l++)
            if (r->th[w0 + l].state == T_WARP)
                r->th[w0 + l].state = T_RUN;
        any = true;
    }
    return any;
}

/* Releases the block barrier when every live thread waits at it. */
bool resolve_block(block_run *r)
{
    int op = -1, count = 0, live = 0;

    for (int i = 0; i < r->n; i++) {
        fthread *t = &r->th[i];

        if (t->state == T_DONE)
            continue;
        live++;
        if (t->state != T_BLOCK) {
            fail("thread %d neither ended nor waits at __syncthreads while others do", i);
            return false;
        }
        if (op >= 0 && op != t->bar_op) {
            fail("threads wait at different __syncthreads variants");
            return false;
        }
        op = t->bar_op;
        count += t->bar_pred != 0;
    }
    if (!live)
        return false;
    int out = op == 1 ? count > 0 : op == 2 ? count == live : op == 3 ? count : 0;
    for (int i = 0; i < r->n; i++)
        if (r->th[i].state == T_BLOCK) {
            r->th[i].state = T_RUN;
            r->th[i].bar_out = out;
        }
    return true;
}

bool run_block(block_run *r, const cfg &c, uint3 bid, unsigned *seed)
{
    std::vector<int> order;
    int i = 0;

    for (unsigned z = 0; z < c.block.z; z++)
        for (unsigned y = 0; y < c.block.y; y++)
            for (unsigned x = 0; x < c.block.x; x++, i++) {
                fthread *t = &r->th[i];

                t->ids.tid = make_uint3(x, y, z);
                t->ids.bid = bid;
                t->ids.bdim = c.block;
                t->ids.gdim = c.grid;
                t->state = T_RUN;
                t->cp.clear();
                t->cp_committed = 0;
                fiber_init(t);
            }
    if (r->smem_bytes)
        memset(r->smem, 0xff, r->smem_bytes);
    for (;;) {
        visit_order(order, r->n, seed);
        for (int k : order)
            if (r->th[k].state == T_RUN)
                resume(&r->th[k]);
        if (r->failed)
            return false;
        if (resolve_warps(r))
            continue;
        if (r->failed)
            return false;
        if (!resolve_block(r))
            return !r->failed;
    }
}

} /* namespace */

void *dyn_smem()
{
    return g_run ? g_run->smem : NULL;
}

const char *running_kernel()
{
    return g_run ? g_run->name : "";
}

int block_barrier(int op, int pred)
{
    g_thread->state = T_BLOCK;
    g_thread->bar_op = op;
    g_thread->bar_pred = pred;
    park();
    return g_thread->bar_out;
}

void warp_collective(warp_resolve resolve, void *payload)
{
    g_thread->state = T_WARP;
    g_thread->wres = resolve;
    g_thread->wpayload = payload;
    park();
}

void sync_resolve(void **payloads, unsigned live)
{
    for (int l = 0; l < 32; l++)
        if (payloads[l] && (*(unsigned *)payloads[l] & live) != *(unsigned *)payloads[l])
            fail("__syncwarp: lane %d names lanes that have ended", l);
}

void shfl_resolve(void **payloads, unsigned live)
{
    for (int l = 0; l < 32; l++) {
        shfl_payload *p = (shfl_payload *)payloads[l];

        if (!p)
            continue;
        if ((p->mask & live) != p->mask || !(p->mask & (1u << l))) {
            fail("shuffle: lane %d's mask 0x%08x names lanes that have ended or "
                 "excludes itself (live 0x%08x)",
                 l, p->mask, live);
            return;
        }
        int w = p->width, base = l & ~(w - 1), src = l;

        if (w <= 0 || w > 32 || (w & (w - 1))) {
            fail("shuffle: width %d is not a power of two up to 32", w);
            return;
        }
        switch (p->kind) {
        case 0: src = base + (p->arg & (w - 1)); break;
        case 1: src = l - base >= p->arg ? l - p->arg : l; break;
        case 2: src = l - base + p->arg < w ? l + p->arg : l; break;
        default: src = (l ^ p->arg) < base + w ? l ^ p->arg : l; break;
        }
        if (!payloads[src] || !(p->mask & (1u << src))) {
            fail("shuffle: lane %d reads lane %d, which %s", l, src,
                 payloads[src] ? "is not in its mask" : "has ended or does not exist");
            return;
        }
        p->out = ((shfl_payload *)payloads[src])->v;
    }
}

void vote_resolve(void **payloads, unsigned live)
{
    unsigned ballot = 0;

    for (int l = 0; l < 32; l++)
        if (payloads[l] && ((vote_payload *)payloads[l])->pred)
            ballot |= 1u << l;
    for (int l = 0; l < 32; l++) {
        vote_payload *p = (vote_payload *)payloads[l];

        if (!p)
            continue;
        if ((p->mask & live) != p->mask)
            fail("vote: lane %d's mask 0x%08x names lanes that have ended", l, p->mask);
        p->out = ballot & p->mask;
        p->live = live;
    }
}

/* ---- cp.async ------------------------------------------------------------ */

void cp_async16(void *dst, const void *src, int src_bytes)
{
    if (src_bytes < 0 || src_bytes > 16 || ((uintptr_t)dst & 15) ||
        (src_bytes && ((uintptr_t)src & 15))) {
        fail("cp.async: 16-byte copy %p <- %p (%d bytes) misaligned or oversized", dst, src,
             src_bytes);
        return;
    }
    g_thread->cp.push_back({ dst, src, src_bytes, g_thread->cp_committed });
}

void cp_commit()
{
    g_thread->cp_committed++;
}

void cp_wait(int n)
{
    std::vector<cp_pending> &v = g_thread->cp;
    size_t keep = 0;

    for (size_t i = 0; i < v.size(); i++) {
        cp_pending p = v[i];

        if (p.group < g_thread->cp_committed - n) {
            memset(p.dst, 0, 16);
            if (p.bytes)
                memcpy(p.dst, p.src, (size_t)p.bytes);
        } else {
            v[keep++] = p;
        }
    }
    v.resize(keep);
}

/* ---- mma ----------------------------------------------------------------- */

namespace {

struct mma_payload {
    float *c;
    const uint32_t *a;
    uint32_t b0, b1;
    bool bf16;
};

float half_bits(uint32_t h, bool bf16)
{
    h &= 0xffff;
    if (bf16)
        return __uint_as_float(h << 16);
    __half_raw r;
    r.x = (unsigned short)h;
    return __half2float(__half(r));
}

/* Element (k) of a register pair: the low half first. */
float lo_hi(uint32_t w, int hi, bool bf16)
{
    return half_bits(hi ? w >> 16 : w, bf16);
}

void mma_resolve(void **payloads, unsigned live)
{
    float A[16][16], B[16][8], C[16][8];

    if (live != 0xffffffffu) {
        fail("mma.sync: every lane of the warp must take part (live 0x%08x)", live);
        return;
    }
    bool bf16 = ((mma_payload *)payloads[0])->bf16;
    for (int l = 0; l < 32; l++) {
        mma_payload *p = (mma_payload *)payloads[l];
        int g = l >> 2, t = l & 3;

        for (int h = 0; h < 2; h++) {
            A[g][2 * t + h] = lo_hi(p->a[0], h, bf16);
            A[g + 8][2 * t + h] = lo_hi(p->a[1], h, bf16);
            A[g][2 * t + 8 + h] = lo_hi(p->a[2], h, bf16);
            A[g + 8][2 * t + 8 + h] = lo_hi(p->a[3], h, bf16);
            B[2 * t + h][g] = lo_hi(p->b0, h, bf16);
            B[2 * t + 8 + h][g] = lo_hi(p->b1, h, bf16);
            C[g][2 * t + h] = p->c[h];
            C[g + 8][2 * t + h] = p->c[2 + h];
        }
    }
    for (int l = 0; l < 32; l++) {
        mma_payload *p = (mma_payload *)payloads[l];
        int g = l >> 2, t = l & 3;

        for (int i = 0; i < 4; i++) {
            int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
            double s = 0.0;

            for (int k = 0; k < 16; k++)
                s += (double)A[row][k] * (double)B[k][col];
            p->c[i] = (float)(s + (double)C[row][col]);
        }
    }
}

} /* namespace */

void mma_m16n8k16(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1, bool bf16)
{
    mma_payload p = { c, a, b0, b1, bf16 };

    warp_collective(mma_resolve, &p);
}

/* ---- the grid ------------------------------------------------------------- */

bool exec_grid(const cfg &c, const char *name, closure *body, size_t dyn_bytes, char *why,
               size_t whylen)
{
    static block_run *run;
    static std::vector<char> smem;
    unsigned seed = 12345u;

    if (!stacks_ready() || (!run && !(run = new block_run()))) {
        snprintf(why, whylen, "cannot reserve the emulator's fiber stacks");
        return false;
    }
    int n = (int)(c.block.x * c.block.y * c.block.z);
    size_t per = STACK_BYTES + GUARD_BYTES;

    for (int i = 0; i < n; i++)
        run->th[i].stack_lo = g_stacks + i * per + GUARD_BYTES;
    smem.assign(dyn_bytes + 16, 0);
    run->n = n;
    run->body = body;
    run->name = name;
    run->failed = false;
    run->why[0] = 0;
    run->smem = (char *)(((uintptr_t)smem.data() + 15) & ~(uintptr_t)15);
    run->smem_bytes = dyn_bytes;
    g_run = run;
    mem_open();
    bool ok = true;
    for (unsigned z = 0; z < c.grid.z && ok; z++)
        for (unsigned y = 0; y < c.grid.y && ok; y++)
            for (unsigned x = 0; x < c.grid.x && ok; x++)
                if (!run_block(run, c, make_uint3(x, y, z), &seed)) {
                    snprintf(why, whylen, "%s, block (%u, %u, %u): %s", name, x, y, z,
                             run->why);
                    ok = false;
                }
    mem_close();
    g_run = NULL;
    return ok;
}

cudaError_t check_config(const cfg &c, const void *kernel, char *why, size_t whylen)
{
    unsigned long long threads = (unsigned long long)c.block.x * c.block.y * c.block.z;

    if (!threads || threads > 1024 || c.block.x > 1024 || c.block.y > 1024 || c.block.z > 64) {
        snprintf(why, whylen, "block (%u, %u, %u) is not 1 to 1024 threads", c.block.x,
                 c.block.y, c.block.z);
        return cudaErrorInvalidConfiguration;
    }
    if (!c.grid.x || !c.grid.y || !c.grid.z || c.grid.x > 2147483647u || c.grid.y > 65535 ||
        c.grid.z > 65535) {
        snprintf(why, whylen, "grid (%u, %u, %u) out of range", c.grid.x, c.grid.y, c.grid.z);
        return cudaErrorInvalidConfiguration;
    }
    (void)kernel;
    return cudaSuccess;
}

} /* namespace emu */
