#!/usr/bin/env bash
# The floors of docs/architecture.md, checked on every test run: domain <- infra <- services,
# and inside services the application layer (app/, projections/) uses neither HTTP nor
# Postgres, so that the CLI, the console and OAuth all reach the same rules through it.
# Usage: layering_test.sh <repository root>
set -euo pipefail
root="${1:?repository root}"
cd "$root"
status=0

# refuse <folder> <pattern> <why>: no file under <folder> may include a header matching
# <pattern> (an extended regular expression over the #include line).
refuse() {
  local folder="$1" pattern="$2" why="$3" hits
  hits="$(grep -rnE --include='*.hpp' --include='*.cpp' "^#include ${pattern}" "$folder" || true)"
  if [[ -n "$hits" ]]; then
    printf 'layering: %s\n%s\n' "$why" "$hits" >&2
    status=1
  fi
}

refuse domain '"(infra|services)/' "domain/ includes nothing above it"
refuse domain '<(boost|pqxx|rapidjson|openssl|spdlog)' "domain/ is standard library only"
refuse infra '"services/' "infra/ includes nothing from services/"
refuse services/app '"(services/(http|cli)|infra/(http|pg))/' "the application layer uses no HTTP, CLI or Postgres"
refuse services/projections '"(services/(http|cli)|infra/(http|pg))/' "projections use no HTTP, CLI or Postgres"
refuse services/http '"(services/cli|infra/pg)/' "the HTTP API reaches Postgres only through the stores' ports"

# Each capability's routes depend on the router and support, never on another capability.
for group in services/http/*/; do
  name="$(basename "$group")"
  case "$name" in router | auth | errors | support) continue ;; esac
  for other in services/http/*/; do
    o="$(basename "$other")"
    [[ "$o" == "$name" ]] && continue
    case "$o" in router | auth | errors | support) continue ;; esac
    refuse "$group" "\"services/http/${o}/" "services/http/${name} does not include another group (${o})"
  done
done

[[ $status -eq 0 ]] && echo "layering: ok"
exit $status
