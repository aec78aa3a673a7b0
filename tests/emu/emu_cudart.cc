/*
 * tests/emu/emu_cudart.cc — the CUDA runtime API of pictor's CUDA emulator:
 * the functions the CUDA backend and the GPU tests call (declared by the
 * toolkit's cuda_runtime_api.h), for a device that is the host.
 *
 * The emulated device (EMU_SM, default 90: an H100's properties; 89 and 100
 * change only the compute capability) and what is checked:
 *   - device memory lies in one reserved region that host code cannot
 *     touch (PROT_NONE outside kernels and copies; EMU_PROTECT=0 turns that
 *     off): a host read of a device pointer faults, as on a GPU, and the
 *     SIGSEGV handler says so; new and freed allocations are filled with
 *     0xff (NaN in every float format), so uninitialised reads show;
 *   - copies and memsets must lie inside one live allocation;
 *   - launch limits (block size, grid size, dynamic shared memory against
 *     cudaFuncSetAttribute), as cudaGetLastError reports them;
 *   - a kernel's divergence or fault is a sticky cudaErrorLaunchFailure;
 *   - stream capture (thread-local mode) records launches, copies,
 *     memsets, frees and event records; a synchronising call, cudaMalloc
 *     or a synchronous copy on the capturing thread invalidates it;
 *     cudaMallocAsync inside a capture allocates at once and the graph owns
 *     the memory until it is destroyed.
 * Streams are asynchronous as on a GPU: launches, copies, memsets, frees,
 * event records, graph launches and the vendor stand-ins' work wait in
 * their stream's queue until the host waits (cudaStreamSynchronize, an
 * event, cudaDeviceSynchronize, cudaFree/cudaFreeHost, a synchronous copy:
 * the legacy stream's barrier spares cudaStreamNonBlocking streams). A copy
 * from pageable memory takes its source at the call, one into pageable
 * memory returns when done, pinned memory is read and written when the copy
 * runs. So a host read without its wait, or a pinned buffer refilled before
 * its copy ran, shows. Events take the host clock when their record runs.
 * One lock serialises the whole API.
 */
#include "emu_internal.h"

