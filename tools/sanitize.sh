#!/usr/bin/env bash
# Sanitizer run: builds minigrad's C extensions with AddressSanitizer and
# UndefinedBehaviorSanitizer in a SEPARATE copy of the tree, then runs the kernel
# tests and the fuzzer (tests/fuzz/fuzz_c.py) against that build.
#
# Usage (from anywhere inside the checkout):
#   tools/sanitize.sh short                 # CI: kernel tests + a short fuzz, <= 3 min
#   tools/sanitize.sh long [--calls N]      # N fuzzed calls (default 1000000)
# Options:
#   --calls N        fuzzed calls (short: 10000, long: 1000000)
#   --seed S         fuzzer seed (default: 0)
#   --no-tests       skip the kernel tests (pytest), fuzz only
#   --build-dir DIR  where the copy is built (default: a fresh mktemp -d, removed
#                    on exit); an existing DIR is refreshed from the checkout and
#                    only extensions with a newer source are recompiled (a
#                    changed header or a deleted file is not noticed: use a
#                    fresh dir for a run that counts)
#   --keep           keep the temporary build dir (its path is printed)
#   -k EXPR          only the kernel tests matching EXPR (pytest -k); default:
#                    all but those that hit an open known bug ($KNOWN_TESTS
#                    below), or all of them when MG_FUZZ_SKIP=none
# Environment:
#   MG_FUZZ_SKIP=cat1,cat2   known-bug categories the fuzzer avoids (see
#                            tests/fuzz/fuzz_c.py, KNOWN_BUGS); unset: those
#                            still open (DEFAULT_SKIP there); "none": nothing
#   MG_SAN_JOBS=N            parallel compile jobs (default 2)
#
# The checkout it runs from is never modified: the sources are copied (tracked
# and untracked, not ignored, files) to the build dir, compiled there in place,
# and python runs with PYTHONPATH and cwd in that copy. Exit status: non-zero on
# any test failure, fuzzer finding, sanitizer report or crash.
#
# Flags: -fsanitize=address,undefined -fno-sanitize-recover=all
# -fno-omit-frame-pointer -O1 -g, given through CFLAGS/LDFLAGS. setup.py puts its
# own -O3 after CFLAGS, so the compiler is a small wrapper that appends -O1 last.
set -euo pipefail

# The whole script is one compound command, parsed before it runs: editing this
# file during a long run cannot change the running script.
{

# Kernel tests that run into a known open bug under the sanitizers, as a pytest
# -k expression (was "propagates_nan or special_values or xent_fused_edges"
# until the NaN-in-exp fix, d909bf4): add a name while its fix is pending.
KNOWN_TESTS=""

mode=${1:-}
case "$mode" in
short) calls=10000 ;;
long) calls=1000000 ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
shift
seed=0
tests=1
build_dir=""
keep=0
kexpr=${KNOWN_TESTS:+"not ($KNOWN_TESTS)"}
[ "${MG_FUZZ_SKIP:-}" = none ] && kexpr=""
while [ $# -gt 0 ]; do
    case "$1" in
    --calls) calls=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --no-tests) tests=0; shift ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -k) kexpr=$2; shift 2 ;;
    *) echo "sanitize.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

src=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
python=${PYTHON:-python}
t_start=$(date +%s)

if [ -z "$build_dir" ]; then
    build_dir=$(mktemp -d "${TMPDIR:-/tmp}/minigrad-san.XXXXXX")
    if [ "$keep" = 0 ]; then
        trap 'rm -rf "$build_dir"' EXIT
    fi
fi
mkdir -p "$build_dir"
echo "== sanitizer build in $build_dir"

asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
san_flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g"

