# pictor — top-level Makefile (the only one; modules are found by wildcard).
#
#   make            build programs, libraries and plugins into build/
#   make test       build everything, the ASan+UBSan unit tests and the fuzzer,
#                   then run the whole CPU suite (tests/run-all)
#   make run        install missing Debian deps, build, start pictord
#   make deps       install the Debian packages the build needs (apt-get)
#   make install PREFIX=/usr DESTDIR=...
#   make gpu-tests  build the GPU-only tests into build/tests/gpu/ (run them,
#                   and the fixtures on CUDA, with tools/gpu-check on a GPU)
#   make emu-test   build and run the GPU tests under the CUDA emulator
#                   (tests/emu/README.md; `make test` runs them too)
#
# Variables: CUDA=auto|0|1 (auto: build the CUDA backend when nvcc is found),
# CUDA_ARCHS="80 86 89 90a 100" (SASS targets of kernels/cuda/*.cu),
# SANITIZE=1 (ASan+UBSan build, used for build/asan), BUILD=dir, V=1 (verbose),
# CUDA_EMU=1 (the CUDA emulator's build, used for build/emu).

BUILD ?= build
PREFIX ?= /usr/local
CUDA ?= auto
.DEFAULT_GOAL := all
SANITIZE ?= 0
CC ?= cc
NVCC ?= nvcc

ifeq ($(V),1)
Q :=
else
Q := @
endif

ifeq ($(CUDA),auto)
  HAVE_NVCC := $(shell command -v $(NVCC) >/dev/null 2>&1 && echo 1 || echo 0)
else
  HAVE_NVCC := $(CUDA)
endif
# CUDA_EMU=1: the CUDA backend built for the CUDA emulator (tests/emu/README.md):
# kernels/cuda/*.cu compiled by g++ for the host, libcudart replaced by
# $(BUILD)/lib/libpictor-cudaemu.so, cuBLASLt and cuDNN by stand-ins there.
# Only for tests (`make test`, `make emu-test`); needs an x86-64 CPU with FMA.
CUDA_EMU ?= 0
ifeq ($(CUDA_EMU),1)
  HAVE_NVCC := 1
endif
EMU_SAN := -fsanitize=alignment,bounds -fno-sanitize-recover=all

INCLUDES := -Iabi -Ikernels/include -Icore/include -Iplugins/common/include -Iplugins/flux/include
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -g -fPIC -pthread $(WARN) $(INCLUDES) \
                 -fvisibility=hidden
ifeq ($(SANITIZE),1)
  OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
         -fno-sanitize-recover=undefined
  LDSAN := -fsanitize=address,undefined
else
  OPT := -O2 -march=x86-64-v2
  LDSAN :=
endif
CUDA_HOME ?= $(patsubst %/bin/,%,$(dir $(shell command -v $(NVCC) 2>/dev/null)))
# cuBLASLt and cuDNN (kernels/cuda/cuda_libs.h) are opened with dlopen when
# a CUDA backend is created, not linked: libcublasLt's ~94 KB of static TLS
# would stop civetweb's 100 KB-stack worker threads from starting, and a
# program without cuDNN still runs. The build needs their headers; the
# RUNPATH below lets dlopen find the libraries where the build found them.
# cuDNN: inside the CUDA toolkit folder when it ships there, else on the
# default paths (Debian/Ubuntu cudnn9 packages, a system-wide install).
# CUDNN_HOME=DIR overrides: headers in DIR/include, libcudnn.so.9 in
# DIR/lib64 or DIR/lib (CUDNN_LIBDIR=DIR names the library folder itself).
CUDNN_HOME ?= $(if $(wildcard $(CUDA_HOME)/include/cudnn.h),$(CUDA_HOME))
CUDNN_LIBDIR ?= $(if $(CUDNN_HOME),$(patsubst %/,%,$(dir $(firstword \
    $(wildcard $(CUDNN_HOME)/lib64/libcudnn.so* $(CUDNN_HOME)/lib/libcudnn.so*)))))
