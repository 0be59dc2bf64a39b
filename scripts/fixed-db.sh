# Sourced by scripts/terminal-cost.sh and scripts/change-to-pixels.sh: the fixed database they
# measure on, created and filled once with 10,000 rows (`opsdeck bench refresh`), never on
# real data (only an empty database is filled). Needs $url, $bin and $psql.
fixed_db() {
  local dbname=${url##*/} admin=${url%/*}/postgres filled=f
  if ! $psql "$admin" -XAtqc "SELECT 1 FROM pg_database WHERE datname = '$dbname'" | grep -q 1; then
    $psql "$admin" -Xqc "CREATE DATABASE \"$dbname\""
  fi
  if [[ $($psql "$url" -XAtqc "SELECT to_regclass('workflows') IS NOT NULL") == t ]]; then
    filled=$($psql "$url" -XAtqc "SELECT EXISTS (SELECT 1 FROM workflows)")
  fi
  if [[ $filled != t ]]; then
    echo "filling $dbname with 10,000 rows (once)" >&2
    "$bin" bench refresh --database-url "$url" --rows 10000 --no-views >/dev/null
  fi
}
