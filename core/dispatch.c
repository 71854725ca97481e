/* dispatch.c: reads the CPU's features once and fills the kernel table. */
#include "dae-private.h"
#include "dispatch.h"

#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define DAE_X86 1
#else
#define DAE_X86 0
#endif

/* The passes between convolutions: the reference's, or AVX2's, which
 * AVX-512 keeps too (they move memory: 8 lanes already keep up). */
#if DAE_HAVE_AVX2_KERNELS
#define RESAMPLE_SIMD                                                        \
  .maxpool2 = dae_maxpool2_avx2, .upsample2 = dae_upsample2_avx2,            \
  .maxpool2_backward = dae_maxpool2_backward_avx2,                           \
  .maxpool2_backward_relu = dae_maxpool2_backward_relu_avx2,                 \
  .upsample2_backward = dae_upsample2_backward_avx2,                         \
  .upsample2_backward_relu = dae_upsample2_backward_relu_avx2,               \
  .add = dae_add_avx2
#else
#define RESAMPLE_SIMD                                                        \
  .maxpool2 = dae_maxpool2_ref, .upsample2 = dae_upsample2_ref,              \
  .maxpool2_backward = dae_maxpool2_backward_ref,                            \
  .maxpool2_backward_relu = dae_maxpool2_backward_relu_ref,                  \
  .upsample2_backward = dae_upsample2_backward_ref,                          \
  .upsample2_backward_relu = dae_upsample2_backward_relu_ref,                \
  .add = dae_add_ref
#endif

/* The conv3x3 family of one ISA (conv3x3__ISA.c). */
#define CONV3X3(isa)                                                         \
  .conv3x3 = dae_conv3x3_##isa,                                              \
  .conv3x3_maxpool2 = dae_conv3x3_maxpool2_##isa,                            \
  .upsample2_conv3x3 = dae_upsample2_conv3x3_##isa,                          \
  .upsample2_concat_conv3x3 = dae_upsample2_concat_conv3x3_##isa,            \
  .upsample2_concat_conv3x3_winograd = dae_upsample2_concat_conv3x3_winograd_##isa, \
  .conv3x3_winograd = dae_conv3x3_winograd_##isa,                            \
  .conv3x3_backward = dae_conv3x3_backward_##isa

static const DaeKernels kernels_ref = {
  .isa = DAE__ISA_REF,
  .name = "ref",
  CONV3X3 (ref),
  .maxpool2 = dae_maxpool2_ref,
  .upsample2 = dae_upsample2_ref,
  .maxpool2_backward = dae_maxpool2_backward_ref,
  .maxpool2_backward_relu = dae_maxpool2_backward_relu_ref,
  .upsample2_backward = dae_upsample2_backward_ref,
  .upsample2_backward_relu = dae_upsample2_backward_relu_ref,
  .add = dae_add_ref,
  .wiener_band = dae_wiener_band_ref,
};

#if DAE_HAVE_AVX2_KERNELS
static const DaeKernels kernels_avx2 = {
  .isa = DAE__ISA_AVX2,
  .name = "avx2",
  CONV3X3 (avx2),
  RESAMPLE_SIMD,
  .wiener_band = dae_wiener_band_avx2,
};
#endif
#if DAE_HAVE_AVX512_KERNELS
static const DaeKernels kernels_avx512 = {
  .isa = DAE__ISA_AVX512,
  .name = "avx512",
  CONV3X3 (avx512),
  RESAMPLE_SIMD,
  .wiener_band = dae_wiener_band_avx512,
};
#endif

typedef struct {
  gboolean has[DAE__N_ISA]; /* the CPU has it and the OS saves its registers */
  DaeIsa chosen;
  char *note;               /* why DAE_ISA was not followed, or NULL */
} DispatchState;

static DispatchState state;
static const DaeKernels *test_table;

#if DAE_X86
/* XCR0 says which register files the OS saves on a context switch: a CPU
 * may have AVX-512 while the OS (or a hypervisor) leaves it off. */
