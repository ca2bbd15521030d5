#!/bin/bash
# Makes the untracked files manifests/secrets/kustomization.yaml reads: a random password per broker user in
# local/passwords.env (user=password; the Secret's keys are the user names) and the matching mosquitto password file
# (salted hashes) in local/mosquitto.passwd. nats-server reads the same passwords from its environment.
# Usage: generate-local.sh [user...]
#   Default users: those of manifests/security/broker-users.json, whose roles the mosquitto ACL and the NATS
#   authorization block grant (cam1 is the simulated camera). Pass your own camera ids to add cameras; every user
#   the NATS authorization block names needs a password, or nats-server refuses its configuration.
# Needs mosquitto_passwd (Debian/Fedora package mosquitto). Refuses to overwrite existing files.
set -euo pipefail

default_users=(cam1 cam2 detector scene llm dashboard asker admin)
if (($# > 0)); then users=("$@"); else users=("${default_users[@]}"); fi
here=$(cd "$(dirname "$0")" && pwd)
local_dir="$here/local"
passwords="$local_dir/passwords.env"
passwd_file="$local_dir/mosquitto.passwd"

if [[ -e $passwords || -e $passwd_file ]]; then
    echo "error: $local_dir already holds credentials; delete them first to make new ones" >&2
    exit 1
fi
command -v mosquitto_passwd >/dev/null || { echo "error: mosquitto_passwd not found (install mosquitto)" >&2; exit 1; }
for user in "${users[@]}"; do
    [[ $user =~ ^[A-Za-z0-9_-]+$ ]] || { echo "error: user name '$user' must be letters, digits, '-' or '_' (it is a topic level)" >&2; exit 1; }
done

umask 077
mkdir -p "$local_dir"
: >"$passwd_file"
for user in "${users[@]}"; do
    # 32 letters and digits, the first a letter: nats-server parses an environment value as a configuration token,
    # so a password starting with a digit would be read as a number (and its configuration refused).
    chars=$(head -c 512 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')
    letters=${chars//[0-9]/}
    password=${letters:0:1}${chars:1:31}
    echo "$user=$password" >>"$passwords"
    mosquitto_passwd -b "$passwd_file" "$user" "$password"
done
echo "wrote $passwords and $passwd_file for: ${users[*]}"
