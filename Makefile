# hostflow -- build, run, test, benchmark.
#
#   make          build ./hostflow and build/libhostflow.so (the FFI library busted loads)
#   make run      install what is missing, build, run the main job on the bundled sample
#   make deps     install the Debian packages hostflow builds and tests with
#   make test     every test: C unit tests (ASan+UBSan), busted specs, fuzzing, integration
#                 (`make deps test` on a fresh machine: make test installs nothing)
#   make bench    the benchmark table, beside an old binary (see README, "Performance";
#                 OLD=<commit> names the old one, OLD= runs without)
#
# The core is layered (core/README.md): core/<layer>/<module>.c, included as
# "<layer>/<module>.h" from core/; tests/tools/layers.sh checks the order.

CC      ?= cc
PKGS    := luajit libcjson zlib rdkafka libcurl
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -D_GNU_SOURCE -fPIC -pthread -Icore $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm -ldl

CORE_SRCS := $(wildcard core/*/*.c)
CORE_HDRS := $(wildcard core/*/*.h)
CORE_OBJS := $(CORE_SRCS:core/%.c=build/obj/%.o)
ASAN_OBJS := $(CORE_SRCS:core/%.c=build/asan/%.o)
# test-only code (the cJSON reference decoder): linked into tests, fuzzers and tools, never the binary
SUPPORT_SRCS := $(wildcard tests/support/*.c)
SUPPORT_OBJS := $(SUPPORT_SRCS:tests/support/%.c=build/obj/support/%.o)
SUPPORT_ASAN := $(SUPPORT_SRCS:tests/support/%.c=build/asan/support/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/unit/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=build/tools/%)
ASAN    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TESTINC := -Itests

.PHONY: all run test bench deps unit fuzz tools clean
.SECONDARY:   # keep the objects of the ASan build between runs
all: hostflow build/libhostflow.so

build/obj/%.o: core/%.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<
build/asan/%.o: core/%.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(ASAN) -O1 -c -o $@ $<
build/obj/support/%.o: tests/support/%.c tests/support/*.h $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TESTINC) -c -o $@ $<
build/asan/support/%.o: tests/support/%.c tests/support/*.h $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TESTINC) $(ASAN) -O1 -c -o $@ $<

# -rdynamic: the analyses reach the core's primitives through ffi.C
hostflow: build/obj/main.o $(CORE_OBJS)
	$(CC) $(CFLAGS) -rdynamic -o $@ $^ $(LDLIBS)
build/obj/main.o: core/main.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<
build/libhostflow.so: $(CORE_OBJS)
	$(CC) $(CFLAGS) -shared -o $@ $^ $(LDLIBS)

build/unit/%: tests/unit/%.c tests/unit/unit.h $(ASAN_OBJS) $(SUPPORT_ASAN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TESTINC) $(ASAN) -O1 -o $@ $< $(ASAN_OBJS) $(SUPPORT_ASAN) $(LDLIBS)
unit: $(UNIT_BINS)

build/fuzz/%: tests/fuzz/%.c $(CORE_SRCS) $(SUPPORT_SRCS) $(CORE_HDRS)
	@mkdir -p $(@D)
	clang $(CFLAGS) $(TESTINC) -O1 -g -fsanitize=fuzzer,address,undefined \
	    -o $@ $< $(CORE_SRCS) $(SUPPORT_SRCS) $(LDLIBS)
fuzz: $(FUZZ_BINS)

# -rdynamic: a tool that runs analyses gives Lua the core it is linked with
build/tools/%: tests/tools/%.c $(CORE_OBJS) $(SUPPORT_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TESTINC) -rdynamic -o $@ $< $(CORE_OBJS) $(SUPPORT_OBJS) $(LDLIBS)
tools: $(TOOL_BINS)

deps:
	@contrib/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory all tools
	@contrib/run-sample.sh

test:
	@contrib/install-deps.sh --check
	@$(MAKE) --no-print-directory all unit fuzz tools
	@tests/run.sh

# OLD=<commit>: the old binary beside the new one (default: tests/bench/old-commit; OLD= none)
bench: deps
	@$(MAKE) --no-print-directory all tools
	@$(if $(filter command line,$(origin OLD)),BENCH_OLD='$(OLD)' )tests/bench/run.sh

clean:
	rm -rf build hostflow
