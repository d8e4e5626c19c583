#!/bin/sh
# Lets the members of one group run delaytop with CAP_NET_ADMIN, without sudo and without
# touching the system's node: a root-owned copy of node, executable by that group only
# (0750), carries the capability, and a launcher runs this checkout's delaytop with it.
#
#   sudo scripts/install-privileged.sh [--group NAME] [--prefix DIR]   (default: delaytop, /opt/delaytop)
#   sudo scripts/install-privileged.sh --uninstall [--prefix DIR]
#
# Then add users to the group (usermod -aG delaytop alice; they log in again) and run
# DIR/delaytop. Trade-off: a member can run any JavaScript with CAP_NET_ADMIN through
# DIR/node, so membership means "may reconfigure the network", not "may run delaytop".
# The copy does not follow node upgrades: run this again after one.
set -eu

group=delaytop
prefix=/opt/delaytop
uninstall=0
while [ $# -gt 0 ]; do
  case "$1" in
    --group) group=${2:?--group needs a name}; shift 2 ;;
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-privileged: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

die() { echo "install-privileged: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run it as root (sudo $0 ...): it installs a file with a capability"
case "$prefix" in /*) ;; *) die "--prefix must be an absolute path: $prefix" ;; esac
case "$prefix" in *"'"*) die "--prefix must not contain a quote: $prefix" ;; esac

# The prefix is this script's own directory: it writes, replaces and removes files there
# only when its marker says it made them (a prefix like /usr/local/bin holds a node of
# its own; /tmp or a user's home must not be chowned or chmodded).
marker="$prefix/.delaytop-install-privileged"

if [ "$uninstall" -eq 1 ]; then
  [ -f "$marker" ] || die "$prefix was not made by this script (no $marker): nothing removed"
  rm -f "$prefix/node" "$prefix/delaytop" "$marker"
  rmdir "$prefix" 2>/dev/null || true
  echo "removed $prefix/node and $prefix/delaytop (the group, if any, is left)"
  exit 0
fi

command -v setcap >/dev/null 2>&1 || die "setcap not found (Debian/Ubuntu: apt-get install libcap2-bin; Fedora: dnf install libcap)"

app=$(cd "$(dirname "$0")/.." && pwd -P)
case "$app" in *"'"*) die "the checkout's path must not contain a quote: $app" ;; esac
[ -f "$app/dist/cli.js" ] || die "$app/dist/cli.js is missing: run npm install (or npm run build) in $app first"
node_bin=$(readlink -f "$(command -v node)") || die "node not found on PATH"

# Whoever can change a file that members run with the capability gets the capability:
# the launcher, the copy of node and delaytop's code must be writable by root alone,
# and so must every directory above them (a sticky one like /tmp is fine: only an
# entry's owner can replace it there).
owned_by_root() {
  p=$1
  while :; do
    [ "$(stat -c %u "$p")" -eq 0 ] || die "$p is not owned by root: whoever owns it could change what members run with CAP_NET_ADMIN"
    mode=$(stat -c %a "$p")
    if [ $((0$mode & 022)) -ne 0 ] && { [ ! -d "$p" ] || [ $((0$mode & 01000)) -eq 0 ]; }; then
      die "$p is writable by others than root (mode $mode): whoever can write it could change what members run with CAP_NET_ADMIN"
    fi
    [ "$p" = / ] && break
    p=$(dirname "$p")
  done
}
owned_by_root "$app"
code="$app/dist $app/node_modules $app/native/build $app/package.json"
# shellcheck disable=SC2086 # the list above holds no spaces but the checkout's path, checked below
bad=$(find $code \( -type f -o -type d \) \( ! -user root -o -perm /022 \) -print 2>/dev/null | head -n 1)
[ -z "$bad" ] || die "$bad is not root's alone (owner or mode): members would run it with CAP_NET_ADMIN"
# A symlink in the code (npm link, workspaces) would run code from wherever it points.
# shellcheck disable=SC2086
for l in $(find $code -type l -print 2>/dev/null); do
  t=$(readlink -f "$l") || die "$l is a broken symlink"
  case "$t" in "$app"/*) ;; *) die "$l points outside the checkout ($t): members would run that code with CAP_NET_ADMIN" ;; esac
done
case "$app" in *" "*) die "the checkout's path must not contain a space: $app" ;; esac

# Every directory above the prefix must be root's alone before anything is made in it.
parent=$(dirname "$prefix")
[ -d "$parent" ] || die "$parent does not exist: make it first (owned by root, mode 0755)"
owned_by_root "$parent"
if [ -e "$prefix" ] || [ -L "$prefix" ]; then
  [ -d "$prefix" ] && [ ! -L "$prefix" ] || die "$prefix exists and is not a directory"
  owned_by_root "$prefix"
  # the prefix itself is root's alone, sticky or not: others could plant names in it
  [ $((0$(stat -c %a "$prefix") & 022)) -eq 0 ] || die "$prefix is writable by others than root: choose a new --prefix (e.g. /opt/delaytop)"
  if [ ! -f "$marker" ] && [ -n "$(ls -A "$prefix")" ]; then
    die "$prefix exists, is not empty and was not made by this script: choose a new --prefix (e.g. /opt/delaytop)"
  fi
else
  mkdir -m 0755 "$prefix"
fi
getent group "$group" >/dev/null || groupadd --system "$group"
: > "$marker"

# Written under a temporary name and moved into place: never a moment with the
# capability on a file the group cannot yet be kept out of.
tmp=$(mktemp "$prefix/.node.XXXXXX")
launcher=$(mktemp "$prefix/.delaytop.XXXXXX")
trap 'rm -f "$tmp" "$launcher"' EXIT
cp "$node_bin" "$tmp"
chown "root:$group" "$tmp"
chmod 0750 "$tmp"
setcap cap_net_admin+ep "$tmp"
mv -f "$tmp" "$prefix/node"

# delaytop's node flags live on the first line of dist/cli.js (#!/usr/bin/env -S node FLAGS).
flags=$(sed -n '1s|^#!/usr/bin/env -S node||p' "$app/dist/cli.js")
cat > "$launcher" <<EOF
#!/bin/sh
# delaytop with CAP_NET_ADMIN, for members of group $group (written by $app/scripts/install-privileged.sh)
exec '$prefix/node'$flags '$app/dist/cli.js' "\$@"
EOF
chown "root:$group" "$launcher"
chmod 0750 "$launcher"
mv -f "$launcher" "$prefix/delaytop"

echo "installed $prefix/delaytop: members of group $group run delaytop with CAP_NET_ADMIN"
echo "  add a user: usermod -aG $group USER (effective at their next login)"
echo "  note: members can run any JavaScript with CAP_NET_ADMIN through $prefix/node"
