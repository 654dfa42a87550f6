# hostflow -- build, run, test, benchmark.
#
#   make          build ./hostflow and build/libhostflow.so (the FFI library busted loads)
#   make run      install what is missing, build, run the main job on the bundled sample
#   make deps     install the Debian packages hostflow builds and tests with
#   make test     every test: C unit tests (ASan+UBSan), busted specs, fuzzing, integration
#                 (`make deps test` on a fresh machine: make test installs nothing)
#   make spec     the busted specs of tests/spec under LuaJIT (plain `busted` does the same:
#                 .busted); SPEC=FILE... runs those spec files only, such as an analysis's
#   make bench    the benchmark table, beside an old binary (see README, "Performance";
#                 OLD=<commit> names the old one, OLD= runs without)
#   make man      the man pages, into build/man (from the commands' --help; contrib/man)
#   make install  hostflow, its Lua side, analyses, configuration and man pages
#                 (PREFIX=/usr/local, SYSCONFDIR=/etc, DESTDIR; see README "Installing")
#   make uninstall  what make install put there (a configuration you changed stays)
#   make deb      a Debian package, built by dpkg-buildpackage in build/deb (contrib/debian)
#
# The core is layered (core/README.md): core/<layer>/<module>.c, included as
# "<layer>/<module>.h" from core/; tests/tools/layers.sh checks the order.

CC      ?= cc
PKGS    := luajit libcjson zlib rdkafka libcurl libmicrohttpd
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

# Where make install puts things.  The binary finds its files through the
# paths compiled into base/luastate.c (HF_DATADIR, HF_SYSCONFDIR), and first
# through the same paths relative to BINDIR, so an installation under DESTDIR
# or a moved prefix works as well.  In a source tree ./hostflow uses the tree.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
DOCDIR     ?= $(DATADIR)/doc/hostflow
SYSCONFDIR ?= /etc
HF_DATA    := $(DATADIR)/hostflow
HF_ETC     := $(SYSCONFDIR)/hostflow
relpath     = $(shell realpath -m --relative-to='$(1)' '$(2)')
HF_PATHS    = -DHF_DATADIR='"$(HF_DATA)"' -DHF_SYSCONFDIR='"$(HF_ETC)"' \
              -DHF_DATADIR_REL='"$(call relpath,$(BINDIR),$(HF_DATA))"' \
              -DHF_SYSCONFDIR_REL='"$(call relpath,$(BINDIR),$(HF_ETC))"'
