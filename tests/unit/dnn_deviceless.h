/*
 * tests/unit/dnn_deviceless.h — what the deviceless cuDNN planning tests
 * (test_sdpa_fp8_dnn_plan.c, test_conv_dnn_plan.c) share: the devprop JSON
 * of an H100 and a B200, and loading cuDNN's function table with a driver
 * library (the real libcuda.so.1, else the toolkit's stub, which lets
 * cuDNN's support checks run but cannot load kernels) and no handle.
 * Included by one test file per binary (static definitions); CUDA builds
 * only (PICTOR_HAVE_CUDA).
 */
#ifndef PICTOR_TESTS_DNN_DEVICELESS_H
#define PICTOR_TESTS_DNN_DEVICELESS_H

#ifdef PICTOR_HAVE_CUDA
#include <cuda.h>
#include <dlfcn.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../kernels/cuda/dnn_graph.h"

/* An H100 SXM's properties in the JSON form of cuDNN's devprop descriptor
 * (cudaDeviceProp fields as cudnn-frontend names them; values of an H100
 * 80GB HBM3: 132 SMs, 227 KiB opt-in shared memory, compute capability
 * 9.0). */
static const char k_h100_json[] =
    "{\"maxGridSize\":[2147483647,65535,65535],\"maxBlockSize\":[1024,1024,64],"
    "\"regsPerBlock\":65536,\"multiProcessorCount\":132,\"warpSize\":32,"
    "\"maxSharedMemoryPerBlock\":49152,\"maxSharedMemoryPerBlockOptin\":232448,"
    "\"reservedSharedMemoryPerBlock\":1024,\"maxRegistersPerSM\":65536,\"maxCtasPerSM\":32,"
    "\"maxThreadsPerBlock\":1024,\"maxThreadsPerSM\":2048,\"pciDeviceId\":0,"
    "\"isTccDriver\":0,\"supportCoopLaunch\":1,\"totalGlobalMem\":85031714816,"
    "\"smClockRateKHz\":1980000,\"memClockRateKHz\":2619000,\"l2CacheSize\":52428800,"
    "\"cudaDeviceId\":0,\"deviceVer\":900,\"driverVer\":13000,"
    "\"deviceName\":\"NVIDIA H100 80GB HBM3\"}";

/* A B200's (compute capability 10.0): the H100's JSON with Blackwell's
 * values where they differ (148 SMs, 180 GB, 126 MiB of L2). */
static const char k_b200_json[] =
    "{\"maxGridSize\":[2147483647,65535,65535],\"maxBlockSize\":[1024,1024,64],"
    "\"regsPerBlock\":65536,\"multiProcessorCount\":148,\"warpSize\":32,"
    "\"maxSharedMemoryPerBlock\":49152,\"maxSharedMemoryPerBlockOptin\":232448,"
    "\"reservedSharedMemoryPerBlock\":1024,\"maxRegistersPerSM\":65536,\"maxCtasPerSM\":32,"
    "\"maxThreadsPerBlock\":1024,\"maxThreadsPerSM\":2048,\"pciDeviceId\":0,"
    "\"isTccDriver\":0,\"supportCoopLaunch\":1,\"totalGlobalMem\":191514411008,"
    "\"smClockRateKHz\":1965000,\"memClockRateKHz\":3996000,\"l2CacheSize\":132120576,"
    "\"cudaDeviceId\":0,\"deviceVer\":1000,\"driverVer\":13000,"
    "\"deviceName\":\"NVIDIA B200\"}";

static struct cuda_libs g_libs; /* only the cuDNN table (no handle) */
static bool g_gpu;              /* the real driver found a device */

typedef CUresult (*cu_init_fn)(unsigned int);

/* dir/stubs/libcuda.so next to the library holding fn; "" if unknown. */
static void stub_near(const void *fn, char *out, size_t outlen)
{
    Dl_info info;
    char dir[4096];

    out[0] = '\0';
    if (!dladdr(fn, &info) || !info.dli_fname)
        return;
    snprintf(dir, sizeof dir, "%s", info.dli_fname);
    snprintf(out, outlen, "%s/stubs/libcuda.so", dirname(dir));
}

/* Makes a libcuda.so.1 visible to cuDNN (it dlopens that soname: a
 * library already loaded under it, RTLD_GLOBAL, is found). 0 with
 * *stub telling which, or -1 with why. */
static int load_driver(bool *stub, char *why, size_t whylen)
{
    const char *env = getenv("PICTOR_CUDA_STUB");
    char paths[2][4096];
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    int n = 0;

    if (!h) {
        if (env && env[0])
            snprintf(paths[n++], sizeof paths[0], "%s", env);
        stub_near((const void *)cudaGetDeviceCount, paths[n], sizeof paths[0]);
        n += paths[n][0] != '\0';
        for (int i = 0; i < n && !h; i++)
            h = dlopen(paths[i], RTLD_NOW | RTLD_GLOBAL);
        if (!h) {
            snprintf(why, whylen, "no libcuda.so.1 and no driver stub (%.200s%s%.200s; set "
                     "PICTOR_CUDA_STUB)", n ? paths[0] : "none found", n > 1 ? ", " : "",
                     n > 1 ? paths[1] : "");
            return -1;
        }
    }
    /* The stub answers every call with CUDA_ERROR_STUB_LIBRARY. */
    cu_init_fn init = (cu_init_fn)dlsym(h, "cuInit");
    CUresult r = init ? init(0) : CUDA_ERROR_STUB_LIBRARY;

    *stub = r == CUDA_ERROR_STUB_LIBRARY;
    g_gpu = r == CUDA_SUCCESS;
    return 0;
}

/* Sets up g_libs; false with why when the cuDNN test cannot run here. */
static bool dnn_ready(char *why, size_t whylen)
{
    bool stub = false;

    if (load_driver(&stub, why, whylen))
        return false;
    if (cuda_libs_load_dnn(&g_libs)) {
        snprintf(why, whylen, "%s", g_libs.dnn_error);
        return false;
    }
    if (g_libs.dnn_version < DNN_DEVICELESS_MIN_VERSION) {
        snprintf(why, whylen, "cuDNN %zu cannot plan without a device (needs %d)",
                 g_libs.dnn_version, DNN_DEVICELESS_MIN_VERSION);
        return false;
    }
    printf("# cuDNN %zu, driver: %s\n", g_libs.dnn_version,
           stub ? "the toolkit's stub (support checks only)"
                : g_gpu ? "real, with a GPU" : "real, no GPU");
    return true;
}

#endif /* PICTOR_HAVE_CUDA */
#endif /* PICTOR_TESTS_DNN_DEVICELESS_H */
