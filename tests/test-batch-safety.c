/* test-batch-safety.c: dae-filter never loses data and never spins.
 *
 * Batch mode (-o DIR) is interrupted by SIGINT and SIGTERM while it writes,
 * and runs out of disk (RLIMIT_FSIZE in the child, as `ulimit -f` does):
 * the inputs must stay byte for byte what they were, and DIR must hold only
 * complete results under their final names (each equal to what the filter
 * writes to stdout for that input) and no temporary file.  An input is
 * never overwritten.  And a filter waiting on a stalled pipe must sleep:
 * its CPU time, read from /proc, may not grow while the pipe is idle. */
#include "dae.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *filter_path, *tmp_dir, *model_path;

static char *
tmp_file (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* ---- spawning ------------------------------------------------------------- */

static rlim_t child_fsize = RLIM_INFINITY;
static char **child_env; /* NULL: ours */

static void
child_setup (gpointer data)
{
  struct rlimit rl = { child_fsize, child_fsize };
  if (child_fsize != RLIM_INFINITY)
    setrlimit (RLIMIT_FSIZE, &rl);
}

/* Starts dae-filter ARGS with stdin from @in_fd, stdout and stderr into
 * files of the temporary directory. */
static GPid
spawn_filter (int in_fd, const char *const *args)
{
  g_autofree char *out_path = tmp_file ("stdout");
  g_autofree char *err_path = tmp_file ("stderr");
  int out_fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int err_fd = open (err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_assert_true (out_fd >= 0 && err_fd >= 0);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, filter_path);
  const char *const common[] = { "-q", "-m", model_path, "-j", "2" };
  for (guint i = 0; i < G_N_ELEMENTS (common); i++)
    g_ptr_array_add (argv, (char *) common[i]);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  GPid pid;
  GError *error = NULL;
  g_assert_true (g_spawn_async_with_pipes_and_fds (NULL, (const char *const *) argv->pdata,
                                                   (const char *const *) child_env,
                                                   G_SPAWN_DO_NOT_REAP_CHILD,
                                                   child_setup, NULL, in_fd, out_fd, err_fd,
                                                   NULL, NULL, 0, &pid, NULL, NULL, NULL,
                                                   &error));
  g_assert_no_error (error);
  close (out_fd);
  close (err_fd);
  return pid;
}

static int
wait_child (GPid pid)
{
  int ws;
  while (waitpid (pid, &ws, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  return ws;
}

static char *
read_tmp (const char *name)
{
  g_autofree char *path = tmp_file (name);
  char *data = NULL;
  g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
  return data;
}

/* Runs to the end with /dev/null (or @input_path) on stdin; returns the
 * wait status. */
static int
run_filter (const char *input_path, const char *const *args)
{
  int in_fd = open (input_path ? input_path : "/dev/null", O_RDONLY);
  g_assert_true (in_fd >= 0);
  GPid pid = spawn_filter (in_fd, args);
  close (in_fd);
  return wait_child (pid);
}

/* ---- inputs and what they must become ------------------------------------- */

typedef struct {
  char *name;
  char *path;
  GBytes *original; /* the input's bytes */
  GBytes *expected; /* what dae-filter writes to stdout for it */
} Input;

static void
input_free (Input *in)
{
  g_free (in->name);
  g_free (in->path);
  g_bytes_unref (in->original);
  g_bytes_unref (in->expected);
  g_free (in);
}

/* A noisy gradient, PGM. */
static GBytes *
make_pgm (guint w, guint h, guint seed)
{
  GString *s = g_string_new (NULL);
  g_string_printf (s, "P5\n%u %u\n255\n", w, h);
  GRand *rng = g_rand_new_with_seed (seed);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      g_string_append_c (s, (char) CLAMP ((int) ((x + y) * 255 / (w + h))
                                          + g_rand_int_range (rng, -40, 41), 0, 255));
  g_rand_free (rng);
  return g_string_free_to_bytes (s);
}

static Input *
add_input (const char *dir, const char *name, guint w, guint h)
{
  Input *in = g_new0 (Input, 1);
  in->name = g_strdup (name);
  in->path = g_build_filename (dir, name, NULL);
  in->original = make_pgm (w, h, g_str_hash (name));
  g_assert_true (g_file_set_contents (in->path, g_bytes_get_data (in->original, NULL),
                                      g_bytes_get_size (in->original), NULL));
  int ws = run_filter (in->path, (const char *const[]){ NULL });
  g_assert_true (WIFEXITED (ws) && WEXITSTATUS (ws) == 0);
  g_autofree char *out_path = tmp_file ("stdout");
  char *data;
  gsize len;
  g_assert_true (g_file_get_contents (out_path, &data, &len, NULL));
  in->expected = g_bytes_new_take (data, len);
  return in;
}

/* Inputs named @names, @sizes[i] = { width, height }, in @dir. */
static GPtrArray *
add_inputs (const char *dir, const char *const *names, const guint (*sizes)[2], guint n)
{
  GPtrArray *inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) input_free);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (inputs, add_input (dir, names[i], sizes[i][0], sizes[i][1]));
  return inputs;
}

static void
assert_inputs_intact (GPtrArray *inputs)
{
  for (guint i = 0; i < inputs->len; i++)
    {
      const Input *in = inputs->pdata[i];
      char *data;
      gsize len;
      g_assert_true (g_file_get_contents (in->path, &data, &len, NULL));
      g_autoptr (GBytes) now = g_bytes_new_take (data, len);
      if (!g_bytes_equal (now, in->original))
        g_error ("input %s changed", in->path);
    }
}

/* DIR holds only complete results under their final names; returns how
 * many. */
static guint
assert_outputs_complete (const char *out_dir, GPtrArray *inputs)
{
  g_autoptr (GDir) d = g_dir_open (out_dir, 0, NULL);
  g_assert_nonnull (d);
  const char *name;
  guint n = 0;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (name[0] == '.')
        g_error ("temporary file %s left in %s", name, out_dir);
      const Input *match = NULL;
      for (guint i = 0; i < inputs->len && match == NULL; i++)
        if (g_str_equal (((Input *) inputs->pdata[i])->name, name))
          match = inputs->pdata[i];
      if (match == NULL)
        g_error ("unexpected file %s in %s", name, out_dir);
      g_autofree char *path = g_build_filename (out_dir, name, NULL);
      char *data;
      gsize len;
      g_assert_true (g_file_get_contents (path, &data, &len, NULL));
      g_autoptr (GBytes) got = g_bytes_new_take (data, len);
      if (!g_bytes_equal (got, match->expected))
        g_error ("%s: %zu bytes, not the %zu of a complete result", path, len,
                 g_bytes_get_size (match->expected));
      n++;
    }
  return n;
}

