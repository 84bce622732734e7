# libactr — the two commands (`make demo`, `make test`) and their siblings.
# Each target installs what is missing (scripts/install-deps.sh), builds with
# Meson + Ninja, and runs.
.PHONY: all deps build demo test bench fuzz soak asan fuzz-build docs clean

NINJA_JOBS ?= 2
MESON_SETUP = meson setup --wipe

all: build

build:
	@scripts/install-deps.sh build
	@[ -f build/build.ninja ] || meson setup build >/dev/null
	ninja -C build -j$(NINJA_JOBS)

demo: build
	@scripts/install-deps.sh demo
	./build/src/tool/actr-lane demo
	scripts/demo-realm.sh ./build/src/tool/actr-lane

# The HTML API reference of include/actr/*.h (Doxygen) in build/docs/html;
# fails on any undocumented public name (scripts/docs.sh).
docs:
	@scripts/install-deps.sh docs
	scripts/docs.sh . build/docs

asan:
	@[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined \
	  -Db_lundef=false -Dbench=false -Dc_args=-fno-sanitize-recover=all >/dev/null
	ninja -C build-asan -j$(NINJA_JOBS)

fuzz-build:
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false \
	  -Dbench=false -Dtool=false -Db_lundef=false \
	  -Dc_args=-fsanitize=fuzzer-no-link,address,undefined \
	  -Dc_link_args=-fsanitize=address,undefined >/dev/null
	ninja -C build-fuzz -j$(NINJA_JOBS)

test:
	@scripts/install-deps.sh test
	$(MAKE) build asan fuzz-build
	scripts/run-tests.sh

# Meson caches what it did not find: a build dir set up before the bench
# packages (ZeroMQ, NNG) were installed is set up again, once, so that the
# baselines are built.
bench:
	@scripts/install-deps.sh bench
	@if [ -f build/build.ninja ] && [ ! -f build/.bench-deps ]; then \
	  $(MESON_SETUP) build >/dev/null; fi
	$(MAKE) build
	@touch build/.bench-deps
	@{ scripts/run-bench.sh; echo $$? >build/bench.rc; } 2>&1 | tee build/bench.log
	@[ "$$(cat build/bench.rc)" = 0 ]
	scripts/bench-plot.sh build/bench.log build/bench-out

fuzz:
	@scripts/install-deps.sh fuzz
	$(MAKE) fuzz-build
	FUZZ_RUNS=$${FUZZ_RUNS:-10000000} FUZZ_SECONDS=$${FUZZ_SECONDS:-3600} scripts/run-tests.sh

# Not part of `make test`: 10 minutes (SOAK_SECONDS) of mixed traffic on every
# lane kind with a hostile client attached; serve's RSS must stay flat
# (docs/soak.md).  A full-length run puts its plot and figures in docs/.
soak:
	@scripts/install-deps.sh soak
	$(MAKE) build
	scripts/soak.sh

clean:
	rm -rf build build-asan build-fuzz
