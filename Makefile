# nncalc — build, run, test, benchmark, install.
#
#   make            build ./nncalc (installs missing Debian packages first)
#   make run        build and start the REPL
#   make test       every test: Check unit tests, Lua tests and CLI tests
#                   through the binary, then all of them again under
#                   AddressSanitizer + UndefinedBehaviorSanitizer
#   make sanitize   only the sanitizer pass (with 40 s of the fuzzer)
#   make fuzz SECONDS=600   a long run of the random-API fuzzer (tests/fuzz/)
#   make bench      benchmarks (GEMM, start-up, autograd, convolution, nncalc beside
#                   PyTorch, summary, Adam, LSTM), PyTorch measured in the same run
#                   when installed
#   make install PREFIX=/usr/local
#
# ARCH=-march=x86-64-v2 (say) builds for another CPU; V=1 shows commands.

PREFIX ?= /usr/local
PKG_CONFIG ?= pkg-config
# Where stock lua5.4 finds Lua files and C modules under PREFIX (Debian's
# lua5.4 searches /usr/local/lib/lua/5.4 but not the multiarch folder there).
LUA_LMOD ?= $(PREFIX)/share/lua/5.4
LUA_CMOD ?= $(if $(filter /usr,$(PREFIX)),$(shell $(PKG_CONFIG) --variable=INSTALL_CMOD lua5.4),$(PREFIX)/lib/lua/5.4)
VERSION = 0.1.0
CC ?= cc
# -mtune=generic: GCC 12 tunes -march=native on Zen 4 as Rocket Lake, and
# that tuning's SLP vectoriser stores struct fields to the wrong offsets
# (seen in tests/check_conv.c: a Conv2dParams built field by field got
# padding {1,1}); the generic tuning compiles the same code correctly.
# Only x86 compilers know -march=native with these tunings and
# -mprefer-vector-width; elsewhere (aarch64, or a cross compiler) the
# target's defaults apply.
TARGET := $(shell $(CC) -dumpmachine 2>/dev/null)
IS_X86 := $(if $(filter x86_64% i386% i486% i586% i686% amd64%,$(TARGET)),1)
ARCH ?= $(if $(IS_X86),-march=native -mtune=generic)
VEC512 := $(if $(IS_X86),-mprefer-vector-width=512)
# a compiler for another machine than this one: its libraries are not here
CROSS := $(if $(filter $(shell uname -m)-% $(shell uname -m),$(TARGET)),,1)
OPT ?= -O2
BUILD ?= build

# ---- dependencies -----------------------------------------------------
# Building needs Lua 5.4 and Readline; Check only the tests.  What
# pkg-config cannot find, scripts/install-deps installs (or, without root or
# apt-get, names exactly).
NEEDED = lua5.4 readline $(if $(filter test unit sanitize $(BUILD)/check_runner,$(MAKECMDGOALS)),check)
ifeq ($(filter clean help print-%,$(MAKECMDGOALS)),)
MISSING := $(strip $(foreach m,$(NEEDED),$(if $(shell $(PKG_CONFIG) --exists $(m) 2>/dev/null && echo ok),,$(m))))
ifneq ($(MISSING),)
$(info nncalc: missing build dependencies (pkg-config: $(MISSING)); running scripts/install-deps)
DEPS_STATUS := $(shell sh scripts/install-deps $(MISSING) 1>&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error nncalc: could not install the build dependencies (see above))
endif
endif
endif

# OpenBLAS: only its headers at build time; nncalc dlopens the library on
# the first large product (start-up stays fast), the benchmark links it.
# (not for a cross compiler: the headers found are the build machine's)
HAVE_BLAS := $(if $(CROSS),,$(shell $(PKG_CONFIG) --exists openblas 2>/dev/null && echo 1))
BLAS_CFLAGS := $(if $(HAVE_BLAS),-DHAVE_CBLAS $(shell $(PKG_CONFIG) --cflags openblas) \
  -DNNCALC_BLAS_LIB='"$(shell $(PKG_CONFIG) --variable=libdir openblas)/libopenblas.so.0"')
BLAS_LIBS := $(if $(HAVE_BLAS),$(shell $(PKG_CONFIG) --libs openblas))
DEPCFLAGS := $(shell $(PKG_CONFIG) --cflags lua5.4 readline 2>/dev/null)
DEPLIBS := $(shell $(PKG_CONFIG) --libs lua5.4 readline 2>/dev/null) -ldl
# The Jupyter kernel (nncalc --kernel, src/kernel*.c) only when ZeroMQ,
# cJSON and libcrypto are there: `make` itself needs Lua and Readline only.
HAVE_KERNEL := $(shell $(PKG_CONFIG) --exists libzmq libcjson libcrypto 2>/dev/null && echo 1)
KERNEL_C := $(if $(HAVE_KERNEL),kernel kernel_wire kernel_exec kernel_install)
# The kernel is its own executable, nncalc-kernel, that `nncalc --kernel`
# runs: linking ZeroMQ and OpenSSL (two dozen libraries) into nncalc itself
# would cost every start-up their loading.
KERNEL_CFLAGS := $(if $(HAVE_KERNEL),-DNNCALC_KERNEL $(shell $(PKG_CONFIG) --cflags libzmq libcjson libcrypto))
KERNEL_LIBS := $(if $(HAVE_KERNEL),$(shell $(PKG_CONFIG) --libs libzmq libcjson libcrypto) -pthread)
CHECKFLAGS := $(shell $(PKG_CONFIG) --cflags --libs check 2>/dev/null)

