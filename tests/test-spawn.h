/* test-spawn.h: running one of our programs as a user runs it, for the
 * tests that check programs (test-filter, test-bad-inputs). */
#ifndef DAE_TEST_SPAWN_H
#define DAE_TEST_SPAWN_H

#include <glib.h>

typedef struct {
  gboolean signalled;
  int status;  /* exit status, or 128 + the signal (as a shell says) */
  GBytes *out; /* all of stdout */
  char *err;   /* all of stderr */
} TestRun;

void test_run_clear (TestRun *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TestRun, test_run_clear)

/* Runs @exe with @args (NULL-terminated) and @size bytes of @input (NULL:
 * nothing) on stdin.  stdin, stdout and stderr are files in @dir, so that a
 * child that stops reading early cannot block us, and a child that writes
 * a lot cannot either.  Fails the test if the program cannot start. */
TestRun test_run (const char *dir, const char *exe, const void *input, size_t size,
                  const char *const *args);

#endif
