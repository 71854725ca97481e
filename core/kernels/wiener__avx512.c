/* wiener__avx512.c: the Wiener filter's band (wiener__simd.c) for AVX-512F. */
#include "kernels.h"
#include "../dispatch.h"

#define ISA avx512
#include "wiener__simd.c"
