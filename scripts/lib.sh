# Helpers shared by the scripts that start throw-away servers (pg.sh, redis.sh).
# The caller defines `marker` (a file that proves a directory is ours) and `die`.

# remove_dir deletes a server directory only if start made it.
remove_dir() {
  local dir="$1"
  if [ -n "$dir" ] && [ -f "$dir/$marker" ]; then
    rm -rf -- "$dir"
  fi
}

# free_port prints a free TCP port on 127.0.0.1.
free_port() {
  local p
  if p="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null)" &&
    [[ "$p" =~ ^[0-9]+$ ]]; then
    echo "$p"
    return
  fi
  # No python3: probe random high ports; a refused connection means free.
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free port found on 127.0.0.1"
}
