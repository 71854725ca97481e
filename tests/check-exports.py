#!/usr/bin/env python3
"""check-exports: libdae exports exactly the functions its headers declare.

Usage: check-exports.py LIBDAE.so INCLUDEDIR
INCLUDEDIR holds dae.h and dae/*.h (the source tree's include/ or an
installed $includedir/dae-1).  Every function declared there must carry
DAE_API and be exported (`nm -D --defined-only`), and nothing else may be
exported.  Exit 0 = same sets, 1 = a difference (listed), 77 = no nm.
"""
import os
import re
import shutil
import subprocess
import sys


def declared(include_dir):
    """Names of the functions the headers declare, and those without DAE_API."""
    names, unmarked = set(), []
    paths = [os.path.join(include_dir, 'dae.h')]
    sub = os.path.join(include_dir, 'dae')
    paths += sorted(os.path.join(sub, f) for f in os.listdir(sub) if f.endswith('.h'))
    # A declaration: at column 0, a type, the name, " (" (the project's style).
    decl = re.compile(r'^(?!typedef|#|G_DEFINE|static)(DAE_API )?[A-Za-z_][\w \*]*?\b(dae_\w+) \(', re.M)
    for path in paths:
        with open(path, encoding='utf-8') as f:
            for m in decl.finditer(f.read()):
                names.add(m.group(2))
                if not m.group(1):
                    unmarked.append('%s: %s' % (os.path.basename(path), m.group(2)))
    return names, unmarked


def exported(lib):
    out = subprocess.run(['nm', '-D', '--defined-only', lib], check=True,
                         capture_output=True, text=True).stdout
    return {line.split()[-1].split('@')[0] for line in out.splitlines() if line.strip()}


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: check-exports.py LIBDAE.so INCLUDEDIR')
    if shutil.which('nm') is None:
        print('check-exports: SKIP: no nm (binutils)')
        sys.exit(77)
    names, unmarked = declared(sys.argv[2])
    syms = exported(sys.argv[1])
    ok = True
    for what, items in (('declared without DAE_API', unmarked),
                        ('exported but not declared', sorted(syms - names)),
                        ('declared but not exported', sorted(names - syms))):
        if items:
            ok = False
            print('check-exports: %d %s: %s' % (len(items), what, ' '.join(items)))
    print('check-exports: %d exported, %d declared' % (len(syms), len(names)))
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
