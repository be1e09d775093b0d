#!/usr/bin/env bash
# Updates this project to a generator-scdf-task version and opens, or updates, ONE <%- ci === 'github' ? 'pull request' : 'merge request' %>
# from the branch TEMPLATE_UPDATE_BRANCH with the result. Run by the template-update pipeline;
# it runs by hand with the same variables. Needs bash, git, curl and Node (npx).
# Managed by generator-scdf-task, which keeps it up to date and merges your edits on update.
#
# The update's exit code decides the request:
#   0     a normal request with the templates merged into your edits
#   3     conflicts: a draft request labelled template-conflict listing the files; the markers
#         are committed, so the pipeline's conflict-marker check fails until they are resolved
#   else  this script fails and pushes nothing
# Every file the update writes is staged (git add -A), new ones included. The branch is rebuilt
# from BASE_BRANCH on each run; a branch someone else pushed to is left alone.
#
# Environment (default in brackets):
#   TEMPLATE_UPDATE_VERSION  generator-scdf-task version to update to, or "latest"
#                            [the version .yo-rc.json records]
#   TEMPLATE_UPDATE_BRANCH   branch of the request [template-update]
#   BASE_BRANCH              branch the request targets [the checked-out branch]
#   TEMPLATE_UPDATE_REMOTE   git remote to push to [origin]
<% if (ci === 'github') { -%>
#   GITHUB_API_URL, GITHUB_GRAPHQL_URL, GITHUB_REPOSITORY  set by GitHub Actions
#   GH_TOKEN                 token allowed to write contents and pull requests
<% } else { -%>
#   CI_API_V4_URL, CI_PROJECT_ID   set by GitLab CI
#   GITLAB_TOKEN             project access token with the api scope (it also pushes)
<% } -%>
#
# Exit codes: 0 request opened, updated, or nothing to do; 2 configuration; 3 the forge's API
# failed; other: the update's own exit code.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly LABEL=template-conflict
readonly TRAILER='Template-Update-By: generator-scdf-task'
# The markers the generator's update writes (scripts/conflict-markers.sh checks for any).
readonly MARKERS='^(<<<<<<< yours|>>>>>>> generator-scdf-task )'

die() {
  echo "template-update: $2" >&2
  exit "$1"
}

for tool in git curl node npx; do
  command -v "$tool" >/dev/null || die 2 "$tool is missing"
done

# JSON through Node, which npx needs anyway. json k=v k:=<json> ... prints an object.
json() {
  node -e '
    const out = {};
    for (const arg of process.argv.slice(1)) {
      const at = arg.indexOf("=");
      const key = arg.slice(0, at);
      const value = arg.slice(at + 1);
      if (key.endsWith(":")) out[key.slice(0, -1)] = JSON.parse(value);
      else out[key] = value;
    }
    process.stdout.write(JSON.stringify(out));
  ' -- "$@"
}

# field EXPRESSION: evaluates it on the JSON read from stdin (as `it`); prints "" for undefined.
field() {
  node -e '
    const it = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const value = new Function("it", "return " + process.argv[1])(it);
    process.stdout.write(value === undefined || value === null ? "" : String(value));
  ' -- "$1"
}

recorded=$(field 'it["generator-scdf-task"].generatorVersion' <.yo-rc.json)
version=${TEMPLATE_UPDATE_VERSION:-$recorded}
[[ -n $version ]] || die 2 ".yo-rc.json records no generator version; set TEMPLATE_UPDATE_VERSION"
branch=${TEMPLATE_UPDATE_BRANCH:-template-update}
remote=${TEMPLATE_UPDATE_REMOTE:-origin}
base=${BASE_BRANCH:-$(git rev-parse --abbrev-ref HEAD)}
[[ $base != HEAD ]] || die 2 "HEAD is detached: set BASE_BRANCH"

<% if (ci === 'github') { -%>
: "${GITHUB_REPOSITORY:?set by GitHub Actions: owner/name}"
: "${GH_TOKEN:?a token that may push and open pull requests (see README.md)}"
API=${GITHUB_API_URL:-https://api.github.com}
GRAPHQL=${GITHUB_GRAPHQL_URL:-$API/graphql}
AUTH="Authorization: Bearer $GH_TOKEN"
<% } else { -%>
: "${CI_API_V4_URL:?set by GitLab CI}"
: "${CI_PROJECT_ID:?set by GitLab CI}"
: "${GITLAB_TOKEN:?a project access token with the api scope (see README.md)}"
API="$CI_API_V4_URL/projects/$CI_PROJECT_ID"
AUTH="PRIVATE-TOKEN: $GITLAB_TOKEN"
# The job's own clone may only read: push over HTTPS with the token, given to git in its
# environment (not its arguments, which the process list shows).
if [[ -z ${TEMPLATE_UPDATE_REMOTE:-} && -n ${CI_SERVER_URL:-} && -n ${CI_PROJECT_PATH:-} ]]; then
  remote="$CI_SERVER_URL/$CI_PROJECT_PATH.git"
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader
  GIT_CONFIG_VALUE_0="Authorization: Basic $(printf 'oauth2:%s' "$GITLAB_TOKEN" | base64 | tr -d '\n')"
  export GIT_CONFIG_VALUE_0
fi
<% } -%>

# The token reaches curl through a file (mode 600), never as an argument in the process list.
AUTH_FILE=$(mktemp)
BODY_FILE=$(mktemp)
trap 'rm -f "$AUTH_FILE" "$BODY_FILE"' EXIT
printf '%s\n' "$AUTH" >"$AUTH_FILE"

# api METHOD URL [JSON]: prints the answer; fails (exit 3) outside 2xx, except ALLOW (a status).
api() {
  local method=$1 url=$2 data=${3:-} status
  local args=(-sS -o "$BODY_FILE" -w '%{http_code}' -X "$method" -H "@$AUTH_FILE"
    -H 'Accept: application/json')
  [[ -z $data ]] || args+=(-H 'Content-Type: application/json' --data-binary "$data")
  status=$(curl "${args[@]}" "$url") || die 3 "$method $url: no answer"
  if [[ $status != 2?? && $status != "${ALLOW:-}" ]]; then
    echo "template-update: $method $url answered $status:" >&2
    head -c 2000 "$BODY_FILE" >&2
    echo >&2
    exit 3
  fi
  cat "$BODY_FILE"
}

# A branch whose last commit is not this script's holds someone's work: never overwrite it.
if git ls-remote --exit-code --heads "$remote" "$branch" >/dev/null 2>&1; then
  git fetch --quiet "$remote" "refs/heads/$branch"
  if ! git log -1 --format=%B FETCH_HEAD | grep -qF "$TRAILER "; then
    echo "template-update: $remote/$branch has commits not made by this script; leaving it." \
      "Merge or delete it to get the next update."
    exit 0
  fi
fi

git checkout --quiet -B "$branch"
echo "template-update: generator-scdf-task $recorded -> $version"
set +e
npx --yes --package "generator-scdf-task@$version" -- create-scdf-task --update
updated=$?
set -e
case $updated in
  0 | 3) ;;
  *) die "$updated" "the update failed (exit $updated); nothing pushed" ;;
