#!/usr/bin/env bash
# Builds l3ctl_<version>_all.deb, and the npm tarball it is made from, with
# npm and dpkg-deb only (`npm run package`):
#   scripts/package.sh [--out DIR] [--version VERSION]
# --out: where both files go (default: the repository root).
# --version: package another version than package.json's (upgrade tests).
# Layout: /usr/lib/l3ctl (the npm package: bin, dist/src, completions, man,
# package.json; and its production node_modules from package-lock.json),
# /usr/bin/l3ctl, the man page, bash/zsh/fish completions, the
# l3ctl-agent.service unit. /var/lib/l3ctl is made by postinst, not shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root
version=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$(realpath "$2"); shift 2 ;;
    --version) version=$2; shift 2 ;;
    *) echo "usage: scripts/package.sh [--out DIR] [--version VERSION]" >&2; exit 2 ;;
  esac
done
for tool in npm dpkg-deb gzip; do
  command -v "$tool" >/dev/null || { echo "package: $tool is needed" >&2; exit 1; }
done
[ -d node_modules ] || { echo "package: run npm ci first (the compiler comes from node_modules)" >&2; exit 1; }

work=$(mktemp -d /tmp/l3ctl-package.XXXXXX)
trap 'rm -rf "$work"' EXIT

# 1. The npm package, compiled from a copy of the sources: the tree's own
# dist/ may hold compiled files of deleted sources, and is left alone.
tree=$work/tree
mkdir "$tree"
mkdir -p "$tree/scripts" && cp scripts/bundle.mjs "$tree/scripts/"
cp -r package.json package-lock.json tsconfig.json README.md bin src completions man "$tree"/
ln -s "$root/node_modules" "$tree/node_modules" # the compiler and types, for the build only
if [ -n "$version" ]; then (cd "$tree" && npm pkg set version="$version"); fi
version=$(cd "$tree" && node -p 'require("./package.json").version')
echo "package: building l3ctl $version" >&2
(cd "$tree" && npm pack --silent --pack-destination "$work" >/dev/null) # prepack compiles
tgz=$work/l3ctl-$version.tgz

# 2. /usr/lib/l3ctl: the npm package plus its locked production dependencies.
stage=$work/root
app=$stage/usr/lib/l3ctl
mkdir -p "$app"
tar -xzf "$tgz" -C "$work"
cp -a "$work/package/." "$app/"
cp package-lock.json "$app/"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
# devOptional: dev dependencies that a production dependency names as an
# optional peer (typescript for valibot, @types/node for @inquirer): npm
# installs them even with --omit=dev, and no code loads them at run time.
node -e '
  const lock = require(process.argv[1]);
  for (const [p, v] of Object.entries(lock.packages)) if (p && v.devOptional) console.log(p);
' "$app/package-lock.json" | while read -r p; do rm -rf "${app:?}/$p"; done
rm -f "$app/package-lock.json" "$app/node_modules/.package-lock.json"
rm -rf "$app/node_modules/.bin" # links to programs nobody calls by name here
# Type declarations and source maps of the dependencies: nothing loads them.
find "$app/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete
find "$app/node_modules" -type d -empty -delete
if find "$app/node_modules" -name '*.node' | grep -q .; then
  echo "package: a dependency has native code; the package could not be Architecture: all" >&2
  exit 1
fi
# A packaged program runs the packaged Node.js (Depends: nodejs), not the
# first `node` on root's PATH. Its start-up snapshot is made by postinst with
# that node (npm pack leaves out the one made here, for this machine's node).
sed -i 's|^":" //; node=node; |":" //; node=/usr/bin/node; |' "$app/bin/l3ctl"
grep -q '^":" //; node=/usr/bin/node; ' "$app/bin/l3ctl" || { echo "package: bin/l3ctl: the line that names node was not found" >&2; exit 1; }

# 3. Where Debian's tools look.
mkdir -p "$stage/usr/bin" "$stage/usr/share/man/man1"
ln -s ../lib/l3ctl/bin/l3ctl "$stage/usr/bin/l3ctl"
gzip -9n <"$app/man/l3ctl.1" >"$stage/usr/share/man/man1/l3ctl.1.gz"
install -D -m 0644 "$app/completions/l3ctl.bash" "$stage/usr/share/bash-completion/completions/l3ctl"
install -D -m 0644 "$app/completions/_l3ctl" "$stage/usr/share/zsh/vendor-completions/_l3ctl"
install -D -m 0644 "$app/completions/l3ctl.fish" "$stage/usr/share/fish/vendor_completions.d/l3ctl.fish"
install -D -m 0644 packaging/deb/l3ctl-agent.service "$stage/lib/systemd/system/l3ctl-agent.service"
install -D -m 0644 packaging/deb/copyright "$stage/usr/share/doc/l3ctl/copyright"

# 4. Control files, modes, times.
mkdir "$stage/DEBIAN"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$stage/DEBIAN/"
chmod -R u+rwX,go+rX,go-w "$stage"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums)
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@INSTALLED_SIZE@/$size/" packaging/deb/control >"$stage/DEBIAN/control"
# Same sources, same bytes: every time is the last commit's.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
find "$stage" -exec touch -h -d "@$epoch" {} +

mkdir -p "$out"
deb=$out/l3ctl_${version}_all.deb
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
cp "$tgz" "$out/"
echo "package: $deb ($(du -k "$deb" | cut -f1) KiB, installs $size KiB)" >&2
echo "package: $out/l3ctl-$version.tgz (npm install -g)" >&2