static char *
make_dir (const char *name)
{
  char *dir = tmp_file (name);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

/* Batch arguments: -o DIR and every input. */
static const char **
batch_args (const char *out_dir, GPtrArray *inputs)
{
  const char **args = g_new0 (const char *, inputs->len + 3);
  args[0] = "-o";
  args[1] = out_dir;
  for (guint i = 0; i < inputs->len; i++)
    args[2 + i] = ((Input *) inputs->pdata[i])->path;
  return args;
}

/* Size of the temporary file being written in @dir, or -1 if none. */
static gint64
temp_file_size (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    if (name[0] == '.')
      {
        g_autofree char *p = g_build_filename (dir, name, NULL);
        struct stat st;
        if (stat (p, &st) == 0)
          return st.st_size;
      }
  return -1;
}

/* ---- tests ---------------------------------------------------------------- */

static void
test_signal (gconstpointer data)
{
  const int sig = GPOINTER_TO_INT (data);
  g_autofree char *in_dir = make_dir ("in");
  g_autofree char *out_dir = make_dir ("out");
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) input_free);
  /* Large enough that each takes a while to write. */
  const char *names[] = { "a.pgm", "b.pgm", "c.pgm", "d.pgm" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_ptr_array_add (inputs, add_input (in_dir, names[i], 1800, 1400 + 40 * i));

  /* Interrupt while a result is half written: a temporary file exists and
   * has data in it.  Not the first file, so that one result is complete. */
  g_autofree const char **args = batch_args (out_dir, inputs);
  int in_fd = open ("/dev/null", O_RDONLY);
  GPid pid = spawn_filter (in_fd, args);
  close (in_fd);
  gboolean caught = FALSE;
  gint64 seen = -1;
  for (guint tries = 0; tries < 60000 && !caught; tries++)
    {
      g_autoptr (GDir) d = g_dir_open (out_dir, 0, NULL);
      gboolean have_final = FALSE;
      const char *name;
      while ((name = g_dir_read_name (d)) != NULL)
        have_final |= name[0] != '.';
      seen = temp_file_size (out_dir);
      if (have_final && seen > 0)
        {
          g_assert_cmpint (kill (pid, sig), ==, 0);
          caught = TRUE;
        }
      else if (waitpid (pid, NULL, WNOHANG) == pid)
        g_error ("dae-filter finished before it could be interrupted");
      else
        g_usleep (1000);
    }
  g_assert_true (caught);
  int ws = wait_child (pid);
  g_autofree char *err = read_tmp ("stderr");
  g_test_message ("signal %d with %" G_GINT64_FORMAT " bytes of a temporary file; stderr: %s",
                  sig, seen, err);
  /* It dies of the signal (after removing its temporary file), as a
   * well-behaved program does, so that the shell sees the interruption. */
  g_assert_true (WIFSIGNALED (ws));
  g_assert_cmpint (WTERMSIG (ws), ==, sig);
  assert_inputs_intact (inputs);
  guint done = assert_outputs_complete (out_dir, inputs);
  g_assert_cmpuint (done, >=, 1);
  g_assert_cmpuint (done, <, inputs->len);
  remove_dir (out_dir);
  remove_dir (in_dir);
}