#undef warpSize /* emu.h (and cuda_bf16.h) define it; cudaDeviceProp has the field */

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace emu {

std::recursive_mutex lock;

namespace {

typedef std::lock_guard<std::recursive_mutex> guard;

/* ---- device memory -------------------------------------------------------- */

constexpr size_t REGION = (size_t)64 << 30; /* reserved, not committed */
constexpr size_t ALIGN = 256;
constexpr size_t PAGE = 4096;
constexpr unsigned long long DEVICE_BYTES = 80ull << 30;

char *g_base;
size_t g_top;                      /* bytes of the region handed out so far */
std::map<size_t, size_t> g_free;   /* offset -> bytes, coalesced */
std::map<uintptr_t, size_t> g_live; /* address -> rounded bytes */
std::map<uintptr_t, size_t> g_asked; /* address -> bytes asked for */
unsigned long long g_used, g_high;
int g_open;
bool g_protect = true;
cudaError_t g_sticky = cudaSuccess;
thread_local cudaError_t t_last = cudaSuccess;

void on_segv(int sig, siginfo_t *si, void *uc);

void region_init()
{
    if (g_base)
        return;
    void *m = mmap(NULL, REGION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (m == MAP_FAILED) {
        fprintf(stderr, "CUDA emulator: cannot reserve %zu bytes of address space\n", REGION);
        abort();
    }
    g_base = (char *)m;
    const char *p = getenv("EMU_PROTECT");
    g_protect = !(p && !strcmp(p, "0"));
    if (!g_protect)
        mprotect(g_base, REGION, PROT_READ | PROT_WRITE);

    static char altstack[1 << 16];
    stack_t ss;
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
}

void say(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

void on_segv(int sig, siginfo_t *si, void *uc)
{
    char *a = (char *)si->si_addr;

    (void)sig;
    (void)uc;
    if (g_base && a >= g_base && a < g_base + REGION) {
        if (g_open)
            say("CUDA emulator: a kernel or copy touched device memory past every "
                "allocation (out of bounds)\n");
        else
            say("CUDA emulator: host code touched device memory (a device pointer "
                "dereferenced on the host: this faults on a GPU too)\n");
    } else {
        say("CUDA emulator: segmentation fault");
        if (*running_kernel()) {
            say(" in kernel ");
            say(running_kernel());
        }
        say(" (a fiber stack overflow shows here too)\n");
    }
    /* SA_RESETHAND: returning re-runs the access, which now kills us. */
}

void set_prot(int prot)
{
    if (g_protect && g_top)
        mprotect(g_base, g_top, prot);
}

size_t round_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

/* Returns [off, off + n) to the free list, joined with its neighbours. */
void add_free(size_t off, size_t n)
{
    auto nx = g_free.find(off + n);

    if (nx != g_free.end()) {
        n += nx->second;
        g_free.erase(nx);
    }
    auto pv = g_free.lower_bound(off);
    if (pv != g_free.begin()) {
        --pv;
        if (pv->first + pv->second == off) {
            off = pv->first;
            n += pv->second;
            g_free.erase(pv);
        }
    }
    g_free[off] = n;
}

void *dev_alloc(size_t bytes)
{
    size_t n = round_up(bytes ? bytes : 1, ALIGN), off = (size_t)-1;

    region_init();
    if (g_used + n > DEVICE_BYTES)
        return NULL;
    for (auto it = g_free.begin(); it != g_free.end(); ++it)
        if (it->second >= n) {
            off = it->first;
            size_t rest = it->second - n;
            g_free.erase(it);
            if (rest)
                g_free[off + n] = rest;
            break;
        }
    if (off == (size_t)-1) { /* grow: g_top stays page-aligned */
        size_t top = round_up(g_top + n, PAGE);

        if (top > REGION)
            return NULL;
        if (g_protect && g_open)
            mprotect(g_base + g_top, top - g_top, PROT_READ | PROT_WRITE);
        off = g_top;
        g_top = top;
        if (off + n < top)
            add_free(off + n, top - off - n);
    }
    char *p = g_base + off;
    g_live[(uintptr_t)p] = n;
    g_asked[(uintptr_t)p] = bytes;
    g_used += n;
    if (g_used > g_high)
        g_high = g_used;
    mem_open();
    memset(p, 0xff, n);
    mem_close();
    return p;
}

std::map<uintptr_t, size_t> g_pending; /* freed in stream order, not yet run */

/* counted: the pool's "used" bytes already dropped it (cudaFreeAsync). */
bool dev_free(void *ptr, bool counted = false)
{
    auto it = g_live.find((uintptr_t)ptr);

    if (it == g_live.end())
        return false;
    size_t n = it->second;
    mem_open();
    memset(ptr, 0xff, n);
    mem_close();
    g_live.erase(it);
    g_asked.erase((uintptr_t)ptr);
    if (!counted)
        g_used -= n;
    add_free((size_t)((char *)ptr - g_base), n);
    return true;
}

bool in_region(const void *p)
{
    return g_base && (const char *)p >= g_base && (const char *)p < g_base + REGION;
}

/* [p, p + n) inside one live allocation (as asked for, not rounded). */
bool dev_range_ok(const void *p, size_t n)
{
    auto it = g_asked.upper_bound((uintptr_t)p);

    if (it == g_asked.begin())
        return false;
    --it;
    return (uintptr_t)p + n <= it->first + it->second;
}

/* ---- errors ------------------------------------------------------------------ */

cudaError_t fail(cudaError_t e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
cudaError_t fail(cudaError_t e, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "CUDA emulator: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    t_last = e;
    return e;
}

/* ---- streams, graphs, events ------------------------------------------------ */

unsigned long long g_graph_used, g_graph_high; /* bytes graphs own */

struct graph_data {
    std::vector<std::function<void()>> nodes;
    std::vector<void *> owned; /* cudaMallocAsync'd while capturing */
    ~graph_data()
    {
        for (void *p : owned) {
            g_graph_used -= g_live[(uintptr_t)p];
            dev_free(p);
        }
    }
};

struct stream_obj {
    bool capturing, invalid;
    bool blocking; /* synchronises with the legacy default stream */
    std::shared_ptr<graph_data> g;
    std::deque<std::function<void()>> queue; /* submitted, not yet run */
};

struct graph_obj {
    std::shared_ptr<graph_data> g;
};

struct event_state {
    double ms;       /* when its latest record ran; -1 before */
    stream_obj *s;   /* where it was last recorded */
    unsigned long long seq, done; /* records submitted / run */
};

/* A queued record keeps the state alive past cudaEventDestroy. */
struct event_obj {
    std::shared_ptr<event_state> st;
};

stream_obj g_default = { false, false, true, {}, {} };
std::vector<stream_obj *> g_streams; /* created ones */
std::map<uintptr_t, size_t> g_pinned; /* cudaMallocHost'd host memory */
thread_local stream_obj *t_capture; /* the stream this thread captures */

stream_obj *S(cudaStream_t s)
{
    if (!s || s == cudaStreamLegacy || s == cudaStreamPerThread)
        return &g_default;
    return (stream_obj *)s;
}

double now_ms()
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A call that a capture on this thread does not allow: invalidates it. */
bool capture_forbids(const char *what)
{
    if (!t_capture)
        return false;
    t_capture->invalid = true;
    fail(cudaErrorStreamCaptureUnsupported, "%s while this thread captures a stream", what);
    return true;
}

std::map<const void *, int> g_dyn_limit; /* kernel -> max dynamic smem */

/* Device work goes into its stream's queue (or the graph being captured)
 * and runs only when the host waits for it: the stream, an event after
 * it, the device, or a call that synchronises implicitly. So a host read
 * of a result without a wait, or a host buffer reused before an
 * asynchronous copy from it ran, shows in the results as on a GPU. */
void submit(stream_obj *s, std::function<void()> fn)
{
    if (s->capturing)
        s->g->nodes.push_back(std::move(fn));
    else
        s->queue.push_back(std::move(fn));
}

/* Runs s's queue. */
void drain(stream_obj *s)
{
    while (!s->queue.empty()) {
        std::function<void()> fn = std::move(s->queue.front());
        s->queue.pop_front();
        fn();
    }
}

/* Every stream; only_blocking: the legacy stream's implicit barrier. */
void drain_all(bool only_blocking)
{
    drain(&g_default);
    for (stream_obj *x : g_streams)
        if (!only_blocking || x->blocking)
            drain(x);
}

bool is_pinned(const void *p)
{
    auto it = g_pinned.upper_bound((uintptr_t)p);
    if (it == g_pinned.begin())
        return false;
    --it;
    return (uintptr_t)p < it->first + it->second;
}

void run_kernel(const cfg &c, const char *name, closure *body)
{
    char why[768];

    if (g_sticky != cudaSuccess)
        return;
    if (!exec_grid(c, name, body, c.smem, why, sizeof why)) {
        g_sticky = cudaErrorLaunchFailure;
        fprintf(stderr, "CUDA emulator: kernel fault: %s\n", why);
    }
}

void copy_now(void *dst, const void *src, size_t n)
{
    mem_open();
    memmove(dst, src, n);
    mem_close();
}

/* Device ranges of a copy (by address) must lie in live allocations. */
cudaError_t check_copy(void *dst, const void *src, size_t n, const char *what)
{
    if (in_region(dst) && !dev_range_ok(dst, n))
        return fail(cudaErrorInvalidValue, "%s: destination %p + %zu is not inside one allocation",
                    what, dst, n);
    if (in_region(src) && !dev_range_ok(src, n))
        return fail(cudaErrorInvalidValue, "%s: source %p + %zu is not inside one allocation",
                    what, src, n);
    return cudaSuccess;
}

int emu_sm()
{
    const char *e = getenv("EMU_SM");
    int sm = e ? atoi(e) : 90;

    return sm >= 50 ? sm : 90;
}

} /* namespace */

void mem_open()
{
    if (g_open++ == 0)
        set_prot(PROT_READ | PROT_WRITE);
}

void mem_close()
{
    if (--g_open == 0)
        set_prot(PROT_NONE);
}

void launch_erased(const cfg &c, const char *name, const void *kernel, closure *body)
{
    guard l(lock);
    char why[256];
    std::shared_ptr<closure> own(body);
    cudaError_t e = check_config(c, kernel, why, sizeof why);
    auto lim = g_dyn_limit.find(kernel);
    size_t limit = lim == g_dyn_limit.end() ? 48 * 1024 : (size_t)lim->second;

    region_init();
    if (e != cudaSuccess) {
        fail(e, "launch of %s refused: %s", name, why);
        return;
    }
    if (c.smem > limit) {
        fail(cudaErrorInvalidValue, "launch of %s: %zu bytes of dynamic shared memory, "
             "the kernel's limit is %zu (cudaFuncSetAttribute)", name, c.smem, limit);
        return;
    }
    if (g_sticky != cudaSuccess) {
        t_last = g_sticky;
        return;
    }
    cfg cc = c;
    submit(S(c.stream), [cc, name, own]() { run_kernel(cc, name, own.get()); });
}

void enqueue(cudaStream_t st, const char *name, std::function<void()> fn)
{
    guard l(lock);
    stream_obj *s = S(st);
    auto run = [fn, name]() {
        if (g_sticky != cudaSuccess)
            return;
        mem_open();
        fn();
        mem_close();
    };

    region_init();
    submit(s, run);
}

} /* namespace emu */

using namespace emu;

/* ---- the API ------------------------------------------------------------------ */

extern "C" {

const char *cudaGetErrorName(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    default: return "cudaErrorUnknown";
    }
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorLaunchFailure: return "unspecified launch failure (CUDA emulator: see stderr)";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    default: return "CUDA emulator error";
    }
}

cudaError_t cudaGetLastError(void)
{
    guard l(lock);
    cudaError_t e = t_last != cudaSuccess ? t_last : g_sticky;

    t_last = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void)
{
    guard l(lock);
    return t_last != cudaSuccess ? t_last : g_sticky;
}

cudaError_t cudaGetDeviceCount(int *n)
{
    *n = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int d)
{
    return d == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice, "device %d (the emulator has 0)", d);
}

cudaError_t cudaGetDevice(int *d)
{
    *d = 0;
    return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int *v)
{
    *v = CUDART_VERSION;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *v)
{
    *v = CUDART_VERSION;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *p, int d)
{
    if (d != 0)
        return fail(cudaErrorInvalidDevice, "device %d (the emulator has 0)", d);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "CUDA emulator (sm_%d)", emu_sm());
    p->totalGlobalMem = DEVICE_BYTES;
    p->sharedMemPerBlock = 48 * 1024;
    p->sharedMemPerBlockOptin = 227 * 1024;
    p->sharedMemPerMultiprocessor = 228 * 1024;
    p->regsPerBlock = 65536;
    p->regsPerMultiprocessor = 65536;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsPerMultiProcessor = 2048;
    p->maxThreadsDim[0] = 1024;
    p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 2147483647;
    p->maxGridSize[1] = 65535;
    p->maxGridSize[2] = 65535;
    p->major = emu_sm() / 10;
    p->minor = emu_sm() % 10;
    p->multiProcessorCount = 132;
    p->l2CacheSize = 50 << 20;
    p->memoryBusWidth = 5120;
    p->unifiedAddressing = 1;
    p->memoryPoolsSupported = 1;
    p->concurrentKernels = 1;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *v, enum cudaDeviceAttr a, int d)
{
    if (d != 0)
        return fail(cudaErrorInvalidDevice, "device %d (the emulator has 0)", d);
    switch (a) {
    case cudaDevAttrComputeCapabilityMajor: *v = emu_sm() / 10; break;
    case cudaDevAttrComputeCapabilityMinor: *v = emu_sm() % 10; break;
    case cudaDevAttrMultiProcessorCount: *v = 132; break;
    case cudaDevAttrMaxThreadsPerBlock: *v = 1024; break;
    case cudaDevAttrWarpSize: *v = 32; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *v = 48 * 1024; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = 227 * 1024; break;
    case cudaDevAttrL2CacheSize: *v = 50 << 20; break;
    default:
        return fail(cudaErrorInvalidValue, "cudaDeviceGetAttribute(%d) is not emulated", (int)a);
    }
    return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void *f, enum cudaFuncAttribute a, int v)
{
    guard l(lock);

    if (a != cudaFuncAttributeMaxDynamicSharedMemorySize)
        return cudaSuccess;
    if (v < 0 || v > 227 * 1024)
        return fail(cudaErrorInvalidValue, "cudaFuncSetAttribute: %d bytes of dynamic shared "
                    "memory (at most %d)", v, 227 * 1024);
    g_dyn_limit[f] = v;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    guard l(lock);
    if (capture_forbids("cudaDeviceSynchronize"))
        return cudaErrorStreamCaptureUnsupported;
    drain_all(false);
    return g_sticky;
}

