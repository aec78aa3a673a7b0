/*
 * tests/emu/emu_internal.h — what the CUDA emulator's two halves share:
 * emu_exec.cc (runs a kernel's grid: fibers, barriers, warp collectives)
 * and emu_cudart.cc (the CUDA runtime API: memory, streams, events,
 * graphs, errors). One lock (emu::lock) serialises every API call and
 * every launch, so at most one kernel runs at a time in the process.
 */
#ifndef PICTOR_TESTS_EMU_INTERNAL_H
#define PICTOR_TESTS_EMU_INTERNAL_H

#include "emu.h"

#include <functional>
#include <mutex>

namespace emu {

extern std::recursive_mutex lock;

/* Runs the whole grid of a validated launch now (blocks in order). On a
 * divergence or a fault of the kernel's own making, returns false with the
 * reason in why (the rest of the grid is not run). */
bool exec_grid(const cfg &c, const char *name, closure *body, size_t dyn_smem, char *why,
               size_t whylen);

/* Launch configuration limits of the emulated device (cudaErrorInvalid*
 * on violation): checked at launch and at capture. */
cudaError_t check_config(const cfg &c, const void *kernel, char *why, size_t whylen);

/* Device memory becomes readable and writable (a kernel or a copy is
 * running) or unreachable from host code again. Nested calls count. */
void mem_open();
void mem_close();

/* The kernel running now ("" when none), for fault messages. */
const char *running_kernel();

/* Queues host work that stands for device work of an emulated vendor
 * library (tests/emu/emu_cublaslt.cc) on stream s: run at once with device
 * memory open, or recorded while s is captured. Nothing runs after a
 * sticky error. */
void enqueue(cudaStream_t s, const char *name, std::function<void()> fn);

} /* namespace emu */

#endif /* PICTOR_TESTS_EMU_INTERNAL_H */
