# nncalc — build, run, test, benchmark, install.
#
#   make            build ./nncalc (installs missing Debian packages first)
#   make run        build and start the REPL
#   make test       every test: Check unit tests, Lua tests and CLI tests
#                   through the binary, then all of them again under
#                   AddressSanitizer + UndefinedBehaviorSanitizer
#   make sanitize   only the sanitizer pass
#   make bench      benchmarks (GEMM, start-up, autograd, convolution, summary,
#                   Adam), printed beside references
#   make install PREFIX=/usr/local
#
# ARCH=-march=x86-64-v2 (say) builds for another CPU than this one.

PREFIX ?= /usr/local
VERSION = 0.1.0
CC ?= cc
# -mtune=generic: GCC 12 tunes -march=native on Zen 4 as Rocket Lake, and
# that tuning's SLP vectoriser stores struct fields to the wrong offsets
# (seen in tests/check_conv.c: a Conv2dParams built field by field got
# padding {1,1}); the generic tuning compiles the same code correctly.
ARCH ?= -march=native -mtune=generic
OPT ?= -O2
BUILD ?= build

# ---- dependencies -----------------------------------------------------
# When pkg-config cannot find them, install them (scripts/install-deps
# says what it does, or lists what to install on non-Debian systems).
ifeq ($(filter clean help,$(MAKECMDGOALS)),)
ifneq ($(shell pkg-config --exists lua5.4 readline check 2>/dev/null && echo ok),ok)
$(info nncalc: build dependencies missing; running scripts/install-deps)
DEPS_STATUS := $(shell sh scripts/install-deps 1>&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error nncalc: could not install the build dependencies (see above))
endif
endif
endif

# OpenBLAS: only its headers at build time; nncalc dlopens the library on
# the first large product (start-up stays fast), the benchmark links it.
HAVE_BLAS := $(shell pkg-config --exists openblas 2>/dev/null && echo 1)
BLAS_CFLAGS := $(if $(HAVE_BLAS),-DHAVE_CBLAS $(shell pkg-config --cflags openblas) \
  -DNNCALC_BLAS_LIB='"$(shell pkg-config --variable=libdir openblas)/libopenblas.so.0"')
BLAS_LIBS := $(if $(HAVE_BLAS),$(shell pkg-config --libs openblas))
DEPCFLAGS := $(shell pkg-config --cflags lua5.4 readline 2>/dev/null)
DEPLIBS := $(shell pkg-config --libs lua5.4 readline 2>/dev/null) -ldl
# The Jupyter kernel (nncalc --kernel, src/kernel*.c) only when ZeroMQ,
# cJSON and libcrypto are there: `make` itself needs Lua and Readline only.
HAVE_KERNEL := $(shell pkg-config --exists libzmq libcjson libcrypto 2>/dev/null && echo 1)
KERNEL_C := $(if $(HAVE_KERNEL),kernel kernel_wire kernel_exec kernel_install)
DEPCFLAGS += $(if $(HAVE_KERNEL),-DNNCALC_KERNEL $(shell pkg-config --cflags libzmq libcjson libcrypto))
DEPLIBS += $(if $(HAVE_KERNEL),$(shell pkg-config --libs libzmq libcjson libcrypto) -pthread)
CHECKFLAGS := $(shell pkg-config --cflags --libs check 2>/dev/null)

WARN = -Wall -Wextra -Wpedantic
CFLAGS_ALL = -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(OPT) -g $(ARCH) \
  -DNNCALC_VERSION='"$(VERSION)"' -DNNCALC_DATADIR='"$(PREFIX)/share/nncalc"' \
  $(BLAS_CFLAGS) $(DEPCFLAGS) $(SANFLAGS) $(CFLAGS)
LDLIBS_ALL = $(DEPLIBS) -lm $(SANFLAGS) $(LDFLAGS)

# ---- sources ----------------------------------------------------------
# The core knows no Lua; the l_*.c bindings, run, repl and main do.
CORE = status tensor tensor_init ops_elem ops_reduce ops_matmul ops_linalg gemm linalg \
  autograd fn_elem fn_reduce fn_matmul fn_shape \
  layers_conv layers_pool layers_norm losses fn_layers optim
LUA_C = l_tensor l_ops l_autograd l_nn l_optim l_lib run repl complete history lalloc $(KERNEL_C)
CORE_O = $(CORE:%=$(BUILD)/%.o)
LUA_O = $(LUA_C:%=$(BUILD)/%.o)
TESTS_C = check_main check_status check_tensor check_ops check_gemm check_linalg check_autograd check_pool check_conv check_fixture
TESTS_O = $(TESTS_C:%=$(BUILD)/tests/%.o)
BIN = $(if $(filter build,$(BUILD)),nncalc,$(BUILD)/nncalc)