/* memory */

cudaError_t cudaMalloc(void **p, size_t n)
{
    guard l(lock);
    if (capture_forbids("cudaMalloc"))
        return cudaErrorStreamCaptureUnsupported;
    *p = dev_alloc(n);
    return *p ? cudaSuccess : fail(cudaErrorMemoryAllocation, "cudaMalloc(%zu): out of memory", n);
}

cudaError_t cudaFree(void *p)
{
    guard l(lock);
    if (!p)
        return cudaSuccess;
    if (capture_forbids("cudaFree"))
        return cudaErrorStreamCaptureUnsupported;
    drain_all(false); /* cudaFree waits for the device */
    return dev_free(p) ? cudaSuccess
                       : fail(cudaErrorInvalidValue, "cudaFree(%p): not a live allocation", p);
}

cudaError_t cudaMallocAsync(void **p, size_t n, cudaStream_t st)
{
    guard l(lock);
    stream_obj *s = S(st);

    *p = dev_alloc(n);
    if (!*p)
        return fail(cudaErrorMemoryAllocation, "cudaMallocAsync(%zu): out of memory", n);
    if (s->capturing) {
        s->g->owned.push_back(*p);
        g_graph_used += g_live[(uintptr_t)*p];
        if (g_graph_used > g_graph_high)
            g_graph_high = g_graph_used;
    }
    return cudaSuccess;
}

