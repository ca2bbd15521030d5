#!/bin/bash
# Makes the untracked files manifests/secrets/kustomization.yaml reads: a random password per role in
# local/passwords.env and the matching mosquitto password file (salted hashes) in local/mosquitto.passwd.
# Usage: generate-local.sh [camera-user]   (default cam1: the simulated camera's id, which its ACL entry names)
# Needs mosquitto_passwd (Debian/Fedora package mosquitto). Refuses to overwrite existing files.
set -euo pipefail

camera_user=${1:-cam1}
here=$(cd "$(dirname "$0")" && pwd)
local_dir="$here/local"
passwords="$local_dir/passwords.env"
passwd_file="$local_dir/mosquitto.passwd"

if [[ -e $passwords || -e $passwd_file ]]; then
    echo "error: $local_dir already holds credentials; delete them first to make new ones" >&2
    exit 1
fi
command -v mosquitto_passwd >/dev/null || { echo "error: mosquitto_passwd not found (install mosquitto)" >&2; exit 1; }

umask 077
mkdir -p "$local_dir"
: >"$passwd_file"
# role=user pairs: the Secret key is the role, the broker user name is what the ACL names.
for pair in "camera=$camera_user" detector=detector scene=scene llm=llm; do
    role=${pair%%=*}
    user=${pair#*=}
    password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
    echo "$role=$password" >>"$passwords"
    mosquitto_passwd -b "$passwd_file" "$user" "$password"
done
echo "wrote $passwords and $passwd_file"
