#!/bin/sh
# mkdeb.sh -- `make deb`: a Debian package of this tree, built by
# dpkg-buildpackage.
#
# The tree's files (those git knows of and would not ignore; everything but
# build/ outside git) are copied to build/deb/hostflow-VERSION/, where a
# debian/ directory is made from contrib/debian/: control, rules, postinst,
# postrm as they are; copyright with the text of LICENSE; a changelog entry
# for this version; the service and its defaults from contrib/systemd/.
# dpkg-buildpackage -b then builds build/deb/hostflow_VERSION_ARCH.deb with
# the tree's own Makefile (PREFIX=/usr, SYSCONFDIR=/etc).
#
# VERSION is core/main.c's, with +git<commit time>.<commit> in a checkout,
# so packages of later commits sort after earlier ones.  The build needs
# debhelper, dpkg-dev and the build dependencies of contrib/debian/control
# (make deps installs them).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/build/deb
VERSION=$(sed -n 's/^#define HF_VERSION "\(.*\)"/\1/p' core/main.c)
DATE=$(date -R)
MAINTAINER="hostflow developers <hostflow@localhost>"
NOTE="Built from the source tree by make deb."
if git rev-parse --git-dir >/dev/null 2>&1; then
    COMMIT=$(git rev-parse --short=10 HEAD)
    VERSION="$VERSION+git$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S).$COMMIT"
    DATE=$(git log -1 --format=%cD)
    MAINTAINER=$(git log -1 --format='%an <%ae>')
    NOTE="Built from the source tree at commit $COMMIT by make deb."
    if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
        NOTE="$NOTE With changes not committed."
    fi
fi
SRC=$OUT/hostflow-$VERSION
rm -rf "$OUT"
mkdir -p "$SRC"

# the tree's files
if git rev-parse --git-dir >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
        tar --null -T - --ignore-failed-read --no-recursion -cf - 2>/dev/null | tar -xf - -C "$SRC"
else
    tar --exclude=./build --exclude=./hostflow -cf - . | tar -xf - -C "$SRC"
fi

# debian/
D=$SRC/debian
mkdir -p "$D/source"
for f in control rules postinst postrm; do cp contrib/debian/$f "$D/$f"; done
sed -i "s|@MAINTAINER@|$MAINTAINER|" "$D/control"
cp contrib/systemd/hostflow.service "$D/hostflow.service"
cp contrib/systemd/hostflow@.service "$D/hostflow@.service"   # the roles (README, "Several instances")
echo "3.0 (native)" >"$D/source/format"
{
    sed -n '/^@LICENSE@/q; s|@COPYRIGHT@|'"$(sed -n 's/^Copyright (c) //p' LICENSE | head -n 1)"'|; p' \
        contrib/debian/copyright
    sed 's/^$/./; s/^/ /' LICENSE
} >"$D/copyright"
cat >"$D/changelog" <<CHANGES
hostflow ($VERSION) unstable; urgency=medium

  * $NOTE

 -- $MAINTAINER  $DATE
CHANGES

cd "$SRC"
echo "mkdeb: building hostflow $VERSION in $SRC" >&2
dpkg-buildpackage -b -us -uc >"$OUT/build.log" 2>&1 || {
    tail -n 40 "$OUT/build.log" >&2
    echo "mkdeb: dpkg-buildpackage failed (the whole log: $OUT/build.log)" >&2
    exit 1
}
DEB=$(ls "$OUT"/hostflow_"$VERSION"_*.deb)
echo "mkdeb: $DEB" >&2
echo "$DEB"
