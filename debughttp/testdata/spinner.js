// An inspect() that never returns: the CPU limit must stop it.
let turns = 0;
export function receive() {
  turns++;
  return turns;
}
export function inspect() {
  for (;;) {}
}