# The sources: tracked and untracked-but-not-ignored files, plus Cython's
# generated .c (with their times, so cythonize need not redo them).
(cd "$src" && { git ls-files -co --exclude-standard; ls minigrad/_C/*.c 2>/dev/null || true; } |
    sort -u | while read -r f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
    xargs -0 cp --parents -p -t "$build_dir")
cat >"$build_dir/cc-san" <<CC
#!/bin/sh
# gcc with the sanitizer optimisation level last (setup.py adds -O3 before it).
exec gcc "\$@" -O1
CC
chmod +x "$build_dir/cc-san"
t0=$(date +%s)
(cd "$build_dir" &&
    CC="$build_dir/cc-san" CFLAGS="$san_flags" LDFLAGS="-fsanitize=address,undefined" \
        "$python" setup.py -q build_ext --inplace -j "${MG_SAN_JOBS:-2}" >build.log 2>&1) ||
    { tail -50 "$build_dir/build.log"; echo "sanitize.sh: build failed" >&2; exit 1; }
echo "== built in $(($(date +%s) - t0)) s"
for so in "$build_dir"/minigrad/_C/*.so; do
    ldd "$so" | grep libasan >/dev/null || { echo "sanitize.sh: $so is not instrumented" >&2; exit 1; }
done

# Run python under the sanitizers. libasan must come first in the process, so it
# is preloaded (python itself is not instrumented). Leak checking is off: the
# interpreter does not free everything at exit. PYTHONMALLOC=malloc puts Python
# objects on the instrumented heap too. allocator_may_return_null: a huge
# allocation gives numpy's MemoryError instead of an ASan abort.
export LD_PRELOAD="$asan $ubsan${LD_PRELOAD:+ $LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1:detect_stack_use_after_return=0:strict_string_checks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export PYTHONMALLOC=malloc
export PYTHONPATH="$build_dir"
export PYTHONFAULTHANDLER=1
export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-dev}
cd "$build_dir"

status=0
if [ "$tests" = 1 ]; then
    echo "== kernel tests under ASan+UBSan"
    t0=$(date +%s)
    # --capture=sys: a sanitizer report (written to fd 2 just before the
    # abort) must reach the terminal, not pytest's capture file.
    "$python" -m pytest -q -x -p no:cacheprovider --capture=sys ${kexpr:+-k "$kexpr"} \
        tests/test_gemm.py tests/test_act_kernels.py tests/test_softmax_kernels.py \
        tests/test_scalar.py tests/test_conv_kernels.py tests/test_conv_fused.py \
        tests/test_optim_fused.py tests/test_fused_optim_isa.py tests/test_gemm_small.py \
        tests/test_adam_subnormal.py tests/test_scalar_fast.py tests/test_softmax_layouts.py \
        tests/test_softmax_bwd_layouts.py tests/test_linear_relu_bwd.py \
        tests/test_softmax_gT.py tests/test_gemm_roles.py tests/test_layout_copy.py \
        tests/test_softmax_strided_rows.py \
        tests/test_fuzz_c.py || status=$?
    echo "== kernel tests: exit $status in $(($(date +%s) - t0)) s"
    [ "$status" = 0 ] || { echo "sanitize.sh: FAILED (kernel tests)" >&2; exit "$status"; }
fi

echo "== fuzz: $calls calls, seed $seed"
state="$build_dir/fuzz_state.npy"
"$python" -m tests.fuzz.fuzz_c --calls "$calls" --seed "$seed" --state "$state" \
    --progress $((calls >= 100000 ? 50000 : 0)) || status=$?
if [ "$status" -gt 128 ] && [ -f "$state" ]; then
    # Killed by a signal (a sanitizer abort, SIGSEGV): name the call in flight.
    i=$("$python" -c "import numpy as np; print(int(np.load('$state')[1]))")
    echo "sanitize.sh: died in call $i; replay it (in a sanitizer build) with:"
    echo "    python -m tests.fuzz.fuzz_c --seed $seed --start $i --calls 1 -v"
fi
echo "== total $(($(date +%s) - t_start)) s, exit $status"
[ "$status" = 0 ] || echo "sanitize.sh: FAILED (fuzz exit $status)" >&2
exit "$status"
}
