#!/bin/sh
# imagebuilder's entrypoint: runs the image's start path (the Python package in lib/ibstart
# beside this file: prefetch, ComfyUI flags, warm-up, split-file join; configured by
# start.json), which then runs the base image's own command, given here as arguments.
# Without a python3, with one that cannot import the package, or with IMAGEBUILDER_START=0
# the command runs as the base image would run it (after join-parts.sh, the plain-sh join
# of split files, where the image has one): the start path never stops a worker.
here="$(dirname "$0")"
if [ "${IMAGEBUILDER_START:-1}" != 0 ] && command -v python3 >/dev/null 2>&1; then
    exec python3 -c '
import os, sys
try:
    sys.path.insert(0, sys.argv[1])
    from ibstart.main import main
except Exception as error:
    print("imagebuilder start path unavailable (%s): running the command as is" % error,
          file=sys.stderr)
    join = os.path.join(os.path.dirname(sys.argv[1]), "join-parts.sh")
    if os.path.isfile(join):
        os.execv("/bin/sh", ["/bin/sh", join, *sys.argv[2:]])
    os.execvp(sys.argv[2], sys.argv[2:])
sys.exit(main(sys.argv[2:]))
' "$here/lib" "$@"
fi
if [ -f "$here/join-parts.sh" ]; then
    exec /bin/sh "$here/join-parts.sh" "$@"
fi
exec "$@"