# Lua's own warning set on top of the usual ones; the tree builds without
# a single warning under it.
WARN = -Wall -Wextra -Wpedantic -Wshadow -Wundef -Wwrite-strings -Wmissing-prototypes \
  -Wstrict-prototypes -Wdeclaration-after-statement
CFLAGS_ALL = -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(OPT) -g -fPIC $(ARCH) \
  -DNNCALC_VERSION='"$(VERSION)"' -DNNCALC_DATADIR='"$(PREFIX)/share/nncalc"' -DNNCALC_LUADIR='"$(LUA_LMOD)"' \
  $(BLAS_CFLAGS) $(DEPCFLAGS) $(SANFLAGS) $(CFLAGS)
LDLIBS_ALL = $(DEPLIBS) -lm $(SANFLAGS) $(LDFLAGS)
# the core and its Check runner: no Lua, no Readline (the boundary, kept by
# the build: neither their headers nor their libraries are offered)
CORE_LIBS = -ldl -lm $(SANFLAGS) $(LDFLAGS)

# One line per step (CC src/tensor.c); V=1 shows the whole commands.
ifeq ($(V),1)
say =
else
say = @printf '%s %s\n' '$(1)' '$(2)';
endif

# ---- sources ----------------------------------------------------------
# The core knows no Lua; the l_*.c bindings, run, repl and main do.
CORE = status tensor tensor_init ops_elem ops_reduce ops_matmul ops_linalg gemm linalg \
  autograd fn_elem fn_reduce fn_matmul fn_shape \
  layers_conv conv_direct workspace layers_pool layers_norm losses fn_layers fn_losses optim
# the binding: in the binary and in the Lua C module nncalc.so alike
BIND = l_aux l_tensor l_gc l_ops l_autograd l_nn l_optim l_lib l_loader
LUA_C = $(BIND) run repl complete history lalloc
KERNEL_O = $(KERNEL_C:%=$(BUILD)/%.o)
CORE_O = $(CORE:%=$(BUILD)/%.o)
LUA_O = $(LUA_C:%=$(BUILD)/%.o)
# nncalc's Lua modules as bytecode in the binary (src/embedded.h)
EMBED_O = $(BUILD)/embedded.o $(BUILD)/embedded_lua.o
BIND_O = $(BIND:%=$(BUILD)/%.o) $(EMBED_O)
TESTS_C = check_main check_status check_tensor check_ops check_gemm check_linalg check_autograd check_pool check_conv check_fixture
TESTS_O = $(TESTS_C:%=$(BUILD)/tests/%.o)
BIN = $(if $(filter build,$(BUILD)),nncalc,$(BUILD)/nncalc)
SO = $(BUILD)/nncalc.so
KBIN = $(if $(HAVE_KERNEL),$(if $(filter build,$(BUILD)),nncalc-kernel,$(BUILD)/nncalc-kernel))

.PHONY: all run test unit sanitize bench install install-module module uninstall clean help golden core check-op-tables fuzz
all: $(BIN) $(SO) $(KBIN)

# the C core's objects (no Lua, no linking): what a cross compiler builds
# without the target's libraries (make core CC=aarch64-linux-gnu-gcc BUILD=build/aarch64)
core: $(CORE_O)

$(BIN): $(CORE_O) $(LUA_O) $(EMBED_O) $(BUILD)/main.o
	$(call say,LD,$@)$(CC) -o $@ $^ $(LDLIBS_ALL)

$(KBIN): $(CORE_O) $(LUA_O) $(EMBED_O) $(KERNEL_O) $(BUILD)/main_kernel.o
	$(call say,LD,$@)$(CC) -o $@ $^ $(LDLIBS_ALL) $(KERNEL_LIBS)