cudaError_t cudaFreeAsync(void *p, cudaStream_t st)
{
    guard l(lock);
    stream_obj *s = S(st);

    if (!p)
        return cudaSuccess;
    if (s->capturing) {
        for (void *o : s->g->owned)
            if (o == p)
                return cudaSuccess; /* the graph's: freed with the graph */
    }
    if (!g_live.count((uintptr_t)p) || g_pending.count((uintptr_t)p))
        return fail(cudaErrorInvalidValue, "cudaFreeAsync(%p): not a live allocation", p);
    /* the pool counts it free at once (its memory is the stream's to reuse);
     * the block itself is released when the free runs */
    g_used -= g_live[(uintptr_t)p];
    g_pending[(uintptr_t)p] = 1;
    submit(s, [p]() {
        g_pending.erase((uintptr_t)p);
        if (!dev_free(p, true))
            fail(cudaErrorInvalidValue, "a stream-ordered free of %p, which is not live", p);
    });
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void **p, size_t n)
{
    guard l(lock);
    size_t b = round_up(n ? n : 1, PAGE);

    *p = aligned_alloc(PAGE, b);
    if (*p)
        g_pinned[(uintptr_t)*p] = b;
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaFreeHost(void *p)
{
    guard l(lock);
    drain_all(false); /* as cudaFree: no queued copy may still read it */
    g_pinned.erase((uintptr_t)p);
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, enum cudaMemcpyKind k)
{
    guard l(lock);
    (void)k;
    if (capture_forbids("cudaMemcpy"))
        return cudaErrorStreamCaptureUnsupported;
    cudaError_t e = check_copy(dst, src, n, "cudaMemcpy");
    if (e != cudaSuccess)
        return e;
    /* on the legacy default stream: after the work of every blocking
     * stream (not of those created cudaStreamNonBlocking), before return */
    drain_all(true);
    if (g_sticky != cudaSuccess)
        return g_sticky;
    copy_now(dst, src, n);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, enum cudaMemcpyKind k,
                            cudaStream_t st)
{
    guard l(lock);
    stream_obj *s = S(st);
    (void)k;
    cudaError_t e = check_copy(dst, src, n, "cudaMemcpyAsync");

    if (e != cudaSuccess)
        return e;
    if (s->capturing) {
        if (!in_region(dst) || !in_region(src)) {
            /* pageable host memory in a graph: CUDA refuses it too */
            s->invalid = true;
            return fail(cudaErrorStreamCaptureUnsupported,
                        "cudaMemcpyAsync with host memory while capturing");
        }
        submit(s, [dst, src, n]() { copy_now(dst, src, n); });
        return cudaSuccess;
    }
    if (g_sticky != cudaSuccess)
        return g_sticky;
    if (!in_region(src) && !is_pinned(src)) {
        /* from pageable memory: CUDA stages the source before returning */
        std::shared_ptr<std::vector<char>> snap =
            std::make_shared<std::vector<char>>((const char *)src, (const char *)src + n);
        submit(s, [dst, snap, n]() { copy_now(dst, snap->data(), n); });
    } else {
        submit(s, [dst, src, n]() { copy_now(dst, src, n); });
    }
    if (!in_region(dst) && !is_pinned(dst))
        drain(s); /* into pageable memory: returns once the copy is done */
    return g_sticky;
}

cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t st)
{
    guard l(lock);
    stream_obj *s = S(st);

    if (!dev_range_ok(p, n))
        return fail(cudaErrorInvalidValue, "cudaMemsetAsync: %p + %zu is not inside one "
                    "allocation", p, n);
    auto set = [p, v, n]() {
        mem_open();
        memset(p, v, n);
        mem_close();
    };
    submit(s, set);
    return g_sticky;
}

