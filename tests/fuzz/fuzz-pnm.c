/* fuzz-pnm.c: libFuzzer harness for the netpbm reader (PBM, PGM, PPM plain
 * and raw, PAM) and the multi-image stream around it.  The seeds in
 * corpus-pnm/ and pnm.dict steer it to netpbm headers; the checks are in
 * fuzz-image.h. */
#include "fuzz-image.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  fuzz_read_stream (data, size);
  return 0;
}