static void
test_disk_full (void)
{
  g_autofree char *in_dir = make_dir ("in");
  g_autofree char *out_dir = make_dir ("out");
  g_autoptr (GPtrArray) inputs = add_inputs (
    in_dir, (const char *const[]){ "small1.pgm", "big.pgm", "small2.pgm", "big2.pgm" },
    (const guint[][2]){ { 60, 50 }, { 700, 500 }, { 33, 70 }, { 500, 500 } }, 4);
  /* 100 KiB: the small results fit, the big ones (350 and 250 KB) do not. */
  child_fsize = 100 * 1024;
  g_autofree const char **args = batch_args (out_dir, inputs);
  int ws = run_filter (NULL, args);
  child_fsize = RLIM_INFINITY;
  g_autofree char *err = read_tmp ("stderr");
  g_test_message ("stderr: %s", err);
  g_assert_true (WIFEXITED (ws));
  g_assert_cmpint (WEXITSTATUS (ws), ==, 1);
  /* Each failure once, naming its file, then the count. */
  g_auto (GStrv) lines = g_strsplit (err, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  g_assert_true (g_str_has_prefix (lines[0], "dae-filter: "));
  g_assert_nonnull (strstr (lines[0], "big.pgm: "));
  g_assert_nonnull (strstr (lines[1], "big2.pgm: "));
  g_assert_cmpstr (lines[2], ==, "dae-filter: 2 of 4 files failed");
  g_assert_cmpstr (lines[3], ==, "");
  assert_inputs_intact (inputs);
  g_assert_cmpuint (assert_outputs_complete (out_dir, inputs), ==, 2);
  g_autofree char *small = g_build_filename (out_dir, "small2.pgm", NULL);
  g_assert_true (g_file_test (small, G_FILE_TEST_EXISTS));
  remove_dir (out_dir);
  remove_dir (in_dir);
}

static void
test_never_overwrites_input (void)
{
  g_autofree char *in_dir = make_dir ("in");
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) input_free);
  g_ptr_array_add (inputs, add_input (in_dir, "a.pgm", 40, 30));
  g_autofree const char **args = batch_args (in_dir, inputs);
  int ws = run_filter (NULL, args);
  g_autofree char *err = read_tmp ("stderr");
  g_assert_true (WIFEXITED (ws));
  g_assert_cmpint (WEXITSTATUS (ws), ==, 1);
  g_assert_nonnull (strstr (err, "not overwritten"));
  assert_inputs_intact (inputs);
  g_autoptr (GDir) d = g_dir_open (in_dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    g_assert_cmpstr (name, ==, "a.pgm");
  remove_dir (in_dir);
}

