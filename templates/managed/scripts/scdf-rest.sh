#!/usr/bin/env bash
# Registers, creates, launches and watches the SCDF task "<%- taskName %>" through the Data Flow
# REST API: made for CI, where the Data Flow shell is awkward. Needs bash and curl only (no jq,
# no python3: the few JSON fields it reads are parsed with sed).
# Managed by generator-scdf-task, which keeps it up to date and merges your edits on update.
#
# Usage: scripts/scdf-rest.sh [COMMAND]
#   run                (default) register, then launch and wait for the execution to end
#   register           register the image as a version of task app <%- taskName %> (see SCDF_IMAGE)
#                      (force; a registration of that version with another Boot version is
#                      replaced), make it the default version, and create task definition
#                      <%- taskName %> unless it exists; launches nothing
#   release            the same, as a release pipeline names it: the next launch runs the image
#   launch             launch task definition <%- taskName %> and wait for the execution to end
#   wait ID [TARGET]   wait for execution ID (schema target TARGET, SCDF 2.11) to end
#   destroy            destroy the definition with its executions and unregister the app
#   help               print this text
#
# Environment (default in brackets):
#   SCDF_URL            Data Flow server [http://localhost:9393]
#   SCDF_TASK_NAME      app and task definition name [<%- taskName %>]
#   SCDF_IMAGE          image to register [<%- imageRef %>]: with a tag, a digest or both
#                       (repo/name:1.2.3@sha256:<64 hex>, repo/name@sha256:<64 hex>)
#   SCDF_APP_VERSION    the app version [the image's tag]; needed for an image without a tag,
#                       which is registered as repo/name:VERSION@sha256:... (the digest picks the
#                       image, the tag beside it is only a name). SCDF 2.11 lets the versions of
#                       an app differ only in the version string: with a digest, the registered
#                       version is VERSION@sha256:<64 hex>
#   SCDF_BOOT_VERSION   2 or 3 [<%- bootVersion %>]. 3 (SCDF 2.11): register with bootVersion=3 and
#                       launch through /tasks/executions/launch; the task uses BOOT3_TASK_ tables
#   SCDF_ARGUMENTS      launch arguments, e.g. "--error.message=boom" []. Give every argument
#                       as --key=value with no space in the value: SCDF splits the string at
#                       every space, and drops ALL arguments when it has no "="
#   SCDF_PROPERTIES     launch properties, comma separated, e.g.
#                       "deployer.<%- taskName %>.kubernetes.entryPointStyle=boot" []
#   SCDF_TIMEOUT        seconds to wait for the execution to end [600]
#   SCDF_POLL_INTERVAL  seconds between two status requests [5]
#   SCDF_ACCESS_TOKEN   OAuth2 access token, when the server is secured []
#   SCDF_USERNAME       user and password for HTTP basic authentication, when the server is
#   SCDF_PASSWORD       secured that way (not with SCDF_ACCESS_TOKEN) []. Neither is ever printed
#
# Exit codes:
#   0  done; run, launch and wait: the execution is COMPLETE (exit code 0)
#   1  the execution ended with ERROR (non-zero exit code)
#   2  usage or configuration error
#   3  the server could not be reached, or answered with an HTTP error
#   4  timeout: the execution had not ended after SCDF_TIMEOUT seconds
#   5  unexpected answer from the server (no execution id, unknown status)
set -euo pipefail

readonly SCDF_URL="${SCDF_URL:-http://localhost:9393}"
readonly TASK_NAME="${SCDF_TASK_NAME:-<%- taskName %>}"
readonly IMAGE="${SCDF_IMAGE:-<%- imageRef %>}"
readonly BOOT_VERSION="${SCDF_BOOT_VERSION:-<%- bootVersion %>}"
readonly ARGUMENTS="${SCDF_ARGUMENTS:-}"
readonly PROPERTIES="${SCDF_PROPERTIES:-}"
readonly TIMEOUT="${SCDF_TIMEOUT:-600}"
readonly POLL_INTERVAL="${SCDF_POLL_INTERVAL:-5}"
readonly GIVEN_VERSION="${SCDF_APP_VERSION:-}"

