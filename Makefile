# hostflow -- build, run, test, benchmark.
#
#   make          build ./hostflow and build/libhostflow.so (the FFI library busted loads)
#   make run      run the main job on the bundled sample and show the busiest hosts
#   make test     every test: C unit tests (ASan+UBSan), busted specs, fuzzing, integration
#   make bench    the benchmark table (see README, "Performance")
#   make deps     install missing Debian packages (run by run and test)

CC      ?= cc
PKGS    := luajit libcjson zlib rdkafka
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -D_GNU_SOURCE -fPIC -pthread $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm -ldl

CORE_SRCS := $(filter-out core/main.c,$(wildcard core/*.c))
CORE_OBJS := $(CORE_SRCS:core/%.c=build/obj/%.o)
ASAN_OBJS := $(CORE_SRCS:core/%.c=build/asan/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/unit/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=build/tools/%)
ASAN    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all run test bench deps unit fuzz tools clean
.SECONDARY:   # keep the objects of the ASan build between runs
all: hostflow build/libhostflow.so

build/obj/%.o: core/%.c core/*.h | build/obj
	$(CC) $(CFLAGS) -c -o $@ $<
build/asan/%.o: core/%.c core/*.h | build/asan
	$(CC) $(CFLAGS) $(ASAN) -O1 -c -o $@ $<

# -rdynamic: the analyses reach the core's primitives through ffi.C
hostflow: build/obj/main.o $(CORE_OBJS)
	$(CC) $(CFLAGS) -rdynamic -o $@ $^ $(LDLIBS)
build/obj/main.o: core/main.c core/*.h | build/obj
	$(CC) $(CFLAGS) -c -o $@ $<
build/libhostflow.so: $(CORE_OBJS)
	$(CC) $(CFLAGS) -shared -o $@ $^ $(LDLIBS)

build/unit/%: tests/unit/%.c tests/unit/unit.h $(ASAN_OBJS) | build/unit
	$(CC) $(CFLAGS) $(ASAN) -O1 -Icore -o $@ $< $(ASAN_OBJS) $(LDLIBS)
unit: $(UNIT_BINS)

build/fuzz/%: tests/fuzz/%.c $(CORE_SRCS) core/*.h | build/fuzz
	clang $(CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined -Icore \
	    -o $@ $< $(CORE_SRCS) $(LDLIBS)
fuzz: $(FUZZ_BINS)

# -rdynamic: a tool that runs analyses gives Lua the core it is linked with
build/tools/%: tests/tools/%.c $(CORE_OBJS) | build/tools
	$(CC) $(CFLAGS) -rdynamic -Icore -o $@ $< $(CORE_OBJS) $(LDLIBS)
tools: $(TOOL_BINS)

build/obj build/asan build/unit build/fuzz build/tools:
	mkdir -p $@

deps:
	@contrib/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory all tools
	@contrib/run-sample.sh

test: deps
	@$(MAKE) --no-print-directory all unit fuzz tools
	@tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory all tools
	@tests/bench/run.sh

clean:
	rm -rf build hostflow
