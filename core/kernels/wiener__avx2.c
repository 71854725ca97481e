/* wiener__avx2.c: the Wiener filter's band (wiener__simd.c) for AVX2 + FMA. */
#include "kernels.h"
#include "../dispatch.h"

#define ISA avx2
#include "wiener__simd.c"