readonly EXIT_ERROR=1 EXIT_USAGE=2 EXIT_HTTP=3 EXIT_TIMEOUT=4 EXIT_UNEXPECTED=5

log() { printf 'scdf-rest: %s\n' "$*" >&2; }
die() {
  local code=$1
  shift
  log "$*"
  exit "$code"
}

usage() {
  # The header of this file, without the shebang and the leading "# ".
  sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# The Authorization header goes to curl through a file (mktemp makes it mode 600), so that the
# token or password never shows in the process list as a curl argument would (printf is a bash
# builtin: no process sees them either).
BODY_FILE="$(mktemp)"
AUTH_FILE="$(mktemp)"
readonly BODY_FILE AUTH_FILE
trap 'rm -f "$BODY_FILE" "$AUTH_FILE"' EXIT
write_auth() {
  if [[ -n "${SCDF_ACCESS_TOKEN:-}" ]]; then
    [[ -z "${SCDF_USERNAME:-}${SCDF_PASSWORD:-}" ]] ||
      die "$EXIT_USAGE" "set SCDF_ACCESS_TOKEN or SCDF_USERNAME and SCDF_PASSWORD, not both"
    printf 'Authorization: Bearer %s\n' "$SCDF_ACCESS_TOKEN" >"$AUTH_FILE"
  elif [[ -n "${SCDF_USERNAME:-}" || -n "${SCDF_PASSWORD:-}" ]]; then
    [[ -n "${SCDF_USERNAME:-}" && -n "${SCDF_PASSWORD:-}" ]] ||
      die "$EXIT_USAGE" "SCDF_USERNAME and SCDF_PASSWORD go together: set both, or neither"
    # base64 wraps long lines: the header must stay on one.
    printf 'Authorization: Basic %s\n' \
      "$(printf '%s:%s' "$SCDF_USERNAME" "$SCDF_PASSWORD" | base64 | tr -d '\n')" >"$AUTH_FILE"
  fi
}

# Sets HTTP_STATUS and HTTP_BODY. Usage: request METHOD PATH [curl options such as --data-urlencode]
# Fails with EXIT_HTTP when the server cannot be reached or answers outside 2xx, except for the
# statuses listed in ALLOWED_STATUSES (space separated), which the caller handles itself.
HTTP_STATUS=""
HTTP_BODY=""
ALLOWED_STATUSES=""
request() {
  local method=$1 path=$2
  shift 2
  local -a auth=()
  [[ ! -s "$AUTH_FILE" ]] || auth=(--header "@$AUTH_FILE")
  local curl_status=0
  HTTP_STATUS="$(curl --silent --show-error --connect-timeout 10 --max-time 60 \
    --request "$method" --output "$BODY_FILE" --write-out '%{http_code}' \
    --header 'Accept: application/json' ${auth[@]+"${auth[@]}"} "$@" "${SCDF_URL%/}${path}")" || curl_status=$?
  if ((curl_status != 0)); then
    die "$EXIT_HTTP" "$method $path: cannot reach $SCDF_URL (curl exit $curl_status)"
  fi
  HTTP_BODY="$(cat "$BODY_FILE")"
  if [[ "$HTTP_STATUS" == 2?? || " $ALLOWED_STATUSES " == *" $HTTP_STATUS "* ]]; then
    return 0
  fi
  die "$EXIT_HTTP" "$method $path: HTTP $HTTP_STATUS: ${HTTP_BODY:0:2000}"
}

# JSON readers for flat fields of SCDF's answers. Escaped quotes inside string values never
# match, so a field name quoted inside an error message cannot be mistaken for the field.
json_string() {
  printf '%s' "$1" | tr -d '\r\n' |
    sed -n -E 's/.*"'"$2"'"[[:space:]]*:[[:space:]]*"(([^"\\]|\\.)*)".*/\1/p'
}
json_number() {
  printf '%s' "$1" | tr -d '\r\n' |
    sed -n -E 's/.*"'"$2"'"[[:space:]]*:[[:space:]]*(-?[0-9]+).*/\1/p'
}

# The line of a JSON-escaped errorMessage that says what failed. A Python traceback starts with
# "Traceback (most recent call last):" and ends with the exception and its message, so that is
# its last non-empty line; so is it when the task cut a long message to fit the column, which
# keeps the end after a first line "[...]". Other messages (a Java stack trace, a sys.exit text)
# say it first.
failure_line() {
  local text=$1 line="" lines=()
  # Split at "\n" escapes only: a "\\" escape stands for a backslash and is kept as it is.
  text=${text//\\\\/$'\x01'}
  text=${text//\\n/$'\n'}
  mapfile -t lines <<<"$text"
  if [[ "${lines[0]:-}" == "Traceback (most recent call last):" || "${lines[0]:-}" == "[...]" ]]; then
    local i
    for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
      if [[ -n "${lines[i]//[[:space:]]/}" ]]; then
        line=${lines[i]}
        break
      fi
    done
  else
    line=${lines[0]:-}
  fi
  printf '%s' "${line//$'\x01'/\\\\}"
}

IMAGE_TAG=""
APP_VERSION=""
REGISTERED_IMAGE=""
REGISTERED_VERSION=""
check_config() {
  [[ "$TASK_NAME" =~ ^[a-z]([a-z0-9-]*[a-z0-9])?$ ]] ||
    die "$EXIT_USAGE" "SCDF_TASK_NAME \"$TASK_NAME\": use lower-case letters, digits and \"-\""
  [[ "$BOOT_VERSION" == 2 || "$BOOT_VERSION" == 3 ]] ||
    die "$EXIT_USAGE" "SCDF_BOOT_VERSION must be 2 or 3, not \"$BOOT_VERSION\""
  [[ "$TIMEOUT" =~ ^[0-9]+$ ]] ||
    die "$EXIT_USAGE" "SCDF_TIMEOUT must be a whole number of seconds, not \"$TIMEOUT\""
  [[ "$POLL_INTERVAL" =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
    die "$EXIT_USAGE" "SCDF_POLL_INTERVAL must be a number of seconds, not \"$POLL_INTERVAL\""
  # A digest pins the exact image; the tag before it, if any, is only its name.
  local reference=$IMAGE
  if [[ "$IMAGE" == *@* ]]; then
    reference=${IMAGE%%@*}
    [[ "${IMAGE#*@}" =~ ^sha256:[0-9a-f]{64}$ ]] ||
      die "$EXIT_USAGE" "SCDF_IMAGE \"$IMAGE\": after \"@\" comes sha256: and 64 hex digits"
  fi
  # The tag is the app version unless one is given.
  local last=${reference##*/}
  [[ "$last" != *:* ]] || IMAGE_TAG=${last##*:}
  APP_VERSION=${GIVEN_VERSION:-$IMAGE_TAG}
  [[ -n "$APP_VERSION" ]] ||
    die "$EXIT_USAGE" "SCDF_IMAGE \"$IMAGE\" has no tag: give one, or the version as SCDF_APP_VERSION"
  # A Docker tag's characters: the version may have to serve as one (below).
  [[ "$APP_VERSION" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]] ||
    die "$EXIT_USAGE" "app version \"$APP_VERSION\": at most 128 letters, digits, \".\", \"_\" and \"-\""
  # SCDF 2.11 lets the versions of one app differ in nothing but the version: it takes the version
  # string out of the new URI and out of the default's, and refuses unequal rests ("can only
  # differ by a version"; HTTP 500 when the URI lacks the version). So the version is the tag,
  # an image given by digest alone gets the version as its tag (Docker, podman and Kubernetes
  # ignore a tag beside a digest), and a digest is part of the registered version.
  [[ -z "$IMAGE_TAG" || "$APP_VERSION" == "$IMAGE_TAG" ]] ||
    die "$EXIT_USAGE" "SCDF_APP_VERSION \"$APP_VERSION\" is not the tag of SCDF_IMAGE \"$IMAGE\": SCDF needs the version in the image reference; leave SCDF_APP_VERSION out, or tag the image with it"
  REGISTERED_IMAGE="$reference"
  [[ -n "$IMAGE_TAG" ]] || REGISTERED_IMAGE="$reference:$APP_VERSION"
  REGISTERED_VERSION=$APP_VERSION
  if [[ "$IMAGE" == *@* ]]; then
    REGISTERED_IMAGE="$REGISTERED_IMAGE@${IMAGE#*@}"
    REGISTERED_VERSION="$APP_VERSION@${IMAGE#*@}"
  fi
  if [[ -n "$ARGUMENTS" && "$ARGUMENTS" != *=* ]]; then
    die "$EXIT_USAGE" "SCDF_ARGUMENTS \"$ARGUMENTS\" has no \"=\": SCDF would drop every argument; use --key=value"
  fi
  write_auth
}

# Registers the image as version REGISTERED_VERSION of the app, under the version's own path,
# makes it the default, and creates the definition unless it exists: SCDF's own
# continuous-deployment steps.
register() {
  local version=$REGISTERED_VERSION
  # SCDF 2.11 keeps the Boot version of a registered version when it is registered again, even
  # with force: a registration of this version with another Boot version is removed first.
  ALLOWED_STATUSES="404"
  request GET "/apps/task/$TASK_NAME/$version"
  ALLOWED_STATUSES=""
  local registered_boot=""
  [[ "$HTTP_STATUS" == 404 ]] || registered_boot="$(json_string "$HTTP_BODY" bootVersion)"
  if [[ -n "$registered_boot" && "$registered_boot" != "$BOOT_VERSION" ]]; then
    request DELETE "/apps/task/$TASK_NAME/$version"
    log "unregistered $TASK_NAME $version, registered as Boot $registered_boot, to register it as Boot $BOOT_VERSION"
  fi
  local -a form=(--data-urlencode "uri=docker:$REGISTERED_IMAGE" --data-urlencode 'force=true')
  if [[ "$BOOT_VERSION" == 3 ]]; then
    form+=(--data-urlencode 'bootVersion=3')
  fi
  request POST "/apps/task/$TASK_NAME/$version" "${form[@]}"
  log "registered task app $TASK_NAME $version as docker:$REGISTERED_IMAGE (Boot $BOOT_VERSION)"
  # Each version is stored beside the others; definitions launch the default one.
  request PUT "/apps/task/$TASK_NAME/$version"
  log "made $version the default version of $TASK_NAME"

  ALLOWED_STATUSES="404"
  request GET "/tasks/definitions/$TASK_NAME"
  ALLOWED_STATUSES=""
  if [[ "$HTTP_STATUS" == 404 ]]; then
    request POST /tasks/definitions \
      --data-urlencode "name=$TASK_NAME" --data-urlencode "definition=$TASK_NAME"
    log "created task definition $TASK_NAME"
  else
    log "task definition $TASK_NAME exists already"
  fi
}

# Sets EXECUTION_ID and SCHEMA_TARGET.
EXECUTION_ID=""
SCHEMA_TARGET=""
launch() {
  local -a form=(--data-urlencode "name=$TASK_NAME")
  [[ -z "$ARGUMENTS" ]] || form+=(--data-urlencode "arguments=$ARGUMENTS")
  [[ -z "$PROPERTIES" ]] || form+=(--data-urlencode "properties=$PROPERTIES")
  if [[ "$BOOT_VERSION" == 3 ]]; then
    # SCDF 2.11 refuses POST /tasks/executions for Boot 3 apps; /launch answers
    # {"executionId": N, "schemaTarget": "boot3", ...}.
    request POST /tasks/executions/launch "${form[@]}"
    EXECUTION_ID="$(json_number "$HTTP_BODY" executionId)"
    SCHEMA_TARGET="$(json_string "$HTTP_BODY" schemaTarget)"
  else
    # Answers the execution id as a bare number.
    request POST /tasks/executions "${form[@]}"
    EXECUTION_ID="$(printf '%s' "$HTTP_BODY" | tr -d '[:space:]')"
    SCHEMA_TARGET=""
  fi
  [[ "$EXECUTION_ID" =~ ^[0-9]+$ ]] ||
    die "$EXIT_UNEXPECTED" "launch: no execution id in the answer: ${HTTP_BODY:0:2000}"
  log "launched $TASK_NAME: execution $EXECUTION_ID${SCHEMA_TARGET:+ (schema target $SCHEMA_TARGET)}"
}

# Polls GET /tasks/executions/{id} until the execution is COMPLETE or ERROR, or time runs out.
wait_for() {
  local id=$1 target=${2:-}
  [[ "$id" =~ ^[0-9]+$ ]] || die "$EXIT_USAGE" "execution id must be a number, not \"$id\""
  [[ -z "$target" || "$target" =~ ^[A-Za-z0-9_-]+$ ]] ||
    die "$EXIT_USAGE" "schema target \"$target\": letters, digits, \"_\" and \"-\" only"
  local path="/tasks/executions/$id${target:+?schemaTarget=$target}"
  # SECONDS ticks on whole wall-clock seconds: the extra second makes the wait at least TIMEOUT.
  local deadline=$((SECONDS + TIMEOUT + 1)) status="" previous=""
  log "waiting up to ${TIMEOUT}s for execution $id (GET $path every ${POLL_INTERVAL}s)"
  while true; do
    request GET "$path"
    status="$(json_string "$HTTP_BODY" taskExecutionStatus)"
    if [[ "$status" != "$previous" ]]; then
      log "execution $id: ${status:-no status}"
      previous=$status
    fi
    case "$status" in
      COMPLETE)
        log "execution $id COMPLETE"
        return 0
        ;;
      ERROR)
        local exit_code message
        exit_code="$(json_number "$HTTP_BODY" exitCode)"
        message="$(failure_line "$(json_string "$HTTP_BODY" errorMessage)")"
        log "execution $id ended with ERROR (exit code ${exit_code:-none})${message:+: $message}"
        exit "$EXIT_ERROR"
        ;;
      RUNNING | UNKNOWN) ;;
      *) die "$EXIT_UNEXPECTED" "execution $id: no known taskExecutionStatus in: ${HTTP_BODY:0:2000}" ;;
    esac
    if ((SECONDS >= deadline)); then
      # UNKNOWN: the task never wrote START_TIME (image not pulled, crash before start, wrong
      # database); RUNNING: it has not written END_TIME yet, or died without writing it.
      die "$EXIT_TIMEOUT" "execution $id still $status after ${TIMEOUT}s: see the task's pod log"
    fi
    sleep "$POLL_INTERVAL"
  done
}

destroy() {
  request DELETE "/tasks/definitions/$TASK_NAME?cleanup=true"
  log "destroyed task definition $TASK_NAME and its executions"
  request DELETE "/apps/task/$TASK_NAME/$REGISTERED_VERSION"
  log "unregistered task app $TASK_NAME version $REGISTERED_VERSION"
}

main() {
  local command=${1:-run}
  case "$command" in
    help | -h | --help)
      usage
      return 0
      ;;
    *) ;;
  esac
  check_config
  case "$command" in
    run)
      register
      launch
      wait_for "$EXECUTION_ID" "$SCHEMA_TARGET"
      ;;
    register | release) register ;;
    launch)
      launch
      wait_for "$EXECUTION_ID" "$SCHEMA_TARGET"
      ;;
    wait)
      (($# >= 2)) || die "$EXIT_USAGE" "usage: $0 wait ID [SCHEMA_TARGET]"
      wait_for "$2" "${3:-}"
      ;;
    destroy) destroy ;;
    *) die "$EXIT_USAGE" "unknown command \"$command\"; try: $0 help" ;;
  esac
}

main "$@"
