"""Build and CPU facts of the native kernels (for retrograd.show_config), and the size of the
thread team OpenMP really starts (team_size)."""
from rg_capi cimport (rg_openmp_enabled, rg_default_num_threads, rg_team_size, rg_simd_level,
                      rg_compiler, RG_SIMD_AVX2_FMA, RG_SIMD_AVX512, RG_GRAIN_CHEAP,
                      RG_GRAIN_TRANSCEND, RG_DENSE_GRAIN, RG_REDUCE_GROUPS)

# Rows of the partial sums of a reduction across threads (PReLU's work): the groups are
# fixed by the problem's size, so results do not depend on the thread count.
REDUCE_GROUPS = RG_REDUCE_GROUPS


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(rg_openmp_enabled())


def default_num_threads():
    """OpenMP's default team size (honours OMP_NUM_THREADS); 1 without OpenMP."""
    return rg_default_num_threads()


def simd_level():
    """The SIMD code paths this CPU runs: 'avx512' (transcendental loops; AVX2+FMA
    elsewhere), 'avx2+fma' or 'baseline' (the x86-64 SSE2 build)."""
    level = rg_simd_level()
    if level == RG_SIMD_AVX512:
        return "avx512"
    return "avx2+fma" if level == RG_SIMD_AVX2_FMA else "baseline"


def compiler():
    """Compiler id and version that built the kernels."""
    return rg_compiler().decode()


def grains():
    """Work per thread below which kernels stay on fewer threads:
    {"cheap": ..., "transcendental": ...} in elements, {"dense": ...} in multiply-adds."""
    return {"cheap": RG_GRAIN_CHEAP, "transcendental": RG_GRAIN_TRANSCEND,
            "dense": RG_DENSE_GRAIN}


def team_size(int n_threads):
    """The number of threads OpenMP really starts for a kernel called with
    ``n_threads`` on a problem big enough for all of them: n_threads, unless
    OpenMP caps it (OMP_THREAD_LIMIT, OMP_DYNAMIC); 1 without OpenMP."""
    cdef int size
    if n_threads < 1:
        raise ValueError(f"team_size: expected a positive thread count, got {n_threads!r}")
    with nogil:
        size = rg_team_size(n_threads)
    return size