.PHONY: all run test unit sanitize bench install uninstall clean help golden
all: $(BIN)

$(BIN): $(CORE_O) $(LUA_O) $(BUILD)/main.o
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/%.o: src/%.c src/*.h | $(BUILD)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# the matrix kernel is the hot loop: full optimisation, wide vectors
$(BUILD)/gemm.o: src/gemm.c src/gemm.h src/status.h | $(BUILD)
	$(CC) $(CFLAGS_ALL) -O3 -mprefer-vector-width=512 -c -o $@ $<

# the optimizer loops stream memory: vectorised sqrt needs no errno
$(BUILD)/optim.o: src/optim.c src/optim.h | $(BUILD)
	$(CC) $(CFLAGS_ALL) -O3 -fno-math-errno -mprefer-vector-width=512 -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c tests/check_suites.h src/*.h | $(BUILD)
	$(CC) $(CFLAGS_ALL) -Isrc $(shell pkg-config --cflags check) -c -o $@ $<

$(BUILD)/check_runner: $(TESTS_O) $(CORE_O)
	$(CC) -o $@ $^ $(CHECKFLAGS) $(LDLIBS_ALL)

$(BUILD):
	mkdir -p $(BUILD)/tests

run: $(BIN)
	./$(BIN)

# ---- tests ------------------------------------------------------------
# unit: one pass of every suite against $(BUILD); test: the normal build,
# then the sanitizer build; tests/run_all.sh prints the final tally.
unit: $(BIN) $(BUILD)/check_runner
	sh tests/run_all.sh $(BUILD) $(BIN)

test: $(BIN) $(BUILD)/check_runner
	rm -f $(BUILD)/tally build/san/tally
	-sh tests/run_all.sh $(BUILD) $(BIN)
	-$(MAKE) --no-print-directory sanitize
	@sh tests/total.sh $(BUILD) build/san

# rewrite the lessons' golden transcripts after changing a lesson on purpose
golden: $(BIN)
	NNCALC_LUA_DIR=$(CURDIR)/lua sh tests/lessons_test.sh ./$(BIN) --update

SANFLAGS_ASAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
sanitize:
	$(MAKE) --no-print-directory BUILD=build/san OPT=-O1 SANFLAGS="$(SANFLAGS_ASAN)" \
	  build/san/nncalc build/san/check_runner
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 CK_FORK=no \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  sh tests/run_all.sh build/san build/san/nncalc

# ---- benchmarks -------------------------------------------------------
bench: $(BIN) $(BUILD)/bench_gemm $(BUILD)/bench_startup $(BUILD)/bench_conv
	$(BUILD)/bench_gemm
	$(BUILD)/bench_startup ./$(BIN)
	$(BUILD)/bench_conv
	./$(BIN) bench/bench_autograd.lua
	./$(BIN) bench/bench_summary.lua vgg16
	./$(BIN) bench/bench_summary.lua resnet50
	./$(BIN) bench/bench_optim.lua

$(BUILD)/bench_conv: bench/bench_conv.c $(BUILD)/layers_conv.o $(BUILD)/tensor.o $(BUILD)/tensor_init.o $(BUILD)/gemm.o $(BUILD)/status.o
	$(CC) $(CFLAGS_ALL) -O3 -Isrc -o $@ $^ $(LDLIBS_ALL) $(BLAS_LIBS)

$(BUILD)/bench_startup: bench/bench_startup.c | $(BUILD)
	$(CC) -std=c11 $(WARN) -O2 -o $@ $<

$(BUILD)/bench_gemm: bench/bench_gemm.c $(BUILD)/gemm.o $(BUILD)/status.o
	$(CC) $(CFLAGS_ALL) -O3 -Isrc -o $@ $^ $(LDLIBS_ALL) $(BLAS_LIBS)

# ---- install ----------------------------------------------------------
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/nncalc/lua \
	  $(DESTDIR)$(PREFIX)/share/nncalc/lessons $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/nncalc
	cp -R lua/. $(DESTDIR)$(PREFIX)/share/nncalc/lua/
	cp -R lessons/. $(DESTDIR)$(PREFIX)/share/nncalc/lessons/
	install -m 644 doc/nncalc.1 $(DESTDIR)$(PREFIX)/share/man/man1/nncalc.1
	$(if $(HAVE_KERNEL),DESTDIR=$(DESTDIR) $(DESTDIR)$(PREFIX)/bin/nncalc --install-kernel --prefix $(DESTDIR)$(PREFIX))

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/nncalc $(DESTDIR)$(PREFIX)/share/nncalc \
	  $(DESTDIR)$(PREFIX)/share/man/man1/nncalc.1 $(DESTDIR)$(PREFIX)/share/jupyter/kernels/nncalc

clean:
	rm -rf build nncalc

help:
	@sed -n '2,13p' Makefile | sed 's/^# \{0,1\}//'