ifeq ($(HAVE_NVCC),1)
  CUDA_CFLAGS := -DPICTOR_HAVE_CUDA -I$(CUDA_HOME)/include \
                 $(if $(filter-out $(CUDA_HOME),$(CUDNN_HOME)),-I$(CUDNN_HOME)/include)
  CUDA_LDLIBS := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart \
                 $(foreach d,$(filter-out $(CUDA_HOME)/lib64,$(CUDNN_LIBDIR)),-Xlinker -rpath -Xlinker $(d))
endif
ifeq ($(CUDA_EMU),1)
  # the emulator's folder first: its libcublasLt/libcudnn are the ones dlopen finds
  CUDA_LDLIBS := -L$(BUILD)/lib -Wl,-rpath,$(abspath $(BUILD)/lib) -lpictor-cudaemu -lstdc++ \
                 $(EMU_SAN) $(filter-out -lcudart,$(CUDA_LDLIBS))
endif
CFLAGS_ALL := $(CFLAGS_COMMON) $(OPT) $(CUDA_CFLAGS) $(CFLAGS)

# ---- CUDA kernels: kernels/cuda/*.cu, compiled by nvcc when HAVE_NVCC=1 ----
# One SASS per arch in CUDA_ARCHS (`make CUDA_ARCHS=90a` builds just one) plus
# PTX for compute_100 when 100 is listed, so newer GPUs can JIT it.
# IEEE math: no --use_fast_math (the kernels must match the CPU twins).
# Host-compiler flags are the C build's minus what g++ rejects for C++:
# -std=c11 (nvcc sets -std=c++17) and -Wstrict-prototypes (C only: g++
# warns "valid for C but not for C++", an error under -Werror).
# -fno-exceptions, -fno-threadsafe-statics: the .cu files are C-style and
# need no libstdc++. nvcc's launch stubs keep the kernel's handle in a
# function-local static, which g++ otherwise guards with __cxa_guard_*
# (libstdc++); unguarded, two threads' first launches at worst both store
# the same constant pointer.
CUDA_ARCHS ?= 80 86 89 90a 100
CUDA_PTX_ARCH ?= $(if $(filter 100,$(CUDA_ARCHS)),100)
comma := ,
NVCC_GENCODE := $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(a)$(comma)code=sm_$(a)) \
                $(if $(CUDA_PTX_ARCH),-gencode arch=compute_$(CUDA_PTX_ARCH)$(comma)code=compute_$(CUDA_PTX_ARCH))
NVCCFLAGS_ALL := -std=c++17 -O3 -lineinfo --Werror all-warnings $(NVCC_GENCODE) \
                 -Xcompiler -fPIC,-Wall,-Wextra,-Werror,-Wshadow,-Wno-unused-parameter \
                 -Xcompiler -fvisibility=hidden,-fno-exceptions,-fno-threadsafe-statics,-pthread \
                 -D_GNU_SOURCE $(INCLUDES) $(CUDA_CFLAGS) $(NVCCFLAGS)
# The emulator build (CUDA_EMU=1, above): C++ flags of the emulated .cu files
# and of the emulator itself.
EMU_CXXFLAGS := -std=c++17 -g -O1 -fPIC -pthread -mfma -ffp-contract=fast -fno-exceptions \
                -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-unknown-pragmas -D_GNU_SOURCE \
                $(INCLUDES) $(CUDA_CFLAGS) $(EMU_SAN)
EMU_LIB := $(BUILD)/lib/libpictor-cudaemu.so
LDLIBS_ALL := -ljson-c -lpng -lz -linih -lutf8proc -lm -ldl -pthread $(CUDA_LDLIBS) $(LDLIBS)