/* The file at @path holds exactly @want. */
static void
assert_file_is (const char *path, GBytes *want)
{
  char *data;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_autoptr (GBytes) got = g_bytes_new_take (data, len);
  if (!g_bytes_equal (got, want))
    g_error ("%s: %zu bytes, not the %zu expected", path, len, g_bytes_get_size (want));
}

static void
remove_tree (const char *path)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", path);
  g_assert_cmpint (system (cmd), ==, 0);
}

/* -r mirrors a tree: in/a.pgm, in/sub/b.pgm and in/sub/deep/c.pgm come out
 * as out/a.pgm, out/sub/b.pgm and out/sub/deep/c.pgm (each what the filter
 * writes to stdout for it); a text file, a hidden folder and the output
 * folder itself (inside the tree) are not taken as inputs.  Then
 * --skip-existing leaves a finished output alone (a marker put in its place
 * stays) and makes only the missing one; without it both are made. */
static void
test_tree_and_skip (void)
{
  g_autofree char *in = make_dir ("tree");
  g_autofree char *deep = g_build_filename (in, "sub", "deep", NULL);
  g_autofree char *hidden = g_build_filename (in, ".hidden", NULL);
  g_autofree char *out = g_build_filename (in, "out", NULL);
  g_assert_cmpint (g_mkdir_with_parents (deep, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (hidden, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (out, 0700), ==, 0);
  static const char *const names[] = { "a.pgm", "sub/b.pgm", "sub/deep/c.pgm",
                                       ".hidden/d.pgm" };
  static const guint sizes[][2] = { { 30, 20 }, { 41, 17 }, { 28, 28 }, { 9, 9 } };
  g_autoptr (GPtrArray) inputs = add_inputs (in, names, sizes, G_N_ELEMENTS (names));
  g_autofree char *notes = g_build_filename (in, "sub", "notes.txt", NULL);
  g_assert_true (g_file_set_contents (notes, "not an image\n", -1, NULL));

  int ws = run_filter (NULL, (const char *const[]){ "-r", "-o", out, in, NULL });
  g_autofree char *err = read_tmp ("stderr");
  g_test_message ("-r: %s", err);
  g_assert_true (WIFEXITED (ws) && WEXITSTATUS (ws) == 0);
  g_autofree char *find = g_strdup_printf ("sh -c \"cd '%s' && find . | sort | tr '\\n' ' '\"",
                                           out);
  g_autofree char *listing = NULL;
  g_assert_true (g_spawn_command_line_sync (find, &listing, NULL, NULL, NULL));
  g_assert_cmpstr (listing, ==,
                   ". ./a.pgm ./sub ./sub/b.pgm ./sub/deep ./sub/deep/c.pgm ");
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *path = g_build_filename (out, names[i], NULL);
      assert_file_is (path, ((Input *) inputs->pdata[i])->expected);
    }

  /* a's output replaced by a marker, b's removed. */
  g_autofree char *a_out = g_build_filename (out, "a.pgm", NULL);
  g_autofree char *b_out = g_build_filename (out, "sub", "b.pgm", NULL);
  g_autoptr (GBytes) marker = g_bytes_new_static ("marker", 6);
  g_assert_true (g_file_set_contents (a_out, "marker", 6, NULL));
  g_assert_cmpint (g_unlink (b_out), ==, 0);
  ws = run_filter (NULL, (const char *const[]){ "-r", "--skip-existing", "-o", out, in, NULL });
  g_assert_true (WIFEXITED (ws) && WEXITSTATUS (ws) == 0);
  assert_file_is (a_out, marker);
  assert_file_is (b_out, ((Input *) inputs->pdata[1])->expected);
  ws = run_filter (NULL, (const char *const[]){ "-r", "-o", out, in, NULL });
  g_assert_true (WIFEXITED (ws) && WEXITSTATUS (ws) == 0);
  assert_file_is (a_out, ((Input *) inputs->pdata[0])->expected);
  remove_tree (in);
}

/* The CPU time of a process and its threads so far, in clock ticks. */
static guint64
cpu_ticks (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  g_assert_true (g_file_get_contents (path, &stat, NULL, NULL));
  /* Fields after the command name, which may hold spaces: state is 3rd,
   * utime the 14th and stime the 15th of the line. */
  const char *p = strrchr (stat, ')');
  g_assert_nonnull (p);
  g_auto (GStrv) f = g_strsplit (p + 2, " ", -1);
  g_assert_cmpuint (g_strv_length (f), >, 13);
  return g_ascii_strtoull (f[11], NULL, 10) + g_ascii_strtoull (f[12], NULL, 10);
}

/* Feeds @head into a pipe and leaves it open: the filter waits.  Its CPU
 * time must not grow over two seconds; then the pipe closes and it must
 * exit 1, saying what was cut. */
static void
stall_after (const char *head, gsize len, const char *says)
{
  int fds[2];
  g_assert_cmpint (pipe (fds), ==, 0);
  GPid pid = spawn_filter (fds[0], (const char *const[]){ NULL });
  close (fds[0]);
  if (len)
    g_assert_cmpint (write (fds[1], head, len), ==, (gssize) len);
  g_usleep (G_USEC_PER_SEC); /* start-up and the rows given */
  const guint64 t0 = cpu_ticks (pid);
  g_usleep (2 * G_USEC_PER_SEC);
  const guint64 t1 = cpu_ticks (pid);
  const long hz = sysconf (_SC_CLK_TCK);
  g_test_message ("stalled after %zu bytes: %" G_GUINT64_FORMAT " ticks of CPU in 2 s "
                  "(%ld ticks/s)", len, t1 - t0, hz);
  /* A spinning thread would take about 2 s; allow 5% of a core. */
  g_assert_cmpuint (t1 - t0, <=, (guint64) (hz * 2 / 20));
  close (fds[1]);
  int ws = wait_child (pid);
  g_autofree char *err = read_tmp ("stderr");
  g_assert_true (WIFEXITED (ws));
  g_assert_cmpint (WEXITSTATUS (ws), ==, 1);
  g_assert_nonnull (strstr (err, says));
}

static void
test_stalled_stdin (void)
{
  stall_after ("", 0, "empty input");
  stall_after ("P5\n300", 6, "truncated");
  /* A header and some rows: the tiler and its workers wait for more. */
  g_autoptr (GBytes) img = make_pgm (300, 200, 7);
  stall_after (g_bytes_get_data (img, NULL), g_bytes_get_size (img) / 2, "truncated");
}

/* ---- fault injection ------------------------------------------------------ */

/* One call of @func (fault-shim.c's families) fails while the second of three
 * files is processed: for each k, the k-th such call, until the calls run
 * out.  Every case must end with one line naming that file and the count,
 * exit 1, no signal, that file's result absent, the others complete.
 * malloc: only allocations of 2 MiB or more fail, which only the rows of
 * the second file's 40000 pixels reach: a buffer whose size the input sets
 * must fail softly, while GLib aborts (g_malloc) on the bounded ones (a
 * runner's, under 1 MiB), by design, as every GLib program does. */
static void
test_fault (gconstpointer data)
{
  const char *func = data;
  const char *shim = g_getenv ("DAE_FAULT_SHIM");
  if (shim == NULL)
    {
      g_test_skip ("DAE_FAULT_SHIM is not set (meson test sets it)");
      return;
    }
#ifdef __SANITIZE_ADDRESS__
  if (g_str_equal (func, "malloc"))
    {
      g_test_skip ("under ASan the shim cannot replace ASan's allocator");
      return;
    }
#endif
  g_autofree char *in_dir = make_dir ("in");
  g_autofree char *out_dir = make_dir ("out");
  g_autoptr (GPtrArray) inputs = add_inputs (
    in_dir, (const char *const[]){ "a.pgm", "b.pgm", "c.pgm" },
    (const guint[][2]){ { 200, 30 }, { 40000, 20 }, { 190, 44 } }, 3);
  const Input *b = inputs->pdata[1], *c = inputs->pdata[2];
  g_autofree const char **args = batch_args (out_dir, inputs);
  g_autofree char *fired = tmp_file ("fired");
  g_autofree char *line0 = g_strdup_printf ("dae-filter: %s: ", b->path);
  guint cases = 0, absorbed = 0, aborts = 0;
  for (guint k = 1; k <= 400; k++)
    {
      g_autofree char *nth = g_strdup_printf ("%u", k);
      child_env = g_get_environ ();
      const char *const vars[][2] = {
        { "LD_PRELOAD", shim }, { "DAE_FAULT_FUNC", func }, { "DAE_FAULT_ARM", b->path },
        { "DAE_FAULT_DISARM", c->path }, { "DAE_FAULT_NTH", nth },
        { "DAE_FAULT_MIN_SIZE", "2097152" }, { "DAE_FAULT_FIRED", fired },
        { "ASAN_OPTIONS", "verify_asan_link_order=0" },
      };
      for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
        child_env = g_environ_setenv (child_env, vars[i][0], vars[i][1], TRUE);
      g_unlink (fired);
      const int ws = run_filter (NULL, args);
      g_clear_pointer (&child_env, g_strfreev);
      if (!g_file_test (fired, G_FILE_TEST_EXISTS))
        break; /* no k-th call: every case was run */
      cases++;
      g_autofree char *err = read_tmp ("stderr");
      const gboolean glib_abort = WIFSIGNALED (ws) && strstr (err, "failed to allocate");
      if (WIFSIGNALED (ws) && !(glib_abort && g_str_equal (func, "malloc")))
        g_error ("%s, call %u: killed by signal %d; stderr: %s", func, k, WTERMSIG (ws), err);
      assert_inputs_intact (inputs);
      const guint done = assert_outputs_complete (out_dir, inputs);
      if (glib_abort)
        aborts++; /* its temporary file removed, at least */
      else if (WEXITSTATUS (ws) == 0 && done == 3 && err[0] == '\0')
        absorbed++; /* a failure the C library recovers from (stdio's buffer) */
      else
        {
          g_auto (GStrv) lines = g_strsplit (err, "\n", -1);
          if (WEXITSTATUS (ws) != 1 || done != 2 || g_strv_length (lines) != 3
              || !g_str_has_prefix (lines[0], line0)
              || !g_str_equal (lines[1], "dae-filter: 1 of 3 files failed"))
            g_error ("%s, call %u: exit %d, %u results; stderr: %s", func, k,
                     WEXITSTATUS (ws), done, err);
        }
      remove_dir (out_dir);
      g_assert_cmpint (g_mkdir (out_dir, 0700), ==, 0);
    }
  g_test_message ("%s: %u failing calls, %u absorbed, %u aborts", func, cases, absorbed,
                  aborts);
  g_assert_cmpuint (cases, >=, 1);
  g_assert_cmpuint (absorbed + aborts, <, cases);
  g_assert_cmpuint (aborts, ==, 0); /* every allocation sized by the image is checked */
  remove_dir (out_dir);
  remove_dir (in_dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  filter_path = g_strdup (g_getenv ("DAE_FILTER"));
  if (filter_path == NULL)
    filter_path = g_test_build_filename (G_TEST_BUILT, "..", "filter", "dae-filter", NULL);
  tmp_dir = g_dir_make_tmp ("dae-batch-safety-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_unsetenv ("DAE_MODEL_PATH");
  /* A small model: the test is about files, not about denoising. */
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new_from_arch ("c4,p,c4,u,c1:sigmoid", 1, 28, 28, &error);
  g_assert_no_error (error);
  dae_model_init_glorot (m, 5);
  model_path = tmp_file ("model.dae");
  g_assert_true (dae_model_save_file (m, model_path, &error));

  g_test_add_data_func ("/batch-safety/sigint-mid-write", GINT_TO_POINTER (SIGINT), test_signal);
  g_test_add_data_func ("/batch-safety/sigterm-mid-write", GINT_TO_POINTER (SIGTERM),
                        test_signal);
  g_test_add_func ("/batch-safety/disk-full", test_disk_full);
  g_test_add_func ("/batch-safety/never-overwrites-input", test_never_overwrites_input);
  g_test_add_func ("/batch-safety/stalled-stdin-sleeps", test_stalled_stdin);
  g_test_add_func ("/batch-safety/tree-and-skip-existing", test_tree_and_skip);
  static const char *const faults[] = { "open", "fdopen", "write", "fsync", "rename", "malloc" };
  for (guint i = 0; i < G_N_ELEMENTS (faults); i++)
    {
      g_autofree char *name = g_strdup_printf ("/batch-safety/fault/%s", faults[i]);
      g_test_add_data_func (name, faults[i], test_fault);
    }
  int status = g_test_run ();
  remove_dir (tmp_dir);
  return status;
}