VERSION    := $(shell sed -n 's/^\#define HF_VERSION "\(.*\)"/\1/p' core/main.c)
# the files under HF_DATA, each at its path in the tree
DATA_FILES  = $(shell find lua -name "*.lua") $(wildcard analyses/*.lua contrib/queries/*.lua) \
              contrib/sample-flows.ndjson.gz $(WEB_FILES)
# the HTTP view's page, without what only makes it (vendor.sh, npm's files)
WEB_FILES   = $(shell find contrib/web -type f ! -name '*.sh' ! -name 'package*.json' 2>/dev/null)
DOC_FILES   = README.md lua/README.md $(wildcard contrib/docs/*.md)
MAN_PAGES   = hostflow.1 hostflow-run.1 hostflow-check.1 hostflow-query.1 hostflow.conf.5

.PHONY: all run test spec bench deps unit fuzz tools clean man install uninstall deb FORCE
.SECONDARY:   # keep the objects of the ASan build between runs
all: hostflow build/libhostflow.so

build/obj/%.o: core/%.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
build/asan/%.o: core/%.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(ASAN) -O1 -c -o $@ $<
build/obj/support/%.o: tests/support/%.c tests/support/*.h $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TESTINC) -c -o $@ $<
build/asan/support/%.o: tests/support/%.c tests/support/*.h $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TESTINC) $(ASAN) -O1 -c -o $@ $<

# The installed paths go into luastate.o alone; build/paths changes (and so
# rebuilds it) when they do.
build/obj/base/luastate.o build/asan/base/luastate.o: CFLAGS += $(HF_PATHS)
build/obj/base/luastate.o build/asan/base/luastate.o: build/paths
build/paths: FORCE
	@mkdir -p $(@D)
	@echo '$(HF_DATA) $(HF_ETC) $(BINDIR)' | cmp -s - $@ || echo '$(HF_DATA) $(HF_ETC) $(BINDIR)' >$@

# -rdynamic: the analyses reach the core's primitives through ffi.C
hostflow: build/obj/main.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -rdynamic -o $@ $^ $(LDLIBS)
build/obj/main.o: core/main.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
build/libhostflow.so: $(CORE_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -o $@ $^ $(LDLIBS)

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
build/tools/%: tests/tools/%.c tests/bench/benchlib.h $(CORE_OBJS) $(SUPPORT_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TESTINC) -rdynamic -o $@ $< $(CORE_OBJS) $(SUPPORT_OBJS) $(LDLIBS)
# simdjson, the decode row's yardstick: built where libsimdjson-dev is installed
SIMDJSON_TOOL := $(if $(wildcard /usr/include/simdjson.h),build/tools/bench_simdjson)
build/tools/bench_simdjson: tests/tools/bench_simdjson.cpp build/obj/base/addr.o build/obj/base/timefmt.o
	@mkdir -p $(@D)
	$(CXX) -O2 -g -std=c++17 -Icore -o $@ $^ -lsimdjson
tools: $(TOOL_BINS) $(SIMDJSON_TOOL)

deps:
	@contrib/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory all tools
	@contrib/run-sample.sh

test:
	@contrib/install-deps.sh --check
	@$(MAKE) --no-print-directory all unit fuzz tools man
	@tests/run.sh

# busted reads .busted: LuaJIT, tests/spec unless SPEC names files
spec: build/libhostflow.so
	busted $(SPEC)

bench: deps
	@$(MAKE) --no-print-directory all tools
	@$(if $(filter command line,$(origin OLD)),BENCH_OLD='$(OLD)' )tests/bench/run.sh

# The man pages: the commands' --help and `hostflow config` inside the prose
# of contrib/man/*.in (contrib/man/mkman.py says how)
man: $(MAN_PAGES:%=build/man/%)
build/man/%: contrib/man/%.in contrib/man/mkman.py hostflow
	@mkdir -p $(@D)
	contrib/man/mkman.py --hostflow ./hostflow --version '$(VERSION)' --datadir '$(HF_DATA)' \
	    --sysconfdir '$(HF_ETC)' --docdir '$(DOCDIR)' -o $@ $<

install: all man
	install -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(HF_DATA)' '$(DESTDIR)$(HF_ETC)' \
	    '$(DESTDIR)$(MANDIR)/man1' '$(DESTDIR)$(MANDIR)/man5' '$(DESTDIR)$(DOCDIR)'
	install -m 755 hostflow '$(DESTDIR)$(BINDIR)/hostflow'
	@for f in $(DATA_FILES); do \
	    install -D -m 644 "$$f" '$(DESTDIR)$(HF_DATA)'/"$$f" || exit 1; done
	@echo 'installed the Lua side, analyses and contrib files in $(DESTDIR)$(HF_DATA)'
	@conf='$(DESTDIR)$(HF_ETC)/hostflow.lua'; \
	if [ -e "$$conf" ] && ! cmp -s conf/hostflow.lua "$$conf"; then \
	    install -m 644 conf/hostflow.lua "$$conf.new"; \
	    echo "$$conf: kept (changed); this version's is $$conf.new"; \
	else install -m 644 conf/hostflow.lua "$$conf" && echo "installed $$conf"; fi
	install -m 644 $(filter %.1,$(MAN_PAGES:%=build/man/%)) '$(DESTDIR)$(MANDIR)/man1'
	install -m 644 $(filter %.5,$(MAN_PAGES:%=build/man/%)) '$(DESTDIR)$(MANDIR)/man5'
	@for f in $(DOC_FILES); do \
	    install -D -m 644 "$$f" '$(DESTDIR)$(DOCDIR)'/"$$f" || exit 1; done

# Everything install put there, and the directories it made that are now
# empty; a configuration that differs from this tree's is left in place.
uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/hostflow' '$(DESTDIR)$(HF_ETC)/hostflow.lua.new'
	@for f in $(DATA_FILES); do rm -f '$(DESTDIR)$(HF_DATA)'/"$$f"; done
	@for f in $(DOC_FILES); do rm -f '$(DESTDIR)$(DOCDIR)'/"$$f"; done
	@for p in $(filter %.1,$(MAN_PAGES)); do rm -f '$(DESTDIR)$(MANDIR)/man1'/"$$p"; done
	@for p in $(filter %.5,$(MAN_PAGES)); do rm -f '$(DESTDIR)$(MANDIR)/man5'/"$$p"; done
	@conf='$(DESTDIR)$(HF_ETC)/hostflow.lua'; \
	if [ -e "$$conf" ] && ! cmp -s conf/hostflow.lua "$$conf"; then \
	    echo "$$conf: kept (changed since it was installed)"; else rm -f "$$conf"; fi
	@for d in '$(DESTDIR)$(HF_DATA)' '$(DESTDIR)$(DOCDIR)' '$(DESTDIR)$(HF_ETC)'; do \
	    [ -d "$$d" ] && find "$$d" -depth -type d -empty -delete; true; done
	@echo 'uninstalled hostflow from $(DESTDIR)$(PREFIX)'

# A Debian package of this tree, in build/deb (contrib/debian/mkdeb.sh says how)
deb:
	@contrib/debian/mkdeb.sh >/dev/null