esac

git add -A
if git diff --cached --quiet; then
  echo "template-update: nothing changed: up to date with generator-scdf-task $version"
  exit 0
fi
conflicts=$(git grep --cached -lE "$MARKERS" || true)
title="Update to generator-scdf-task $version templates"
if [[ $updated == 3 ]]; then
  title="$title (conflicts)"
  body="generator-scdf-task --update ($recorded -> $version) left conflict markers in:"$'\n\n'
  while IFS= read -r file; do body+="- $file"$'\n'; done <<<"$conflicts"
  body+=$'\n'"Resolve each conflict on this branch (keep the lines you want, delete the markers)"
  body+=" and push: the pipeline's conflict-marker check fails until then."
else
  body="generator-scdf-task --update ($recorded -> $version): every template change merged into"
  body+=" your edits, new files included. Review the diff and merge."
fi
git -c user.name="${GIT_AUTHOR_NAME:-generator-scdf-task template update}" \
  -c user.email="${GIT_AUTHOR_EMAIL:-template-update@users.noreply.invalid}" \
  commit --quiet --no-verify -m "$title" -m "$TRAILER $version"
git push --quiet --force "$remote" "HEAD:refs/heads/$branch"
draft=false
[[ $updated != 3 ]] || draft=true

<% if (ci === 'github') { -%>
owner=${GITHUB_REPOSITORY%%/*}
pulls="$API/repos/$GITHUB_REPOSITORY/pulls"
open=$(api GET "$pulls?state=open&head=$owner:$branch&base=$base")
number=$(field 'it[0] && it[0].number' <<<"$open")
if [[ -z $number ]]; then
  created=$(api POST "$pulls" "$(json title="$title" head="$branch" base="$base" body="$body" \
    draft:=$draft)")
  number=$(field 'it.number' <<<"$created")
  echo "template-update: opened pull request #$number"
else
  api PATCH "$pulls/$number" "$(json title="$title" body="$body")" >/dev/null
  # REST cannot change a pull request's draft state; GraphQL can.
  if [[ $(field 'it[0].draft' <<<"$open") != "$draft" ]]; then
    node_id=$(field 'it[0].node_id' <<<"$open")
    mutation=markPullRequestReadyForReview
    [[ $draft == false ]] || mutation=convertPullRequestToDraft
    api POST "$GRAPHQL" "$(json query="mutation { $mutation(input: {pullRequestId: \"$node_id\"}) { clientMutationId } }")" >/dev/null
  fi
  echo "template-update: updated pull request #$number"
fi
issue="$API/repos/$GITHUB_REPOSITORY/issues/$number"
if [[ $draft == true ]]; then
  api POST "$issue/labels" "$(json labels:="[\"$LABEL\"]")" >/dev/null
else
  ALLOW=404 api DELETE "$issue/labels/$LABEL" >/dev/null
fi
<% } else { -%>
open=$(api GET "$API/merge_requests?state=opened&source_branch=$branch&target_branch=$base")
iid=$(field 'it[0] && it[0].iid' <<<"$open")
# GitLab keeps a merge request a draft while its title starts with "Draft:".
[[ $draft == false ]] || title="Draft: $title"
if [[ $draft == true ]]; then labels=(add_labels="$LABEL"); else labels=(remove_labels="$LABEL"); fi
if [[ -z $iid ]]; then
  created=$(api POST "$API/merge_requests" "$(json source_branch="$branch" target_branch="$base" \
    title="$title" description="$body" "${labels[@]}" remove_source_branch:=true)")
  iid=$(field 'it.iid' <<<"$created")
  echo "template-update: opened merge request !$iid"
else
  api PUT "$API/merge_requests/$iid" "$(json title="$title" description="$body" "${labels[@]}")" \
    >/dev/null
  echo "template-update: updated merge request !$iid"
fi
<% } -%>
