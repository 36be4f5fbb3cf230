# ivfkit - build every library once into one archive, link each CLI into bin/.
#
#   make             build bin/vecdata, bin/ivftrain, bin/vecbench
#   make test        build and run the test suite (unit + CLI)
#   make test-asan   the same suite under AddressSanitizer + UndefinedBehaviorSanitizer,
#                    then a short run of every fuzz target (FUZZ_SHORT seconds each)
#   make fuzz        every libFuzzer target (tests/fuzz/) for FUZZ_SECONDS seconds each
#   make run         the main job: build the Fashion-MNIST file if absent, then
#                    vecbench run configs/fashion-mnist.ini: IVF vs flat, about 7 minutes
#   make run-full    the full comparison, configs/fashion-mnist-full.ini (builtin trainer,
#                    assign-vectors, int8; about 15 minutes)
#   make bench       every benchmark on full Fashion-MNIST; results go to results/
#   make dataset     datasets/fashion-mnist-784-euclidean.hdf5 from Debian's IDX files

CC      ?= cc
ARCH    ?= -march=native
CFLAGS  ?= -O2 -g $(ARCH)
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
PKGS    := hdf5 openblas sqlite3 inih libcjson zlib libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS  = -std=gnu11 -fopenmp $(WARN) $(CFLAGS) $(SAN) -MMD -MP \
              -Icore -Idatasets -Itrain -Iivf -Ieval $(PKG_CFLAGS)
LDLIBS  = -fopenmp $(SAN) $(PKG_LIBS) -ldl -lm

# faiss (Debian's libfaiss-dev: a static C++ library) where it is installed;
# FAISS=no builds without it (its sections are then skipped with the reason).
CXX     ?= c++
FAISS   ?= $(if $(wildcard /usr/include/faiss/IndexIVFFlat.h),yes,no)
ifeq ($(FAISS),yes)
ALL_CFLAGS += -DIVFKIT_HAVE_FAISS
LDLIBS  += -lfaiss -llapack -lblas -lstdc++
CXX_SRCS := $(wildcard eval/*.cc)
endif
ALL_CXXFLAGS = -std=gnu++17 -fopenmp $(WARN) $(CFLAGS) $(SAN) -MMD -MP -Icore -Ieval

BUILD ?= build/release
BIN   ?= bin

PROGS     := vecdata ivftrain vecbench
PROG_SRCS := datasets/vecdata.c train/ivftrain.c eval/vecbench.c
LIB_SRCS  := $(filter-out $(PROG_SRCS),$(wildcard core/*.c datasets/*.c train/*.c ivf/*.c eval/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(CXX_SRCS:%.cc=$(BUILD)/%.o)
LIB       := $(BUILD)/libivfkit.a
TEST_SRCS := $(wildcard tests/test_*.c)
TESTS     := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(wildcard tests/bench_*.c)
BENCHES   := $(BENCH_SRCS:tests/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzzers/%)
FUZZ_SECONDS ?= 60
FUZZ_SHORT   ?= 5
# libFuzzer's seed: 0 = a new one each run (test-asan fixes it)
FUZZ_SEED    ?= 0
PROG_BINS := $(addprefix $(BIN)/,$(filter $(PROGS),$(notdir $(basename $(wildcard $(PROG_SRCS))))))

.PHONY: all test test-asan fuzz fuzz-build fuzzers bench dataset run run-full clean
.SECONDARY:
all: $(PROG_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BIN)/%: $(BUILD)/datasets/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDLIBS) -o $@
$(BIN)/%: $(BUILD)/train/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDLIBS) -o $@
$(BIN)/%: $(BUILD)/eval/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIB)
	$(CC) $^ $(LDLIBS) -lcmocka -o $@

$(BUILD)/fuzzers/%: $(BUILD)/tests/fuzz/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDLIBS) -fsanitize=fuzzer -o $@

test: all $(TESTS)
	IVFKIT_BIN=$(abspath $(BIN)) IVFKIT_TESTS=$(abspath $(BUILD)/tests) tests/run

# Sanitizers need their own objects. Leak checking stays on; tests that load
# sqlite-vec suppress the leaks inside libsqlite3 that are sqlite-vec's own.
test-asan:
	$(MAKE) test BUILD=build/asan BIN=build/asan/bin ARCH= \
		CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_SHORT) FUZZ_SEED=1

# libFuzzer needs clang; the library is built again with its coverage
# instrumentation (and ASan + UBSan) in its own folder; under sanitizers clang
# cannot vectorize every `omp simd` loop, which is no error here.
fuzzers: $(FUZZERS)
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED=$(FUZZ_SEED) tests/fuzz/run build/fuzz
fuzz-build:
	$(MAKE) fuzzers BUILD=build/fuzz CC=clang FAISS=no ARCH= \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -Wno-pass-failed -Wno-unused-but-set-variable" \
		SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"

bench: all $(BENCHES)
	scripts/bench

dataset: all
	scripts/make-dataset

run: dataset
	$(BIN)/vecbench run configs/fashion-mnist.ini

run-full: dataset
	$(BIN)/vecbench run configs/fashion-mnist-full.ini

clean:
	rm -rf build bin

-include $(LIB_OBJS:.o=.d) $(TESTS:=.d) $(FUZZ_SRCS:%.c=$(BUILD)/%.d) $(BENCHES:=.d) $(PROG_SRCS:%.c=$(BUILD)/%.d)
