#!/usr/bin/env bash
# Writes models/testdata/upgrade/ with the release REV's code (default d7749aa): a SQLite
# file, a PostgreSQL dump (plain SQL, INSERTs) and what that release read back (JSON).
# Needs KEYWARD_TEST_DATABASE_URL (a PostgreSQL server it may create a database on),
# pg_dump and psql. Run from the repository root: bash scripts/upgrade-fixture.sh
set -euo pipefail
rev=${1:-d7749aa}
root=$(pwd)
out=$root/models/testdata/upgrade
tree=$(mktemp -d)/prev
git worktree add -q --detach "$tree" "$rev"
db=keyward_upgrade_fixture_$$
server=${KEYWARD_TEST_DATABASE_URL:?}
dsn=$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(u.urlunparse(p._replace(path="/"+sys.argv[2])))' "$server" "$db")
cleanup() {
	psql -q "$server" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
	git worktree remove --force "$tree"
}
trap cleanup EXIT
mkdir -p "$tree/cmd/upgrade-fixture" "$out"
cp "$root/scripts/upgrade-fixture.go" "$tree/cmd/upgrade-fixture/main.go"
sed -i '1,2d' "$tree/cmd/upgrade-fixture/main.go" # the ignore build tag
rm -f "$out/keyward.db"
(cd "$tree" && go run ./cmd/upgrade-fixture "$out/keyward.db" >"$out/want.json")
psql -q "$server" -c "CREATE DATABASE $db"
(cd "$tree" && go run ./cmd/upgrade-fixture "$dsn" >"$tree/want-postgres.json")
# Both backends read back the same rows: one file says what the next release must read.
diff "$out/want.json" "$tree/want-postgres.json"
# Plain SQL the test runs through the driver: no psql meta-commands (\restrict), no owners.
pg_dump --no-owner --no-privileges --inserts --no-comments "$dsn" | grep -v '^\\' >"$out/postgres.sql"
git -C "$root" rev-parse "$rev" >"$out/REVISION"
