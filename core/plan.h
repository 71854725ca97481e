/* plan.h: the execution plan of a runner or a trainer.
 *
 * Made once, when the runner or trainer is made (again only if its path is
 * changed): for each layer how a conv3x3 runs (direct kernels, Winograd or
 * im2col + sgemm), which layers run fused, and for a trainer which kernels
 * run the backward pass.  The forward and backward passes and dae-filter -v
 * read it; nothing else decides.  AUTO measures the candidates of every
 * distinct layer shape once per machine (see plan.c). */
#ifndef DAE_PLAN_H
#define DAE_PLAN_H

#include "dae-private.h"
#include "dispatch.h"

G_BEGIN_DECLS

typedef enum {
  DAE__IMPL_NONE = 0, /* not a conv3x3 */
  DAE__IMPL_DIRECT,   /* the table's direct kernel (fused where a step says) */
  DAE__IMPL_WINOGRAD, /* Winograd F(2x2, 3x3) */
  DAE__IMPL_GEMM,     /* im2col + sgemm over the batch */
} DaeConvImpl;

/* A step runs one layer, or two or three where a fused kernel does them
 * all, writing the last one's output (and, for a Winograd conv3x3 + pool
 * whose conv output a skip connection reads, that too). */
typedef enum {
  DAE__STEP_ALONE,
  DAE__STEP_WINOGRAD_POOL, /* conv3x3 (Winograd) + maxpool2 */
  DAE__STEP_CONV_POOL,     /* conv3x3 (direct) + maxpool2 */
  DAE__STEP_UP_CAT_CONV,   /* upsample2 + concat + conv3x3 (direct) */
  DAE__STEP_UP_CAT_WINOGRAD, /* the same, the full-size channels by Winograd */
  DAE__STEP_UP_CONV,       /* upsample2 + conv3x3 (direct) */
} DaeStepKind;

typedef struct {
  DaeStepKind kind;
  guint first, n_layers;
  gboolean keep_conv; /* WINOGRAD_POOL: also write the conv's output */
} DaePlanStep;

/* How a trainer differentiates a layer with parameters. */
typedef enum {
  DAE__BACKWARD_NONE = 0, /* no parameters */
  DAE__BACKWARD_REF,      /* the scalar references (direct forced on the scalar build) */
  DAE__BACKWARD_SIMD,     /* dW by the table's kernel, dx by dx[] */
  DAE__BACKWARD_GEMM,     /* dW by sgemm (convt2x2: all of it), dx by dx[] */
} DaeBackwardImpl;

struct DaePlan {
  const DaeModel *model;
  DaeShape input;          /* the network's input */
  const DaeShape *shapes;  /* each layer's output (owned by the caller) */
  size_t n;                /* tiles (images) a call at most */
  const DaeKernels *k;     /* the kernel table the plan was made for */
  DaeConvPath path;        /* asked for; DAE_CONV's in place of AUTO */
  gboolean from_env;       /* path came from DAE_CONV */
  gboolean measured;       /* AUTO chose by timing the candidates */
  const char *env_note;    /* DAE_CONV was not understood, or NULL */
  char *cache_note;        /* measured: where the choices are kept (plan.c) */
  DaeConvImpl *conv;       /* per layer */
  DaeConvImpl *dx;         /* per layer, trainer: the input gradient's convolution */
  DaeBackwardImpl *backward; /* per layer, trainer */
  guint n_steps;
  DaePlanStep *steps;      /* runner: steps in order; trainer: one a layer */
  size_t scratch_floats;   /* the GEMM forward's scratch for n tiles */
};
typedef struct DaePlan DaePlan;

/* A runner's plan for n tiles a call. */
DaePlan *dae__plan_new_runner (const DaeModel *m, DaeShape input, const DaeShape *shapes,
                               size_t n, DaeConvPath path);
/* A trainer's plan: every layer alone, the forward pass the function its
 * backward kernels differentiate, never measured (see plan.c). */
DaePlan *dae__plan_new_trainer (const DaeModel *m, DaeShape input, const DaeShape *shapes,
                                size_t n, DaeConvPath path);
void dae__plan_free (DaePlan *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaePlan, dae__plan_free)

/* "conv3x3 layers: N Winograd, N direct, N im2col+sgemm (why)", for -v. */
char *dae__plan_describe (const DaePlan *p);

/* Every choice AUTO measured in this process: the layers' key, each
 * candidate's least CPU time for the runner's chunk, and the one chosen. */
char *dae__plan_report (void);

/* The shape of layer i's input. */
static inline DaeShape
dae__plan_in_shape (const DaePlan *p, guint i)
{
  return i == 0 ? p->input : p->shapes[i - 1];
}

/* Whether layer i's output is read by a skip connection. */
gboolean dae__model_read_by_skip (const DaeModel *m, guint i);

/* ---- net.c: running a plan ---- */

/* Runs layer i alone on n tiles as the plan says: x is the previous
 * layer's output (or the input), src the skip source's output
 * (add/concat), y the result; scratch holds p->scratch_floats floats when
 * the plan has a GEMM.  The one place where layer kinds meet their forward
 * kernels: inference and training both go through it. */
void dae__layer_forward (const DaePlan *p, guint i, size_t n, const float *x,
                         const float *src, float *y, float *scratch);

/* Runs step s on n tiles: input is the network's input, out[j] layer j's
 * output buffer (for the layers the step reads and writes). */
void dae__plan_run_step (const DaePlan *p, guint s, size_t n, const float *input,
                         float *const *out, float *scratch);

G_END_DECLS

#endif