OBJ := $(BUILD)/obj
LIBDIR := $(BUILD)/lib
BINDIR := $(BUILD)/bin
TESTDIR := $(BUILD)/tests
PLUGINDIR := $(LIBDIR)/pictor/plugins

# ---- libraries (sources found by wildcard: add a file, it is built) -------
KERNELS_SRC := $(wildcard kernels/src/*.c kernels/cpu/*.c kernels/cuda/*.c)
KERNELS_CU := $(if $(filter 1,$(HAVE_NVCC)),$(wildcard kernels/cuda/*.cu))
CORE_SRC := $(wildcard core/lib/*.c)
# plugins/schedulers/sched: scheduler math shared by the CLI, tests and the scheduler plugins.
COMMON_SRC := $(wildcard plugins/common/*.c plugins/schedulers/sched/*.c)

# plugins/flux: the FLUX family's model code (linked into the CLI until the
# flux plugin .so exists).
FLUX_SRC := $(wildcard plugins/flux/*.c)
FLUX_LIB := $(LIBDIR)/libpictor-flux.a
KERNELS_LIB := $(LIBDIR)/libpictor-kernels.a
CORE_LIB := $(LIBDIR)/libpictor-core.a
COMMON_LIB := $(LIBDIR)/libpictor-common.a

objs = $(patsubst %.c,$(OBJ)/%.o,$(1))

# ---- programs -------------------------------------------------------------
PICTOR_SRC := $(wildcard core/cli/*.c)
PICTOR_BIN := $(BINDIR)/pictor
# pictord: the HTTP server (civetweb), built when its sources exist.
PICTORD_SRC := $(wildcard core/server/*.c)
PICTORD_BIN := $(if $(PICTORD_SRC),$(BINDIR)/pictord)

# ---- tests ----------------------------------------------------------------
HARNESS_SRC := tests/harness/test.c tests/harness/st_write.c tests/harness/manifest.c tests/harness/tmpdir.c
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(TESTDIR)/%,$(UNIT_SRC))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(TESTDIR)/%,$(FUZZ_SRC))

ALL_LIBS := $(FLUX_LIB) $(COMMON_LIB) $(CORE_LIB) $(KERNELS_LIB)

# ---- plugins: one .so each, exporting only pictor_plugin_entry -------------
PLUGIN_LDFLAGS := -shared -Wl,--version-script=plugins/plugin.map -Wl,-z,defs
SCHED_PLUGIN_SRC := $(wildcard plugins/schedulers/*.c)
SCHED_PLUGINS := $(patsubst plugins/schedulers/%.c,$(PLUGINDIR)/scheduler-%.so,$(SCHED_PLUGIN_SRC))
FLUX_PLUGIN := $(PLUGINDIR)/flux.so
PLUGINS := $(SCHED_PLUGINS) $(FLUX_PLUGIN)

$(FLUX_PLUGIN): $(OBJ)/plugins/flux/flux_plugin.o $(FLUX_LIB) $(COMMON_LIB) $(KERNELS_LIB) plugins/plugin.map
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  SO  $@")
	$(Q)$(CC) $(LDSAN) $(PLUGIN_LDFLAGS) -o $@ $< $(FLUX_LIB) $(COMMON_LIB) $(KERNELS_LIB) $(LDLIBS_ALL)

$(PLUGINDIR)/scheduler-%.so: $(OBJ)/plugins/schedulers/%.o $(COMMON_LIB) $(KERNELS_LIB) plugins/plugin.map
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  SO  $@")
	$(Q)$(CC) $(LDSAN) $(PLUGIN_LDFLAGS) -o $@ $< $(COMMON_LIB) $(KERNELS_LIB) $(LDLIBS_ALL)

# ---- test plugins (tests/plugins): ABI exercisers and broken plugins -------
TEST_PLUGIN_DIR := $(TESTDIR)/plugins
BAD_PLUGINS := 1:wrongmajor 2:badsig 3:noentry 4:unresolved 5:failinit 6:failopen
TEST_PLUGINS := $(TEST_PLUGIN_DIR)/testfam.so $(TEST_PLUGIN_DIR)/oldminor.so \
    $(foreach b,$(BAD_PLUGINS),$(TEST_PLUGIN_DIR)/bad-$(word 2,$(subst :, ,$(b))).so)

ABI_HEADERS := $(wildcard abi/pictor/*.h)
$(TEST_PLUGIN_DIR)/%.so: tests/plugins/%.c plugins/plugin.map $(ABI_HEADERS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) $(LDSAN) -shared -Wl,--version-script=plugins/plugin.map -o $@ $<

# The worked example of docs/plugins.md, built exactly as the page says.
EXAMPLE_PLUGIN := $(TESTDIR)/example-plugins/example-linear-flow.so
TEST_PLUGINS += $(EXAMPLE_PLUGIN)
$(EXAMPLE_PLUGIN): docs/examples/example_scheduler.c $(ABI_HEADERS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -O2 -fPIC -fvisibility=hidden -Wall -Wextra -Werror $(LDSAN) \
	    -Iabi -shared -o $@ $<

define bad_plugin_rule
$(TEST_PLUGIN_DIR)/bad-$(word 2,$(subst :, ,$(1))).so: tests/plugins/badentry.c plugins/plugin.map $(ABI_HEADERS)
	@mkdir -p $$(dir $$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) $$(LDSAN) -DBAD_KIND=$(word 1,$(subst :, ,$(1))) \
	    -DBAD_NAME='"$(word 2,$(subst :, ,$(1)))"' -shared \
	    -Wl,--version-script=plugins/plugin.map -o $$@ $$<
endef
$(foreach b,$(BAD_PLUGINS),$(eval $(call bad_plugin_rule,$(b))))

.PHONY: all test unit-tests gpu-tests emu-build emu-test run deps install clean fuzz fuzz-long check-deps
# Keep objects that pattern rules produce (no rebuild on the next run).
.SECONDARY:
all: $(PICTOR_BIN) $(PICTORD_BIN) $(PLUGINS) unit-tests

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC  $<")
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# .cu objects are named foo.cu.o so they never collide with a foo.c twin.
ifneq ($(CUDA_EMU),1)
$(OBJ)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  NVCC $<")
	$(Q)$(NVCC) $(NVCCFLAGS_ALL) -MMD -MP -c $< -o $@
else
# The emulator's build of a .cu: rewritten by emu-prep, compiled by g++ with
# tests/emu/emu.h force-included, FMA contraction as nvcc's default, and
# UBSan's alignment and array-bounds checks (a misaligned vector access
# faults on a GPU).
$(OBJ)/%.cu.o: %.cu tests/emu/emu-prep tests/emu/emu.h
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  EMU  $<")
	$(Q)tests/emu/emu-prep $< $(OBJ)/$*.emu.cc
	$(Q)$(CXX) $(EMU_CXXFLAGS) -DPICTOR_CUDA_EMU -include tests/emu/emu.h -I$(dir $<) \
	    -MMD -MP -MT $@ -MF $(OBJ)/$*.cu.d -c $(OBJ)/$*.emu.cc -o $@
$(OBJ)/tests/emu/%.o: tests/emu/%.cc tests/emu/emu.h tests/emu/emu_internal.h
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CXX $<")
	$(Q)$(CXX) $(EMU_CXXFLAGS) -c $< -o $@
$(EMU_LIB): $(OBJ)/tests/emu/emu_exec.o $(OBJ)/tests/emu/emu_cudart.o
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  SO  $@")
	$(Q)$(CXX) -shared -pthread -o $@ $^ $(EMU_SAN)
# The emulated cuBLASLt under the name the backend dlopens.
EMU_LT_SONAME := libcublasLt.so.$(shell sed -n 's/^\#define CUBLAS_VER_MAJOR \([0-9]*\).*/\1/p' \
    $(CUDA_HOME)/include/cublas_api.h)
EMU_LT := $(BUILD)/lib/$(EMU_LT_SONAME)
$(EMU_LT): $(OBJ)/tests/emu/emu_cublaslt.o $(EMU_LIB)
	$(if $(Q),@echo "  SO  $@")
	$(Q)$(CXX) -shared -pthread -Wl,-soname,$(EMU_LT_SONAME) -o $@ $< -L$(BUILD)/lib \
	    -Wl,-rpath,$(abspath $(BUILD)/lib) -lpictor-cudaemu $(EMU_SAN)
# The emulated cuDNN likewise.
EMU_DNN_SONAME := libcudnn.so.$(shell sed -n 's/^\#define CUDNN_MAJOR \([0-9]*\).*/\1/p' \
    $(or $(CUDNN_HOME),$(CUDA_HOME))/include/cudnn_version.h)
EMU_DNN := $(BUILD)/lib/$(EMU_DNN_SONAME)
$(EMU_DNN): $(OBJ)/tests/emu/emu_cudnn.o $(EMU_LIB)
	$(if $(Q),@echo "  SO  $@")
	$(Q)$(CXX) -shared -pthread -Wl,-soname,$(EMU_DNN_SONAME) -o $@ $< -L$(BUILD)/lib \
	    -Wl,-rpath,$(abspath $(BUILD)/lib) -lpictor-cudaemu $(EMU_SAN)
$(KERNELS_LIB): | $(EMU_LIB) $(EMU_LT) $(EMU_DNN)
endif

$(KERNELS_LIB): $(call objs,$(KERNELS_SRC)) $(patsubst %.cu,$(OBJ)/%.cu.o,$(KERNELS_CU))
$(CORE_LIB): $(call objs,$(CORE_SRC))
$(COMMON_LIB): $(call objs,$(COMMON_SRC))
$(FLUX_LIB): $(call objs,$(FLUX_SRC))
$(LIBDIR)/%.a:
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(PICTOR_BIN): $(call objs,$(PICTOR_SRC)) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD  $@")
	$(Q)$(CC) $(LDSAN) -o $@ $(call objs,$(PICTOR_SRC)) $(ALL_LIBS) $(LDLIBS_ALL)

$(BINDIR)/pictord: $(call objs,$(PICTORD_SRC)) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD  $@")
	$(Q)$(CC) $(LDSAN) -o $@ $(call objs,$(PICTORD_SRC)) $(ALL_LIBS) -lcivetweb $(LDLIBS_ALL)

unit-tests: $(UNIT_BINS) $(TEST_PLUGINS) $(PLUGINS)

# tests/tools: colour_regions, the checker of the demo model's semantic test
# (tests/scripts/demo_semantic.sh), and its own unit test.
COLOUR_OBJ := $(OBJ)/tests/tools/colour_regions.o
COLOUR_TOOL_BINS := $(TESTDIR)/colour_regions $(TESTDIR)/test_colour_regions
unit-tests: $(COLOUR_TOOL_BINS)
$(TESTDIR)/colour_regions: $(OBJ)/tests/tools/colour_regions_main.o $(COLOUR_OBJ)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD  $@")
	$(Q)$(CC) $(LDSAN) -o $@ $^ -lpng
COLOUR_TEST_OBJS := $(OBJ)/tests/tools/test_colour_regions.o $(COLOUR_OBJ) \
    $(call objs,tests/harness/test.c tests/harness/tmpdir.c)
$(TESTDIR)/test_colour_regions: $(COLOUR_TEST_OBJS) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD  $@")
	$(Q)$(CC) $(LDSAN) -o $@ $(COLOUR_TEST_OBJS) $(CORE_LIB) $(LDLIBS_ALL)

# tests/tools/png_bench: PNG encoding time and size (docs/benchmarks.md);
# built with the tests, never run by them.
unit-tests: $(TESTDIR)/png_bench
$(TESTDIR)/png_bench: $(OBJ)/tests/tools/png_bench.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD  $@")
	$(Q)$(CC) $(LDSAN) -o $@ $< $(CORE_LIB) $(LDLIBS_ALL)

$(TESTDIR)/test_%: $(OBJ)/tests/unit/test_%.o $(call objs,$(HARNESS_SRC)) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD  $@")
	$(Q)$(CC) $(LDSAN) -o $@ $< $(call objs,$(HARNESS_SRC)) $(ALL_LIBS) $(LDLIBS_ALL)

# GPU tests (tests/gpu/test_*.c): need a GPU to say anything, so they are
# not unit tests (tests/run-all would count their SKIP as "ran no test");
# built by `make gpu-tests` into $(TESTDIR)/gpu/ and run by tools/gpu-check.
GPU_TEST_SRC := $(wildcard tests/gpu/test_*.c)
GPU_TEST_BINS := $(patsubst tests/gpu/%.c,$(TESTDIR)/gpu/%,$(GPU_TEST_SRC))
gpu-tests: $(GPU_TEST_BINS)

GPU_TEST_COMMON := $(OBJ)/tests/gpu/cross.o
$(TESTDIR)/gpu/test_%: $(OBJ)/tests/gpu/test_%.o $(GPU_TEST_COMMON) $(call objs,$(HARNESS_SRC)) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD  $@")
	$(Q)$(CC) $(LDSAN) -o $@ $< $(GPU_TEST_COMMON) $(call objs,$(HARNESS_SRC)) $(ALL_LIBS) $(LDLIBS_ALL)

# libFuzzer targets need clang; built only in the main build. core and kernels
# are compiled with coverage instrumentation into their own archive, so a
# fuzzer links only the objects it uses (an unfinished or CUDA-only file
# elsewhere does not break it).
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=undefined \
               $(INCLUDES)
FUZZ_OBJ := $(BUILD)/fuzz-obj
FUZZ_LIB := $(FUZZ_OBJ)/libpictor-fuzz.a
FUZZ_SECONDS_LONG ?= 600
fuzz: $(FUZZ_BINS)
$(FUZZ_OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(FUZZ_LIB): $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(CORE_SRC) $(KERNELS_SRC))
	$(Q)rm -f $@ && ar rcs $@ $^
$(TESTDIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  FUZZ $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LDLIBS_ALL)

# Every fuzzer for FUZZ_SECONDS_LONG seconds (default 10 minutes) on a copy
# of its seed corpus; new inputs it finds stay in $(BUILD)/fuzz-corpus/NAME.
fuzz-long: fuzz
	$(Q)for f in $(FUZZ_BINS); do \
	    n=$$(basename $$f); c=$(BUILD)/fuzz-corpus/$$n; mkdir -p $$c; \
	    if [ -d tests/fuzz/corpus/$$n ]; then cp -r tests/fuzz/corpus/$$n/. $$c/; fi; \
	    $$f -max_total_time=$(FUZZ_SECONDS_LONG) -rss_limit_mb=2048 -print_final_stats=1 \
	        $$c || exit 1; \
	done

# ---- Debian dependencies ----------------------------------------------------
DEB_PKGS := build-essential pkg-config clang libclang-rt-dev libcivetweb-dev curl \
            libjson-c-dev libpng-dev zlib1g-dev libinih-dev libutf8proc-dev python3 python3-venv
check-deps:
	@tools/deps-check $(DEB_PKGS) || $(MAKE) --no-print-directory deps
deps:
	tools/deps-install $(DEB_PKGS)

# ---- test -------------------------------------------------------------------
# The ASan+UBSan build is CPU-only (CUDA=0): nvcc output is not instrumented,
# and the CUDA backend's pure-C parts (gemm_map, plan_cache, sdpa routing)
# have their unit tests in both builds.
test: check-deps
	$(Q)$(MAKE) --no-print-directory all fuzz
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SANITIZE=1 CUDA=0 unit-tests
	$(Q)$(if $(filter 1,$(HAVE_NVCC)),$(MAKE) --no-print-directory BUILD=$(BUILD)/emu CUDA_EMU=1 emu-build)
	$(Q)tests/run-all $(BUILD)

# emu-build (with CUDA_EMU=1): what tests/run-all runs under the CUDA emulator.
emu-build: gpu-tests $(PICTOR_BIN) $(PICTORD_BIN) $(PLUGINS)
# The GPU tests under the CUDA emulator alone (tests/emu/README.md): the CUDA
# backend's own kernels, from their .cu source, on the CPU.
emu-test:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/emu CUDA_EMU=1 gpu-tests
	$(Q)for t in $(BUILD)/emu/tests/gpu/test_*; do \
	    for o in fwd rev; do echo "== $$t ($$o)"; EMU_SCHEDULE=$$o $$t || exit 1; done; done

# make run: start pictord on 127.0.0.1:8080 with etc/pictor/pictord.ini, whose
# modes serve the embedded demo model (models/demo, docs/demo.md), and print a
# curl line to try. RUN_DEVICE=auto (default): the first GPU when the build has
# the CUDA backend and nvidia-smi lists a GPU (precision auto: bf16), else the
# CPU (fp32); RUN_DEVICE=cpu or cuda[:N] forces one.
RUN_DEVICE ?= auto
RUN_LISTEN := 127.0.0.1:8080
RUN_PROMPT := a red circle on a blue background
RUN_DEV = $(if $(filter auto,$(RUN_DEVICE)),$(if $(filter 1,$(HAVE_NVCC)),$(shell \
    nvidia-smi -L 2>/dev/null | grep -q '^GPU ' && echo cuda || echo cpu),cpu),$(RUN_DEVICE))
run: check-deps $(PICTORD_BIN) $(PLUGINS)
	@echo "pictord: http://$(RUN_LISTEN), demo model models/demo on $(RUN_DEV) (Ctrl-C stops it)."
	@echo "Try, in another terminal (writes demo.png, 256x256, about a second on 2 CPU cores):"
	@echo "  curl -s $(RUN_LISTEN)/v1/images/generations -d '{\"prompt\":\"$(RUN_PROMPT)\",\"size\":\"256x256\",\"seed\":1}' | python3 -c 'import base64,json,sys; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)[\"data\"][0][\"b64_json\"]))' > demo.png"
	$(Q)exec $(PICTORD_BIN) --config etc/pictor/pictord.ini --listen $(RUN_LISTEN) --device $(RUN_DEV)

install: $(PICTOR_BIN) $(PICTORD_BIN) $(PLUGINS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pictor/plugins \
	    $(DESTDIR)$(PREFIX)/include/pictor-abi/pictor
	install -m 0755 $(PICTOR_BIN) $(PICTORD_BIN) $(DESTDIR)$(PREFIX)/bin/
	$(if $(PLUGINS),install -m 0644 $(PLUGINS) $(DESTDIR)$(PREFIX)/lib/pictor/plugins/)
	install -m 0644 abi/pictor/*.h $(DESTDIR)$(PREFIX)/include/pictor-abi/pictor/
	cd models/demo && find . -type d -exec install -d $(DESTDIR)$(PREFIX)/share/pictor/models/demo/{} \; \
	    && find . -type f -exec install -m 0644 {} $(DESTDIR)$(PREFIX)/share/pictor/models/demo/{} \;
	install -d $(DESTDIR)$(PREFIX)/share && cp -R share/pictor $(DESTDIR)$(PREFIX)/share/ # bench --random-weights

clean:
	rm -rf $(BUILD)

-include $(shell find $(OBJ) $(FUZZ_OBJ) -name '*.d' 2>/dev/null)
