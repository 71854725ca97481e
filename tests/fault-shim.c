/* fault-shim.c: an LD_PRELOAD library for tests/test-faults.c that makes
 * one call of one libc function fail, as a full disk, a lost NFS server or
 * an exhausted heap would.
 *
 * Environment:
 *   DAE_FAULT_FUNC    open (also fopen), fdopen, write (also fwrite), fsync,
 *                     rename or malloc (also calloc, realloc, aligned ones)
 *   DAE_FAULT_ARM     the calls are counted from an open of a path holding
 *                     this string (the input file whose processing fails)...
 *   DAE_FAULT_DISARM  ...to an open of a path holding this one (the next)
 *   DAE_FAULT_NTH     which counted call fails (1 = the first)
 *   DAE_FAULT_MIN_SIZE  malloc: only allocations of at least this many bytes
 *                     count (GLib aborts on a small one, by design)
 *   DAE_FAULT_FIRED   a file created when the fault fires, naming it, so that
 *                     the test knows the case happened
 * Without DAE_FAULT_FUNC every call passes through. */
#define _GNU_SOURCE
#undef _FILE_OFFSET_BITS /* open and open64 are two symbols to wrap here */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* glibc's own allocator entry points: interposing malloc cannot go through
 * dlsym, which allocates. */
extern void *__libc_malloc (size_t);
extern void *__libc_calloc (size_t, size_t);
extern void *__libc_realloc (void *, size_t);
extern void *__libc_memalign (size_t, size_t);

static int armed, fired, counted, inited;
static const char *func_name, *arm_on, *disarm_on, *fired_path;
static long nth = 1;
static size_t min_size;

/* getenv allocates nothing, so this is safe from inside malloc. */
static void
init (void)
{
  if (inited)
    return;
  inited = 1;
  func_name = getenv ("DAE_FAULT_FUNC");
  arm_on = getenv ("DAE_FAULT_ARM");
  disarm_on = getenv ("DAE_FAULT_DISARM");
  fired_path = getenv ("DAE_FAULT_FIRED");
  const char *s = getenv ("DAE_FAULT_NTH");
  if (s != NULL)
    nth = strtol (s, NULL, 10);
  s = getenv ("DAE_FAULT_MIN_SIZE");
  if (s != NULL)
    min_size = strtoul (s, NULL, 10);
}

/* Marks the case as having happened, without calling anything we wrap. */
static void
note_fired (const char *what)
{
  fired = 1;
  if (fired_path == NULL)
    return;
  int fd = (int) syscall (SYS_openat, AT_FDCWD, fired_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0)
    {
      syscall (SYS_write, fd, what, strlen (what));
      syscall (SYS_close, fd);
    }
}

/* TRUE if this call of @family is the one to fail (errno set to @err). */
static int
should_fail (const char *family, int err)
{
  init ();
  if (!armed || fired || func_name == NULL || strcmp (func_name, family) != 0)
    return 0;
  if (++counted != nth)
    return 0;
  note_fired (family);
  errno = err;
  return 1;
}

/* Opens arm and disarm the window; the arming open itself is not counted. */
static void
watch_path (const char *path)
{
  init ();
  if (path == NULL)
    return;
  if (arm_on != NULL && strstr (path, arm_on) != NULL)
    armed = 2;
  else if (armed && disarm_on != NULL && strstr (path, disarm_on) != NULL)
    armed = 0;
}

static int
open_common (const char *path)
{
  const int arming = (watch_path (path), armed == 2);
  if (arming)
    {
      armed = 1;
      return 0;
    }
  return should_fail ("open", EMFILE);
}

#define REAL(type, name, args) ((type (*) args) dlsym (RTLD_NEXT, name))

#define MODE_ARG(flags, mode)                                                   \
  mode_t mode = 0;                                                              \
  if ((flags) & (O_CREAT | O_TMPFILE))                                          \
    {                                                                           \
      va_list ap;                                                               \
      va_start (ap, flags);                                                     \
      mode = va_arg (ap, mode_t);                                               \
      va_end (ap);                                                              \
    }

int open (const char *path, int flags, ...);
int open64 (const char *path, int flags, ...);
int openat (int dirfd, const char *path, int flags, ...);

int
open (const char *path, int flags, ...)
{
  MODE_ARG (flags, mode);
  if (open_common (path))
    return -1;
  return REAL (int, "open", (const char *, int, ...)) (path, flags, mode);
}

int
open64 (const char *path, int flags, ...)
{
  MODE_ARG (flags, mode);
  if (open_common (path))
    return -1;
  return REAL (int, "open64", (const char *, int, ...)) (path, flags, mode);
}

int
openat (int dirfd, const char *path, int flags, ...)
{
  MODE_ARG (flags, mode);
  if (open_common (path))
    return -1;
  return REAL (int, "openat", (int, const char *, int, ...)) (dirfd, path, flags, mode);
}

FILE *
fopen (const char *path, const char *how)
{
  if (open_common (path))
    return NULL;
  return REAL (FILE *, "fopen", (const char *, const char *)) (path, how);
}

FILE *
fopen64 (const char *path, const char *how)
{
  if (open_common (path))
    return NULL;
  return REAL (FILE *, "fopen64", (const char *, const char *)) (path, how);
}

FILE *
fdopen (int fd, const char *how)
{
  if (should_fail ("fdopen", ENOMEM))
    return NULL;
  return REAL (FILE *, "fdopen", (int, const char *)) (fd, how);
}

ssize_t
write (int fd, const void *buf, size_t n)
{
  if (should_fail ("write", ENOSPC))
    return -1;
  return REAL (ssize_t, "write", (int, const void *, size_t)) (fd, buf, n);
}

size_t
fwrite (const void *buf, size_t size, size_t n, FILE *fp)
{
  if (should_fail ("write", ENOSPC))
    return 0;
  return REAL (size_t, "fwrite", (const void *, size_t, size_t, FILE *)) (buf, size, n, fp);
}

int
fsync (int fd)
{
  if (should_fail ("fsync", EIO))
    return -1;
  return REAL (int, "fsync", (int)) (fd);
}

int
rename (const char *from, const char *to)
{
  if (should_fail ("rename", EXDEV))
    return -1;
  return REAL (int, "rename", (const char *, const char *)) (from, to);
}

/* Under ASan its allocator must serve every allocation: no malloc case. */
#ifndef __SANITIZE_ADDRESS__
static int
fail_alloc (size_t size)
{
  return size >= min_size && should_fail ("malloc", ENOMEM);
}

void *
malloc (size_t size)
{
  return fail_alloc (size) ? NULL : __libc_malloc (size);
}

void *
calloc (size_t n, size_t size)
{
  return n != 0 && size <= (size_t) -1 / n && fail_alloc (n * size) ? NULL
                                                                    : __libc_calloc (n, size);
}

void *
realloc (void *p, size_t size)
{
  return fail_alloc (size) ? NULL : __libc_realloc (p, size);
}

int
posix_memalign (void **p, size_t align, size_t size)
{
  if (fail_alloc (size))
    return ENOMEM;
  *p = __libc_memalign (align, size);
  return *p == NULL ? ENOMEM : 0;
}

void *
aligned_alloc (size_t align, size_t size)
{
  return fail_alloc (size) ? NULL : __libc_memalign (align, size);
}
#endif
