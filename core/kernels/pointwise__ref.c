/* pointwise__ref.c: scalar references of the element-wise layers: the
 * activations (and their derivative) and a skip connection's sum. */
#include "kernels.h"

#include <math.h>
#include <string.h>
void
dae_activate_ref (size_t count, DaeActivation act, float *x)
{
  switch (act)
    {
    case DAE_ACT_NONE:
      break;
    case DAE_ACT_RELU:
      for (size_t i = 0; i < count; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case DAE_ACT_SIGMOID:
      for (size_t i = 0; i < count; i++)
        x[i] = 1.0f / (1.0f + expf (-x[i]));
      break;
    }
}
void
dae_activation_backward_ref (size_t count, DaeActivation act, const float *y,
                             float *dy)
{
  switch (act)
    {
    case DAE_ACT_NONE:
      break;
    case DAE_ACT_RELU:
      /* PyTorch's threshold_backward: no gradient where the output is 0.
       * A mask, not a branch: the pattern is random. */
      for (size_t i = 0; i < count; i++)
        {
          guint32 bits;
          memcpy (&bits, dy + i, 4);
          bits &= -(guint32) (y[i] > 0.0f);
          memcpy (dy + i, &bits, 4);
        }
      break;
    case DAE_ACT_SIGMOID:
      for (size_t i = 0; i < count; i++)
        dy[i] *= y[i] * (1.0f - y[i]);
      break;
    }
}

void
dae_add_ref (size_t count, const float *a, const float *b, DaeActivation act,
             float *out)
{
  for (size_t i = 0; i < count; i++)
    out[i] = a[i] + b[i];
  dae_activate_ref (count, act, out);
}