cudaError_t cudaMemset(void *p, int v, size_t n)
{
    guard l(lock);
    if (capture_forbids("cudaMemset"))
        return cudaErrorStreamCaptureUnsupported;
    cudaError_t e = cudaMemsetAsync(p, v, n, 0);
    drain_all(true);
    return e != cudaSuccess ? e : g_sticky;
}

cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total)
{
    guard l(lock);
    *total = DEVICE_BYTES;
    *free_b = DEVICE_BYTES - g_used;
    return cudaSuccess;
}

/* the default memory pool: counters only */

static int g_pool_tag;

cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t *pool, int d)
{
    *pool = (cudaMemPool_t)&g_pool_tag;
    return d == 0 ? cudaSuccess : cudaErrorInvalidDevice;
}

cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, enum cudaMemPoolAttr a, void *v)
{
    (void)pool;
    (void)a;
    (void)v;
    return cudaSuccess;
}

cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t pool, enum cudaMemPoolAttr a, void *v)
{
    guard l(lock);
    (void)pool;
    switch (a) {
    case cudaMemPoolAttrReservedMemCurrent:
    case cudaMemPoolAttrUsedMemCurrent: *(unsigned long long *)v = g_used; break;
    case cudaMemPoolAttrReservedMemHigh:
    case cudaMemPoolAttrUsedMemHigh: *(unsigned long long *)v = g_high; break;
    case cudaMemPoolAttrReleaseThreshold: *(unsigned long long *)v = 0; break;
    default: return fail(cudaErrorInvalidValue, "cudaMemPoolGetAttribute(%d) is not emulated", (int)a);
    }
    return cudaSuccess;
}