$(BUILD)/main_kernel.o: src/main.c src/*.h | $(BUILD)
	$(call say,CC,$< (kernel))$(CC) $(CFLAGS_ALL) $(KERNEL_CFLAGS) -c -o $@ $<

$(KERNEL_O): DEPCFLAGS += $(KERNEL_CFLAGS)

# require "nncalc" from a stock lua5.4: the same objects, without the
# host (REPL, CLI); Lua's own symbols come from the interpreter.
$(SO): $(CORE_O) $(BIND_O)
	$(call say,LD,$@)$(CC) -shared -o $@ $^ -ldl -lm $(SANFLAGS) $(LDFLAGS)

$(BUILD)/%.o: src/%.c src/*.h | $(BUILD)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -c -o $@ $<

# Every .lua file under lua/ compiled to stripped bytecode by a host tool of our own
# (luaL_loadfile + lua_dump), so nothing depends on a luac binary.
HOSTCC ?= $(CC)
LUA_FILES := $(shell find lua -name '*.lua' | LC_ALL=C sort)
$(BUILD)/luaembed: tools/luaembed.c | $(BUILD)
	$(call say,CC,$<)$(HOSTCC) -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) -O2 $(DEPCFLAGS) -o $@ $< $(DEPLIBS) -lm

$(BUILD)/embedded_lua.c: $(BUILD)/luaembed $(LUA_FILES)
	$(call say,EMBED,$@)$(BUILD)/luaembed lua $@ $(LUA_FILES)

$(BUILD)/embedded_lua.o: $(BUILD)/embedded_lua.c src/embedded.h
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -Isrc -c -o $@ $<

# the matrix kernel is the hot loop: full optimisation, wide vectors
$(BUILD)/gemm.o: src/gemm.c src/gemm.h src/status.h | $(BUILD)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -O3 $(VEC512) -c -o $@ $<

# elementwise, im2col and pooling loops, autograd's finite/zero scans and
# the pairwise sums: -O3 vectorises them (GCC's -O2 leaves relu's backward
# and im2col's row copies scalar)
HOT_O = $(BUILD)/ops_elem.o $(BUILD)/fn_elem.o $(BUILD)/layers_conv.o $(BUILD)/layers_pool.o \
  $(BUILD)/autograd.o $(BUILD)/ops_reduce.o \
  $(BUILD)/conv_direct.o
$(HOT_O): $(BUILD)/%.o: src/%.c src/*.h | $(BUILD)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -O3 $(VEC512) -c -o $@ $<

# the optimizer loops stream memory: vectorised sqrt needs no errno
$(BUILD)/optim.o: src/optim.c src/optim.h | $(BUILD)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -O3 -fno-math-errno $(VEC512) -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c tests/check_suites.h src/*.h | $(BUILD)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -Isrc $(shell $(PKG_CONFIG) --cflags check) -c -o $@ $<

# compiled without the Lua and Readline include paths: a core file that
# reached for lua.h would not build
$(CORE_O) $(TESTS_O): DEPCFLAGS =

$(BUILD)/check_runner: $(TESTS_O) $(CORE_O)
	$(call say,LD,$@)$(CC) -o $@ $^ $(CHECKFLAGS) $(CORE_LIBS)

$(BUILD):
	@mkdir -p $(BUILD)/tests

run: $(BIN)
	./$(BIN)

# ---- tests ------------------------------------------------------------
# unit: one pass of every suite against $(BUILD); test: the normal build,
# then the sanitizer build; tests/run_all.sh prints the final tally.
unit: $(BIN) $(SO) $(KBIN) $(BUILD)/check_runner check-op-tables
	sh tests/run_all.sh $(BUILD) $(BIN)

test: $(BIN) $(SO) $(KBIN) $(BUILD)/check_runner check-op-tables
	rm -f $(BUILD)/tally build/san/tally
	-sh tests/run_all.sh $(BUILD) $(BIN)
	-$(MAKE) --no-print-directory sanitize
	@sh tests/total.sh $(BUILD) build/san

# An op added to its enum without its rows must not compile (src/optable.h):
# NNCALC_TEST_MISSING_OP adds a unary op in the middle of the enum and
# nothing else, and each table indexed by that enum must then refuse to
# build, with its own message.
check-op-tables:
	@for f in fn_elem:unary_table ops_elem:unary_fn ops_elem:op_unary_name; do \
	  src=src/$${f%%:*}.c; table=$${f#*:}; \
	  $(CC) $(CFLAGS_ALL) -fsyntax-only $$src || exit 1; \
	  if $(CC) $(CFLAGS_ALL) -DNNCALC_TEST_MISSING_OP -fsyntax-only $$src 2>$(BUILD)/optable.err; then \
	    echo "check-op-tables: $$src compiled with a unary op that has no row"; exit 1; fi; \
	  grep -q "$$table: every op of the enum needs exactly one row" $(BUILD)/optable.err || \
	    { echo "check-op-tables: $$src failed for another reason:"; cat $(BUILD)/optable.err; exit 1; }; \
	done; echo "check-op-tables: a unary op without its rows does not compile (as it must)"

# rewrite the lessons' golden transcripts after changing a lesson on purpose
golden: $(BIN)
	NNCALC_LUA_DIR=$(CURDIR)/lua sh tests/lessons_test.sh ./$(BIN) --update

SANFLAGS_ASAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
sanitize:
	$(MAKE) --no-print-directory BUILD=build/san OPT=-O1 SANFLAGS="$(SANFLAGS_ASAN)" \
	  build/san/nncalc build/san/check_runner $(if $(HAVE_KERNEL),build/san/nncalc-kernel)
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 CK_FORK=no \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) \
	  sh tests/run_all.sh build/san build/san/nncalc

# make fuzz SECONDS=600 [SEED=7]: a long run of the random-API fuzzer
# (tests/fuzz/) under AddressSanitizer + UndefinedBehaviorSanitizer; make
# test runs FUZZ_TEST_SECONDS of it in the sanitizer pass
FUZZ_TEST_SECONDS ?= 40
SECONDS ?= 300
SEED ?= 1
fuzz:
	$(MAKE) --no-print-directory BUILD=build/san OPT=-O1 SANFLAGS="$(SANFLAGS_ASAN)" build/san/nncalc
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp NNCALC_LUA_DIR=$(CURDIR)/lua \
	  sh tests/fuzz/run.sh build/san/nncalc $(SECONDS) $(SEED)

# ---- benchmarks -------------------------------------------------------
bench: $(BIN) $(BUILD)/bench_gemm $(BUILD)/bench_startup $(BUILD)/bench_conv
	$(BUILD)/bench_gemm
	$(BUILD)/bench_startup ./$(BIN) $(CURDIR)/lua
	$(BUILD)/bench_conv
	./$(BIN) bench/bench_anchors.lua ./$(BIN) 3 $(BUILD)/bench_gemm
	./$(BIN) bench/bench_autograd.lua
	./$(BIN) bench/bench_summary.lua vgg16
	./$(BIN) bench/bench_summary.lua resnet50
	./$(BIN) bench/bench_transformer.lua
	./$(BIN) bench/bench_optim.lua
	./$(BIN) bench/bench_lstm.lua
	./$(BIN) bench/bench_budget.lua

$(BUILD)/bench_conv: bench/bench_conv.c $(BUILD)/layers_conv.o $(BUILD)/conv_direct.o $(BUILD)/workspace.o $(BUILD)/tensor.o $(BUILD)/tensor_init.o $(BUILD)/gemm.o $(BUILD)/status.o
	$(CC) $(CFLAGS_ALL) -O3 -Isrc -o $@ $^ $(LDLIBS_ALL) $(BLAS_LIBS)

$(BUILD)/bench_startup: bench/bench_startup.c | $(BUILD)
	$(CC) -std=c11 $(WARN) -O2 -o $@ $<

$(BUILD)/bench_gemm: bench/bench_gemm.c $(BUILD)/gemm.o $(BUILD)/status.o
	$(CC) $(CFLAGS_ALL) -O3 -Isrc -o $@ $^ $(LDLIBS_ALL) $(BLAS_LIBS)

# ---- install ----------------------------------------------------------
# Lua files and nncalc.so where stock lua5.4 finds them (the binary finds
# the same files), the lessons and man page in nncalc's data folder.
install: $(BIN) install-module
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/nncalc/lessons \
	  $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/nncalc
	$(if $(KBIN),install -m 755 $(KBIN) $(DESTDIR)$(PREFIX)/bin/nncalc-kernel)
	cp -R lessons/. $(DESTDIR)$(PREFIX)/share/nncalc/lessons/
	install -m 644 doc/nncalc.1 $(DESTDIR)$(PREFIX)/share/man/man1/nncalc.1
	$(if $(HAVE_KERNEL),DESTDIR=$(DESTDIR) $(DESTDIR)$(PREFIX)/bin/nncalc --install-kernel --prefix $(DESTDIR)$(PREFIX))

# the Lua library alone (LuaRocks' make backend uses these two)
module: $(SO)
install-module: $(SO)
	install -d $(DESTDIR)$(LUA_LMOD) $(DESTDIR)$(LUA_CMOD)
	install -m 755 $(SO) $(DESTDIR)$(LUA_CMOD)/nncalc.so
	cp -R lua/. $(DESTDIR)$(LUA_LMOD)/

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/nncalc $(DESTDIR)$(PREFIX)/share/nncalc \
	  $(DESTDIR)$(LUA_LMOD)/nncalc $(DESTDIR)$(LUA_CMOD)/nncalc.so \
	  $(DESTDIR)$(PREFIX)/share/man/man1/nncalc.1 $(DESTDIR)$(PREFIX)/share/jupyter/kernels/nncalc

clean:
	rm -rf build nncalc

help:
	@sed -n '2,15p' Makefile | sed 's/^# \{0,1\}//'

# make -s print-WARN: a variable's value, for the tests
print-%:
	@echo '$($*)'
