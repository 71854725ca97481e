/* fuzz-tiff.c: libFuzzer harness for the TIFF reader (libtiff over memory: strips
 * read a scanline at a time, tiles a row of tiles at a time, every page of
 * a multi-page file), its layouts (1-16 bits, min-is-white, palettes,
 * alpha, JPEG-in-TIFF) and metadata.  The
 * seeds in corpus-tiff/ come from tests/fuzz/make-corpus; the checks are in
 * fuzz-image.h. */
#include "fuzz-image.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  fuzz_read_stream (data, size);
  return 0;
}
