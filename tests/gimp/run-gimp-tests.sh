#!/bin/sh
# run-gimp-tests.sh: the GIMP plug-in in a real GIMP, in batch mode (TAP).
#
# Usage: run-gimp-tests.sh PLUGIN CALLER TEST-IMAGES SRCDIR DIGITS FILTER TEXT
#   PLUGIN       the built dae-denoise plug-in
#   CALLER       the built dae-test-caller plug-in (tests/gimp/dae-test-caller.c)
#   TEST-IMAGES  the built gimp-test-images program
#   SRCDIR       tests/gimp in the source tree (for dae-tests.scm)
#   DIGITS       an IDX file of MNIST digits (tests/data)
#   FILTER       the built dae-filter (the reference for the page-only switches)
#   TEXT         a clean page (samples/clean-text.png) for the page fixture
#
# GIMP runs with a private configuration in a temporary directory, so the
# user's own GIMP is neither used nor touched; the plug-ins are copied into
# its plug-ins folder.  `gimp` exits 0 even when a batch command fails: the
# log is read for that.  Set DAE_GIMP_TEST_KEEP=1 to keep the directory.
set -u

plugin=$1 caller=$2 images=$3 srcdir=$4 digits=$5 filter=$6 text=$7

gimp=$(command -v gimp-2.10 || command -v gimp || true)
if [ -z "$gimp" ]; then
  echo "1..0 # SKIP gimp is not installed (Debian: apt-get install gimp)"
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dae-gimp-test.XXXXXX") || exit 1
if [ "${DAE_GIMP_TEST_KEEP:-0}" = 1 ]; then
  echo "# keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi

# GIMP must not see the user's configuration, caches or display.
mkdir -p "$tmp/home" "$tmp/cache" "$tmp/config" "$tmp/data" "$tmp/fixtures" "$tmp/out"
export HOME="$tmp/home" XDG_CACHE_HOME="$tmp/cache" XDG_CONFIG_HOME="$tmp/config" \
       XDG_DATA_HOME="$tmp/data" GIMP2_DIRECTORY="$tmp/gimp"
unset DISPLAY WAYLAND_DISPLAY

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # description, then a command that must succeed
  desc=$1; shift
  if "$@" > "$tmp/check.out" 2>&1; then ok "$desc"; return 0; fi
  not_ok "$desc"
  sed 's/^/# /' "$tmp/check.out"
  return 1
}
measure() { # gimp-test-images check ARGS: its own line of figures, numbered here
  out=$("$images" check "$@" 2>&1); status=$?
  line=$(printf '%s\n' "$out" | head -n 1 | sed 's/^\(not \)\{0,1\}ok - //')
  if [ "$status" -eq 0 ]; then ok "$line"; else not_ok "$line"; fi
  printf '%s\n' "$out" | tail -n +2 | sed 's/^/# /'
}
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; exit $?; }

# Let GIMP create its directory itself: one made beforehand skips GIMP's
# user installation, and every later start complains about missing folders.
"$gimp" -i -b '(gimp-quit 0)' > "$tmp/init.log" 2>&1
if [ ! -d "$GIMP2_DIRECTORY/plug-ins" ]; then
  not_ok "GIMP creates its private directory"
  sed 's/^/# /' "$tmp/init.log"
  finish
fi
ok "GIMP creates its private directory"

# GIMP 2.10 looks for plug-ins/NAME/NAME, executable.
for p in "$plugin" "$caller"; do
  name=$(basename "$p")
  mkdir -p "$GIMP2_DIRECTORY/plug-ins/$name"
  cp "$p" "$GIMP2_DIRECTORY/plug-ins/$name/$name"
  chmod 755 "$GIMP2_DIRECTORY/plug-ins/$name/$name"
done

check "test images made" "$images" make "$tmp/fixtures" "$digits" "$text" || finish

