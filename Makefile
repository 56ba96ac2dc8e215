# connectorfs: see README.md. `make help` lists the targets.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
DESTDIR   ?=

CC        ?= cc
PKG_CONFIG ?= pkg-config
WERROR    ?= -Werror
OPT       ?= -O2 -g
CSTD      := -std=c11
WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wwrite-strings -Wformat=2 -Wno-format-nonliteral $(WERROR)
CPPFLAGS  += -D_DEFAULT_SOURCE -DCFS_VERSION='"$(VERSION)"' -Ilib

ifeq ($(SANITIZE),1)
OPT       := -O1 -g -fno-omit-frame-pointer
SANFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined
BUILD     := build/san
else ifeq ($(SANITIZE),thread)
OPT       := -O1 -g -fno-omit-frame-pointer
SANFLAGS  := -fsanitize=thread
BUILD     := build/tsan
else
SANFLAGS  :=
BUILD     := build/default
endif

CURL_CFLAGS  := $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS    := $(shell $(PKG_CONFIG) --libs libcurl libcrypto 2>/dev/null)
JSON_CFLAGS  := $(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
JSON_LIBS    := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null)
FUSE_CFLAGS  := $(shell $(PKG_CONFIG) --cflags fuse3 2>/dev/null)
FUSE_LIBS    := $(shell $(PKG_CONFIG) --libs fuse3 2>/dev/null)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

# V=1 shows every command.
Q := $(if $(filter 1,$(V)),,@)

CFLAGS_COMMON := $(CSTD) $(OPT) $(WARN) $(SANFLAGS) -pthread
LDFLAGS_COMMON := $(SANFLAGS) -pthread

LIB_SRC  := $(wildcard lib/*.c)
FS_SRC   := $(wildcard fs/*.c)
UNIT_SRC := $(wildcard tests/unit/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
FS_OBJ   := $(FS_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)

LIBA     := $(BUILD)/libconnectorfs.a
BIN      := fs/connectorfs
BUILD_BIN := $(BUILD)/connectorfs
UNIT_BIN := $(BUILD)/unit-tests

.PHONY: all deps check check-unit check-tsan check-integration demo demo-stop bench soak install \
        uninstall clean help

# A sanitized build never replaces fs/connectorfs: it stays under build/san or build/tsan.
ifneq ($(SANITIZE),)
all: $(BUILD_BIN)
else
all: $(BIN)
endif

help:
	@echo "make              build fs/connectorfs"
	@echo "make check        install missing packages, run unit + integration tests"
	@echo "make check SANITIZE=1   the same with ASan+UBSan builds"
	@echo "make check-unit   Check unit tests of lib/ only"
	@echo "make check-tsan   the unit tests under ThreadSanitizer"
	@echo "make check-integration  mount the real binary against the emulator"
	@echo "make demo         build, start the emulator, mount ./mnt, show a tour"
	@echo "make demo-stop    unmount ./mnt and stop the demo's emulator"
	@echo "make bench        speed and memory, side by side with tmpfs and curl|jq"
	@echo "make soak         rotation soak (SOAK_SECONDS=60): every read checked"
	@echo "make fuzz         libFuzzer on the decoder and name/URL checks (FUZZ_SECONDS=60 each)"
	@echo "make install      binary, man page, systemd unit (PREFIX, DESTDIR); make uninstall"
	@echo "make clean        remove build output"

deps:
	@sh scripts/install-deps.sh

# lib/ is compiled without the FUSE flags: a FUSE include there cannot build.
$(BUILD)/lib/%.o: lib/%.c lib/*.h | deps-quiet
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(CURL_CFLAGS) $(JSON_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/fs/%.o: fs/%.c fs/*.h lib/*.h | deps-quiet
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(FUSE_CFLAGS) -DFUSE_USE_VERSION=314 $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%.o: tests/unit/%.c tests/unit/*.h lib/*.h | deps-quiet
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(CHECK_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD_BIN): $(FS_OBJ) $(LIBA)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_COMMON) $(LDFLAGS) -o $@ $(FS_OBJ) $(LIBA) $(FUSE_LIBS) \
	    $(CURL_LIBS) $(JSON_LIBS)

$(BIN): $(BUILD_BIN)
	$(Q)cp $< $@

$(UNIT_BIN): $(UNIT_OBJ) $(LIBA)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_COMMON) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(LIBA) $(CHECK_LIBS) \
	    $(CURL_LIBS) $(JSON_LIBS)

# Installs packages only when one is missing (no network otherwise).
.PHONY: deps-quiet
deps-quiet:
	@sh scripts/install-deps.sh

# The unit run's output is kept so that the closing line counts both suites;
# a failing unit run still lets the integration tests run, and fails the check.
check: deps
	@$(MAKE) --no-print-directory $(UNIT_BIN) $(BUILD_BIN) SANITIZE=$(SANITIZE)
	@CK_DEFAULT_TIMEOUT=30 $(UNIT_BIN) 2>&1 | tee $(BUILD)/unit.log; \
	CFS_SANITIZE=$(SANITIZE) python3 tests/integration/run.py --binary $(BUILD_BIN) \
	    --unit-log $(BUILD)/unit.log

check-unit: $(UNIT_BIN)
	CK_DEFAULT_TIMEOUT=30 $(UNIT_BIN)

# The cache and refresh code under ThreadSanitizer (the unit tests run many
# threads through single-flight); halt_on_error makes any race fail the run.
check-tsan:
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	    $(MAKE) --no-print-directory check-unit SANITIZE=thread

check-integration: $(BUILD_BIN)
	CFS_SANITIZE=$(SANITIZE) python3 tests/integration/run.py --binary $(BUILD_BIN)

demo: deps $(BIN)
	@sh scripts/demo.sh start

demo-stop:
	@sh scripts/demo.sh stop

soak: deps $(BIN)
	python3 scripts/soak.py --seconds $(or $(SOAK_SECONDS),60)

bench: deps $(BIN)
	@python3 scripts/bench.py

UNITDIR   ?= $(PREFIX)/lib/systemd/system

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/connectorfs
	install -m 0644 fs/connectorfs.1 $(DESTDIR)$(MANDIR)/man1/connectorfs.1
	sed 's|@BINDIR@|$(BINDIR)|g' scripts/connectorfs.service > $(DESTDIR)$(UNITDIR)/connectorfs.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/connectorfs.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/connectorfs $(DESTDIR)$(MANDIR)/man1/connectorfs.1 \
	    $(DESTDIR)$(UNITDIR)/connectorfs.service

clean:
	rm -rf build $(BIN)

# make fuzz: libFuzzer targets under tests/fuzz/ (clang, installed on demand).
include fuzz.mk