static guint64
read_xcr0 (void)
{
  guint32 lo, hi;
  __asm__ volatile ("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((guint64) hi << 32) | lo;
}
#endif

static void
detect (gboolean has[DAE__N_ISA])
{
  has[DAE__ISA_REF] = TRUE;
#if DAE_X86
  unsigned a, b, c, d;
  if (!__get_cpuid (1, &a, &b, &c, &d))
    return;
  const gboolean fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  if (!osxsave || !avx)
    return;
  const guint64 xcr0 = read_xcr0 ();
  const gboolean os_ymm = (xcr0 & 0x6) == 0x6;   /* SSE and AVX state */
  const gboolean os_zmm = (xcr0 & 0xe6) == 0xe6; /* + opmask, ZMM_Hi256, Hi16_ZMM */
  if (__get_cpuid_max (0, NULL) < 7)
    return;
  __cpuid_count (7, 0, a, b, c, d);
  const gboolean avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
  has[DAE__ISA_AVX2] = DAE_HAVE_AVX2_KERNELS && os_ymm && avx && avx2 && fma;
  has[DAE__ISA_AVX512] = DAE_HAVE_AVX512_KERNELS && has[DAE__ISA_AVX2]
                         && os_zmm && avx512f;
#endif
}

static const char *const isa_names[DAE__N_ISA] = { "ref", "avx2", "avx512" };

static gpointer
init_state (gpointer unused)
{
  detect (state.has);
  DaeIsa best = DAE__ISA_REF;
  for (int i = 0; i < DAE__N_ISA; i++)
    if (state.has[i])
      best = i;
  state.chosen = best;

  const char *want = g_getenv ("DAE_ISA");
  if (want != NULL && *want != '\0')
    {
      int asked = -1;
      for (int i = 0; i < DAE__N_ISA; i++)
        if (g_ascii_strcasecmp (want, isa_names[i]) == 0)
          asked = i;
      if (asked < 0)
        state.note = g_strdup_printf ("DAE_ISA=%s is not one of ref, avx2, avx512; using %s",
                                      want, isa_names[best]);
      else if (!state.has[asked])
        state.note = g_strdup_printf ("DAE_ISA=%s: this CPU or its OS lacks %s; using %s",
                                      want, isa_names[asked], isa_names[best]);
      else
        state.chosen = asked;
    }
  return NULL;
}

static void
ensure_init (void)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, init_state, NULL);
}

const DaeKernels *
dae__kernels_for (DaeIsa isa)
{
  ensure_init ();
  if (isa < 0 || isa >= DAE__N_ISA || !state.has[isa])
    return NULL;
  switch (isa)
    {
#if DAE_HAVE_AVX2_KERNELS
    case DAE__ISA_AVX2:
      return &kernels_avx2;
#endif
#if DAE_HAVE_AVX512_KERNELS
    case DAE__ISA_AVX512:
      return &kernels_avx512;
#endif
    default:
      return &kernels_ref;
    }
}

const DaeKernels *
dae__kernels (void)
{
  ensure_init ();
  return test_table ? test_table : dae__kernels_for (state.chosen);
}

void
dae__kernels_set_table (const DaeKernels *table)
{
  test_table = table;
}

gboolean
dae__kernels_override (DaeIsa isa)
{
  if (dae__kernels_for (isa) == NULL)
    return FALSE;
  state.chosen = isa;
  return TRUE;
}

const char *
dae_kernels_describe (void)
{
  return dae__kernels ()->name;
}

const char *
dae_kernels_get_note (void)
{
  ensure_init ();
  return state.note;
}

typedef struct {
  float *p;
  size_t n;
} Scratch;

static void
scratch_free (gpointer data)
{
  Scratch *s = data;
  g_aligned_free (s->p);
  g_free (s);
}

static GPrivate scratch_key = G_PRIVATE_INIT (scratch_free);

float *
dae__kernel_scratch (size_t n)
{
  Scratch *s = g_private_get (&scratch_key);
  if (s == NULL)
    {
      s = g_new0 (Scratch, 1);
      g_private_set (&scratch_key, s);
    }
  if (s->n < n)
    {
      g_aligned_free (s->p);
      /* Round up so that a few larger layers do not reallocate in turn. */
      s->n = MAX (n, s->n * 2);
      s->p = g_aligned_alloc (s->n, sizeof (float), 64);
    }
  return s->p;
}