cudaError_t cudaDeviceGetGraphMemAttribute(int d, enum cudaGraphMemAttributeType a, void *v)
{
    guard l(lock);
    if (d != 0)
        return fail(cudaErrorInvalidDevice, "device %d (the emulator has 0)", d);
    switch (a) {
    case cudaGraphMemAttrUsedMemCurrent:
    case cudaGraphMemAttrReservedMemCurrent: *(unsigned long long *)v = g_graph_used; break;
    case cudaGraphMemAttrUsedMemHigh:
    case cudaGraphMemAttrReservedMemHigh: *(unsigned long long *)v = g_graph_high; break;
    default: return fail(cudaErrorInvalidValue, "cudaDeviceGetGraphMemAttribute(%d)", (int)a);
    }
    return cudaSuccess;
}

cudaError_t cudaMemPoolTrimTo(cudaMemPool_t pool, size_t keep)
{
    (void)pool;
    (void)keep;
    return cudaSuccess;
}

/* streams */

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags)
{
    guard l(lock);
    stream_obj *o = new stream_obj();

    o->blocking = !(flags & cudaStreamNonBlocking);
    g_streams.push_back(o);
    *s = (cudaStream_t)o;
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *s)
{
    return cudaStreamCreateWithFlags(s, 0);
}

cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    guard l(lock);
    stream_obj *o = S(s);

    if (o == &g_default)
        return cudaSuccess;
    drain(o); /* its queued work still runs, as on a GPU */
    for (size_t i = 0; i < g_streams.size(); i++)
        if (g_streams[i] == o)
            g_streams.erase(g_streams.begin() + (long)i);
    delete o;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    guard l(lock);
    if (capture_forbids("cudaStreamSynchronize"))
        return cudaErrorStreamCaptureUnsupported;
    drain(S(s));
    return g_sticky;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t st, enum cudaStreamCaptureMode mode)
{
    guard l(lock);
    stream_obj *s = S(st);

    if (mode != cudaStreamCaptureModeThreadLocal)
        return fail(cudaErrorNotSupported, "only thread-local stream capture is emulated");
    if (s == &g_default)
        return fail(cudaErrorStreamCaptureUnsupported, "capturing the legacy default stream");
    if (s->capturing || t_capture)
        return fail(cudaErrorIllegalState, "cudaStreamBeginCapture: already capturing");
    s->capturing = true;
    s->invalid = false;
    s->g = std::make_shared<graph_data>();
    t_capture = s;
    return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t st, enum cudaStreamCaptureStatus *status)
{
    guard l(lock);
    const stream_obj *s = S(st);

    *status = !s->capturing ? cudaStreamCaptureStatusNone
              : s->invalid  ? cudaStreamCaptureStatusInvalidated
                            : cudaStreamCaptureStatusActive;
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t st, cudaGraph_t *g)
{
    guard l(lock);
    stream_obj *s = S(st);

    *g = NULL;
    if (!s->capturing)
        return fail(cudaErrorIllegalState, "cudaStreamEndCapture: the stream is not capturing");
    s->capturing = false;
    t_capture = NULL;
    std::shared_ptr<graph_data> d = std::move(s->g);
    if (s->invalid)
        return cudaErrorStreamCaptureInvalidated;
    *g = (cudaGraph_t) new graph_obj{ d };
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t *x, cudaGraph_t g, unsigned long long f)
{
    (void)f;
    *x = (cudaGraphExec_t) new graph_obj{ ((graph_obj *)g)->g };
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t x, cudaStream_t st)
{
    guard l(lock);
    stream_obj *s = S(st);
    graph_obj *o = (graph_obj *)x;

    if (s->capturing)
        return fail(cudaErrorNotSupported, "launching a graph into a capture is not emulated");
    if (g_sticky != cudaSuccess)
        return g_sticky;
    std::shared_ptr<graph_data> g = o->g; /* outlives cudaGraphExecDestroy */
    submit(s, [g]() {
        for (auto &n : g->nodes)
            n();
    });
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t x)
{
    guard l(lock);
    delete (graph_obj *)x;
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t g)
{
    guard l(lock);
    delete (graph_obj *)g;
    return cudaSuccess;
}

/* events */

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags)
{
    event_obj *o = new event_obj();

    (void)flags;
    o->st = std::make_shared<event_state>();
    o->st->ms = -1.0;
    *e = (cudaEvent_t)o;
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *e)
{
    return cudaEventCreateWithFlags(e, 0);
}

cudaError_t cudaEventDestroy(cudaEvent_t e)
{
    guard l(lock);
    delete (event_obj *)e;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t st)
{
    guard l(lock);
    stream_obj *s = S(st);
    std::shared_ptr<event_state> ev = ((event_obj *)e)->st;

    if (s->capturing) { /* replays stamp it; not waited on by seq */
        submit(s, [ev]() { ev->ms = now_ms(); });
        return cudaSuccess;
    }
    unsigned long long n = ++ev->seq;
    ev->s = s;
    submit(s, [ev, n]() {
        ev->ms = now_ms();
        ev->done = n;
    });
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e)
{
    guard l(lock);
    std::shared_ptr<event_state> ev = ((event_obj *)e)->st;

    if (capture_forbids("cudaEventSynchronize"))
        return cudaErrorStreamCaptureUnsupported;
    while (ev->s && ev->done < ev->seq && !ev->s->queue.empty()) {
        std::function<void()> fn = std::move(ev->s->queue.front());
        ev->s->queue.pop_front();
        fn();
    }
    return g_sticky;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b)
{
    guard l(lock);
    event_state *x = ((event_obj *)a)->st.get(), *y = ((event_obj *)b)->st.get();

    if (x->done < x->seq || y->done < y->seq)
        return fail(cudaErrorNotReady, "cudaEventElapsedTime: an event's record has not run "
                    "(no wait for it)");
    if (x->ms < 0 || y->ms < 0)
        return fail(cudaErrorInvalidValue, "cudaEventElapsedTime: an event was never recorded");
    *ms = (float)(y->ms - x->ms);
    return cudaSuccess;
}

} /* extern "C" */
