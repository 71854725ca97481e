/* test-spawn.c: see test-spawn.h. */
#include "test-spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

void
test_run_clear (TestRun *r)
{
  g_clear_pointer (&r->out, g_bytes_unref);
  g_clear_pointer (&r->err, g_free);
}

TestRun
test_run (const char *dir, const char *exe, const void *input, size_t size,
          const char *const *args)
{
  g_autofree char *in_path = g_build_filename (dir, "stdin", NULL);
  g_autofree char *out_path = g_build_filename (dir, "stdout", NULL);
  g_autofree char *err_path = g_build_filename (dir, "stderr", NULL);
  GError *error = NULL;
  g_assert_true (g_file_set_contents (in_path, input ? input : "", input ? size : 0, &error));
  g_assert_no_error (error);
  int in_fd = open (in_path, O_RDONLY);
  int out_fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int err_fd = open (err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_assert_true (in_fd >= 0 && out_fd >= 0 && err_fd >= 0);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) exe);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  GPid pid;
  g_assert_true (g_spawn_async_with_pipes_and_fds (NULL, (const char *const *) argv->pdata,
                                                   NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                                   NULL, in_fd, out_fd, err_fd, NULL, NULL,
                                                   0, &pid, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  close (in_fd);
  close (out_fd);
  close (err_fd);
  int ws;
  while (waitpid (pid, &ws, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  TestRun r = { 0 };
  r.signalled = WIFSIGNALED (ws);
  r.status = r.signalled ? 128 + WTERMSIG (ws) : WEXITSTATUS (ws);
  char *out;
  gsize len;
  g_assert_true (g_file_get_contents (out_path, &out, &len, NULL));
  r.out = g_bytes_new_take (out, len);
  g_assert_true (g_file_get_contents (err_path, &r.err, NULL, NULL));
  return r;
}