# One GIMP for every call (each -b starts a fresh Script-Fu state, so the
# helpers are loaded in the same command that uses them).
scm=$(printf '%s' "$srcdir/dae-tests.scm" | sed 's/["\\]/\\&/g')
start=$(date +%s)
"$gimp" -i -b "(begin
  (if (= 0 (car (gimp-procedural-db-proc-exists \"plug-in-dae-denoise\")))
      (error \"plug-in-dae-denoise is not registered: the plug-in was not found\"))
  (load \"$scm\")
  (dae-run-tests \"$tmp/fixtures\" \"$tmp/out\"))" -b '(gimp-quit 0)' > "$tmp/gimp.log" 2>&1
echo "# GIMP ran the calls in $(($(date +%s) - start)) s"

if grep -q "batch command experienced an execution error" "$tmp/gimp.log"; then
  not_ok "batch commands ran without an error"
  sed 's/^/# /' "$tmp/gimp.log"
else
  ok "batch commands ran without an error"
fi
check "every call was made" grep -q "DAE-TEST done" "$tmp/gimp.log"
if grep -qi "crashed" "$tmp/gimp.log"; then
  not_ok "no plug-in crashed"
  grep -i -A2 "crashed" "$tmp/gimp.log" | sed 's/^/# /'
else
  ok "no plug-in crashed"
fi

f=$tmp/fixtures o=$tmp/out
# Denoising raises the PSNR against the clean image, and keeps alpha.
for kind in gray8 rgb8 rgba8 gray16; do
  measure "$kind" "$f/clean-$kind.png" "$o/$kind-before.png" "$o/$kind-after.png" --min-gain 3
done
for p in u8-linear u16-linear u32-linear u32-gamma half-linear half-gamma float-linear \
         float-gamma double-linear double-gamma; do
  measure "rgba8 at $p" "$f/clean-rgba8.png" "$o/$p-before.png" "$o/$p-after.png" --min-gain 3
done

# Two rectangles, as dae-tests.scm selects: inside is denoised, outside
# (the gap between them too) is unchanged.
measure "selection" "$f/clean-gray8.png" "$o/selection-before.png" "$o/selection-after.png" \
  --min-gain 3 --selection 40,30,120,60:200,100,100,50

# Missing trailing parameters take their defaults.
check "3 parameters: defaults, as a call with model \"\" strength 1 stride 0 invert auto" \
  "$images" check "short-3" "$f/clean-gray8.png" "$o/gray8-after.png" "$o/short-3-after.png" --same
check "5 parameters: stride and invert default" \
  "$images" check "short-5" "$f/clean-gray8.png" "$o/strength-half-after.png" \
  "$o/short-5-after.png" --same

# The page-only switches (on a page with bleed-through and specks): each
# setting gives dae-filter's output with the same switches (strength 1, the
# plug-in's default), and each switch turned off changes the page, so that
# a switch ignored or crossed with the other cannot pass.
for s in on-on off-on on-off off-off; do
  "$filter" -q -s 1 --ink-guard "${s%-*}" --despeckle "${s#*-}" "$f/noisy-page.png" \
    > "$o/page-ref-$s.png"
  measure "page, ink guard ${s%-*}, despeckle ${s#*-}: dae-filter's" "$f/clean-page.png" \
    "$o/page-ref-$s.png" "$o/page-$s-after.png" --same
done
for s in off-on on-off off-off; do
  measure "page: $s differs from both on" "$f/clean-page.png" "$o/page-on-on-after.png" \
    "$o/page-$s-after.png" --differ
done
# Callers that pass fewer parameters (dae-test-caller passes the switches
# as FALSE when it passes them at all).
measure "page, 7 parameters: both switches on by default" "$f/clean-page.png" \
  "$o/page-ref-on-on.png" "$o/page-short-7-after.png" --same
measure "page, 8 parameters: ink guard off, despeckle on by default" "$f/clean-page.png" \
  "$o/page-ref-off-on.png" "$o/page-short-8-after.png" --same
measure "page, 9 parameters: both off" "$f/clean-page.png" "$o/page-ref-off-off.png" \
  "$o/page-short-9-after.png" --same
measure "page: RUN-WITH-LAST-VALS repeats the switches (both off)" "$f/clean-page.png" \
  "$o/page-ref-off-off.png" "$o/page-last-repeat-after.png" --same

# The impulse filter (on a page with 5% salt-and-pepper, where it turns
# itself on): on (the default) and off each give dae-filter's output, and
# they differ.  dae-test-caller passes 9 parameters (ink guard and
# despeckle FALSE, the impulse filter left out: on) or 10 (all FALSE).
for s in on:on-on-on off:on-on-off short-9:off-off-on short-10:off-off-off; do
  name=${s%%:*} sw=${s#*:}
  g=${sw%%-*} d=${sw#*-}; d=${d%-*} i=${sw##*-}
  "$filter" -q -s 1 --ink-guard "$g" --despeckle "$d" --impulse-filter "$i" \
    "$f/noisy-page-sp.png" > "$o/page-sp-ref-$sw.png"
  measure "salt-and-pepper page, $name: ink guard $g, despeckle $d, impulse $i: dae-filter's" \
    "$f/clean-page.png" "$o/page-sp-ref-$sw.png" "$o/page-sp-$name-after.png" --same
done
measure "salt-and-pepper page: impulse filter off differs from on" "$f/clean-page.png" \
  "$o/page-sp-on-after.png" "$o/page-sp-off-after.png" --differ
measure "salt-and-pepper page: 10 parameters differ from 9" "$f/clean-page.png" \
  "$o/page-sp-short-9-after.png" "$o/page-sp-short-10-after.png" --differ
measure "salt-and-pepper page: RUN-WITH-LAST-VALS repeats the impulse filter off" \
  "$f/clean-page.png" "$o/page-sp-ref-on-on-off.png" "$o/page-sp-last-repeat-after.png" --same

# Last values: remembered after a scripted call, kept across a failed one.
check "RUN-WITH-LAST-VALS repeats the last successful call" \
  "$images" check "last" "$f/clean-gray8.png" "$o/last-values-set.png" \
  "$o/last-values-repeat.png" --same
check "RUN-INTERACTIVE without a display runs with the last values" \
  "$images" check "interactive" "$f/clean-gray8.png" "$o/last-values-set.png" \
  "$o/last-values-interactive.png" --same

# Bad parameters: the call fails with a one-line message naming the
# problem, and the image is left as it was.
while IFS='|' read -r name message; do
  check "$name: the call fails" grep -q "DAE-TEST $name failed" "$tmp/gimp.log"
  check "$name: GIMP reports \"$message\"" grep -qF "$message" "$tmp/gimp.log"
  case $name in bad-indexed | bad-group) continue ;; esac
  check "$name: the image is unchanged" "$images" check "$name" "$f/clean-gray8.png" \
    "$f/noisy-gray8.png" "$o/$name-after.png" --same
done <<'EOF'
bad-strength|strength 2 is not between 0 and 1
bad-invert|invert mode 5 is not 0 (auto), 1 (on) or 2 (off)
bad-stride|stride -1 is negative
bad-stride-large|stride 1000 is larger than
bad-model|no model named "no-such-model"
bad-model-file|/nonexistent/model.dae: no such model file
bad-between|strength 2 is not between 0 and 1
bad-indexed|indexed drawables cannot be denoised
bad-group|a layer group cannot be denoised
EOF

finish
