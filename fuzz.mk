# fuzz.mk: libFuzzer targets for lib/ (tests/fuzz/), included from the Makefile.
# `make fuzz` builds each target with clang, ASan and UBSan into build/fuzz/
# and runs it for FUZZ_SECONDS over a copy of its seed corpus; it fails when
# any target finds a crash, a leak, a timeout or undefined behaviour.
# Nothing here touches the normal build: other objects and flags stay as they are.

# Whatever the including file's default goal is stays its default goal.
FUZZ_SAVED_GOAL := $(.DEFAULT_GOAL)

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_TARGETS ?= fuzz_decode fuzz_names
# Extra libFuzzer flags for every run, e.g. FUZZ_ARGS=-jobs=4.
FUZZ_ARGS    ?=
# asan: secret memory from plain malloc (lib/secret.c built with
# -DCFS_SECRET_PLAIN_MALLOC) so that ASan sees overflows of token buffers;
# real: lib/secret.c's slab heap as shipped.
FUZZ_SECRET  ?= asan

FUZZ_DIR      := build/fuzz
FUZZ_PKG      := $(or $(PKG_CONFIG),pkg-config)
# Expanded when used: only the fuzz rules pay for these look-ups.
# libcrypto: http.c hands OpenSSL the secret heap.
FUZZ_DEPFLAGS = $(shell $(FUZZ_PKG) --cflags libcurl json-c libcrypto 2>/dev/null)
FUZZ_DEPLIBS  = $(shell $(FUZZ_PKG) --libs libcurl json-c libcrypto 2>/dev/null)

# Like the Makefile's $(call require,...): a fuzz rule about to run stops with one line
# naming what is missing (clang, its libFuzzer runtime, a library); `make fuzz` and
# `make fuzz-deps` install it. Each look-up is made once per make, when first needed.
FUZZ_HAVE_CC  = $(eval FUZZ_HAVE_CC := $(shell command -v $(firstword $(FUZZ_CC)) 2>/dev/null))$(FUZZ_HAVE_CC)
FUZZ_HAVE_RT  = $(eval FUZZ_HAVE_RT := $(wildcard $(shell $(FUZZ_CC) --print-runtime-dir \
                2>/dev/null)/libclang_rt.fuzzer-*.a))$(FUZZ_HAVE_RT)
FUZZ_MISSING_MODULES = $(eval FUZZ_MISSING_MODULES := $(foreach m,libcurl json-c libcrypto,\
                $(if $(shell $(FUZZ_PKG) --exists $(m) 2>/dev/null && echo y),,$(m))))$(FUZZ_MISSING_MODULES)
fuzz_require = $(strip \
  $(if $(FUZZ_HAVE_CC),,$(call cfs_missing,clang,$(firstword $(FUZZ_CC)),make fuzz-deps)) \
  $(if $(FUZZ_HAVE_RT),,$(call cfs_missing,libclang-rt-14-dev,libFuzzer runtime of $(FUZZ_CC),make fuzz-deps)) \
  $(if $(FUZZ_MISSING_MODULES),$(call cfs_missing,$(foreach m,$(FUZZ_MISSING_MODULES),$(DEB_$(m))),\
      pkg-config $(FUZZ_MISSING_MODULES),make deps)))

# Recovering from UB would only print; libFuzzer must see it as a crash.
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CPPFLAGS := -D_DEFAULT_SOURCE -DCFS_VERSION='"$(or $(VERSION),fuzz)"' -Ilib \
                 $(if $(filter asan,$(FUZZ_SECRET)),-DCFS_SECRET_PLAIN_MALLOC)
FUZZ_CFLAGS   = -std=c11 -g -O1 -fno-omit-frame-pointer -pthread \
                 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
                 -Wwrite-strings $(FUZZ_DEPFLAGS)

# lib/ gets the coverage instrumentation (fuzzer-no-link) but not libFuzzer's main.
FUZZ_LIB_SRC := $(wildcard lib/*.c)
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/$(FUZZ_SECRET)/%.o)
FUZZ_LIBA    := $(FUZZ_DIR)/$(FUZZ_SECRET)/libconnectorfs-fuzz.a
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)

.PHONY: fuzz fuzz-build fuzz-deps

# Installs packages only when one is missing (no network otherwise). Only fuzz-deps and
# fuzz install; a fuzz compile rule never does.
fuzz-deps:
	@sh scripts/install-deps.sh
	@sh scripts/install-fuzz-deps.sh

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/$(FUZZ_SECRET)/%.o: %.c lib/*.h
	$(fuzz_require)@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
	    -c -o $@ $<

$(FUZZ_LIBA): $(FUZZ_LIB_OBJ)
	@rm -f $@
	@$(or $(AR),ar) rcs $@ $^

# Always relinked (it takes a second), so that switching FUZZ_SECRET takes effect.
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIBA) lib/*.h FORCE_FUZZ_LINK
	$(fuzz_require)@mkdir -p $(dir $@)
	@echo "  FUZZLD  $@ (secret heap: $(FUZZ_SECRET))"
	@$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) \
	    -o $@ $< $(FUZZ_LIBA) $(FUZZ_DEPLIBS)

.PHONY: FORCE_FUZZ_LINK
FORCE_FUZZ_LINK:

# Each target runs over build/fuzz/corpus-<target> (the seeds of
# tests/fuzz/corpus/<target>/ plus what earlier runs found), with the
# dictionary tests/fuzz/<target>.dict when there is one. All targets run;
# the ones that failed are named at the end, with the input that did it.
# The build runs in a second make, after fuzz-deps, so that it finds what was installed.
fuzz: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-build
	@failed=""; \
	for t in $(FUZZ_TARGETS); do \
		corpus=$(FUZZ_DIR)/corpus-$$t; art=$(FUZZ_DIR)/artifacts-$$t/; \
		mkdir -p $$corpus $$art; \
		cp -R tests/fuzz/corpus/$$t/. $$corpus/; \
		dict=""; [ -f tests/fuzz/$$t.dict ] && dict="-dict=tests/fuzz/$$t.dict"; \
		echo "  FUZZ    $$t for $(FUZZ_SECONDS) s (corpus $$corpus)"; \
		if UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		    $(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		    -print_final_stats=1 -artifact_prefix=$$art $$dict $(FUZZ_ARGS) \
		    $$corpus > $(FUZZ_DIR)/$$t.log 2>&1; then \
			grep -E '^#[0-9]+[[:space:]]+DONE' $(FUZZ_DIR)/$$t.log | tail -1; \
		else \
			sed -n '/check failed\|runtime error\|ERROR: /,/^SUMMARY/p' \
			    $(FUZZ_DIR)/$$t.log | head -n 40; \
			echo "fuzz: $$t FAILED; input in $$art (log $(FUZZ_DIR)/$$t.log)"; \
			echo "      reproduce: $(FUZZ_DIR)/$$t $$art<file>"; \
			failed="$$failed $$t"; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed"; exit 1; fi; \
	echo "fuzz: no crash in $(words $(FUZZ_TARGETS)) targets, $(FUZZ_SECONDS) s each"

.DEFAULT_GOAL := $(FUZZ_SAVED_GOAL)
